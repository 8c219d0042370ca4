#include "audience/profile_loader.h"

#include <algorithm>

#include "profile/profile.h"

namespace tessera::audience {

using nlohmann::json;

namespace {

// The properties at `paths` (as the reference evaluator looks them up: through objects only,
// null as absent), at the same paths of a new object.
json Project(const json& properties, const std::set<Path>& paths) {
  json out = json::object();
  for (const Path& path : paths) {
    const json* cur = &properties;
    for (const std::string& segment : path) {
      if (!cur->is_object()) {
        cur = nullptr;
        break;
      }
      auto it = cur->find(segment);
      if (it == cur->end()) {
        cur = nullptr;
        break;
      }
      cur = &*it;
    }
    if (!cur || cur->is_null() || path.empty()) continue;
    json* dst = &out;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      json& next = (*dst)[path[i]];
      // A shorter path already copied this object whole.
      if (!next.is_object()) next = json::object();
      dst = &next;
    }
    (*dst)[path.back()] = *cur;
  }
  return out;
}

// Roughly the heap a JSON value holds (libstdc++ map nodes and strings), beyond its own node.
size_t HeapBytes(const json& j) {
  size_t n = 0;
  if (j.is_object()) {
    n += 48;
    for (const auto& [k, v] : j.items()) n += 80 + k.size() + HeapBytes(v);
  } else if (j.is_array()) {
    n += 24;
    for (const auto& v : j) n += 16 + HeapBytes(v);
  } else if (j.is_string()) {
    n += 32 + j.get_ref<const std::string&>().size();
  }
  return n;
}

}  // namespace

ProfileLoader::ProfileLoader(storage::Store* store, eventlog::EventLog* log,
                             const sources::SourceRegistry* sources, size_t cache_bytes,
                             size_t partitions)
    : store_(store), log_(log), sources_(sources), parts_(std::max<size_t>(partitions, 1)) {
  if (cache_bytes == 0) return;
  for (auto& part : parts_) {
    part.cache = std::make_unique<ProfileEventCache>(cache_bytes / parts_.size());
  }
}

void ProfileLoader::ClearCaches() {
  for (auto& part : parts_) {
    if (part.cache) part.cache->Clear();
  }
}

void ProfileLoader::Configure(std::optional<std::set<Path>> paths, EventNeeds all) {
  if (paths == projection_ && all == all_) return;
  projection_ = std::move(paths);
  all_ = std::move(all);
  ClearCaches();
}

void EventNeeds::Add(const ConditionDeps& deps) {
  any = any || deps.any_event;
  system = system || deps.system_events;
  own_events = own_events || deps.own_events;
  names.insert(deps.events.begin(), deps.events.end());
}

namespace {

// Does `all` want every event `needs` wants?
bool Covers(const EventNeeds& all, const EventNeeds& needs) {
  if ((needs.any && !all.any) || (needs.system && !all.system)) return false;
  for (const auto& name : needs.names) {
    if (!all.names.count(name)) return false;
  }
  return true;
}

// Where an event goes among an entry's events (timeline order: fragment, then time and seq
// descending).
bool Before(uint32_t fragment, TimeMs at, uint64_t seq, const ProfileEventCache::Event& e) {
  if (fragment != e.fragment) return fragment < e.fragment;
  if (at != e.view.timestamp) return at > e.view.timestamp;
  return seq > e.seq;
}

constexpr size_t kEntryBytes = 160;  // an entry's own share: list and index nodes, vectors
constexpr size_t kEventBytes = sizeof(ProfileEventCache::Event);

}  // namespace

std::string ProfileLoader::Touchpoint(const std::string& source_id) {
  if (source_id == kSystemSource) return "other";
  auto s = sources_->Find(source_id);
  return s.ok() ? s->touchpoint : "other";
}

Result<ProfileView> ProfileLoader::Load(const identity::Node& node, const EventNeeds& needs,
                                        const std::set<std::string>* traits) {
  TESSERA_ASSIGN_OR_RETURN(profile::Profile p, profile::LoadProfile(store_, node.tessera_id));
  ProfileView view;
  for (const auto& [name, t] : p.traits) {
    if (traits && !traits->count(name)) continue;
    json v = json::parse(t.json, nullptr, false);
    view.traits[name] = v.is_discarded() ? json(t.json) : std::move(v);
  }
  for (const auto& [purpose, c] : p.consent) view.consent[purpose] = c.granted;
  for (const auto& r : node.identifiers) view.identifiers.push_back(r.id);
  if (needs.empty()) return view;
  Part& part = parts_[PartitionOf(node.tessera_id)];
  ProfileEventCache* cache = part.cache.get();
  std::vector<ProfileEventCache::Event> events;
  uint64_t through = 0;
  size_t bytes = kEntryBytes;
  ProfileEventCache::Entry* entry = nullptr;
  if (cache && Covers(all_, needs)) {
    entry = cache->Find(node.tessera_id);
    if (entry && entry->fragments != node.fragments) entry = nullptr;  // merged since
    if (!entry) {
      TESSERA_RETURN_IF_ERROR(ReadEvents(&part, node, all_, &events, &through, &bytes));
      for (const auto& f : node.fragments) bytes += f.size();
      if (bytes + node.tessera_id.size() <= cache->max_bytes()) {
        cache->Insert(node.tessera_id, {node.fragments, std::move(events), through, bytes});
        entry = cache->Find(node.tessera_id);
      }
    }
  } else {
    TESSERA_RETURN_IF_ERROR(ReadEvents(&part, node, needs, &events, &through, &bytes));
  }
  if (!entry) {  // no cache, or too big to keep
    for (auto& e : events) {
      if (needs.Wants(e.view.name, e.view.source)) view.events.push_back(std::move(e.view));
    }
    return view;
  }
  view.borrowed.reserve(entry->events.size());
  for (const auto& e : entry->events) {
    if (needs.Wants(e.view.name, e.view.source)) view.borrowed.push_back(&e.view);
  }
  return view;
}

Status ProfileLoader::Apply(const identity::Node& node, const Event& e, bool created) {
  ProfileEventCache* cache = parts_[PartitionOf(node.tessera_id)].cache.get();
  if (!cache) return Status::Ok();
  const bool wanted = e.type == MessageType::kTrack && all_.Wants(e.event, e.source_id);
  if (created && node.fragments.size() == 1 && node.fragments[0] == node.tessera_id) {
    // The profile's first event: its timeline holds nothing before it.
    ProfileEventCache::Entry entry{node.fragments, {}, e.seq, kEntryBytes};
    entry.bytes += node.tessera_id.size();
    if (wanted) {
      size_t bytes;
      entry.events.push_back({e.seq, 0, Decode(e, &bytes)});
      entry.bytes += bytes;
    }
    cache->Insert(node.tessera_id, std::move(entry));
    return Status::Ok();
  }
  // (An entry of another partition may be the one lacking the event: see below.)
  if (!wanted || std::all_of(parts_.begin(), parts_.end(),
                             [](const Part& p) { return p.cache->empty(); })) {
    return Status::Ok();
  }
  // The pipeline put the event on the timeline of the profile it resolved to then: this one, or
  // one merged into it since. If an identifier has moved since, it is another profile's, and
  // which entry lacks the event is not known here, so none is trusted.
  std::optional<uint32_t> fragment;
  std::string value;
  for (uint32_t f = 0; f < node.fragments.size() && !fragment; ++f) {
    Status s = store_->Get(storage::Space::kTimeline,
                           profile::TimelineKey(node.fragments[f], e.timestamp, e.seq), &value);
    if (s.ok()) {
      fragment = f;
    } else if (s.code() != StatusCode::kNotFound) {
      return s;
    }
  }
  if (!fragment) {
    ClearCaches();
    return Status::Ok();
  }
  ProfileEventCache::Entry* entry = cache->Find(node.tessera_id);
  if (!entry || e.seq <= entry->through) return Status::Ok();
  if (entry->fragments != node.fragments) {
    cache->Erase(node.tessera_id);  // merged since: read afresh when next loaded
    return Status::Ok();
  }
  size_t bytes;
  EventView view = Decode(e, &bytes);
  cache->Add(node.tessera_id, *fragment, e.seq, std::move(view), bytes);
  return Status::Ok();
}

ProfileEventCache::Entry* ProfileEventCache::Find(std::string_view tessera_id) {
  auto it = index_.find(tessera_id);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->second;
}

void ProfileEventCache::Insert(const std::string& tessera_id, Entry entry) {
  Erase(tessera_id);
  if (entry.bytes + tessera_id.size() > max_bytes_) return;
  entry.bytes += tessera_id.size();
  bytes_ += entry.bytes;
  lru_.emplace_front(tessera_id, std::move(entry));
  index_[lru_.front().first] = lru_.begin();
  Evict();
}

void ProfileEventCache::Add(const std::string& tessera_id, uint32_t fragment, uint64_t seq,
                            EventView view, size_t bytes) {
  auto it = index_.find(tessera_id);
  TESSERA_CHECK(it != index_.end(), "ProfileEventCache::Add without an entry");
  Entry& entry = it->second->second;
  TESSERA_CHECK(fragment < entry.fragments.size(), "ProfileEventCache::Add: no such fragment");
  auto pos = std::find_if(entry.events.begin(), entry.events.end(), [&](const Event& e) {
    return Before(fragment, view.timestamp, seq, e);
  });
  entry.events.insert(pos, Event{seq, fragment, std::move(view)});
  entry.through = seq;
  entry.bytes += bytes;
  bytes_ += bytes;
  lru_.splice(lru_.begin(), lru_, it->second);
  if (entry.bytes > max_bytes_) {
    Erase(tessera_id);
    return;
  }
  Evict();
}

void ProfileEventCache::Evict() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().second.bytes;
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void ProfileEventCache::Erase(std::string_view tessera_id) {
  auto it = index_.find(tessera_id);
  if (it == index_.end()) return;
  bytes_ -= it->second->second.bytes;
  auto node = it->second;
  index_.erase(it);
  lru_.erase(node);
}

void ProfileEventCache::Clear() {
  index_.clear();
  lru_.clear();
  bytes_ = 0;
}

EventView ProfileLoader::Decode(const Event& e, size_t* bytes) {
  EventView ev;
  ev.name = e.event;
  ev.source = e.source_id;
  ev.touchpoint = Touchpoint(e.source_id);
  ev.timestamp = e.timestamp;
  json message = json::parse(e.json, nullptr, false);
  if (message.is_object()) {
    auto props = message.find("properties");
    if (props != message.end() && props->is_object()) {
      ev.properties = projection_ ? Project(*props, *projection_) : std::move(*props);
    }
  }
  // What an event holds, roughly: its strings and properties (without a projection, the
  // message's size, an upper bound).
  *bytes = kEventBytes;
  *bytes += projection_ ? ev.name.size() + ev.source.size() + ev.touchpoint.size() +
                              HeapBytes(ev.properties)
                        : e.json.size();
  return ev;
}

Status ProfileLoader::ReadEvents(Part* part, const identity::Node& node,
                                 const EventNeeds& needs,
                                 std::vector<ProfileEventCache::Event>* out, uint64_t* through,
                                 size_t* bytes) {
  out->clear();
  *through = 0;
  std::unique_ptr<storage::Iterator> own;
  storage::Iterator* it;
  if (in_step_) {
    if (!part->step_timeline) part->step_timeline = store_->NewIterator(storage::Space::kTimeline);
    it = part->step_timeline.get();
  } else {
    own = store_->NewIterator(storage::Space::kTimeline);
    it = own.get();
  }
  for (uint32_t f = 0; f < node.fragments.size(); ++f) {
    const std::string& fragment = node.fragments[f];
    for (it->Seek(fragment); it->Valid(); it->Next()) {
      std::string_view key = it->key();
      if (key.size() != fragment.size() + 16 || key.substr(0, fragment.size()) != fragment) break;
      const uint64_t seq = profile::TimelineKeySeq(key);
      // (Stored events are not in the log: `through` counts log positions.)
      if (!profile::IsStoredSeq(seq)) *through = std::max(*through, seq);
      auto entry = profile::DecodeTimelineValue(it->value());
      if (entry) {
        if (entry->type != MessageType::kTrack || !needs.MayWant(entry->name)) continue;
        // Tessera's own event, which only a definition naming it (or system events) reads.
        if (entry->system && !needs.Wants(entry->name, kSystemSource)) continue;
      }
      TESSERA_ASSIGN_OR_RETURN(Event e, profile::TimelineEvent(store_, log_, seq, it->value()));
      if (e.type != MessageType::kTrack || !needs.Wants(e.event, e.source_id)) continue;
      size_t n;
      EventView view = Decode(e, &n);
      *bytes += n;
      out->push_back({seq, f, std::move(view)});
    }
  }
  return it->status();
}

}  // namespace tessera::audience
