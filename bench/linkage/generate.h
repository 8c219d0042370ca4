// Writing linkage test files: link mode (files A and B with overlapping entities, FEBRL4-like)
// and dedupe mode (one file with 0..max_dups duplicates per original, FEBRL2/3-like).
// Every row is a pure function of (seed, entity, duplicate number), so the output is the same
// for any thread count.
#pragma once

#include <cstdint>
#include <string>

#include "bench/linkage/corruptor.h"
#include "bench/linkage/model.h"
#include "bench/linkage/profile.h"
#include "core/status.h"

namespace tessera::bench::linkgen {

enum class DupDistribution { kUniform, kPoisson, kZipf };

struct GenerateOptions {
  uint64_t records = 0;  // link: rows in A and in B; dedupe: originals
  double overlap = 0.5;  // link: share of B that duplicates distinct A records
  uint64_t seed = 42;
  bool opaque_ids = false;  // random-looking ids instead of rec-<n>-org / rec-<n>-dup-<k>
  int threads = 1;

  std::string out_a, out_b, truth;  // link mode
  std::string dedupe_out;           // dedupe mode (truth also used)
  double dup_rate = 1.0;            // dedupe: duplicates per original (FEBRL2 0.25, FEBRL3 1.5)
  int max_dups = 5;                 // dedupe: at most this many duplicates of one original
  DupDistribution dup_distribution = DupDistribution::kZipf;

  CorruptOptions corrupt;
};

struct FileStats {
  std::string path;
  uint64_t rows = 0;
  uint64_t bytes = 0;
};

struct GenerateStats {
  FileStats a, b, dedupe, truth;
  uint64_t records = 0;  // rows written to data files
  double seconds = 0;
  CorruptionProfile profile;  // measured on the written (original, duplicate) pairs
  CorruptionLog log;          // what the corruptor did
};

// Originals the run will make (sizes the novel-value pools of the Model).
uint64_t ExpectedOriginals(const GenerateOptions& options);

Status GenerateLink(const Model& model, const GenerateOptions& options, GenerateStats* stats);
Status GenerateDedupe(const Model& model, const GenerateOptions& options, GenerateStats* stats);

}  // namespace tessera::bench::linkgen
