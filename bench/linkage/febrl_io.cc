#include "bench/linkage/febrl_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace tessera::bench::linkgen {
namespace {

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::string_view Trim(std::string_view s) {
  s = TrimRight(s);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

Status ReadLines(const std::string& path, std::vector<std::string>* lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines->push_back(std::move(line));
  }
  if (in.bad()) return Status::IOError("read error in " + path);
  return Status::Ok();
}

}  // namespace

Result<std::vector<FebrlRow>> ReadFebrlFile(const std::string& path) {
  std::vector<std::string> lines;
  if (Status s = ReadLines(path, &lines); !s.ok()) return s;
  if (lines.empty() || TrimRight(lines[0]) != kFebrlHeader) {
    return Status::Corruption(path + ": first line is not the FEBRL header");
  }
  std::vector<FebrlRow> rows;
  rows.reserve(lines.size() - 1);
  for (size_t ln = 1; ln < lines.size(); ++ln) {
    std::string_view rest = lines[ln];
    if (TrimRight(rest).empty()) continue;
    FebrlRow row;
    for (int i = -1; i < kNumFields; ++i) {
      const size_t comma = rest.find(',');
      if ((comma == std::string_view::npos) != (i == kNumFields - 1)) {
        return Status::Corruption(path + ":" + std::to_string(ln + 1) + ": expected 11 fields");
      }
      std::string_view v = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (i >= 0 && !v.empty() && v.front() == ' ') v.remove_prefix(1);  // the separator's space
      v = TrimRight(v);
      if (i < 0) {
        row.id = std::string(Trim(v));
      } else {
        row.record.f[i] = std::string(v);
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<std::pair<std::string, std::string>>> ReadTruthFile(const std::string& path) {
  std::vector<std::string> lines;
  if (Status s = ReadLines(path, &lines); !s.ok()) return s;
  if (lines.empty() || TrimRight(lines[0]) != kTruthHeader) {
    return Status::Corruption(path + ": first line is not " + std::string(kTruthHeader));
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t ln = 1; ln < lines.size(); ++ln) {
    std::string_view l = TrimRight(lines[ln]);
    if (l.empty()) continue;
    const size_t comma = l.find(',');
    if (comma == std::string_view::npos) {
      return Status::Corruption(path + ":" + std::to_string(ln + 1) + ": expected two ids");
    }
    pairs.emplace_back(std::string(Trim(l.substr(0, comma))),
                       std::string(Trim(l.substr(comma + 1))));
  }
  return pairs;
}

Result<std::vector<Record>> LoadFebrlOriginals(const std::string& dir,
                                               std::vector<std::string>* files) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("dataset") && name.ends_with(".csv"))
      paths.push_back(entry.path().string());
  }
  if (ec) return Status::NotFound("cannot list FEBRL folder " + dir + ": " + ec.message());
  if (paths.empty()) return Status::NotFound("no dataset*.csv in " + dir);
  std::sort(paths.begin(), paths.end());
  std::vector<Record> originals;
  for (const std::string& path : paths) {
    auto rows = ReadFebrlFile(path);
    if (!rows.ok()) return rows.status();
    for (FebrlRow& row : rows.value()) {
      if (!row.id.ends_with("-org")) continue;
      for (std::string& v : row.record.f) v = std::string(Trim(v));
      originals.push_back(std::move(row.record));
    }
    if (files != nullptr) files->push_back(path);
  }
  if (originals.empty()) return Status::NotFound("no original (rec-*-org) records in " + dir);
  return originals;
}

FileWriter::~FileWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status FileWriter::Open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr)
    return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  buf_.reserve(kFlushAt + 4096);
  return Status::Ok();
}

void FileWriter::AppendRow(std::string_view id, const Record& r) {
  if (buf_.size() > kFlushAt) Flush();
  buf_.append(id);
  for (const std::string& v : r.f) {
    buf_.append(", ");
    buf_.append(v);
  }
  buf_.push_back('\n');
}

void FileWriter::Flush() {
  if (buf_.empty() || file_ == nullptr) return;
  if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) failed_ = true;
  bytes_ += buf_.size();
  buf_.clear();
}

Status FileWriter::Close() {
  Flush();
  if (file_ == nullptr) return Status::IOError("not open: " + path_);
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0 || failed_) return Status::IOError("write error on " + path_);
  return Status::Ok();
}

}  // namespace tessera::bench::linkgen
