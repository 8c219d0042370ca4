#include "linkage/testutil.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace tessera::linkage {

std::vector<TsvRow> ReadTestdata(const std::string& name) {
  std::filesystem::path dir = TESSERA_LINKAGE_TESTDATA_DIR;
  if (const char* root = std::getenv("TESSERA_SOURCE_DIR"); root != nullptr && *root != '\0') {
    dir = std::filesystem::path(root) / "src/linkage/testdata";
  }
  std::ifstream in(dir / name);
  std::vector<TsvRow> rows;
  if (!in) {
    ADD_FAILURE() << "cannot open " << (dir / name);
    return rows;
  }
  const auto unescape = [](const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' || i + 1 == s.size()) {
        out += s[i];
        continue;
      }
      const char c = s[++i];
      if (c == 't') {
        out += '\t';
      } else if (c == 'n') {
        out += '\n';
      } else if (c == 'x' && i + 2 < s.size() &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += c;
      }
    }
    return out;
  };
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    TsvRow row;
    row.line = number;
    size_t start = 0;
    while (true) {
      const size_t tab = line.find('\t', start);
      row.fields.push_back(unescape(line.substr(start, tab - start)));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace tessera::linkage
