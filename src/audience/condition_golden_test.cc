// Golden tests for the condition language, read from src/audience/testdata/*.test (found through
// $TESSERA_SOURCE_DIR, set by ctest, else the source path compiled in).
//
// Text before the first case is the file's header comment. A case is:
//
//   # <name>                  a line starting "# " opens the case
//   input: <form>             optional: text (default), json, aggregate, aggregate_json
//   <input: every line up to "----", joined with '\n'>
//   ----
//   <expected>
//
// The expected part is either one line
//   error: <message>          the exact InvalidArgument message
// or what a successful parse gives:
//   text: <canonical text>    optional: ToText() must print exactly this
//   <JSON, any layout>        optional: ToJson() must equal it (compared as JSON values)
// and at least one of the two. Every successful case is also checked to be valid (Validate),
// and to round-trip: ParseCondition(ToText(c)) == c and FromJson(ToJson(c)) == c (and the same
// for aggregates). Blank lines and trailing spaces are ignored outside the input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "audience/condition.h"

namespace tessera::audience {
namespace {

struct GoldenCase {
  std::string file;
  int line = 0;  // of the "# name" line
  std::string name;
  std::string form = "text";
  std::string input;
  std::vector<std::string> expected;
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.file << ":" << c.line; }

std::string TrimRight(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  return s;
}

std::filesystem::path TestdataDir() {
  if (const char* root = std::getenv("TESSERA_SOURCE_DIR"); root != nullptr && *root != '\0') {
    return std::filesystem::path(root) / "src/audience/testdata";
  }
  return TESSERA_AUDIENCE_TESTDATA_DIR;
}

std::vector<GoldenCase> LoadFile(const std::filesystem::path& path) {
  std::vector<GoldenCase> cases;
  std::ifstream in(path);
  std::string line;
  int line_no = 0;
  enum class Section { kNone, kInput, kExpected } section = Section::kNone;
  bool at_input_start = false;
  while (std::getline(in, line)) {
    ++line_no;
    line = TrimRight(line);
    if (line.rfind("# ", 0) == 0) {
      cases.push_back(GoldenCase{path.string(), line_no, line.substr(2), "text", {}, {}});
      section = Section::kInput;
      at_input_start = true;
      continue;
    }
    if (section == Section::kNone) continue;
    GoldenCase& c = cases.back();
    if (line == "----") {
      section = Section::kExpected;
      continue;
    }
    if (section == Section::kInput) {
      if (at_input_start && line.rfind("input: ", 0) == 0) {
        c.form = line.substr(7);
        continue;
      }
      at_input_start = false;
      if (line.empty() && c.input.empty()) continue;
      if (!c.input.empty()) c.input += '\n';
      c.input += line;
    } else if (!line.empty()) {
      c.expected.push_back(line);
    }
  }
  return cases;
}

std::vector<GoldenCase> LoadCases() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(TestdataDir(), ec)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<GoldenCase> cases;
  for (const auto& file : files) {
    for (auto& c : LoadFile(file)) cases.push_back(std::move(c));
  }
  return cases;
}

// What a case produced: an error message, or the canonical text and JSON.
struct Outcome {
  std::optional<std::string> error;
  std::string text;
  nlohmann::json json;
  std::vector<std::string> round_trip_failures;
};

template <typename T>
Outcome Check(const Result<T>& parsed, Result<T> (*parse_text)(std::string_view),
              Result<T> (*from_json)(const nlohmann::json&)) {
  Outcome out;
  if (!parsed.ok()) {
    out.error = parsed.status().message();
    if (parsed.status().code() != StatusCode::kInvalidArgument) {
      out.round_trip_failures.push_back("not InvalidArgument: " + parsed.status().ToString());
    }
    return out;
  }
  const T& value = *parsed;
  out.text = ToText(value);
  out.json = ToJson(value);
  if (Status s = Validate(value); !s.ok())
    out.round_trip_failures.push_back("invalid: " + s.ToString());
  Result<T> again = parse_text(out.text);
  if (!again.ok()) {
    out.round_trip_failures.push_back("canonical text does not parse: " +
                                      again.status().ToString());
  } else if (!(*again == value)) {
    out.round_trip_failures.push_back("text round trip gives another tree: " + ToText(*again));
  }
  Result<T> from = from_json(nlohmann::json::parse(out.json.dump()));
  if (!from.ok()) {
    out.round_trip_failures.push_back("canonical JSON does not read: " + from.status().ToString());
  } else if (!(*from == value)) {
    out.round_trip_failures.push_back("JSON round trip gives another tree: " +
                                      ToJson(*from).dump());
  }
  return out;
}

Outcome RunCase(const GoldenCase& c) {
  if (c.form == "text") return Check<Condition>(ParseCondition(c.input), ParseCondition, FromJson);
  if (c.form == "aggregate") {
    return Check<Aggregate>(ParseAggregate(c.input), ParseAggregate, AggregateFromJson);
  }
  nlohmann::json input = nlohmann::json::parse(c.input, nullptr, false);
  Outcome bad;
  if (input.is_discarded()) {
    bad.round_trip_failures.push_back("the case's input is not JSON");
    return bad;
  }
  if (c.form == "json") return Check<Condition>(FromJson(input), ParseCondition, FromJson);
  if (c.form == "aggregate_json") {
    return Check<Aggregate>(AggregateFromJson(input), ParseAggregate, AggregateFromJson);
  }
  bad.round_trip_failures.push_back("unknown input form " + c.form);
  return bad;
}

class ConditionGoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(ConditionGoldenTest, Matches) {
  const GoldenCase& c = GetParam();
  Outcome out = RunCase(c);
  for (const std::string& f : out.round_trip_failures) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << ": " << f;
  }
  if (c.expected.empty()) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << ": no expected output";
    return;
  }
  if (c.expected[0].rfind("error: ", 0) == 0) {
    std::string expected = c.expected[0].substr(7);
    if (!out.error) {
      ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << ": expected an error, parsed as\n    "
                                             << out.text << "\n    " << out.json.dump();
    } else if (*out.error != expected) {
      ADD_FAILURE_AT(c.file.c_str(), c.line)
          << c.name << "\n  expected: " << expected << "\n  actual:   " << *out.error;
    }
    return;
  }
  if (out.error) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << ": unexpected error: " << *out.error;
    return;
  }
  std::string json_text;
  for (const std::string& line : c.expected) {
    if (line.rfind("text: ", 0) == 0) {
      if (line.substr(6) != out.text) {
        ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << "\n  expected text: " << line.substr(6)
                                               << "\n  actual text:   " << out.text;
      }
    } else {
      json_text += line + "\n";
    }
  }
  if (json_text.empty()) return;
  nlohmann::json expected = nlohmann::json::parse(json_text, nullptr, false);
  if (expected.is_discarded()) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << ": expected JSON does not parse";
  } else if (expected != out.json) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << "\n  expected json: " << expected.dump()
                                           << "\n  actual json:   " << out.json.dump();
  }
}

std::string CaseName(const testing::TestParamInfo<GoldenCase>& info) {
  std::string name = std::filesystem::path(info.param.file).stem().string() + "_" +
                     std::to_string(info.param.line) + "_";
  for (char ch : info.param.name) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Golden, ConditionGoldenTest, testing::ValuesIn(LoadCases()), CaseName);

// Every ```condition block in docs/CONDITIONS.md parses, and a ```json block that directly follows
// one (only blank lines between) reads as the same tree.
TEST(ConditionDocs, ExamplesParse) {
  std::filesystem::path doc = TestdataDir() / "../../../docs/CONDITIONS.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in.good()) << doc;
  std::string line, block, kind;
  int line_no = 0, block_line = 0, conditions = 0, pairs = 0;
  bool in_block = false, blank_since_condition = false;
  std::optional<Condition> last;
  while (std::getline(in, line)) {
    ++line_no;
    if (!in_block && line.rfind("```", 0) == 0 && line.size() > 3) {
      in_block = true;
      kind = line.substr(3);
      block.clear();
      block_line = line_no;
      continue;
    }
    if (in_block && line == "```") {
      in_block = false;
      if (kind == "condition") {
        Result<Condition> c = ParseCondition(block);
        ++conditions;
        if (!c.ok()) ADD_FAILURE_AT(doc.c_str(), block_line) << c.status().ToString();
        last = c.ok() ? std::optional<Condition>(*c) : std::nullopt;
        blank_since_condition = true;
      } else if (kind == "json" && last && blank_since_condition) {
        nlohmann::json j = nlohmann::json::parse(block, nullptr, false);
        Result<Condition> c = FromJson(j);
        ++pairs;
        if (!c.ok()) {
          ADD_FAILURE_AT(doc.c_str(), block_line) << c.status().ToString();
        } else if (!(*c == *last)) {
          ADD_FAILURE_AT(doc.c_str(), block_line)
              << "differs from the condition above: " << ToText(*c) << "\n"
              << ToJson(*last).dump();
        }
        last.reset();
      } else {
        last.reset();
      }
      continue;
    }
    if (in_block) {
      block += line + "\n";
    } else if (!TrimRight(line).empty()) {
      blank_since_condition = false;
    }
  }
  EXPECT_GE(conditions, 10);
  EXPECT_GE(pairs, 5);
}

// Guards against a wrong testdata path silently running no cases.
TEST(ConditionGoldenFiles, Found) { EXPECT_GE(LoadCases().size(), 100u) << TestdataDir(); }

}  // namespace
}  // namespace tessera::audience
