// Test helpers shared by the linkage_compare_test files.
#pragma once

#include <string>
#include <vector>

namespace tessera::linkage {

// A row of a testdata file.
struct TsvRow {
  int line = 0;
  std::vector<std::string> fields;
};

// Reads src/linkage/testdata/<name> (found through $TESSERA_SOURCE_DIR, set by ctest, else the
// source path compiled in): one row per line, fields separated by TAB; blank lines and lines
// starting with '#' are skipped. In fields, \t \n \\ and \xNN (two hex digits: one raw byte, so
// invalid UTF-8 can be written) are unescaped. A missing file is a test failure.
std::vector<TsvRow> ReadTestdata(const std::string& name);

}  // namespace tessera::linkage
