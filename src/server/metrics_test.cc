#include "server/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace tessera::server {
namespace {

TEST(MetricsTest, RenderGolden) {
  Registry registry;
  Counter* requests = registry.AddCounter("app_requests_total", "Requests seen.");
  Gauge* queue = registry.AddGauge("app_queue_depth", "Items waiting.");
  Family<Counter>* by_source =
      registry.AddCounterFamily("app_events_total", "Events by source and type.", {"source", "type"});
  Histogram* latency = registry.AddHistogram("app_latency_seconds", "Latency.", {0.125, 0.5, 1});
  registry.AddGaugeFamily("app_unused", "Registered, never used.", {"shard"});

  requests->Inc();
  requests->Inc(41);
  queue->Set(3);
  queue->Add(-0.5);
  by_source->WithLabels({"web", "track"})->Inc(2);
  by_source->WithLabels({"ios", "identify"})->Inc();
  latency->Observe(0.0625);
  latency->Observe(0.125);  // le is inclusive: lands in the 0.125 bucket
  latency->Observe(0.75);
  latency->Observe(3);

  EXPECT_EQ(registry.Render(),
            "# HELP app_events_total Events by source and type.\n"
            "# TYPE app_events_total counter\n"
            "app_events_total{source=\"ios\",type=\"identify\"} 1\n"
            "app_events_total{source=\"web\",type=\"track\"} 2\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{le=\"0.125\"} 2\n"
            "app_latency_seconds_bucket{le=\"0.5\"} 2\n"
            "app_latency_seconds_bucket{le=\"1\"} 3\n"
            "app_latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum 3.9375\n"
            "app_latency_seconds_count 4\n"
            "# HELP app_queue_depth Items waiting.\n"
            "# TYPE app_queue_depth gauge\n"
            "app_queue_depth 2.5\n"
            "# HELP app_requests_total Requests seen.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total 42\n"
            "# HELP app_unused Registered, never used.\n"
            "# TYPE app_unused gauge\n");
}

TEST(MetricsTest, LabelledHistogramGolden) {
  Registry registry;
  auto* family = registry.AddHistogramFamily("rpc_seconds", "RPC time.", {"route"}, {0.25, 2.5});
  family->WithLabels({"/a"})->Observe(0.25);
  family->WithLabels({"/a"})->Observe(10);
  EXPECT_EQ(registry.Render(),
            "# HELP rpc_seconds RPC time.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{route=\"/a\",le=\"0.25\"} 1\n"
            "rpc_seconds_bucket{route=\"/a\",le=\"2.5\"} 1\n"
            "rpc_seconds_bucket{route=\"/a\",le=\"+Inf\"} 2\n"
            "rpc_seconds_sum{route=\"/a\"} 10.25\n"
            "rpc_seconds_count{route=\"/a\"} 2\n");
}

TEST(MetricsTest, HistogramBuckets) {
  Histogram h({1, 2, 4});
  for (double v : {-1.0, 0.0, 1.0, 1.0000001, 2.0, 3.9, 4.0, 4.1, 1e9}) h.Observe(v);
  h.Observe(std::nan(""));  // ignored
  EXPECT_EQ(h.BucketCount(0), 3u);  // -1, 0, 1
  EXPECT_EQ(h.BucketCount(1), 2u);  // 1.0000001, 2
  EXPECT_EQ(h.BucketCount(2), 2u);  // 3.9, 4
  EXPECT_EQ(h.BucketCount(3), 2u);  // +Inf: 4.1, 1e9
  EXPECT_EQ(h.Count(), 9u);
  EXPECT_DOUBLE_EQ(h.Sum(), -1 + 0 + 1 + 1.0000001 + 2 + 3.9 + 4 + 4.1 + 1e9);
}

TEST(MetricsTest, DefaultLatencyBuckets) {
  const auto& b = DefaultLatencyBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.front(), 0.0005);
  EXPECT_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(MetricsTest, LabelAndHelpEscaping) {
  Registry registry;
  auto* family = registry.AddCounterFamily("esc_total", "Line one\nback\\slash \"quotes\" stay", {"v"});
  family->WithLabels({"a\\b \"q\"\nnext"})->Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP esc_total Line one\\nback\\\\slash \"quotes\" stay\n"
            "# TYPE esc_total counter\n"
            "esc_total{v=\"a\\\\b \\\"q\\\"\\nnext\"} 1\n");
  EXPECT_EQ(EscapeLabelValue("plain/{id}"), "plain/{id}");
}

TEST(MetricsTest, FormatMetricValue) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1), "1");
  EXPECT_EQ(FormatMetricValue(-2.5), "-2.5");
  EXPECT_EQ(FormatMetricValue(0.0005), "0.0005");
  EXPECT_EQ(FormatMetricValue(1e-9), "1e-09");
  EXPECT_EQ(FormatMetricValue(1e6), "1000000");
  EXPECT_EQ(FormatMetricValue(123456.5), "123456.5");
  EXPECT_EQ(FormatMetricValue(1e300), "1e+300");
  EXPECT_EQ(FormatMetricValue(18446744073709551615.0), "18446744073709551616");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsTest, ReRegisteringReturnsTheSameMetric) {
  Registry registry;
  Counter* a = registry.AddCounter("same_total", "x");
  Counter* b = registry.AddCounter("same_total", "x");
  EXPECT_EQ(a, b);
  auto* f1 = registry.AddCounterFamily("fam_total", "x", {"k"});
  auto* f2 = registry.AddCounterFamily("fam_total", "x", {"k"});
  EXPECT_EQ(f1, f2);
  EXPECT_EQ(f1->WithLabels({"v"}), f2->WithLabels({"v"}));
}

TEST(MetricsDeathTest, MisuseIsAProgrammerError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  registry.AddCounter("clash", "x");
  EXPECT_DEATH(registry.AddGauge("clash", "x"), "registered twice");
  EXPECT_DEATH(registry.AddCounter("bad name", "x"), "invalid metric name");
  EXPECT_DEATH(registry.AddHistogramFamily("h", "x", {"le"}), "reserved");
  auto* family = registry.AddCounterFamily("two_total", "x", {"a", "b"});
  EXPECT_DEATH(family->WithLabels({"only-one"}), "wrong number of label values");
}

TEST(MetricsTest, CallbackGaugeEvaluatedAtScrapeAndRemovedWithHandle) {
  Registry registry;
  double depth = 7;
  {
    CallbackGaugeHandle handle =
        registry.AddCallbackGauge("cb_depth", "Depth.", [&depth] { return depth; });
    EXPECT_EQ(registry.Render(), "# HELP cb_depth Depth.\n# TYPE cb_depth gauge\ncb_depth 7\n");
    depth = 8;
    EXPECT_EQ(registry.Render(), "# HELP cb_depth Depth.\n# TYPE cb_depth gauge\ncb_depth 8\n");
    CallbackGaugeHandle moved = std::move(handle);
    EXPECT_NE(registry.Render(), "");
  }
  EXPECT_EQ(registry.Render(), "");
}

// Run under TSan too: Inc, child creation and Render from many threads at once.
TEST(MetricsTest, ConcurrentUpdatesAreExact) {
  Registry registry;
  Counter* total = registry.AddCounter("c_total", "x");
  auto* family = registry.AddCounterFamily("c_by_total", "x", {"k"});
  Gauge* gauge = registry.AddGauge("g", "x");
  Histogram* hist = registry.AddHistogram("h_seconds", "x");
  constexpr int kThreads = 8;
  constexpr int kIters = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; ++i) {
        total->Inc();
        family->WithLabels({std::to_string(i % 16)})->Inc();
        gauge->Add(t % 2 == 0 ? 1 : -1);
        hist->Observe(0.001 * (i % 100));
        if (i % 5000 == 0) {
          EXPECT_FALSE(registry.Render().empty());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(total->Value(), uint64_t{kThreads} * kIters);
  uint64_t sum = 0;
  for (int k = 0; k < 16; ++k) sum += family->WithLabels({std::to_string(k)})->Value();
  EXPECT_EQ(sum, uint64_t{kThreads} * kIters);
  EXPECT_EQ(gauge->Value(), 0);
  EXPECT_EQ(hist->Count(), uint64_t{kThreads} * kIters);
}

TEST(MetricsTest, DefaultRegistryIsOneInstance) {
  EXPECT_EQ(&DefaultRegistry(), &DefaultRegistry());
}

}  // namespace
}  // namespace tessera::server
