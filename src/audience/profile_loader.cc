#include "audience/profile_loader.h"

#include "profile/profile.h"

namespace tessera::audience {

using nlohmann::json;

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

Result<std::optional<EventView>> ProfileLoader::ReadTrackEvent(uint64_t seq) {
  if (cache_) {
    if (const EventView* hit = cache_->Find(seq)) return std::optional<EventView>(*hit);
  }
  TESSERA_ASSIGN_OR_RETURN(Event e, log_->ReadOne(seq));
  if (e.type != MessageType::kTrack) return std::optional<EventView>();
  EventView ev;
  ev.name = e.event;
  ev.source = e.source_id;
  ev.touchpoint = Touchpoint(e.source_id);
  ev.timestamp = e.timestamp;
  json message = json::parse(e.json, nullptr, false);
  if (message.is_object()) {
    auto props = message.find("properties");
    if (props != message.end() && props->is_object()) ev.properties = std::move(*props);
  }
  if (cache_) cache_->Insert(seq, ev, sizeof(EventView) + e.json.size());
  return std::optional<EventView>(std::move(ev));
}

Status ProfileLoader::LoadEvents(const identity::Node& node, const EventNeeds& needs,
                                 ProfileView* view) {
  auto it = store_->NewIterator(storage::Space::kTimeline);
  for (const auto& fragment : node.fragments) {
    for (it->Seek(fragment); it->Valid(); it->Next()) {
      std::string_view key = it->key();
      if (key.size() != fragment.size() + 16 || key.substr(0, fragment.size()) != fragment) break;
      auto entry = profile::DecodeTimelineValue(it->value());
      if (entry && (entry->type != MessageType::kTrack || !needs.MayWant(entry->name))) continue;
      TESSERA_ASSIGN_OR_RETURN(auto ev, ReadTrackEvent(profile::TimelineKeySeq(key)));
      if (!ev || !needs.Wants(ev->name, ev->source)) continue;
      view->events.push_back(std::move(*ev));
    }
  }
  return it->status();
}

}  // namespace tessera::audience
