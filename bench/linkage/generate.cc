#include "bench/linkage/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>
#include <vector>

#include "bench/linkage/febrl_io.h"

namespace tessera::bench::linkgen {
namespace {

constexpr uint64_t kChunkRows = 32768;
constexpr uint64_t kFileA = 1, kFileB = 2, kFileDedupe = 3;

// Per-thread state for rendering rows.
struct Worker {
  Record org, dup;
  std::vector<Record> siblings;  // dedupe: earlier duplicates of the same original
  CorruptionProfile profile;
  CorruptionLog log;
  std::string id;
};

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out->push_back(buf[--n]);
}

// rec-<entity>-org (dup < 0) or rec-<entity>-dup-<dup>, or with opaque ids 16 hex digits from a
// keyed bijection of (file, row): distinct for every row of every file, and saying nothing about
// the entity (rows are shuffled).
void MakeId(const GenerateOptions& o, uint64_t file, uint64_t row, uint64_t entity, int dup,
            std::string* out) {
  out->clear();
  if (o.opaque_ids) {
    static constexpr char kHex[] = "0123456789abcdef";
    const uint64_t x = Mix64(Mix64(o.seed ^ Mix64(kPurposeOpaqueId)) ^ ((file << 56) | row));
    for (int shift = 60; shift >= 0; shift -= 4) out->push_back(kHex[(x >> shift) & 15]);
    return;
  }
  out->append("rec-");
  AppendUint(entity, out);
  if (dup < 0) {
    out->append("-org");
  } else {
    out->append("-dup-");
    AppendUint(static_cast<uint64_t>(dup), out);
  }
}

void AppendRow(const std::string& id, const Record& r, std::string* out) {
  out->append(id);
  for (const std::string& v : r.f) {
    out->append(", ");
    out->append(v);
  }
  out->push_back('\n');
}

template <typename T>
void Shuffle(std::vector<T>* v, Rng& rng) {
  for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[rng.Below(i)]);
}

// Renders rows [0, n) with render(row, worker, out) on `threads` threads, chunk by chunk, and
// writes them in row order.
Status RenderFile(uint64_t n, int threads, std::vector<Worker>* workers, FileWriter* writer,
                  const std::function<void(uint64_t, Worker&, std::string*)>& render) {
  const size_t t = std::max<size_t>(1, std::min<size_t>(threads, workers->size()));
  std::vector<std::string> bufs(t);
  for (uint64_t base = 0; base < n; base += kChunkRows * t) {
    auto work = [&](size_t k) {
      bufs[k].clear();
      const uint64_t lo = base + k * kChunkRows;
      const uint64_t hi = std::min(n, lo + kChunkRows);
      for (uint64_t row = lo; row < hi; ++row) render(row, (*workers)[k], &bufs[k]);
    };
    if (t == 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (size_t k = 1; k < t; ++k) pool.emplace_back(work, k);
      work(0);
      for (std::thread& th : pool) th.join();
    }
    for (const std::string& b : bufs) writer->Append(b);
  }
  return Status::Ok();
}

Status OpenFile(const std::string& path, FileWriter* w, std::string_view header) {
  if (Status s = w->Open(path); !s.ok()) return s;
  w->Append(header);
  w->Append("\n");
  return Status::Ok();
}

Status CloseFile(FileWriter* w, const std::string& path, uint64_t rows, FileStats* stats) {
  if (Status s = w->Close(); !s.ok()) return s;
  stats->path = path;
  stats->rows = rows;
  stats->bytes = w->bytes();
  return Status::Ok();
}

std::vector<Worker> MakeWorkers(int threads) {
  return std::vector<Worker>(static_cast<size_t>(std::max(1, threads)));
}

void Collect(const std::vector<Worker>& workers, GenerateStats* stats) {
  for (const Worker& w : workers) {
    stats->profile.Merge(w.profile);
    stats->log.Merge(w.log);
  }
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

uint64_t ExpectedOriginals(const GenerateOptions& o) {
  if (!o.dedupe_out.empty()) return o.records;
  const auto dups = static_cast<uint64_t>(
      std::llround(std::clamp(o.overlap, 0.0, 1.0) * static_cast<double>(o.records)));
  return o.records + (o.records - dups);
}

Status GenerateLink(const Model& model, const GenerateOptions& o, GenerateStats* stats) {
  const auto start = std::chrono::steady_clock::now();
  if (o.overlap < 0 || o.overlap > 1) return Status::InvalidArgument("--overlap must be in [0, 1]");
  const uint64_t n = o.records;
  const auto dups = static_cast<uint64_t>(std::llround(o.overlap * static_cast<double>(n)));
  const uint64_t fresh = n - dups;
  if (n + fresh > Model::kMaxEntities) {
    return Status::InvalidArgument("too many records: at most " +
                                   std::to_string(Model::kMaxEntities) + " entities");
  }
  const Corruptor corruptor(model, o.corrupt);

  Rng layout = Rng::Stream(o.seed, kPurposeLayout, 0);
  std::vector<uint32_t> pick(n), a_order(n);
  for (uint32_t i = 0; i < n; ++i) pick[i] = a_order[i] = i;
  Shuffle(&pick, layout);
  Shuffle(&a_order, layout);
  std::vector<uint64_t> b_items;  // entity * 2 + (1 if duplicate)
  b_items.reserve(n);
  for (uint64_t i = 0; i < dups; ++i) b_items.push_back(uint64_t{pick[i]} * 2 + 1);
  for (uint64_t j = 0; j < fresh; ++j) b_items.push_back((n + j) * 2);
  Shuffle(&b_items, layout);
  std::vector<uint32_t> dup_entities(pick.begin(), pick.begin() + static_cast<int64_t>(dups));
  std::sort(dup_entities.begin(), dup_entities.end());
  pick.clear();
  pick.shrink_to_fit();

  std::vector<uint32_t> a_row(n), b_row(n);
  std::vector<Worker> workers = MakeWorkers(o.threads);

  FileWriter wa;
  if (Status s = OpenFile(o.out_a, &wa, kFebrlHeader); !s.ok()) return s;
  Status s =
      RenderFile(n, o.threads, &workers, &wa, [&](uint64_t row, Worker& w, std::string* out) {
        const uint32_t e = a_order[row];
        a_row[e] = static_cast<uint32_t>(row);
        model.MakeOriginal(e, &w.org);
        MakeId(o, kFileA, row, e, -1, &w.id);
        AppendRow(w.id, w.org, out);
      });
  if (s.ok()) s = CloseFile(&wa, o.out_a, n, &stats->a);
  if (!s.ok()) return s;

  FileWriter wb;
  if (s = OpenFile(o.out_b, &wb, kFebrlHeader); !s.ok()) return s;
  s = RenderFile(n, o.threads, &workers, &wb, [&](uint64_t row, Worker& w, std::string* out) {
    const uint64_t e = b_items[row] / 2;
    model.MakeOriginal(e, &w.org);
    if (b_items[row] % 2 == 1) {
      Rng rng = Rng::Stream(o.seed, kPurposeDuplicate, e * 16);
      corruptor.Corrupt(w.org, rng, &w.dup, &w.log);
      w.profile.Add(w.org, w.dup);
      b_row[e] = static_cast<uint32_t>(row);
      MakeId(o, kFileB, row, e, 0, &w.id);
      AppendRow(w.id, w.dup, out);
    } else {
      MakeId(o, kFileB, row, e, -1, &w.id);
      AppendRow(w.id, w.org, out);
    }
  });
  if (s.ok()) s = CloseFile(&wb, o.out_b, n, &stats->b);
  if (!s.ok()) return s;

  FileWriter wt;
  if (s = OpenFile(o.truth, &wt, kTruthHeader); !s.ok()) return s;
  std::string line, id;
  for (uint32_t e : dup_entities) {
    line.clear();
    MakeId(o, kFileA, a_row[e], e, -1, &id);
    line += id;
    line += ',';
    MakeId(o, kFileB, b_row[e], e, 0, &id);
    line += id;
    line += '\n';
    wt.Append(line);
  }
  if (s = CloseFile(&wt, o.truth, dups, &stats->truth); !s.ok()) return s;

  Collect(workers, stats);
  stats->records = 2 * n;
  stats->seconds = SecondsSince(start);
  return Status::Ok();
}

Status GenerateDedupe(const Model& model, const GenerateOptions& o, GenerateStats* stats) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t n = o.records;
  if (o.max_dups < 1 || o.max_dups > 9) return Status::InvalidArgument("--max-dups must be 1..9");
  if (o.dup_rate < 0 || o.dup_rate > o.max_dups) {
    return Status::InvalidArgument("--dup-rate must be in [0, --max-dups]");
  }
  if (n > Model::kMaxEntities) return Status::InvalidArgument("too many records");
  const auto total_dups = static_cast<uint64_t>(std::llround(o.dup_rate * static_cast<double>(n)));
  const Corruptor corruptor(model, o.corrupt);

  // Duplicates per chosen original, over 1..max_dups, as FEBRL's generator.
  std::vector<double> weights(o.max_dups);
  const double mean = 1.0 + o.dup_rate;
  for (int i = 0; i < o.max_dups; ++i) {
    switch (o.dup_distribution) {
      case DupDistribution::kUniform:
        weights[i] = 1;
        break;
      case DupDistribution::kPoisson:
        weights[i] = std::exp(-mean + i * std::log(mean) - std::lgamma(i + 1.0));
        break;
      case DupDistribution::kZipf:
        weights[i] = 1.0 / std::sqrt(i + 1.0);
        break;
    }
  }
  const AliasTable count_table(weights);

  Rng layout = Rng::Stream(o.seed, kPurposeLayout, 1);
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  Shuffle(&order, layout);
  std::vector<uint8_t> dup_count(n, 0);
  uint64_t remaining = total_dups;
  for (uint64_t i = 0; i < n && remaining > 0; ++i) {
    const uint64_t c = std::min<uint64_t>(1 + count_table.Sample(layout), remaining);
    dup_count[order[i]] = static_cast<uint8_t>(c);
    remaining -= c;
  }
  if (remaining > 0) {
    return Status::InvalidArgument("--dup-rate too high for --max-dups with this distribution");
  }
  std::vector<uint64_t> items;  // entity * 16 + (0 for the original, k + 1 for duplicate k)
  items.reserve(n + total_dups);
  std::vector<uint64_t> first_dup(n + 1, 0);  // index into dup_row
  for (uint64_t e = 0; e < n; ++e) {
    items.push_back(e * 16);
    for (int k = 0; k < dup_count[e]; ++k) items.push_back(e * 16 + k + 1);
    first_dup[e + 1] = first_dup[e] + dup_count[e];
  }
  Shuffle(&items, layout);
  std::vector<uint32_t> org_row(n), dup_row(total_dups);
  std::vector<Worker> workers = MakeWorkers(o.threads);

  FileWriter wd;
  if (Status s = OpenFile(o.dedupe_out, &wd, kFebrlHeader); !s.ok()) return s;
  Status s = RenderFile(
      items.size(), o.threads, &workers, &wd, [&](uint64_t row, Worker& w, std::string* out) {
        const uint64_t e = items[row] / 16;
        const int k = static_cast<int>(items[row] % 16) - 1;
        model.MakeOriginal(e, &w.org);
        MakeId(o, kFileDedupe, row, e, k, &w.id);
        if (k < 0) {
          org_row[e] = static_cast<uint32_t>(row);
          AppendRow(w.id, w.org, out);
          return;
        }
        // Duplicate k is made after duplicates 0..k-1 of the same original and redone while it
        // equals one of them (FEBRL keeps every record distinct), so it stays a pure function of
        // (seed, e, k).
        w.siblings.clear();
        for (int j = 0; j <= k; ++j) {
          Rng rng = Rng::Stream(o.seed, kPurposeDuplicate, e * 16 + static_cast<uint64_t>(j));
          do {
            corruptor.Corrupt(w.org, rng, &w.dup, j == k ? &w.log : nullptr);
          } while (std::find(w.siblings.begin(), w.siblings.end(), w.dup) != w.siblings.end());
          w.siblings.push_back(w.dup);
        }
        w.profile.Add(w.org, w.dup);
        dup_row[first_dup[e] + k] = static_cast<uint32_t>(row);
        AppendRow(w.id, w.dup, out);
      });
  if (s.ok()) s = CloseFile(&wd, o.dedupe_out, items.size(), &stats->dedupe);
  if (!s.ok()) return s;

  FileWriter wt;
  if (s = OpenFile(o.truth, &wt, kTruthHeader); !s.ok()) return s;
  uint64_t pairs = 0;
  std::vector<std::string> ids;
  std::string line;
  for (uint64_t e = 0; e < n; ++e) {
    if (dup_count[e] == 0) continue;
    ids.assign(dup_count[e] + 1, "");
    MakeId(o, kFileDedupe, org_row[e], e, -1, &ids[0]);
    for (int k = 0; k < dup_count[e]; ++k) {
      MakeId(o, kFileDedupe, dup_row[first_dup[e] + k], e, k, &ids[k + 1]);
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      for (size_t j = i + 1; j < ids.size(); ++j) {
        line.clear();
        line += ids[i];
        line += ',';
        line += ids[j];
        line += '\n';
        wt.Append(line);
        ++pairs;
      }
    }
  }
  if (s = CloseFile(&wt, o.truth, pairs, &stats->truth); !s.ok()) return s;

  Collect(workers, stats);
  stats->records = items.size();
  stats->seconds = SecondsSince(start);
  return Status::Ok();
}

}  // namespace tessera::bench::linkgen
