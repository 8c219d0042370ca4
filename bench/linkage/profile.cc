#include "bench/linkage/profile.h"

#include <cstdio>

#include "bench/linkage/edit_distance.h"
#include "bench/linkage/model.h"

namespace tessera::bench::linkgen {
namespace {

bool Swapped(const Record& a, const Record& b, Field x, Field y) {
  return a.f[x] != a.f[y] && a.f[x] == b.f[y] && a.f[y] == b.f[x];
}

double Share(uint64_t n, uint64_t d) { return d == 0 ? 0 : 100.0 * n / d; }

constexpr std::array<std::string_view, kNumDiffKinds> kDiffNames = {
    "missing", "new", "edit1", "edit2", "replaced", "swapped"};

}  // namespace

void CorruptionProfile::Add(const Record& org, const Record& dup) {
  ++pairs_;
  std::array<bool, kNumFields> swapped{};
  if (Swapped(org, dup, kGivenName, kSurname)) {
    ++name_swaps_;
    swapped[kGivenName] = swapped[kSurname] = true;
  }
  if (Swapped(org, dup, kAddress1, kAddress2)) {
    ++address_swaps_;
    swapped[kAddress1] = swapped[kAddress2] = true;
  }
  int modified = 0;
  bool leading = false;
  for (int f = 0; f < kNumFields; ++f) {
    const std::string& a = org.f[f];
    const std::string& b = dup.f[f];
    empty_org_[f] += a.empty() ? 1 : 0;
    empty_dup_[f] += b.empty() ? 1 : 0;
    leading = leading || (!b.empty() && b[0] == ' ');
    if (a == b) continue;
    ++modified;
    DiffKind kind;
    if (swapped[f]) {
      kind = kDiffSwapped;
    } else if (b.empty()) {
      kind = kDiffMissing;
    } else if (a.empty()) {
      kind = kDiffNew;
    } else {
      const int d = BoundedOsaDistance(a, b, 2);
      kind = d == 1 ? kDiffEdit1 : (d == 2 && a.size() > 3) ? kDiffEdit2 : kDiffReplaced;
    }
    ++kinds_[f][kind];
  }
  ++fields_modified_[modified];
  leading_space_ += leading ? 1 : 0;
  if (!dup.f[kDateOfBirth].empty() && !Model::IsValidDate(dup.f[kDateOfBirth])) ++invalid_dates_;
}

void CorruptionProfile::Merge(const CorruptionProfile& o) {
  pairs_ += o.pairs_;
  for (size_t k = 0; k < fields_modified_.size(); ++k) fields_modified_[k] += o.fields_modified_[k];
  for (int f = 0; f < kNumFields; ++f) {
    for (int k = 0; k < kNumDiffKinds; ++k) kinds_[f][k] += o.kinds_[f][k];
    empty_org_[f] += o.empty_org_[f];
    empty_dup_[f] += o.empty_dup_[f];
  }
  name_swaps_ += o.name_swaps_;
  address_swaps_ += o.address_swaps_;
  leading_space_ += o.leading_space_;
  invalid_dates_ += o.invalid_dates_;
}

double CorruptionProfile::FieldsModifiedShare(int k) const {
  return Share(fields_modified_[k], pairs_) / 100;
}

double CorruptionProfile::FieldModifiedShare(Field f) const {
  uint64_t n = 0;
  for (uint64_t c : kinds_[f]) n += c;
  return Share(n, pairs_) / 100;
}

std::string CorruptionProfile::Report(std::string_view title) const {
  return Compare(*this, title, CorruptionProfile(), "");
}

std::string CorruptionProfile::Compare(const CorruptionProfile& a, std::string_view a_title,
                                       const CorruptionProfile& b, std::string_view b_title) {
  const bool two = !b_title.empty();
  std::string out;
  char buf[512];
  auto line = [&](const char* label, double x, double y) {
    if (two) {
      std::snprintf(buf, sizeof(buf), "  %-34s %9.1f%% %9.1f%%\n", label, x, y);
    } else {
      std::snprintf(buf, sizeof(buf), "  %-34s %9.1f%%\n", label, x);
    }
    out += buf;
  };
  std::snprintf(buf, sizeof(buf), "%-36s %10.10s %10.10s\n", "true pairs (original, duplicate)",
                std::string(a_title).c_str(), std::string(b_title).c_str());
  out += buf;
  std::snprintf(buf, sizeof(buf), "  %-34s %10llu %10s\n", "pairs",
                static_cast<unsigned long long>(a.pairs_),
                two ? std::to_string(b.pairs_).c_str() : "");
  out += buf;
  out += "fields that differ (share of pairs)\n";
  for (int k = 0; k <= kNumFields; ++k) {
    if (a.fields_modified_[k] == 0 && b.fields_modified_[k] == 0) continue;
    const std::string label = "exactly " + std::to_string(k);
    line(label.c_str(), Share(a.fields_modified_[k], a.pairs_),
         Share(b.fields_modified_[k], b.pairs_));
  }
  out += "field differs (share of pairs)\n";
  for (int f = 0; f < kNumFields; ++f) {
    line(kFieldNames[f].data(), 100 * a.FieldModifiedShare(static_cast<Field>(f)),
         100 * b.FieldModifiedShare(static_cast<Field>(f)));
  }
  out += "how (share of pairs, all fields)\n";
  for (int k = 0; k < kNumDiffKinds; ++k) {
    uint64_t x = 0, y = 0;
    for (int f = 0; f < kNumFields; ++f) {
      x += a.kinds_[f][k];
      y += b.kinds_[f][k];
    }
    line(kDiffNames[k].data(), Share(x, a.pairs_), Share(y, b.pairs_));
  }
  out += "how, by field (share of pairs";
  out += two ? "; left this, right reference)\n" : ")\n";
  std::snprintf(buf, sizeof(buf), "  %-14s", "");
  out += buf;
  for (int k = 0; k < kNumDiffKinds; ++k) {
    std::snprintf(buf, sizeof(buf), two ? " %13.13s" : " %8.8s", kDiffNames[k].data());
    out += buf;
  }
  out += "\n";
  for (int f = 0; f < kNumFields; ++f) {
    std::snprintf(buf, sizeof(buf), "  %-14s", kFieldNames[f].data());
    out += buf;
    for (int k = 0; k < kNumDiffKinds; ++k) {
      if (two) {
        std::snprintf(buf, sizeof(buf), " %6.1f/%6.1f", Share(a.kinds_[f][k], a.pairs_),
                      Share(b.kinds_[f][k], b.pairs_));
      } else {
        std::snprintf(buf, sizeof(buf), " %8.1f", Share(a.kinds_[f][k], a.pairs_));
      }
      out += buf;
    }
    out += "\n";
  }
  out += "other\n";
  line("given_name/surname swapped", Share(a.name_swaps_, a.pairs_),
       Share(b.name_swaps_, b.pairs_));
  line("address_1/address_2 swapped", Share(a.address_swaps_, a.pairs_),
       Share(b.address_swaps_, b.pairs_));
  line("duplicate has a leading space", Share(a.leading_space_, a.pairs_),
       Share(b.leading_space_, b.pairs_));
  line("duplicate's date is not a date", Share(a.invalid_dates_, a.pairs_),
       Share(b.invalid_dates_, b.pairs_));
  out += "missing values: original -> duplicate (share of pairs)\n";
  for (int f = 0; f < kNumFields; ++f) {
    if (two) {
      std::snprintf(buf, sizeof(buf), "  %-34s %4.1f->%4.1f%% %4.1f->%4.1f%%\n",
                    kFieldNames[f].data(), Share(a.empty_org_[f], a.pairs_),
                    Share(a.empty_dup_[f], a.pairs_), Share(b.empty_org_[f], b.pairs_),
                    Share(b.empty_dup_[f], b.pairs_));
    } else {
      std::snprintf(buf, sizeof(buf), "  %-34s %4.1f->%4.1f%%\n", kFieldNames[f].data(),
                    Share(a.empty_org_[f], a.pairs_), Share(a.empty_dup_[f], a.pairs_));
    }
    out += buf;
  }
  return out;
}

}  // namespace tessera::bench::linkgen
