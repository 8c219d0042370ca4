#include "importer/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace tessera::importer {

std::string FormatSummary(const ImportSummary& s, size_t max_listed) {
  std::string out;
  if (s.resumed) out += "resumed from line " + std::to_string(s.resumed_from_line) + "\n";
  out += "rows:       " + std::to_string(s.rows) + "\n";
  out += "accepted:   " + std::to_string(s.accepted) + "\n";
  out += "duplicates: " + std::to_string(s.duplicates) + " (already imported)\n";
  out += "rejected:   " + std::to_string(s.rejected) + "\n";
  size_t listed = 0;
  for (const Rejection& r : s.rejections) {
    if (listed == max_listed) break;
    out += "  line " + std::to_string(r.line) + ": " + r.reason + "\n";
    ++listed;
  }
  if (s.rejections.size() > listed) {
    out += "  ... and " + std::to_string(s.rejections.size() - listed) +
           " more (write them all with --rejects FILE)\n";
  }
  if (s.unlisted_rejections > 0) {
    out += "  (" + std::to_string(s.unlisted_rejections) +
           " rejections of the interrupted run were not kept in its checkpoint)\n";
  }
  return out;
}

std::string CsvQuote(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Status WriteRejectsCsv(const std::string& path, const ImportSummary& summary) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IOError("cannot write " + tmp);
    out << "line,reason\n";
    for (const Rejection& r : summary.rejections) {
      out << r.line << ',' << CsvQuote(r.reason) << '\n';
    }
    out.close();
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::Ok();
}

ProgressBar::ProgressBar(std::ostream* out, uint64_t total_bytes)
    : out_(out), total_bytes_(total_bytes), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t offset, const ImportSummary& s, bool force) {
  if (out_ == nullptr) return;
  auto now = std::chrono::steady_clock::now();
  if (!started_) {
    started_ = true;
    start_rows_ = s.rows;
  } else if (!force && now - last_draw_ < std::chrono::milliseconds(100)) {
    return;
  }
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0.05 ? static_cast<double>(s.rows - start_rows_) / seconds : 0;
  char line[200];
  std::string percent;
  if (total_bytes_ > 0) {
    double p = 100.0 * static_cast<double>(std::min(offset, total_bytes_)) /
               static_cast<double>(total_bytes_);
    constexpr int kWidth = 20;
    int filled = static_cast<int>(p / 100.0 * kWidth);
    percent = "[" + std::string(filled, '#') + std::string(kWidth - filled, ' ') + "] ";
    std::snprintf(line, sizeof line, "%5.1f%% ", p);
    percent += line;
  }
  std::snprintf(line, sizeof line, "%llu rows  %.0f rows/s  accepted %llu  rejected %llu",
                static_cast<unsigned long long>(s.rows), rate,
                static_cast<unsigned long long>(s.accepted + s.duplicates),
                static_cast<unsigned long long>(s.rejected));
  std::string text = percent + line;
  size_t width = text.size();
  if (width < last_width_) text.append(last_width_ - width, ' ');
  last_width_ = width;
  *out_ << '\r' << text << std::flush;
}

void ProgressBar::Finish() {
  if (out_ == nullptr || !started_) return;
  *out_ << '\r' << std::string(last_width_, ' ') << '\r' << std::flush;
  started_ = false;
  out_ = nullptr;
}

}  // namespace tessera::importer
