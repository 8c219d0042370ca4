// The population model: vocabularies and missing-value rates learnt from FEBRL's original
// records, and MakeOriginal(), which turns an entity number into its original record.
// Immutable after Build(): share freely between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/linkage/record.h"
#include "bench/linkage/rng.h"
#include "bench/linkage/vocab.h"

namespace tessera::bench::linkgen {

struct ModelOptions {
  double smoothing = 0;             // add-k on observed counts (VocabOptions::smoothing)
  double novel_share = -1;          // for names, streets, address_2, suburbs; < 0 = Good-Turing
  double novel_repeats = 2;         // VocabOptions::novel_repeats
  uint64_t expected_originals = 0;  // sizes the novel pools
};

// Stream purposes for Rng::Stream (one per kind of draw, so streams never overlap).
enum Purpose : uint64_t {
  kPurposeOriginal = 1,
  kPurposeDuplicate = 2,
  kPurposeLayout = 3,
  kPurposeNovel = 4,
  kPurposeSsid = 5,
  kPurposeOpaqueId = 6,
};

class Model {
 public:
  // soc_sec_id is a permutation of the entity number, so entities must stay below this.
  static constexpr uint64_t kMaxEntities = 9'000'000;

  Model() = default;
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;

  // REQUIRES: !originals.empty().
  static Model Build(const std::vector<Record>& originals, const ModelOptions& options,
                     uint64_t seed);

  // The original record of an entity: a pure function of (seed, entity). REQUIRES: entity <
  // kMaxEntities. soc_sec_id is unique per entity (7 digits).
  void MakeOriginal(uint64_t entity, Record* out) const;

  // Vocabularies: kGivenName, kSurname, kStreetNumber, kAddress1, kAddress2 (others: empty).
  const Vocab& vocab(Field f) const { return vocab_[f]; }
  const Locations& locations() const { return locations_; }
  double missing_rate(Field f) const { return missing_[f]; }
  uint64_t seed() const { return seed_; }

  // A date of birth YYYYMMDD, uniform over 1900-01-01 .. 1999-12-31.
  static std::string RandomDate(Rng& rng);
  // A 7-digit number, uniform.
  static std::string RandomSsid(Rng& rng);
  static bool IsValidDate(std::string_view yyyymmdd);

 private:
  std::string SsidOf(uint64_t entity) const;

  uint64_t seed_ = 0;
  std::array<Vocab, kNumFields> vocab_;
  Locations locations_;
  std::array<double, kNumFields> missing_{};
};

}  // namespace tessera::bench::linkgen
