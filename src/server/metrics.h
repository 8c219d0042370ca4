// A small Prometheus metrics registry: counters, gauges, histograms, optionally labelled, rendered
// in the text exposition format 0.0.4 by Registry::Render().
//
// Usage: register once at startup and keep the returned pointer; the hot path then touches only
// atomics (no lock, no lookup):
//
//   static Counter* events = DefaultRegistry().AddCounter("tessera_events_total", "Events seen.");
//   events->Inc();
//   auto* by_source = DefaultRegistry().AddCounterFamily("tessera_ingest_total", "...", {"source"});
//   Counter* c = by_source->WithLabels({source_id});  // lock + map lookup: cache c when hot
//
// Thread-safety: everything here is thread-safe. Metric objects are owned by their Registry and
// live as long as it does (DefaultRegistry() lives for the whole process); pointers returned by
// Add*/WithLabels stay valid until then. Children are never removed.
//
// Registering a name that already exists returns the existing metric if type, label names and
// buckets agree (so two servers in one process share their metrics) and fails a TESSERA_CHECK
// otherwise: names are compile-time constants, so a clash is a programmer error.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mutex.h"

namespace tessera::server {

// Monotonic count. Inc is one relaxed atomic add.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};  // relaxed: an independent statistic, orders nothing
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  void Sub(double d) { Add(-d); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};  // relaxed: see Counter
};

// Counts observations into fixed buckets (upper bounds, inclusive, "le"), plus sum and count.
// Observe is a binary search over the bounds and three relaxed atomic adds. A scrape racing with
// Observe may see the sum lag the buckets by a few observations; _count is derived from the
// buckets so that it always equals the +Inf bucket.
class Histogram {
 public:
  // REQUIRES: bounds strictly increasing, finite. Registry::AddHistogram* checks this.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i; i == bounds().size() is the +Inf overflow bucket.
  uint64_t BucketCount(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 entries; relaxed
  std::atomic<double> sum_{0};                        // relaxed
};

// 0.0005 s .. 10 s: request latencies from sub-millisecond cache hits to slow durable writes.
const std::vector<double>& DefaultLatencyBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

namespace internal {
// Orders label-value tuples; transparent so WithLabels can look up without building strings.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// Type-independent part of a family; Registry renders through this.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(labels)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual void RenderSamples(std::string* out) const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};
}  // namespace internal

// All children of one metric name, one per distinct tuple of label values. T is Counter, Gauge
// or Histogram.
template <typename T>
class Family final : public internal::FamilyBase {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        bounds_(std::move(bounds)) {}

  // The child for these label values (in label-name order), created on first use. Takes a lock
  // and does a map lookup: callers on a hot path keep the returned pointer.
  // REQUIRES: values.size() == label_names().size() (TESSERA_CHECK).
  T* WithLabels(std::initializer_list<std::string_view> values) TESSERA_EXCLUDES(mu_) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  T* WithLabels(std::span<const std::string_view> values) TESSERA_EXCLUDES(mu_);

  const std::vector<double>& bounds() const { return bounds_; }
  void RenderSamples(std::string* out) const override TESSERA_EXCLUDES(mu_);

 private:
  const std::vector<double> bounds_;  // histograms only
  mutable Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, internal::LabelValuesLess> children_
      TESSERA_GUARDED_BY(mu_);
};

class Registry;

// Keeps a callback gauge registered; destroying it unregisters the callback. After the
// destructor returns the callback is not running and will not be called again.
class CallbackGaugeHandle {
 public:
  CallbackGaugeHandle() = default;
  CallbackGaugeHandle(Registry* registry, std::string name) : registry_(registry), name_(std::move(name)) {}
  CallbackGaugeHandle(CallbackGaugeHandle&& other) noexcept;
  CallbackGaugeHandle& operator=(CallbackGaugeHandle&& other) noexcept;
  ~CallbackGaugeHandle();

 private:
  Registry* registry_ = nullptr;
  std::string name_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Unlabelled metrics. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in
  // "_total" and durations use seconds (Prometheus conventions), not enforced.
  Counter* AddCounter(std::string_view name, std::string_view help);
  Gauge* AddGauge(std::string_view name, std::string_view help);
  Histogram* AddHistogram(std::string_view name, std::string_view help,
                          std::vector<double> bounds = DefaultLatencyBuckets());

  // Labelled families. Label names must match [a-zA-Z_][a-zA-Z0-9_]*, not start with "__", and
  // not be "le" for histograms. Keep label values bounded (route patterns, not raw paths).
  Family<Counter>* AddCounterFamily(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names);
  Family<Gauge>* AddGaugeFamily(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names);
  Family<Histogram>* AddHistogramFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds = DefaultLatencyBuckets());

  // A gauge whose value is fn() at scrape time (queue depths, cache sizes). fn runs on the
  // scraping thread with the registry locked: it must be quick, thread-safe and must not call
  // into this Registry. The name must not be registered otherwise (TESSERA_CHECK).
  [[nodiscard]] CallbackGaugeHandle AddCallbackGauge(std::string_view name, std::string_view help,
                                                     std::function<double()> fn);

  // The text exposition format 0.0.4, families sorted by name, children by label values.
  std::string Render() const TESSERA_EXCLUDES(mu_);

 private:
  friend class CallbackGaugeHandle;

  template <typename T>
  Family<T>* AddFamily(std::string_view name, std::string_view help, MetricType type,
                       std::vector<std::string> label_names, std::vector<double> bounds)
      TESSERA_EXCLUDES(mu_);
  void RemoveCallbackGauge(const std::string& name) TESSERA_EXCLUDES(mu_);

  mutable Mutex mu_;
  // Includes callback gauges, so that every name is unique and Render sorts them all together.
  std::map<std::string, std::unique_ptr<internal::FamilyBase>, std::less<>> families_ TESSERA_GUARDED_BY(mu_);
};

// The process-wide registry that HttpServer and components use unless given another.
Registry& DefaultRegistry();

// Text-format helpers, exposed for tests and for anyone writing their own exposition.
std::string FormatMetricValue(double v);              // "1", "0.25", "+Inf", "NaN"
std::string EscapeLabelValue(std::string_view value);  // \\, \" and \n
std::string EscapeHelp(std::string_view help);         // \\ and \n

}  // namespace tessera::server
