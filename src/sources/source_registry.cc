#include "core/coding.h"
#include "sources/source_registry.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace tessera::sources {

using storage::Space;

namespace {
constexpr std::string_view kTouchpoints[] = {"web",   "app",    "store", "call_centre", "email",
                                             "social", "billing", "crm",   "other"};

Result<std::string> RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    return Status::Internal("no randomness for a new key");
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(buf.data()), bytes));
}

std::string EncodeSource(const Source& s) {
  return nlohmann::json{{"id", s.id}, {"name", s.name}, {"touchpoint", s.touchpoint},
                        {"created_at", s.created_at}}
      .dump();
}

Result<Source> DecodeSource(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) {
    return Status::Corruption("malformed source record");
  }
  return Source{j.value("id", ""), j.value("name", ""), j.value("touchpoint", ""),
                j.value("created_at", TimeMs{0})};
}
}  // namespace

bool IsValidTouchpoint(std::string_view touchpoint) {
  return std::find(std::begin(kTouchpoints), std::end(kTouchpoints), touchpoint) !=
         std::end(kTouchpoints);
}

std::string SourceRegistry::HashKey(std::string_view write_key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(write_key.data()), write_key.size(), digest);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Status SourceRegistry::Load() {
  auto it = store_->NewIterator(Space::kSources);
  MutexLock lock(&mu_);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = it->key();
    if (key.empty()) continue;
    std::string rest(key.substr(1));
    if (key[0] == 's') {
      TESSERA_ASSIGN_OR_RETURN(Source s, DecodeSource(it->value()));
      id_by_name_[s.name] = s.id;
      by_id_[s.id] = std::move(s);
    } else if (key[0] == 'k') {
      id_by_key_hash_[rest] = std::string(it->value());
    }
  }
  return it->status();
}

Result<CreatedSource> SourceRegistry::Create(std::string_view name, std::string_view touchpoint,
                                             TimeMs now) {
  if (name.empty() || name.size() > 200) {
    return Status::InvalidArgument("\"name\" must be 1 to 200 characters");
  }
  if (!IsValidTouchpoint(touchpoint)) {
    return Status::InvalidArgument(
        "\"touchpoint\" must be one of web, app, store, call_centre, email, social, billing, crm, "
        "other");
  }
  TESSERA_ASSIGN_OR_RETURN(std::string id_suffix, RandomHex(8));
  TESSERA_ASSIGN_OR_RETURN(std::string key_body, RandomHex(24));
  CreatedSource created{{"src_" + id_suffix, std::string(name), std::string(touchpoint), now},
                        "wk_" + key_body};
  std::string hash = HashKey(created.write_key);
  MutexLock lock(&mu_);  // held across the write so two creates cannot take one name
  if (id_by_name_.contains(created.source.name)) {
    return Status::AlreadyExists("a source named \"" + created.source.name + "\" exists");
  }
  storage::WriteBatch batch;
  batch.Put(Space::kSources, "s" + created.source.id, EncodeSource(created.source));
  batch.Put(Space::kSources, "k" + hash, created.source.id);
  TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
  id_by_name_[created.source.name] = created.source.id;
  id_by_key_hash_[hash] = created.source.id;
  by_id_[created.source.id] = created.source;
  return created;
}

Result<Source> SourceRegistry::Authenticate(std::string_view write_key) const {
  if (write_key.empty()) return Status::Unauthenticated("missing write key");
  std::string hash = HashKey(write_key);
  MutexLock lock(&mu_);
  auto it = id_by_key_hash_.find(hash);
  if (it == id_by_key_hash_.end()) return Status::Unauthenticated("unknown write key");
  return by_id_.at(it->second);
}

Result<Source> SourceRegistry::Find(std::string_view id_or_name) const {
  MutexLock lock(&mu_);
  auto it = by_id_.find(std::string(id_or_name));
  if (it != by_id_.end()) return it->second;
  auto n = id_by_name_.find(std::string(id_or_name));
  if (n != id_by_name_.end()) return by_id_.at(n->second);
  return Status::NotFound("no source \"" + std::string(id_or_name) + "\"");
}

std::vector<Source> SourceRegistry::List() const {
  std::vector<Source> out;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, s] : by_id_) out.push_back(s);
  }
  std::sort(out.begin(), out.end(), [](const Source& a, const Source& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return out;
}

}  // namespace tessera::sources
