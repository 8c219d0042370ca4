#include "server/metrics.h"

#include <charconv>
#include <cmath>
#include <type_traits>
#include <utility>

#include "core/check.h"

namespace tessera::server {
namespace {

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// Appends {a="x",b="y"} (plus an optional extra label such as le) or nothing when empty.
void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    *out += names[i];
    *out += "=\"";
    *out += EscapeLabelValue(values[i]);
    out->push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out->push_back(',');
    *out += extra_name;
    *out += "=\"";
    *out += extra_value;
    out->push_back('"');
  }
  out->push_back('}');
}

void AppendSample(std::string* out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view value, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  *out += name;
  *out += suffix;
  AppendLabels(out, names, values, extra_name, extra_value);
  out->push_back(' ');
  *out += value;
  out->push_back('\n');
}

// A gauge computed at scrape time. RenderSamples runs with the Registry's mu_ held, which is
// what lets CallbackGaugeHandle's destructor promise the callback is no longer running.
class CallbackFamily final : public internal::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, std::function<double()> fn)
      : FamilyBase(std::move(name), std::move(help), MetricType::kGauge, {}), fn_(std::move(fn)) {}
  void RenderSamples(std::string* out) const override {
    AppendSample(out, name(), "", {}, {}, FormatMetricValue(fn_()));
  }

 private:
  const std::function<double()> fn_;
};

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Like Go's strconv 'g' (what Prometheus' own clients print): shortest round-trip digits,
  // plain notation for ordinary magnitudes so that le="0.0005" reads as written.
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {  // 2^53: exact integers
    return std::to_string(static_cast<int64_t>(v));
  }
  int exponent = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  auto format = exponent < -4 || exponent >= 21 ? std::chars_format::scientific
                                                : std::chars_format::fixed;
  char buf[400];  // fixed notation of a double below 1e21 needs far less
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, format);
  if (ec != std::errc()) return "NaN";  // cannot happen with this buffer
  return std::string(buf, end);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return kBuckets;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;  // would poison _sum forever
  // le is inclusive: the first bound >= value.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

uint64_t Histogram::Count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += BucketCount(i);
  return n;
}

template <typename T>
T* Family<T>::WithLabels(std::span<const std::string_view> values) {
  TESSERA_CHECK(values.size() == label_names().size(),
                "metric " + name() + ": wrong number of label values");
  MutexLock lock(&mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return it->second.get();
  std::vector<std::string> key(values.begin(), values.end());
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T* raw = child.get();
  children_.emplace(std::move(key), std::move(child));
  return raw;
}

template <typename T>
void Family<T>::RenderSamples(std::string* out) const {
  MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Counter>) {
      AppendSample(out, name(), "", label_names(), values, std::to_string(child->Value()));
    } else if constexpr (std::is_same_v<T, Gauge>) {
      AppendSample(out, name(), "", label_names(), values, FormatMetricValue(child->Value()));
    } else {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += child->BucketCount(i);
        std::string le = i < bounds_.size() ? FormatMetricValue(bounds_[i]) : "+Inf";
        AppendSample(out, name(), "_bucket", label_names(), values, std::to_string(cumulative),
                     "le", le);
      }
      AppendSample(out, name(), "_sum", label_names(), values, FormatMetricValue(child->Sum()));
      AppendSample(out, name(), "_count", label_names(), values, std::to_string(cumulative));
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename T>
Family<T>* Registry::AddFamily(std::string_view name, std::string_view help, MetricType type,
                               std::vector<std::string> label_names, std::vector<double> bounds) {
  std::string what = "metric " + std::string(name);
  TESSERA_CHECK(IsMetricName(name), what + ": invalid metric name");
  for (const auto& label : label_names) {
    TESSERA_CHECK(IsLabelName(label), what + ": invalid label name " + label);
    TESSERA_CHECK(type != MetricType::kHistogram || label != "le",
                  what + ": 'le' is reserved in histograms");
  }
  if (type == MetricType::kHistogram) {
    for (size_t i = 0; i < bounds.size(); ++i) {
      TESSERA_CHECK(std::isfinite(bounds[i]) && (i == 0 || bounds[i - 1] < bounds[i]),
                    what + ": bucket bounds must be finite and strictly increasing");
    }
  }
  MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = dynamic_cast<Family<T>*>(it->second.get());
    TESSERA_CHECK(existing != nullptr && existing->type() == type &&
                      existing->label_names() == label_names && existing->bounds() == bounds,
                  what + ": registered twice with a different type, labels or buckets");
    return existing;
  }
  auto family = std::make_unique<Family<T>>(std::string(name), std::string(help), type,
                                            std::move(label_names), std::move(bounds));
  Family<T>* raw = family.get();
  families_.emplace(std::string(name), std::move(family));
  return raw;
}

Counter* Registry::AddCounter(std::string_view name, std::string_view help) {
  return AddCounterFamily(name, help, {})->WithLabels({});
}

Gauge* Registry::AddGauge(std::string_view name, std::string_view help) {
  return AddGaugeFamily(name, help, {})->WithLabels({});
}

Histogram* Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds) {
  return AddHistogramFamily(name, help, {}, std::move(bounds))->WithLabels({});
}

Family<Counter>* Registry::AddCounterFamily(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names) {
  return AddFamily<Counter>(name, help, MetricType::kCounter, std::move(label_names), {});
}

Family<Gauge>* Registry::AddGaugeFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names) {
  return AddFamily<Gauge>(name, help, MetricType::kGauge, std::move(label_names), {});
}

Family<Histogram>* Registry::AddHistogramFamily(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds) {
  return AddFamily<Histogram>(name, help, MetricType::kHistogram, std::move(label_names),
                              std::move(bounds));
}

CallbackGaugeHandle Registry::AddCallbackGauge(std::string_view name, std::string_view help,
                                               std::function<double()> fn) {
  std::string what = "metric " + std::string(name);
  TESSERA_CHECK(IsMetricName(name), what + ": invalid metric name");
  TESSERA_CHECK(fn != nullptr, what + ": null callback");
  MutexLock lock(&mu_);
  TESSERA_CHECK(families_.find(name) == families_.end(), what + ": registered twice");
  families_.emplace(std::string(name), std::make_unique<CallbackFamily>(
                                           std::string(name), std::string(help), std::move(fn)));
  return CallbackGaugeHandle(this, std::string(name));
}

void Registry::RemoveCallbackGauge(const std::string& name) {
  MutexLock lock(&mu_);
  families_.erase(name);
}

std::string Registry::Render() const {
  std::string out;
  MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out.push_back(' ');
    out += EscapeHelp(family->help());
    out += "\n# TYPE ";
    out += name;
    out.push_back(' ');
    out += TypeName(family->type());
    out.push_back('\n');
    family->RenderSamples(&out);
  }
  return out;
}

CallbackGaugeHandle::CallbackGaugeHandle(CallbackGaugeHandle&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), name_(std::move(other.name_)) {}

CallbackGaugeHandle& CallbackGaugeHandle::operator=(CallbackGaugeHandle&& other) noexcept {
  if (this != &other) {
    if (registry_ != nullptr) registry_->RemoveCallbackGauge(name_);
    registry_ = std::exchange(other.registry_, nullptr);
    name_ = std::move(other.name_);
  }
  return *this;
}

CallbackGaugeHandle::~CallbackGaugeHandle() {
  if (registry_ != nullptr) registry_->RemoveCallbackGauge(name_);
}

Registry& DefaultRegistry() {
  // Deliberately never destroyed (like absl::NoDestructor): threads still counting during
  // process exit must not touch a destroyed registry.
  static Registry* const registry = new Registry();
  return *registry;
}

}  // namespace tessera::server
