#include "audience/profile_loader.h"

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

void ProfileLoader::SetPropertyProjection(std::optional<std::set<Path>> paths) {
  if (paths == projection_) return;
  projection_ = std::move(paths);
  if (cache_) cache_ = std::make_unique<EventCache>(cache_->max_bytes());
}

void EventNeeds::Add(const ConditionDeps& deps) {
  any = any || deps.any_event;
  system = system || deps.system_events;
  names.insert(deps.events.begin(), deps.events.end());
}

std::string ProfileLoader::Touchpoint(const std::string& source_id) {
  if (source_id == kSystemSource) return "other";
  auto s = sources_->Find(source_id);
  return s.ok() ? s->touchpoint : "other";
}

Result<ProfileView> ProfileLoader::Load(const identity::Node& node, const EventNeeds& needs) {
  TESSERA_ASSIGN_OR_RETURN(profile::Profile p, profile::LoadProfile(store_, node.tessera_id));
  ProfileView view;
  for (const auto& [name, t] : p.traits) {
    json v = json::parse(t.json, nullptr, false);
    view.traits[name] = v.is_discarded() ? json(t.json) : std::move(v);
  }
  for (const auto& [purpose, c] : p.consent) view.consent[purpose] = c.granted;
  for (const auto& r : node.identifiers) view.identifiers.push_back(r.id);
  if (!needs.empty()) TESSERA_RETURN_IF_ERROR(LoadEvents(node, needs, &view));
  return view;
}

const EventView* EventCache::Find(uint64_t seq) {
  auto it = index_.find(seq);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->event;
}

void EventCache::Insert(uint64_t seq, EventView event, size_t bytes) {
  if (bytes > max_bytes_ || index_.count(seq)) return;
  lru_.push_front({seq, std::move(event), bytes});
  index_[seq] = lru_.begin();
  bytes_ += bytes;
  while (bytes_ > max_bytes_) {
    bytes_ -= lru_.back().bytes;
    index_.erase(lru_.back().seq);
    lru_.pop_back();
  }
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
  // What a cache entry holds, roughly: its strings and properties, plus the LRU's list and
  // index nodes. Without a projection, the message's size (an upper bound) as before.
  *bytes = sizeof(EventView) + 96;
  *bytes += projection_ ? ev.name.size() + ev.source.size() + ev.touchpoint.size() +
                              HeapBytes(ev.properties)
                        : e.json.size();
  return ev;
}

void ProfileLoader::Prime(const Event& e, const EventNeeds& needs) {
  if (!cache_ || e.type != MessageType::kTrack) return;
  if (!needs.Wants(e.event, e.source_id) || cache_->Find(e.seq)) return;
  size_t bytes;
  EventView ev = Decode(e, &bytes);
  cache_->Insert(e.seq, std::move(ev), bytes);
}

Result<std::optional<EventView>> ProfileLoader::ReadTrackEvent(uint64_t seq,
                                                               const EventNeeds& needs) {
  if (cache_) {
    if (const EventView* hit = cache_->Find(seq)) return std::optional<EventView>(*hit);
  }
  TESSERA_ASSIGN_OR_RETURN(Event e, log_->ReadOne(seq));
  if (e.type != MessageType::kTrack) return std::optional<EventView>();
  // Tessera's own event from a timeline entry that does not say so (written before entries
  // did): not decoded for nothing.
  if (e.source_id == kSystemSource && !needs.Wants(e.event, e.source_id)) {
    return std::optional<EventView>();
  }
  size_t bytes;
  EventView ev = Decode(e, &bytes);
  if (cache_) cache_->Insert(seq, ev, bytes);
  return std::optional<EventView>(std::move(ev));
}

Status ProfileLoader::LoadEvents(const identity::Node& node, const EventNeeds& needs,
                                 ProfileView* view) {
  std::unique_ptr<storage::Iterator> own;
  storage::Iterator* it;
  if (in_step_) {
    if (!step_timeline_) step_timeline_ = store_->NewIterator(storage::Space::kTimeline);
    it = step_timeline_.get();
  } else {
    own = store_->NewIterator(storage::Space::kTimeline);
    it = own.get();
  }
  for (const auto& fragment : node.fragments) {
    for (it->Seek(fragment); it->Valid(); it->Next()) {
      std::string_view key = it->key();
      if (key.size() != fragment.size() + 16 || key.substr(0, fragment.size()) != fragment) break;
      auto entry = profile::DecodeTimelineValue(it->value());
      if (entry) {
        if (entry->type != MessageType::kTrack || !needs.MayWant(entry->name)) continue;
        // Tessera's own event, which only a definition naming it (or system events) reads.
        if (entry->system && !needs.Wants(entry->name, kSystemSource)) continue;
      }
      const uint64_t seq = profile::TimelineKeySeq(key);
      TESSERA_ASSIGN_OR_RETURN(auto ev, ReadTrackEvent(seq, needs));
      if (!ev || !needs.Wants(ev->name, ev->source)) continue;
      view->events.push_back(std::move(*ev));
    }
  }
  return it->status();
}

}  // namespace tessera::audience
