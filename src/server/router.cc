// Router and Request helpers: everything about matching a request to a handler.
#include <set>

#include "core/check.h"
#include "server/http_server.h"
#include "server/url.h"

namespace tessera::server {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string Request::Header(std::string_view name) const {
  std::string out;
  bool found = false;
  for (const auto& [key, value] : headers) {
    if (!EqualsIgnoreCase(key, name)) continue;
    if (found) out += ", ";
    out += value;
    found = true;
  }
  return out;
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
  std::string what = "route " + method + " " + pattern;
  TESSERA_CHECK(!method.empty(), what + ": empty method");
  TESSERA_CHECK(handler != nullptr, what + ": null handler");
  TESSERA_CHECK(!pattern.empty() && pattern.front() == '/', what + ": pattern must start with /");
  TESSERA_CHECK(pattern.find_first_of("?#%") == std::string::npos,
                what + ": pattern must be a plain decoded path");
  Route route{method, pattern, {}, std::move(handler)};
  for (std::string_view seg : SplitPathSegments(pattern)) {
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      TESSERA_CHECK(!name.empty() && name.find_first_of("{}") == std::string_view::npos,
                    what + ": bad parameter segment");
      route.segments.push_back({"", true});
    } else {
      TESSERA_CHECK(seg.find_first_of("{}") == std::string_view::npos,
                    what + ": '{' or '}' inside a literal segment");
      route.segments.push_back({std::string(seg), false});
    }
  }
  for (const Route& other : routes_) {
    bool same_shape = other.method == route.method && other.segments.size() == route.segments.size();
    for (size_t i = 0; same_shape && i < route.segments.size(); ++i) {
      same_shape = other.segments[i].is_param == route.segments[i].is_param &&
                   other.segments[i].literal == route.segments[i].literal;
    }
    TESSERA_CHECK(!same_shape, what + ": clashes with " + other.method + " " + other.pattern);
  }
  routes_.push_back(std::move(route));
}

bool Router::MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
  }
  return false;
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  std::vector<std::string> decoded;
  for (std::string_view seg : SplitPathSegments(path)) {
    auto d = PercentDecode(seg);
    if (!d) {
      match.kind = Match::Kind::kBadPath;
      return match;
    }
    decoded.push_back(std::move(*d));
  }

  const Route* best = nullptr;      // same method
  const Route* fallback = nullptr;  // GET serving a HEAD
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != decoded.size()) continue;
    bool matches = true;
    for (size_t i = 0; matches && i < decoded.size(); ++i) {
      const Segment& seg = route.segments[i];
      matches = seg.is_param ? !decoded[i].empty() : seg.literal == decoded[i];
    }
    if (!matches) continue;
    allowed.insert(route.method);
    if (route.method == "GET") allowed.insert("HEAD");
    if (route.method == method) {
      if (best == nullptr || MoreSpecific(route, *best)) best = &route;
    } else if (method == "HEAD" && route.method == "GET") {
      if (fallback == nullptr || MoreSpecific(route, *fallback)) fallback = &route;
    }
  }
  if (best == nullptr) best = fallback;
  if (best == nullptr) {
    match.kind = allowed.empty() ? Match::Kind::kNotFound : Match::Kind::kMethodNotAllowed;
    for (const std::string& m : allowed) {
      if (!match.allow.empty()) match.allow += ", ";
      match.allow += m;
    }
    return match;
  }
  match.kind = Match::Kind::kFound;
  match.route_index = static_cast<size_t>(best - routes_.data());
  match.handler = &best->handler;
  for (size_t i = 0; i < decoded.size(); ++i) {
    if (best->segments[i].is_param) match.params.push_back(std::move(decoded[i]));
  }
  return match;
}

}  // namespace tessera::server
