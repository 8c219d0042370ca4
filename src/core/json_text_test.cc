#include "core/json_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tessera {
namespace {

TEST(JsonText, EscapesWhatJsonRequires) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\nd\te\x01 \x1f\u00e9\u2603");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\te\\u0001 \\u001f\u00e9\u2603\"");
}

TEST(JsonText, EveryByteRoundTripsThroughAParser) {
  std::string s;
  for (int c = 1; c < 0x80; ++c) s.push_back(static_cast<char>(c));
  s += "\u00e9\u2603\U0001F600";
  std::string out;
  AppendJsonString(&out, s);
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), s);
}

TEST(JsonText, ObjectWriterMatchesTheLibrary) {
  std::string out;
  JsonObjectWriter w(&out);
  w.Field("name").String("Order \"big\"");
  w.Field("n").Int(-3);
  w.Field("u").Uint(18446744073709551615ull);
  w.Field("nested").Raw("{\"x\":[1,2]}");
  w.Field("yes").Bool(true);
  w.Field("list");
  JsonArrayWriter a(&out);
  for (int i : {1, 2}) a.Next()->append(std::to_string(i));
  AppendJsonString(a.Next(), "three");
  a.Close();
  w.Field("empty");
  JsonArrayWriter(&out).Close();
  w.Close();
  nlohmann::json expected = {{"name", "Order \"big\""},
                             {"n", -3},
                             {"u", 18446744073709551615ull},
                             {"nested", {{"x", {1, 2}}}},
                             {"yes", true},
                             {"list", {1, 2, "three"}},
                             {"empty", nlohmann::json::array()}};
  EXPECT_EQ(nlohmann::json::parse(out), expected);
}

}  // namespace
}  // namespace tessera
