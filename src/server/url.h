// URL pieces for HTTP requests: percent-decoding, query strings, splitting a request target.
// Pure functions, thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::server {

// Decodes %XY escapes (and '+' as a space when plus_as_space, as in query strings and form
// bodies). nullopt on a truncated or non-hex escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space = false);

// "a=1&b=x%20y&flag" -> {a:1, b:"x y", flag:""}. Empty pieces are skipped; the first occurrence
// of a key wins. nullopt on bad percent-encoding.
std::optional<std::map<std::string, std::string>> ParseQuery(std::string_view query);

// Splits an origin-form target "/p?q" into path and raw query. An absolute-form target
// ("http://host/p?q", RFC 9112 3.2.2) is reduced to its path. nullopt for anything else
// (e.g. "*" or "p"): the path always starts with '/'.
struct SplitTarget {
  std::string_view path;
  std::string_view query;
};
std::optional<SplitTarget> SplitRequestTarget(std::string_view target);

// "/a/b%2Fc/" -> {"a", "b%2Fc", ""}: raw segments of a path starting with '/'. Percent-decode
// each segment after splitting so that an encoded '/' stays inside its segment.
std::vector<std::string_view> SplitPathSegments(std::string_view path);

}  // namespace tessera::server
