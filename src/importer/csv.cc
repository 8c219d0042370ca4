#include "importer/csv.h"

#include <utility>

namespace tessera::importer {
namespace {

std::string LinePrefix(uint64_t line) { return "line " + std::to_string(line) + ": "; }

}  // namespace

Status ValidateCsvOptions(const CsvOptions& options) {
  char d = options.delimiter;
  if (d == '"' || d == '\r' || d == '\n' || d == '\0') {
    return Status::InvalidArgument("the CSV delimiter cannot be a quote, a line end or NUL");
  }
  if (options.max_record_bytes == 0) return Status::InvalidArgument("max_record_bytes is 0");
  return Status::Ok();
}

CsvReader::CsvReader(std::istream* in, CsvOptions options) : in_(in), options_(options) {
  TESSERA_DCHECK(ValidateCsvOptions(options).ok(), "invalid CsvOptions");
}

CsvReader::CsvReader(std::string data, CsvOptions options)
    : in_(std::move(data)), options_(options) {
  TESSERA_DCHECK(ValidateCsvOptions(options).ok(), "invalid CsvOptions");
}

Status CsvReader::Fail(Status status) {
  failed_ = status;
  return status;
}

Status CsvReader::CheckSize(uint64_t record_start) const {
  if (in_.offset() - record_start <= options_.max_record_bytes) return Status::Ok();
  return Status::InvalidArgument(LinePrefix(record_line_) + "record is longer than " +
                                 std::to_string(options_.max_record_bytes) +
                                 " bytes (an unclosed quote?)");
}

Status CsvReader::Seek(uint64_t offset, uint64_t line) {
  TESSERA_RETURN_IF_ERROR(in_.Seek(offset));
  line_ = line;
  failed_ = Status::Ok();
  return Status::Ok();
}

// After the opening quote: reads up to and including the closing quote.
Status CsvReader::ReadQuoted(std::string* field, uint64_t record_start) {
  const uint64_t open_line = line_;
  for (;;) {
    int c = in_.Get();
    if (c < 0) {
      return Status::InvalidArgument(LinePrefix(open_line) +
                                     "quoted field is not closed before the end of the input");
    }
    if (c == '"') {
      if (in_.Peek() != '"') return Status::Ok();
      in_.Get();
    } else if (c == '\n') {
      ++line_;
    } else if (c == '\r' && in_.Peek() != '\n') {
      ++line_;
    }
    field->push_back(static_cast<char>(c));
    TESSERA_RETURN_IF_ERROR(CheckSize(record_start));
  }
}

Result<bool> CsvReader::Next(CsvRecord* record) {
  if (!failed_.ok()) return failed_;
  if (in_.offset() == 0) in_.SkipBom();
  for (;;) {  // skip empty lines
    int c = in_.Peek();
    if (c == '\n') {
      in_.Get();
    } else if (c == '\r') {
      in_.Get();
      if (in_.Peek() == '\n') in_.Get();
    } else {
      break;
    }
    ++line_;
  }
  if (in_.Peek() < 0) {
    if (in_.read_error()) {
      return Fail(Status::IOError("read error after byte " + std::to_string(in_.offset())));
    }
    return false;
  }

  const uint64_t start = in_.offset();
  record->fields.clear();
  record->line = record_line_ = line_;
  const char delim = options_.delimiter;
  std::string field;
  for (;;) {  // one field per iteration
    field.clear();
    int c = in_.Get();
    if (c == '"') {
      Status s = ReadQuoted(&field, start);
      if (!s.ok()) return Fail(s);
      c = in_.Get();
      if (c >= 0 && c != delim && c != '\n' && c != '\r') {
        return Fail(Status::InvalidArgument(LinePrefix(line_) + "stray quote: field " +
                                            std::to_string(record->fields.size() + 1) +
                                            " has text after its closing quote"));
      }
    } else {
      while (c >= 0 && c != delim && c != '\n' && c != '\r') {
        if (c == '"') {
          return Fail(Status::InvalidArgument(LinePrefix(line_) + "stray quote in unquoted field " +
                                              std::to_string(record->fields.size() + 1) +
                                              " (quote the whole field)"));
        }
        field.push_back(static_cast<char>(c));
        Status s = CheckSize(start);
        if (!s.ok()) return Fail(s);
        c = in_.Get();
      }
    }
    Status size = CheckSize(start);
    if (!size.ok()) return Fail(size);
    record->fields.push_back(std::move(field));
    if (c == delim) continue;
    if (c == '\r' && in_.Peek() == '\n') in_.Get();
    if (c >= 0) ++line_;
    break;
  }
  if (in_.read_error()) {
    return Fail(Status::IOError("read error after byte " + std::to_string(in_.offset())));
  }
  record->end_offset = in_.offset();
  return true;
}

}  // namespace tessera::importer
