// Projection, PopulationBuilder and Population (population.h).
#include "audience/population.h"

#include <algorithm>
#include <tuple>

namespace tessera::audience {
namespace {

// What one definition reads; mirrors dependencies.cc, with full paths.
class ProjectionCollector {
 public:
  explicit ProjectionCollector(Projection* out) : out_(out) {}

  void Condition(const audience::Condition& c) {
    std::visit([this](const auto& n) { Node(n); }, c.node);
  }
  void Aggregate(const audience::Aggregate& a) {
    Filter(a.events);
    if (!a.property.empty()) out_->properties.insert(a.property);
  }

 private:
  void Filter(const EventFilter& f) {
    if (f.name) {
      out_->event_names.insert(*f.name);
    } else {
      out_->all_events = true;
    }
    if (f.where) Condition(**f.where);
  }
  void Node(const TraitCondition& n) { out_->traits.insert(n.trait); }
  void Node(const PropertyCondition& n) { out_->properties.insert(n.property); }
  void Node(const AggregateCondition& n) { Aggregate(n.aggregate); }
  void Node(const SequenceCondition& n) {
    for (const EventFilter& step : n.steps) Filter(step);
  }
  void Node(const NotFollowedByCondition& n) {
    Filter(n.first);
    Filter(n.absent);
  }
  void Node(const AudienceCondition&) {}  // membership is given at evaluation time
  void Node(const IdentifierCondition& n) { out_->identifier_kinds.insert(n.kind); }
  void Node(const ConsentCondition& n) { out_->consent_purposes.insert(n.purpose); }
  void Node(const AndCondition& n) {
    for (const audience::Condition& c : n.children) Condition(c);
  }
  void Node(const OrCondition& n) {
    for (const audience::Condition& c : n.children) Condition(c);
  }
  void Node(const NotCondition& n) { Condition(*n.child); }

  Projection* out_;
};

std::string PathText(const Path& path) {
  std::string out;
  for (const std::string& segment : path) out += (out.empty() ? "" : ".") + segment;
  return out;
}

// The value at path below root, through objects only; nullptr when absent (null is left to
// Column::Set, which treats it as missing too).
const nlohmann::json* Lookup(const nlohmann::json& root, const Path& path) {
  const nlohmann::json* cur = &root;
  for (const std::string& segment : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(segment);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

template <typename T>
void PermuteVector(std::vector<T>* v, const std::vector<uint64_t>& order) {
  std::vector<T> out(order.size());
  for (size_t i = 0; i < order.size(); ++i) out[i] = (*v)[order[i]];
  *v = std::move(out);
}

uint32_t Intern(std::string_view s, CodeMap* codes, std::vector<std::string>* strings) {
  auto it = codes->find(s);
  if (it != codes->end()) return it->second;
  auto code = static_cast<uint32_t>(strings->size());
  strings->emplace_back(s);
  codes->emplace(std::string(s), code);
  return code;
}

template <typename T>
size_t VectorBytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

}  // namespace

void Projection::Merge(const Projection& other) {
  traits.insert(other.traits.begin(), other.traits.end());
  all_events = all_events || other.all_events;
  event_names.insert(other.event_names.begin(), other.event_names.end());
  properties.insert(other.properties.begin(), other.properties.end());
  identifier_kinds.insert(other.identifier_kinds.begin(), other.identifier_kinds.end());
  consent_purposes.insert(other.consent_purposes.begin(), other.consent_purposes.end());
}

std::string Projection::Missing(const Projection& other) const {
  std::vector<std::string> missing;
  for (const Path& p : other.traits) {
    if (!traits.contains(p)) missing.push_back("trait " + PathText(p));
  }
  if (other.all_events && !all_events) missing.push_back("events of any name");
  for (const std::string& name : other.event_names) {
    if (!KeepsEvent(name)) missing.push_back("event \"" + name + "\"");
  }
  for (const Path& p : other.properties) {
    if (!properties.contains(p)) missing.push_back("property " + PathText(p));
  }
  for (const std::string& kind : other.identifier_kinds) {
    if (!identifier_kinds.contains(kind)) missing.push_back("identifier kind " + kind);
  }
  for (const std::string& purpose : other.consent_purposes) {
    if (!consent_purposes.contains(purpose)) missing.push_back("consent \"" + purpose + "\"");
  }
  std::string out;
  for (const std::string& m : missing) out += (out.empty() ? "" : ", ") + m;
  return out;
}

Projection ProjectionFor(const std::vector<const Condition*>& conditions,
                         const std::vector<const Aggregate*>& aggregates) {
  Projection out;
  ProjectionCollector collector(&out);
  for (const Condition* c : conditions) collector.Condition(*c);
  for (const Aggregate* a : aggregates) collector.Aggregate(*a);
  return out;
}

uint8_t TouchpointCode(std::string_view touchpoint) {
  for (size_t i = 0; i < std::size(kTouchpoints); ++i) {
    if (kTouchpoints[i] == touchpoint) return static_cast<uint8_t>(i);
  }
  return kOtherTouchpoint;
}

// ---- Population ----

const Column* Population::trait(const Path& path) const {
  auto it = traits_.find(path);
  return it == traits_.end() ? nullptr : &it->second;
}

const std::vector<uint32_t>* Population::identifier_counts(std::string_view kind) const {
  auto it = identifier_counts_.find(kind);
  return it == identifier_counts_.end() ? nullptr : &it->second;
}

const MembershipBits* Population::consent(std::string_view purpose) const {
  auto it = consent_.find(purpose);
  return it == consent_.end() ? nullptr : &it->second;
}

size_t Population::MemoryBytes() const {
  size_t bytes = id_chars_.capacity() + VectorBytes(id_ends_);
  for (const auto& [path, column] : traits_) bytes += column.MemoryBytes();
  const EventTable& e = events_;
  bytes += VectorBytes(e.offsets) + VectorBytes(e.name) + VectorBytes(e.touchpoint) +
           VectorBytes(e.source) + VectorBytes(e.timestamp) + VectorBytes(e.ordinal);
  for (const auto& [path, column] : e.properties) bytes += column.MemoryBytes();
  for (const auto& [kind, counts] : identifier_counts_) bytes += VectorBytes(counts);
  for (const auto& [purpose, bits] : consent_) bytes += VectorBytes(bits.words());
  return bytes;
}

// ---- PopulationBuilder ----

PopulationBuilder::PopulationBuilder(Projection projection) {
  population_.projection_ = std::move(projection);
  for (const Path& path : population_.projection_.traits) {
    if (path.empty()) continue;  // not a trait: conditions only read non-empty paths
    Column* column = &population_.traits_[path];
    targets_[path.front()].push_back({Path(path.begin() + 1, path.end()), column});
  }
  for (const Path& path : population_.projection_.properties) {
    population_.events_.properties[path];
  }
}

void PopulationBuilder::CheckIndex(uint32_t index) const {
  TESSERA_CHECK(index < population_.size(), "PopulationBuilder: unknown profile index");
}

uint32_t PopulationBuilder::AddProfile(std::string_view id) {
  population_.id_chars_ += id;
  population_.id_ends_.push_back(population_.id_chars_.size());
  return static_cast<uint32_t>(population_.id_ends_.size() - 1);
}

uint32_t PopulationBuilder::AddProfile(std::string_view id, const ProfileView& view) {
  uint32_t index = AddProfile(id);
  if (view.traits.is_object()) {
    for (const auto& item : view.traits.items()) AddTraitJson(index, item.key(), item.value());
  }
  for (const Identifier& identifier : view.identifiers) {
    AddIdentifier(index, identifier.kind, identifier.value);
  }
  for (const auto& [purpose, granted] : view.consent) SetConsent(index, purpose, granted);
  for (const EventView& e : EventsOf(view)) {
    AddEvent(index, e.name, e.touchpoint, e.source, e.timestamp, e.properties);
  }
  return index;
}

template <typename F>
void PopulationBuilder::ForEachTarget(uint32_t index, std::string_view key, F&& set) {
  CheckIndex(index);
  auto it = targets_.find(key);
  if (it == targets_.end()) return;
  for (const TraitTarget& target : it->second) {
    if (target.column->size() <= index) target.column->Resize(index + 1);
    set(*target.column, target.rest);
  }
}

template <typename F>
void PopulationBuilder::SetScalar(uint32_t index, std::string_view key, F&& set) {
  ForEachTarget(index, key, [&](Column& column, const Path& rest) {
    if (rest.empty()) {
      set(column);
    } else {
      column.Set(index, nullptr);  // a scalar has no fields
    }
  });
}

void PopulationBuilder::AddTraitJson(uint32_t index, std::string_view key,
                                     const nlohmann::json& value) {
  ForEachTarget(index, key,
                [&](Column& column, const Path& rest) { column.Set(index, Lookup(value, rest)); });
}

void PopulationBuilder::AddTraitString(uint32_t index, std::string_view key,
                                       std::string_view value) {
  SetScalar(index, key, [&](Column& column) { column.SetString(index, value); });
}

void PopulationBuilder::AddTraitInt(uint32_t index, std::string_view key, int64_t value) {
  SetScalar(index, key, [&](Column& column) { column.SetInt(index, value); });
}

void PopulationBuilder::AddTraitNumber(uint32_t index, std::string_view key, double value) {
  SetScalar(index, key, [&](Column& column) { column.SetFloat(index, value); });
}

void PopulationBuilder::AddTraitBool(uint32_t index, std::string_view key, bool value) {
  SetScalar(index, key, [&](Column& column) { column.SetBool(index, value); });
}

size_t PopulationBuilder::AppendEvent(uint32_t index, std::string_view name,
                                      std::string_view touchpoint, std::string_view source,
                                      TimeMs timestamp) {
  EventTable& e = population_.events_;
  size_t row = e.size();
  e.name.push_back(Intern(name, &e.name_codes, &e.names));
  e.touchpoint.push_back(TouchpointCode(touchpoint));
  e.source.push_back(Intern(source, &e.source_codes, &e.sources));
  e.timestamp.push_back(timestamp);
  event_profile_.push_back(index);
  for (auto& [path, column] : e.properties) column.Resize(row + 1);
  return row;
}

void PopulationBuilder::SetProperties(size_t row, const nlohmann::json& properties) {
  for (auto& [path, column] : population_.events_.properties) {
    column.Set(row, Lookup(properties, path));
  }
}

void PopulationBuilder::AddEvent(uint32_t index, std::string_view name, std::string_view touchpoint,
                                 std::string_view source, TimeMs timestamp,
                                 const nlohmann::json& properties) {
  CheckIndex(index);
  if (!population_.projection_.KeepsEvent(name)) return;
  SetProperties(AppendEvent(index, name, touchpoint, source, timestamp), properties);
}

Status PopulationBuilder::AddEventJson(uint32_t index, std::string_view name,
                                       std::string_view touchpoint, std::string_view source,
                                       TimeMs timestamp, std::string_view properties_json) {
  CheckIndex(index);
  if (!population_.projection_.KeepsEvent(name)) return Status::Ok();
  if (population_.projection_.properties.empty()) {
    AppendEvent(index, name, touchpoint, source, timestamp);
    return Status::Ok();
  }
  nlohmann::json properties = nlohmann::json::parse(properties_json, nullptr, false);
  if (properties.is_discarded()) {
    return Status::InvalidArgument("event properties are not valid JSON");
  }
  SetProperties(AppendEvent(index, name, touchpoint, source, timestamp), properties);
  return Status::Ok();
}

void PopulationBuilder::AddIdentifier(uint32_t index, std::string_view kind,
                                      std::string_view value) {
  CheckIndex(index);
  if (!population_.projection_.identifier_kinds.contains(kind)) return;
  auto it = identifiers_.find(kind);
  if (it == identifiers_.end()) it = identifiers_.emplace(std::string(kind), 0).first;
  it->second.emplace_back(index, std::string(value));
}

void PopulationBuilder::SetConsent(uint32_t index, std::string_view purpose, bool granted) {
  CheckIndex(index);
  if (!population_.projection_.consent_purposes.contains(purpose)) return;
  auto it = consent_.find(purpose);
  if (it == consent_.end()) it = consent_.emplace(std::string(purpose), 0).first;
  if (it->second.size() <= index) it->second.resize(index + 1, 0);
  it->second[index] = granted ? 1 : 0;
}

Population PopulationBuilder::Build() && {
  Population& p = population_;
  const size_t n = p.size();
  p.id_chars_.shrink_to_fit();
  p.id_ends_.shrink_to_fit();
  for (auto& [path, column] : p.traits_) {
    column.Resize(n);
    column.FinishBuilding();
  }

  if (p.projection_.NeedsEvents()) {
    EventTable& e = p.events_;
    const size_t m = e.size();
    // Counting sort by profile (stable, so ordinals are the order of addition), then each
    // profile's rows by (name, timestamp, ordinal).
    e.offsets.assign(n + 1, 0);
    for (uint32_t profile : event_profile_) ++e.offsets[profile + 1];
    for (size_t i = 1; i <= n; ++i) e.offsets[i] += e.offsets[i - 1];
    std::vector<uint64_t> next(e.offsets.begin(), e.offsets.end() - 1);
    std::vector<uint64_t> order(m);
    e.ordinal.resize(m);
    for (size_t row = 0; row < m; ++row) {
      uint32_t profile = event_profile_[row];
      e.ordinal[row] = static_cast<uint32_t>(next[profile] - e.offsets[profile]);
      order[next[profile]++] = row;
    }
    auto key = [&e](uint64_t row) {
      return std::make_tuple(e.name[row], e.timestamp[row], e.ordinal[row]);
    };
    for (size_t i = 0; i < n; ++i) {
      std::sort(order.begin() + static_cast<ptrdiff_t>(e.offsets[i]),
                order.begin() + static_cast<ptrdiff_t>(e.offsets[i + 1]),
                [&key](uint64_t a, uint64_t b) { return key(a) < key(b); });
    }
    PermuteVector(&e.name, order);
    PermuteVector(&e.touchpoint, order);
    PermuteVector(&e.source, order);
    PermuteVector(&e.timestamp, order);
    PermuteVector(&e.ordinal, order);
    for (auto& [path, column] : e.properties) {
      column.Permute(order);
      column.FinishBuilding();
    }
    event_profile_ = {};
  }

  for (const std::string& kind : p.projection_.identifier_kinds) {
    std::vector<uint32_t>& counts = p.identifier_counts_[kind];
    counts.assign(n, 0);
    auto it = identifiers_.find(kind);
    if (it == identifiers_.end()) continue;
    auto& pairs = it->second;
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    for (const auto& [profile, value] : pairs) ++counts[profile];
  }
  for (const std::string& purpose : p.projection_.consent_purposes) {
    MembershipBits& bits = p.consent_[purpose];
    bits = MembershipBits(n);
    auto it = consent_.find(purpose);
    if (it == consent_.end()) continue;
    for (size_t i = 0; i < it->second.size(); ++i) {
      if (it->second[i] != 0) bits.Set(i);
    }
  }
  return std::move(population_);
}

}  // namespace tessera::audience
