#include "bench/linkage/model.h"

#include <map>

namespace tessera::bench::linkgen {
namespace {

// Days since 1970-01-01 to (y, m, d) in the proleptic Gregorian calendar (H. Hinnant's
// civil_from_days).
void CivilFromDays(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yoe + era * 400 + (*m <= 2 ? 1 : 0));
}

constexpr int64_t kDay19000101 = -25567;   // days from 1970-01-01
constexpr int64_t kDaysInCentury = 36525;  // 1900-01-01 .. 1999-12-31

void AppendDigits(uint64_t v, int width, std::string* out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 || n < width);
  while (n > 0) out->push_back(buf[--n]);
}

}  // namespace

Model Model::Build(const std::vector<Record>& originals, const ModelOptions& options,
                   uint64_t seed) {
  Model m;
  m.seed_ = seed;
  std::array<std::map<std::string, uint64_t>, kNumFields> counts;
  std::array<uint64_t, kNumFields> empty{};
  for (const Record& r : originals) {
    for (int f = 0; f < kNumFields; ++f) {
      if (r.f[f].empty()) {
        ++empty[f];
      } else {
        ++counts[f][r.f[f]];
      }
    }
  }
  for (int f = 0; f < kNumFields; ++f) {
    m.missing_[f] = static_cast<double>(empty[f]) / static_cast<double>(originals.size());
  }
  // Near lists (for kMisspell) only where the corruptor misspells: names and suburbs.
  auto text_options = [&](bool split_type, bool near_lists) {
    VocabOptions o;
    o.smoothing = options.smoothing;
    o.novel_share = options.novel_share;
    o.novel_repeats = options.novel_repeats;
    o.expected_draws = options.expected_originals;
    o.split_type = split_type;
    o.near_lists = near_lists;
    return o;
  };
  for (Field f : {kGivenName, kSurname, kAddress1, kAddress2}) {
    m.vocab_[f] =
        Vocab::Build(counts[f], text_options(f == kAddress1, f == kGivenName || f == kSurname),
                     Mix64(seed ^ Mix64(kPurposeNovel * 100 + f)));
  }
  VocabOptions number_options;
  number_options.smoothing = options.smoothing;
  number_options.novel_share = 0;
  m.vocab_[kStreetNumber] = Vocab::Build(counts[kStreetNumber], number_options, seed);
  m.locations_ = Locations::Build(counts[kSuburb], counts[kPostcode], counts[kState],
                                  text_options(false, true),
                                  Mix64(seed ^ Mix64(kPurposeNovel * 100 + kSuburb)));
  return m;
}

std::string Model::SsidOf(uint64_t entity) const {
  // A keyed 4-round Feistel permutation of [0, 2^24), cycle-walked into [0, 9e6): distinct
  // entities get distinct numbers.
  constexpr uint64_t kRange = 9'000'000;
  uint64_t x = entity;
  do {
    uint64_t l = x >> 12, r = x & 0xfff;
    for (uint64_t round = 0; round < 4; ++round) {
      const uint64_t f = Mix64(seed_ ^ Mix64(kPurposeSsid * 16 + round) ^ r) & 0xfff;
      const uint64_t t = r;
      r = l ^ f;
      l = t;
    }
    x = (l << 12) | r;
  } while (x >= kRange);
  std::string out;
  AppendDigits(1'000'000 + x, 7, &out);
  return out;
}

void Model::MakeOriginal(uint64_t entity, Record* out) const {
  Rng rng = Rng::Stream(seed_, kPurposeOriginal, entity);
  auto set = [&](Field f, const std::string& value) {
    if (rng.Chance(missing_[f])) {
      out->f[f].clear();
    } else {
      out->f[f] = value;
    }
  };
  set(kGivenName, vocab_[kGivenName].Draw(rng));
  set(kSurname, vocab_[kSurname].Draw(rng));
  set(kStreetNumber, vocab_[kStreetNumber].Draw(rng));
  set(kAddress1, vocab_[kAddress1].Draw(rng));
  set(kAddress2, vocab_[kAddress2].Draw(rng));
  const uint32_t loc = locations_.DrawIndex(rng);
  set(kSuburb, locations_.suburb(loc));
  set(kPostcode, locations_.postcode(loc));
  set(kState, locations_.state(loc));
  set(kDateOfBirth, RandomDate(rng));
  set(kSocSecId, SsidOf(entity));
}

std::string Model::RandomDate(Rng& rng) {
  int y, m, d;
  CivilFromDays(kDay19000101 + static_cast<int64_t>(rng.Below(kDaysInCentury)), &y, &m, &d);
  std::string out;
  out.reserve(8);
  AppendDigits(static_cast<uint64_t>(y), 4, &out);
  AppendDigits(static_cast<uint64_t>(m), 2, &out);
  AppendDigits(static_cast<uint64_t>(d), 2, &out);
  return out;
}

std::string Model::RandomSsid(Rng& rng) {
  std::string out;
  AppendDigits(1'000'000 + rng.Below(9'000'000), 7, &out);
  return out;
}

bool Model::IsValidDate(std::string_view s) {
  if (s.size() != 8) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const int m = (s[4] - '0') * 10 + (s[5] - '0');
  const int d = (s[6] - '0') * 10 + (s[7] - '0');
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

}  // namespace tessera::bench::linkgen
