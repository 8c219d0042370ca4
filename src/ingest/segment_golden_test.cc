// Golden tests for ParseRequest, read from src/ingest/testdata/*.test (found through
// $TESSERA_SOURCE_DIR, set by ctest, else the source path compiled in).
//
// A file holds any number of cases. A case is:
//
//   # <name>                         a line starting "# " opens the case
//   endpoint: <batch|identify|track|page|screen|group|alias>
//   received_at: <ISO-8601>          optional, default 2024-05-01T12:00:00Z
//   region: <XX>                     optional IdentifierConfig::default_phone_region (US)
//   custom: <kind> <path>[,<path>]   optional, repeatable; replaces the default custom kind
//                                    loyalty_id <- traits.loyalty_id
//   max_message_bytes: <n>           optional IngestLimits (defaults: 32 KiB / 500 KiB)
//   max_batch_bytes: <n>
//   show: json                       optional: also print each event's json
//   config: import                   optional: require_user_or_anonymous_id = false
//   <request body: every line up to "----", joined with '\n'>
//   ----
//   <expected output>
//
// The expected output is either a single line
//   error: <status code name> <substring of the status message>
// or what a successful parse prints:
//   write_key=<key>                  only when the body had a "writeKey"
//   <type> <field>=<value> ...       one line per event, fields below
//   (no events)                      instead, for an empty batch
//     traits: <traits_json>          when not empty
//     consent: <consent_json>        when not empty
//     json: <json>                   with "show: json"
// Event fields, in this order, each left out when empty or absent: message_id user_id
// anonymous_id event group_id previous_id timestamp original_timestamp sent_at
// ids=[kind:value,...]. received_at is not printed (it is the case's). Times are ISO-8601 UTC.
// A value with a space, '"' or '\' is printed in double quotes with '"' and '\' escaped.
// Blank lines and trailing spaces are ignored. Every case is parsed twice and both parses must
// agree, so generated message ids are checked to be deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ingest/segment.h"

namespace tessera::ingest {
namespace {

constexpr std::string_view kDefaultReceivedAt = "2024-05-01T12:00:00Z";

struct GoldenCase {
  std::string file;
  int line = 0;  // of the "# name" line
  std::string name;
  std::map<std::string, std::vector<std::string>> directives;
  std::string body;
  std::vector<std::string> expected;
};

std::string TrimRight(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  return s;
}

std::filesystem::path TestdataDir() {
  if (const char* root = std::getenv("TESSERA_SOURCE_DIR"); root != nullptr && *root != '\0') {
    return std::filesystem::path(root) / "src/ingest/testdata";
  }
  return TESSERA_INGEST_TESTDATA_DIR;
}

// "key: value" with key in [a-z_]; the body never starts that way (it is JSON).
bool SplitDirective(const std::string& line, std::string* key, std::string* value) {
  size_t colon = line.find(": ");
  if (colon == std::string::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    if (!(line[i] >= 'a' && line[i] <= 'z') && line[i] != '_') return false;
  }
  *key = line.substr(0, colon);
  *value = line.substr(colon + 2);
  return true;
}

std::vector<GoldenCase> LoadFile(const std::filesystem::path& path) {
  std::vector<GoldenCase> cases;
  std::ifstream in(path);
  std::string line;
  int line_no = 0;
  enum class Section { kNone, kHeader, kBody, kExpected } section = Section::kNone;
  while (std::getline(in, line)) {
    ++line_no;
    line = TrimRight(line);
    if (line.rfind("# ", 0) == 0) {
      cases.push_back(GoldenCase{path.string(), line_no, line.substr(2), {}, {}, {}});
      section = Section::kHeader;
      continue;
    }
    if (section == Section::kNone) continue;  // text before the first case
    GoldenCase& c = cases.back();
    if (line == "----") {
      section = Section::kExpected;
      continue;
    }
    std::string key, value;
    if (section == Section::kHeader && SplitDirective(line, &key, &value)) {
      c.directives[key].push_back(value);
      continue;
    }
    if (section == Section::kHeader && !line.empty()) section = Section::kBody;
    if (section == Section::kBody) {
      if (!c.body.empty()) c.body += '\n';
      c.body += line;
    } else if (section == Section::kExpected && !line.empty()) {
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

std::string Value(std::string_view v) {
  if (v.find_first_of(" \"\\") == std::string_view::npos && !v.empty()) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> Render(const Result<ParsedRequest>& result, bool show_json) {
  if (!result.ok()) {
    return {"error: " + std::string(StatusCodeName(result.status().code())) + " " +
            result.status().message()};
  }
  std::vector<std::string> lines;
  if (!result->write_key.empty()) lines.push_back("write_key=" + Value(result->write_key));
  for (const Event& e : result->events) {
    std::string line(MessageTypeName(e.type));
    auto field = [&line](std::string_view name, std::string_view value) {
      if (!value.empty()) line += " " + std::string(name) + "=" + Value(value);
    };
    auto time = [&field](std::string_view name, std::optional<TimeMs> t) {
      if (t) field(name, FormatIso8601(*t));
    };
    field("message_id", e.message_id);
    field("user_id", e.user_id);
    field("anonymous_id", e.anonymous_id);
    field("event", e.event);
    field("group_id", e.group_id);
    field("previous_id", e.previous_id);
    time("timestamp", e.timestamp);
    time("original_timestamp", e.original_timestamp);
    time("sent_at", e.sent_at);
    std::string ids;
    for (const Identifier& id : e.identifiers) ids += (ids.empty() ? "" : ",") + id.ToString();
    if (!ids.empty()) line += " ids=[" + ids + "]";
    lines.push_back(line);
    if (!e.traits_json.empty()) lines.push_back("  traits: " + e.traits_json);
    if (!e.consent_json.empty()) lines.push_back("  consent: " + e.consent_json);
    if (show_json) lines.push_back("  json: " + e.json);
  }
  if (result->events.empty()) lines.push_back("(no events)");
  return lines;
}

std::optional<Endpoint> ParseEndpointName(std::string_view name) {
  return name == "batch" ? EndpointFromPath("/v1/batch") : EndpointFromPath("/v1/" + std::string(name));
}

// Checks the error line: code equal, message containing the expected substring.
bool ErrorMatches(const std::string& expected, const std::string& actual) {
  constexpr std::string_view kPrefix = "error: ";
  if (expected.rfind(kPrefix, 0) != 0 || actual.rfind(kPrefix, 0) != 0) return false;
  size_t code_end = expected.find(' ', kPrefix.size());
  std::string code = expected.substr(0, code_end);
  std::string substring = code_end == std::string::npos ? "" : expected.substr(code_end + 1);
  return actual.rfind(code + " ", 0) == 0 && actual.find(substring, code.size()) != std::string::npos;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "    " + l + "\n";
  return out;
}

class SegmentGoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(SegmentGoldenTest, Matches) {
  const GoldenCase& c = GetParam();
  auto one = [&c](const std::string& key, std::string fallback) {
    auto it = c.directives.find(key);
    return it == c.directives.end() ? fallback : it->second.back();
  };
  std::optional<Endpoint> endpoint = ParseEndpointName(one("endpoint", ""));
  std::optional<TimeMs> received_at = ParseIso8601(one("received_at", std::string(kDefaultReceivedAt)));
  if (!endpoint || !received_at) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << "bad endpoint or received_at in case " << c.name;
    return;
  }
  IngestLimits limits;
  limits.max_message_bytes = std::stoul(one("max_message_bytes", std::to_string(limits.max_message_bytes)));
  limits.max_batch_bytes = std::stoul(one("max_batch_bytes", std::to_string(limits.max_batch_bytes)));
  IdentifierConfig config;
  config.default_phone_region = one("region", "US");
  if (auto it = c.directives.find("custom"); it != c.directives.end()) {
    for (const std::string& spec : it->second) {
      CustomIdentifierKind kind;
      std::istringstream parts(spec);
      std::string paths, path;
      parts >> kind.kind >> paths;
      std::istringstream split(paths);
      while (std::getline(split, path, ',')) kind.paths.push_back(path);
      config.custom.push_back(kind);
    }
  } else {
    config.custom.push_back({"loyalty_id", {"traits.loyalty_id"}});
  }
  config.require_user_or_anonymous_id = one("config", "") != "import";
  bool show_json = one("show", "") == "json";

  Result<ParsedRequest> first = ParseRequest(*endpoint, c.body, *received_at, limits, config);
  Result<ParsedRequest> second = ParseRequest(*endpoint, c.body, *received_at, limits, config);
  std::vector<std::string> actual = Render(first, show_json);
  if (Render(second, show_json) != actual) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << ": two parses of the same body differ";
  }
  bool match = c.expected.size() == 1 && actual.size() == 1 && c.expected[0].rfind("error: ", 0) == 0
                   ? ErrorMatches(c.expected[0], actual[0])
                   : c.expected == actual;
  if (!match) {
    ADD_FAILURE_AT(c.file.c_str(), c.line) << c.name << "\n  expected:\n"
                                           << Join(c.expected) << "  actual:\n"
                                           << Join(actual);
  }
}

std::string CaseName(const testing::TestParamInfo<GoldenCase>& info) {
  std::string name = std::filesystem::path(info.param.file).stem().string() + "_" +
                     std::to_string(info.param.line) + "_";
  for (char ch : info.param.name) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Golden, SegmentGoldenTest, testing::ValuesIn(LoadCases()), CaseName);

// Guards against a wrong testdata path silently running no cases.
TEST(SegmentGoldenFiles, Found) { EXPECT_GE(LoadCases().size(), 40u) << TestdataDir(); }

}  // namespace
}  // namespace tessera::ingest
