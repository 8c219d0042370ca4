#include "core/coding.h"
#include "importer/checkpoint.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tessera::importer {
namespace {

using nlohmann::json;

constexpr int kVersion = 1;
constexpr size_t kMaxCheckpointBytes = 16 << 20;


std::string Errno() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("cannot write " + path + ": " + Errno());
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> HashFileRange(const std::string& path, uint64_t begin, uint64_t end) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open " + path);
  std::string bytes(end > begin ? end - begin : 0, '\0');
  in.seekg(static_cast<std::streamoff>(begin));
  if (in) in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) return Status::IOError("cannot read " + path);
  bytes.resize(static_cast<size_t>(in.gcount()));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Result<FileIdentity> IdentifyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::NotFound("cannot stat " + path + ": " + Errno());
  FileIdentity id;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  TESSERA_ASSIGN_OR_RETURN(id.head_hash, HashFileRange(path, 0, kIdentityBytes));
  return id;
}

Result<Checkpoint> LoadCheckpoint(const std::string& state_path) {
  std::ifstream in(state_path, std::ios::binary);
  if (!in) return Status::NotFound("no checkpoint at " + state_path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad() || text.str().size() > kMaxCheckpointBytes) {
    return Status::Corruption("cannot read checkpoint " + state_path);
  }
  try {
    json j = json::parse(text.str());
    if (j.at("version").get<int>() != kVersion) {
      return Status::Corruption("checkpoint " + state_path + " has an unknown version");
    }
    Checkpoint c;
    c.path = j.at("path").get<std::string>();
    c.fingerprint = j.at("fingerprint").get<std::string>();
    c.file.size = j.at("size").get<uint64_t>();
    c.file.mtime_ns = j.at("mtime_ns").get<int64_t>();
    c.file.head_hash = j.at("head_hash").get<std::string>();
    c.offset = j.at("offset").get<uint64_t>();
    c.next_line = j.at("next_line").get<uint64_t>();
    c.boundary_hash = j.at("boundary_hash").get<std::string>();
    c.counts.rows = j.at("rows").get<uint64_t>();
    c.counts.accepted = j.at("accepted").get<uint64_t>();
    c.counts.duplicates = j.at("duplicates").get<uint64_t>();
    c.counts.rejected = j.at("rejected").get<uint64_t>();
    for (const json& r : j.at("rejections")) {
      c.counts.rejections.push_back(Rejection{r.at(0).get<uint64_t>(), r.at(1).get<std::string>()});
    }
    if (c.counts.rejections.size() > c.counts.rejected) {
      return Status::Corruption("checkpoint " + state_path + " lists more rejections than counted");
    }
    return c;
  } catch (const json::exception& e) {
    return Status::Corruption("checkpoint " + state_path + " is damaged: " + e.what());
  }
}

Status SaveCheckpoint(const std::string& state_path, const Checkpoint& c) {
  json j = {
      {"version", kVersion},
      {"path", c.path},
      {"fingerprint", c.fingerprint},
      {"size", c.file.size},
      {"mtime_ns", c.file.mtime_ns},
      {"head_hash", c.file.head_hash},
      {"offset", c.offset},
      {"next_line", c.next_line},
      {"boundary_hash", c.boundary_hash},
      {"rows", c.counts.rows},
      {"accepted", c.counts.accepted},
      {"duplicates", c.counts.duplicates},
      {"rejected", c.counts.rejected},
  };
  json rejections = json::array();
  for (const Rejection& r : c.counts.rejections) {
    if (rejections.size() == kMaxCheckpointRejections) break;
    rejections.push_back(json::array({r.line, r.reason}));
  }
  j["rejections"] = std::move(rejections);
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";

  const std::string tmp = state_path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + Errno());
  Status s = WriteAll(fd, text, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Status::IOError("cannot sync " + tmp + ": " + Errno());
  if (::close(fd) != 0 && s.ok()) s = Status::IOError("cannot close " + tmp + ": " + Errno());
  if (s.ok() && ::rename(tmp.c_str(), state_path.c_str()) != 0) {
    s = Status::IOError("cannot rename " + tmp + " to " + state_path + ": " + Errno());
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Status RemoveCheckpoint(const std::string& state_path) {
  if (::unlink(state_path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError("cannot remove checkpoint " + state_path + ": " + Errno());
  }
  return Status::Ok();
}

std::string CheckpointMismatch(const Checkpoint& c, const std::string& path,
                               const FileIdentity& file, const std::string& fingerprint,
                               uint64_t data_start) {
  if (c.fingerprint != fingerprint) {
    return "it was made with other settings (server, source, format or mapping)";
  }
  if (c.file.head_hash != file.head_hash) return "the file's content changed";
  if (file.size < c.offset) return "the file is shorter than the checkpoint's position";
  if (c.offset < data_start) return "its position is inside the header";
  uint64_t begin = c.offset > kBoundaryBytes ? c.offset - kBoundaryBytes : 0;
  auto boundary = HashFileRange(path, begin, c.offset);
  if (!boundary.ok() || *boundary != c.boundary_hash) return "the file changed before its position";
  return "";
}

}  // namespace tessera::importer
