#include "bench/workload.h"

#include <nlohmann/json.hpp>

namespace tessera::bench {

std::vector<std::string> MakeBatches(const Workload& w, size_t batches, uint64_t first_message) {
  std::mt19937_64 rng(w.seed ^ first_message);
  static const char* kEvents[] = {"Product Viewed", "Added To Cart", "Order Completed",
                                  "Page Scrolled", "Support Ticket Opened"};
  static const char* kPlans[] = {"free", "plus", "pro", "enterprise"};
  std::vector<std::string> out;
  out.reserve(batches);
  uint64_t msg = first_message;
  for (size_t b = 0; b < batches; ++b) {
    nlohmann::json batch = nlohmann::json::array();
    for (size_t i = 0; i < w.batch_messages; ++i, ++msg) {
      uint64_t c = rng() % w.customers;
      std::string user = "cust-" + std::to_string(c);
      nlohmann::json m;
      m["messageId"] = "bench-" + std::to_string(msg);
      m["userId"] = user;
      m["anonymousId"] = "anon-" + std::to_string(c) + "-" + std::to_string(rng() % 3);
      m["timestamp"] = "2026-11-20T10:00:00.000Z";
      m["context"] = {{"library", {{"name", "analytics-node"}, {"version", "3.1.0"}}},
                      {"ip", "203.0.113.7"},
                      {"userAgent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"}};
      if (static_cast<double>(rng() % 1000) < w.identify_share * 1000) {
        m["type"] = "identify";
        m["traits"] = {{"email", "customer" + std::to_string(c) + "@example.com"},
                       {"name", "Customer " + std::to_string(c)},
                       // A customer's plan and value change rarely, as in life (every
                       // change may move them between audiences).
                       {"plan", kPlans[(c + (rng() % 20 == 0 ? 1 : 0)) % 4]},
                       {"address", {{"street", "12 High Street"}, {"city", "Leeds"},
                                    {"postcode", "LS1 4AB"}}},
                       {"lifetime_value", static_cast<double>((c * 7919) % 100000) / 100 +
                                              static_cast<double>(rng() % 3)}};
      } else {
        m["type"] = "track";
        m["event"] = kEvents[rng() % 5];
        m["properties"] = {{"sku", "SKU-" + std::to_string(rng() % 5000)},
                           {"price", static_cast<double>(rng() % 10000) / 100},
                           {"currency", "GBP"}};
      }
      std::string size_probe = m.dump();
      if (size_probe.size() < w.message_bytes) {
        m[m["type"] == "track" ? "properties" : "traits"]["notes"] =
            std::string(w.message_bytes - size_probe.size() - 12, 'x');
      }
      batch.push_back(std::move(m));
    }
    out.push_back(nlohmann::json{{"batch", batch}, {"sentAt", "2026-11-20T10:00:00.500Z"}}.dump());
  }
  return out;
}

}  // namespace tessera::bench
