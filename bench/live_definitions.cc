#include "bench/live_definitions.h"

namespace tessera::bench {

std::vector<Definition> LiveDefinitions(int audiences, int computed_traits) {
  static const char* kEvents[] = {"Product Viewed", "Added To Cart", "Order Completed",
                                  "Page Scrolled", "Support Ticket Opened"};
  static const char* kPlans[] = {"free", "plus", "pro", "enterprise"};
  static const char* kComputed[] = {
      "count of \"Product Viewed\" in last 30 days",
      "count of \"Added To Cart\" in last 30 days",
      "count of \"Order Completed\" in last 30 days",
      "count of \"Page Scrolled\" in last 7 days",
      "count of \"Support Ticket Opened\" in last 90 days",
      "sum of properties.price over \"Order Completed\" in last 30 days",
      "sum of properties.price over \"Order Completed\" in last 90 days",
      "avg of properties.price over \"Product Viewed\" in last 30 days",
      "max of properties.price over \"Order Completed\" in last 365 days",
      "min of properties.price over \"Added To Cart\" in last 30 days",
      "last of properties.sku over \"Product Viewed\"",
      "first of properties.sku over \"Order Completed\"",
      "most frequent of properties.sku over \"Added To Cart\" in last 90 days",
      "distinct count of properties.sku over \"Product Viewed\" in last 30 days",
      "last time performed \"Order Completed\"",
      "first time performed any event",
      "count of any event in last 7 days",
      "count of \"Order Completed\" where properties.price > 50 in last 30 days",
      "count of \"Product Viewed\" from touchpoint web in last 1 day",
      "sum of properties.price over \"Added To Cart\" in last 7 days",
  };
  constexpr int kComputedKinds = sizeof kComputed / sizeof kComputed[0];
  std::vector<Definition> out;
  for (int i = 0; i < computed_traits; ++i) {
    std::string text = kComputed[i % kComputedKinds];
    if (i >= kComputedKinds) text += " where properties.price > " + std::to_string(i);
    out.push_back({true, "live_ct_" + std::to_string(i), text});
  }
  auto q = [](const char* s) { return std::string("\"") + s + "\""; };
  for (int i = 0; i < audiences; ++i) {
    const int v = i / 10;  // the variant: thresholds, windows, names
    const std::string event = q(kEvents[v % 5]);
    const std::string n = std::to_string(v + 1);
    std::string text;
    switch (i % 10) {
      case 0:
        text = "trait plan = " + q(kPlans[v % 4]);
        break;
      case 1:
        text = "trait lifetime_value > " + std::to_string(100 * (v + 1));
        break;
      case 2:
        text = "performed \"Order Completed\" at least " + n + " times in last " +
               std::to_string(7 * (v + 1)) + " days";
        break;
      case 3:
        text = "performed \"Product Viewed\" at least " + n +
               " times in last 7 days and not performed \"Order Completed\" in last 7 days";
        break;
      case 4:
        text = "sum of properties.price over \"Order Completed\" in last 30 days > " +
               std::to_string(50 * (v + 1));
        break;
      case 5:
        text = "trait plan in [\"pro\", \"enterprise\"] and count of " + event +
               " in last 30 days >= " + n;
        break;
      case 6:
        text = "performed \"Added To Cart\" and not \"Order Completed\" within " + n +
               " hours in last 7 days";
        break;
      case 7:
        text = "has email and trait address.city = \"Leeds\" and performed " + event +
               " in last " + n + " days";
        break;
      case 8:
        text = "performed " + event + " where properties.price > " + std::to_string(10 * v) +
               " in last 14 days";
        break;
      case 9:
        text = computed_traits > 0 ? "trait live_ct_" + std::to_string(v % computed_traits) + " >= " + n
                                   : "max of properties.price over " + event +
                                         " in last 30 days >= " + std::to_string(10 * v);
        break;
    }
    out.push_back({false, "live_aud_" + std::to_string(i), text});
  }
  return out;
}

}  // namespace tessera::bench
