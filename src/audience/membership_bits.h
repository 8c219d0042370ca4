// MembershipBits: one bit per profile of a Population (by dense index), the answer of the batch
// evaluator and the input for `in audience "x"`. Plain value; not thread-safe for writes.
//
// Invariant: bits at positions >= size() are zero, so == and Count() need no masking.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/check.h"

namespace tessera::audience {

class MembershipBits {
 public:
  MembershipBits() = default;
  explicit MembershipBits(size_t size) : size_(size), words_((size + 63) / 64, 0) {}

  size_t size() const { return size_; }

  // REQUIRES: index < size().
  bool Test(size_t index) const {
    TESSERA_DCHECK(index < size_, "MembershipBits::Test out of range");
    return (words_[index >> 6] >> (index & 63)) & 1;
  }
  void Set(size_t index, bool value = true) {
    TESSERA_CHECK(index < size_, "MembershipBits::Set out of range");
    uint64_t bit = uint64_t{1} << (index & 63);
    words_[index >> 6] = value ? (words_[index >> 6] | bit) : (words_[index >> 6] & ~bit);
  }

  size_t Count() const {
    size_t n = 0;
    for (uint64_t w : words_) n += static_cast<size_t>(std::popcount(w));
    return n;
  }

  // Calls f(index) for every set bit, in increasing order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        f(w * 64 + static_cast<size_t>(std::countr_zero(bits)));
      }
    }
  }

  // Whole 64-bit words, bit i of word w being index 64 * w + i. Writers keep the invariant.
  const std::vector<uint64_t>& words() const { return words_; }
  std::vector<uint64_t>& mutable_words() { return words_; }

  bool operator==(const MembershipBits&) const = default;

 private:
  size_t size_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace tessera::audience
