#include "importer/byte_stream.h"

#include <cstring>

namespace tessera::importer {
namespace {
constexpr size_t kBlockBytes = 64 * 1024;
}  // namespace

ByteStream::ByteStream(std::istream* in) : in_(in), buf_(kBlockBytes) {}

ByteStream::ByteStream(std::string data)
    : owned_(std::make_unique<std::istringstream>(std::move(data))),
      in_(owned_.get()),
      buf_(kBlockBytes) {}

bool ByteStream::Fill(size_t n) {
  if (len_ - pos_ >= n) return true;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
  }
  if (buf_.size() < n) buf_.resize(n);
  while (len_ < n && !read_error_ && in_->good()) {
    in_->read(buf_.data() + len_, static_cast<std::streamsize>(buf_.size() - len_));
    len_ += static_cast<size_t>(in_->gcount());
    if (in_->bad()) read_error_ = true;
  }
  return len_ - pos_ >= n;
}

void ByteStream::SkipBom() {
  if (Fill(3) && std::memcmp(buf_.data() + pos_, "\xEF\xBB\xBF", 3) == 0) {
    pos_ += 3;
    offset_ += 3;
  }
}

Status ByteStream::Seek(uint64_t offset) {
  in_->clear();
  in_->seekg(static_cast<std::streamoff>(offset));
  if (!in_->good())
    return Status::IOError("cannot seek the input to byte " + std::to_string(offset));
  pos_ = len_ = 0;
  offset_ = offset;
  read_error_ = false;
  return Status::Ok();
}

}  // namespace tessera::importer
