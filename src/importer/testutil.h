// Test helpers for the importer: golden-file cases (testdata/<dir>/*.test) and temp files.
//
// A golden file holds cases:
//
//   # <name>                   opens a case
//   <key>: <value>             directives, only the keys the runner knows, before the input
//   <input lines>              up to "----"; each line ends with '\n' (see final_newline) and
//                              may use escapes: \r \n \t \\ \xHH (e.g. \xEF\xBB\xBF for a BOM)
//   ----
//   <expected lines>           trailing spaces and blank lines ignored
//
// The directive "final_newline: no" drops the '\n' after the last input line.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tessera::importer::testing {

struct GoldenCase {
  std::string file;
  int line = 0;
  std::string name;
  std::map<std::string, std::vector<std::string>> directives;
  std::string input;
  std::vector<std::string> expected;

  std::string Directive(const std::string& key, const std::string& fallback = "") const {
    auto it = directives.find(key);
    return it == directives.end() ? fallback : it->second.back();
  }
};

// Keeps gtest from dumping the struct's bytes in failure messages.
inline void PrintTo(const GoldenCase& c, std::ostream* out) { *out << c.file << ":" << c.line; }

inline std::string TrimRight(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  return s;
}

inline std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    if (c == 'r') {
      out.push_back('\r');
    } else if (c == 'n') {
      out.push_back('\n');
    } else if (c == 't') {
      out.push_back('\t');
    } else if (c == 'x' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Printable form of a value: escapes as Unescape reads them.
inline std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

inline std::filesystem::path TestdataDir() {
  if (const char* root = std::getenv("TESSERA_SOURCE_DIR"); root != nullptr && *root != '\0') {
    return std::filesystem::path(root) / "src/importer/testdata";
  }
#ifdef TESSERA_IMPORTER_TESTDATA_DIR
  return TESSERA_IMPORTER_TESTDATA_DIR;
#else
  return "src/importer/testdata";
#endif
}

inline std::vector<GoldenCase> LoadGoldenCases(const std::string& dir,
                                               const std::set<std::string>& keys) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(TestdataDir() / dir, ec)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<GoldenCase> cases;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    int line_no = 0;
    enum class Section { kNone, kHeader, kInput, kExpected } section = Section::kNone;
    std::vector<std::string> input;
    auto finish = [&] {
      if (cases.empty() || section == Section::kNone) return;
      GoldenCase& c = cases.back();
      for (size_t i = 0; i < input.size(); ++i) {
        c.input += Unescape(input[i]);
        if (i + 1 < input.size() || c.Directive("final_newline", "yes") != "no") c.input += '\n';
      }
      input.clear();
    };
    while (std::getline(in, line)) {
      ++line_no;
      if (line.rfind("# ", 0) == 0 && section != Section::kInput) {
        finish();
        cases.push_back(
            GoldenCase{path.filename().string(), line_no, TrimRight(line.substr(2)), {}, {}, {}});
        section = Section::kHeader;
        continue;
      }
      if (section == Section::kNone) continue;
      GoldenCase& c = cases.back();
      if (line == "----") {
        section = Section::kExpected;
        continue;
      }
      if (section == Section::kHeader) {
        size_t colon = line.find(": ");
        if (colon != std::string::npos && keys.contains(line.substr(0, colon))) {
          c.directives[line.substr(0, colon)].push_back(TrimRight(line.substr(colon + 2)));
          continue;
        }
        section = Section::kInput;
      }
      if (section == Section::kInput) {
        input.push_back(line);
      } else if (section == Section::kExpected) {
        std::string expected = TrimRight(line);
        if (!expected.empty()) c.expected.push_back(expected);
      }
    }
    finish();
  }
  return cases;
}

inline std::string GoldenName(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.file + "_" + std::to_string(info.param.line);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "    " + l + "\n";
  return out;
}

// Compares line by line; an expected "error: X" matches an actual error line containing X.
inline void ExpectGolden(const GoldenCase& c, const std::vector<std::string>& actual) {
  bool same = actual.size() == c.expected.size();
  for (size_t i = 0; same && i < actual.size(); ++i) {
    const std::string& e = c.expected[i];
    if (e.rfind("error: ", 0) == 0) {
      same = actual[i].rfind("error: ", 0) == 0 && actual[i].find(e.substr(7)) != std::string::npos;
    } else {
      same = TrimRight(actual[i]) == e;
    }
  }
  EXPECT_TRUE(same) << c.file << ":" << c.line << ": " << c.name << "\n  expected:\n"
                    << JoinLines(c.expected) << "  actual:\n"
                    << JoinLines(actual);
}

// A fresh directory under the test temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tessera-import-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

}  // namespace tessera::importer::testing
