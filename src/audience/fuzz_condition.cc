// libFuzzer target: arbitrary bytes as the text form and as the JSON form. Whatever parses must be
// valid and round-trip exactly through both forms.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audience/condition.h"

namespace {

using tessera::audience::Condition;

void CheckRoundTrip(const Condition& c) {
  using namespace tessera::audience;
  if (!Validate(c).ok()) __builtin_trap();
  tessera::Result<Condition> text = ParseCondition(ToText(c));
  if (!text.ok() || !(*text == c)) __builtin_trap();
  tessera::Result<Condition> json = FromJson(nlohmann::json::parse(ToJson(c).dump()));
  if (!json.ok() || !(*json == c)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::audience;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto c = ParseCondition(input); c.ok()) CheckRoundTrip(*c);
  if (auto a = ParseAggregate(input); a.ok()) {
    if (!Validate(*a).ok()) __builtin_trap();
    auto again = ParseAggregate(ToText(*a));
    if (!again.ok() || !(*again == *a)) __builtin_trap();
    auto json = AggregateFromJson(nlohmann::json::parse(ToJson(*a).dump()));
    if (!json.ok() || !(*json == *a)) __builtin_trap();
  }
  // nlohmann's parser is iterative, so deep JSON cannot exhaust the stack before FromJson's limit.
  nlohmann::json j = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    if (auto c = FromJson(j); c.ok()) CheckRoundTrip(*c);
    if (auto a = AggregateFromJson(j); a.ok()) {
      auto again = AggregateFromJson(ToJson(*a));
      if (!again.ok() || !(*again == *a)) __builtin_trap();
    }
  }
  return 0;
}
