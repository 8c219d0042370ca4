#include "importer/row_source.h"

#include "importer/ndjson.h"

namespace tessera::importer {
namespace {

// A row's message, or why it was rejected.
void FillRow(Row* row, uint64_t line, uint64_t end_offset, Result<std::string> message) {
  row->line = line;
  row->end_offset = end_offset;
  row->message.clear();
  row->rejection.clear();
  if (message.ok()) {
    row->message = std::move(message).value();
  } else {
    row->rejection = message.status().message();
  }
}

class CsvRows : public RowSource {
 public:
  CsvRows(std::istream* in, const CsvOptions& options)
      : reader_(in, options), delimiter_(options.delimiter) {}

  Status ReadHeader(const Mapping& mapping, const std::string& source) {
    CsvRecord header;
    Result<bool> read = reader_.Next(&header);
    if (!read.ok()) {
      if (read.status().code() != StatusCode::kInvalidArgument) return read.status();
      return Status::InvalidArgument("invalid CSV: " + read.status().message());
    }
    const bool found = *read;
    if (!found) return Status::InvalidArgument("the CSV input is empty: it needs a header row");
    if (header.fields.size() == 1) {
      for (char d : {';', '\t', '|', ','}) {
        if (d != delimiter_ && header.fields[0].find(d) != std::string::npos) {
          std::string shown = d == '\t' ? "tab" : std::string(1, d);
          return Status::InvalidArgument("the header has a single column \"" + header.fields[0] +
                                         "\": is the delimiter '" + shown +
                                         "'? (pass --delimiter " + shown + ")");
        }
      }
    }
    auto mapper = RowMapper::Create(mapping, header.fields, source);
    if (!mapper.ok()) {
      return Status::InvalidArgument("header (line " + std::to_string(header.line) +
                                     "): " + mapper.status().message());
    }
    mapper_ = std::make_unique<RowMapper>(std::move(mapper).value());
    data_start_ = header.end_offset;
    return Status::Ok();
  }

  Result<bool> Next(Row* row) override {
    Result<bool> found = reader_.Next(&record_);
    if (!found.ok()) {
      if (found.status().code() != StatusCode::kInvalidArgument) return found.status();
      return Status::InvalidArgument("invalid CSV: " + found.status().message());
    }
    if (!*found) return false;
    FillRow(row, record_.line, record_.end_offset, mapper_->Map(record_.fields));
    return true;
  }

  Status Seek(uint64_t offset, uint64_t line) override { return reader_.Seek(offset, line); }
  uint64_t offset() const override { return reader_.offset(); }
  uint64_t line() const override { return reader_.line(); }
  uint64_t data_start() const override { return data_start_; }

 private:
  CsvReader reader_;
  const char delimiter_;
  std::unique_ptr<RowMapper> mapper_;
  CsvRecord record_;  // reused between rows
  uint64_t data_start_ = 0;
};

class NdjsonRows : public RowSource {
 public:
  NdjsonRows(std::istream* in, std::string source) : reader_(in), source_(std::move(source)) {}

  Result<bool> Next(Row* row) override {
    TESSERA_ASSIGN_OR_RETURN(bool found, reader_.Next(&line_));
    if (!found) return false;
    if (line_.too_long) {
      FillRow(row, line_.line, line_.end_offset,
              Status::InvalidArgument("line is " + std::to_string(line_.bytes) +
                                      " bytes, over the limit of " +
                                      std::to_string(kMaxMessageBytes)));
    } else {
      FillRow(row, line_.line, line_.end_offset, PrepareNdjsonMessage(line_.text, source_));
    }
    return true;
  }

  Status Seek(uint64_t offset, uint64_t line) override { return reader_.Seek(offset, line); }
  uint64_t offset() const override { return reader_.offset(); }
  uint64_t line() const override { return reader_.line(); }
  uint64_t data_start() const override { return 0; }

 private:
  NdjsonReader reader_;
  const std::string source_;
  NdjsonLine line_;
};

}  // namespace

Result<std::unique_ptr<RowSource>> OpenCsvRows(std::istream* in, const CsvOptions& options,
                                               const Mapping& mapping, const std::string& source) {
  TESSERA_RETURN_IF_ERROR(ValidateCsvOptions(options));
  auto rows = std::make_unique<CsvRows>(in, options);
  TESSERA_RETURN_IF_ERROR(rows->ReadHeader(mapping, source));
  return std::unique_ptr<RowSource>(std::move(rows));
}

std::unique_ptr<RowSource> OpenNdjsonRows(std::istream* in, const std::string& source) {
  return std::make_unique<NdjsonRows>(in, source);
}

}  // namespace tessera::importer
