// linkage_gen: synthetic person records for record-linkage benchmarks, after FEBRL's data set
// generator. Vocabularies and frequencies come from the FEBRL data sets' original records;
// duplicates get FEBRL-style corruption. See bench/linkage/README.md.
//
//   linkage_gen --records 1000000 --overlap 0.5 --seed 1 --out-a A.csv --out-b B.csv
//               --truth truth.csv [--opaque-ids]
//   linkage_gen --records 5000 --dedupe-out D.csv --dup-rate 1.5 --truth truth.csv
//   linkage_gen --profile-a A.csv --profile-b B.csv --profile-truth truth.csv
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>
#include <unordered_map>

#include "bench/linkage/febrl_io.h"
#include "bench/linkage/generate.h"

#ifndef TESSERA_SOURCE_DIR  // set by CMakeLists.txt to the repository root
#define TESSERA_SOURCE_DIR "."
#endif

namespace tessera::bench::linkgen {
namespace {

// --febrl-dir, else $TESSERA_SHARED_DATA/febrl, else <repo>/../shared/data/febrl.
std::string FebrlDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* shared = std::getenv("TESSERA_SHARED_DATA"); shared != nullptr && *shared) {
    return std::string(shared) + "/febrl";
  }
  const char* source = std::getenv("TESSERA_SOURCE_DIR");
  return std::string(source != nullptr && *source ? source : TESSERA_SOURCE_DIR) +
         "/../shared/data/febrl";
}

std::string Mb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

// Profiles the true pairs of (file_a, file_b, truth): each pair's left record is taken as the
// original. file_b may equal file_a (dedupe files).
Result<CorruptionProfile> ProfileFiles(const std::string& file_a, const std::string& file_b,
                                       const std::string& truth) {
  std::unordered_map<std::string, Record> records;
  for (const std::string& path : {file_a, file_b}) {
    auto rows = ReadFebrlFile(path);
    if (!rows.ok()) return rows.status();
    for (FebrlRow& r : rows.value()) records[r.id] = std::move(r.record);
    if (file_b == file_a) break;
  }
  auto pairs = ReadTruthFile(truth);
  if (!pairs.ok()) return pairs.status();
  CorruptionProfile profile;
  for (const auto& [l, r] : pairs.value()) {
    const auto a = records.find(l), b = records.find(r);
    if (a == records.end() || b == records.end()) {
      return Status::Corruption(truth + ": pair (" + l + ", " + r + ") names a missing record");
    }
    profile.Add(a->second, b->second);
  }
  return profile;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "linkage_gen: %s\n", s.ToString().c_str());
  return 1;
}

int Run(int argc, char** argv) {
  CLI::App app{
      "Synthetic FEBRL-style person records with corrupted duplicates for linkage "
      "benchmarks (see bench/linkage/README.md)"};
  GenerateOptions o;
  ModelOptions m;
  std::string febrl_dir, dup_dist = "zipf", profile_a, profile_b, profile_truth;
  bool compare_febrl4 = false, quiet = false;
  o.threads = static_cast<int>(std::min(2u, std::max(1u, std::thread::hardware_concurrency())));

  app.add_option("--records", o.records, "link: rows in A and in B; dedupe: original records");
  app.add_option("--overlap", o.overlap, "link: share of B that are duplicates of A records")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", o.seed, "random seed (same seed, same bytes)");
  app.add_option("--out-a", o.out_a, "link: file A (originals)");
  app.add_option("--out-b", o.out_b, "link: file B (duplicates and fresh originals)");
  app.add_option("--truth", o.truth, "true pairs, rec_id_l,rec_id_r");
  app.add_flag("--opaque-ids", o.opaque_ids, "random-looking record ids (also in the truth file)");
  app.add_option("--dedupe-out", o.dedupe_out, "dedupe mode: one file with duplicates");
  app.add_option("--dup-rate", o.dup_rate, "dedupe: duplicates per original (FEBRL3: 1.5)");
  app.add_option("--max-dups", o.max_dups, "dedupe: max duplicates of one original (1..9)");
  app.add_option("--dup-dist", dup_dist, "dedupe: uniform, poisson or zipf")
      ->check(CLI::IsMember({"uniform", "poisson", "zipf"}));
  app.add_option("--max-mod-per-field", o.corrupt.max_mod_per_field)->check(CLI::Range(1, 10));
  app.add_option("--max-mod-per-record", o.corrupt.max_mod_per_record)->check(CLI::Range(1, 15));
  app.add_option("--extra-mods-mean", o.corrupt.extra_mods_mean,
                 "modifications per duplicate = 1 + Poisson(this), capped")
      ->check(CLI::Range(0.0, 20.0));
  app.add_option("--swap-names", o.corrupt.swap_names, "chance of a given_name/surname swap")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--swap-addresses", o.corrupt.swap_addresses,
                 "chance of an address_1/address_2 swap")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--novel-share", m.novel_share,
                 "share of name/street/suburb draws that take an unseen value (-1: Good-Turing)");
  app.add_option("--novel-repeats", m.novel_repeats, "mean uses of each unseen value")
      ->check(CLI::Range(1.0, 1e9));
  app.add_option("--smoothing", m.smoothing, "add-k pseudo-count on observed frequencies")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option(
      "--febrl-dir", febrl_dir,
      "FEBRL data sets (default $TESSERA_SHARED_DATA/febrl or <repo>/../shared/data/febrl)");
  app.add_option("--threads", o.threads)->check(CLI::Range(1, 64));
  app.add_flag("--compare-febrl4", compare_febrl4,
               "also print FEBRL4's corruption profile next to this run's");
  app.add_flag("--quiet", quiet, "no corruption report on stderr");
  app.add_option("--profile-a", profile_a, "profile mode: left file of the truth pairs");
  app.add_option("--profile-b", profile_b, "profile mode: right file (may equal --profile-a)");
  app.add_option("--profile-truth", profile_truth, "profile mode: truth file");
  CLI11_PARSE(app, argc, argv);
  o.dup_distribution = dup_dist == "uniform"   ? DupDistribution::kUniform
                       : dup_dist == "poisson" ? DupDistribution::kPoisson
                                               : DupDistribution::kZipf;
  const std::string dir = FebrlDir(febrl_dir);

  auto febrl4_profile = [&]() {
    return ProfileFiles(dir + "/dataset4a.csv", dir + "/dataset4b.csv",
                        dir + "/truth/dataset4_pairs.csv");
  };

  if (!profile_truth.empty() || !profile_a.empty()) {
    if (profile_a.empty() || profile_truth.empty()) {
      return Fail(Status::InvalidArgument("profile mode needs --profile-a and --profile-truth"));
    }
    auto p = ProfileFiles(profile_a, profile_b.empty() ? profile_a : profile_b, profile_truth);
    if (!p.ok()) return Fail(p.status());
    if (compare_febrl4) {
      auto ref = febrl4_profile();
      if (!ref.ok()) return Fail(ref.status());
      std::printf("%s",
                  CorruptionProfile::Compare(p.value(), "files", ref.value(), "FEBRL4").c_str());
    } else {
      std::printf("%s", p.value().Report("files").c_str());
    }
    return 0;
  }

  const bool dedupe = !o.dedupe_out.empty();
  if (o.records == 0) return Fail(Status::InvalidArgument("--records is required (> 0)"));
  if (o.truth.empty() || (!dedupe && (o.out_a.empty() || o.out_b.empty()))) {
    return Fail(Status::InvalidArgument(
        "give --out-a, --out-b and --truth (link mode) or --dedupe-out and --truth"));
  }

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> files;
  auto originals = LoadFebrlOriginals(dir, &files);
  if (!originals.ok()) return Fail(originals.status());
  m.expected_originals = ExpectedOriginals(o);
  const Model model = Model::Build(originals.value(), m, o.seed);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "linkage_gen: %zu FEBRL originals from %zu files in %s; vocabularies (observed + "
               "unseen): given %zu+%zu, surname %zu+%zu, address_1 %zu+%zu, address_2 %zu+%zu, "
               "suburb %zu+%zu; model built in %.2f s\n",
               originals.value().size(), files.size(), dir.c_str(),
               model.vocab(kGivenName).observed(), model.vocab(kGivenName).novel(),
               model.vocab(kSurname).observed(), model.vocab(kSurname).novel(),
               model.vocab(kAddress1).observed(), model.vocab(kAddress1).novel(),
               model.vocab(kAddress2).observed(), model.vocab(kAddress2).novel(),
               model.locations().suburbs().observed(), model.locations().suburbs().novel(), load_s);

  GenerateStats stats;
  const Status s = dedupe ? GenerateDedupe(model, o, &stats) : GenerateLink(model, o, &stats);
  if (!s.ok()) return Fail(s);

  uint64_t data_bytes = 0;
  for (const FileStats* f : {&stats.a, &stats.b, &stats.dedupe, &stats.truth}) {
    if (f->path.empty()) continue;
    std::fprintf(stderr, "  %-40s %10llu rows %12s\n", f->path.c_str(),
                 static_cast<unsigned long long>(f->rows), Mb(f->bytes).c_str());
    if (f != &stats.truth) data_bytes += f->bytes;
  }
  std::fprintf(stderr,
               "linkage_gen: %llu records (%llu duplicates) in %.2f s on %d thread(s): %.0f "
               "records/s, %.1f MB/s\n",
               static_cast<unsigned long long>(stats.records),
               static_cast<unsigned long long>(stats.profile.pairs()), stats.seconds, o.threads,
               static_cast<double>(stats.records) / stats.seconds,
               static_cast<double>(data_bytes) / 1e6 / stats.seconds);
  if (!quiet) {
    std::fprintf(stderr, "\n%s\n", stats.log.Report().c_str());
    if (compare_febrl4) {
      auto ref = febrl4_profile();
      if (!ref.ok()) return Fail(ref.status());
      std::fprintf(
          stderr, "%s",
          CorruptionProfile::Compare(stats.profile, "this run", ref.value(), "FEBRL4").c_str());
    } else {
      std::fprintf(stderr, "%s", stats.profile.Report("this run").c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace tessera::bench::linkgen

int main(int argc, char** argv) { return tessera::bench::linkgen::Run(argc, argv); }
