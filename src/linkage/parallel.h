// Data-parallel loops for the linkage batch work: one thread per core, work handed out in
// chunks through an atomic counter. fn must be safe to call concurrently for different indexes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace tessera::linkage {

inline unsigned WorkerCount() { return std::max(1u, std::thread::hardware_concurrency()); }

// Calls fn(begin, end, worker) over [0, n) in chunks of `chunk`; worker < WorkerCount().
template <typename Fn>
void ParallelChunks(size_t n, size_t chunk, Fn&& fn) {
  unsigned workers = static_cast<unsigned>(std::min<size_t>(WorkerCount(), (n + chunk - 1) / std::max<size_t>(chunk, 1)));
  if (workers <= 1) {
    if (n > 0) fn(size_t{0}, n, 0u);
    return;
  }
  std::atomic<size_t> next{0};
  auto run = [&](unsigned worker) {
    while (true) {
      size_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= n) return;
      fn(begin, std::min(n, begin + chunk), worker);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned w = 1; w < workers; ++w) threads.emplace_back(run, w);
  run(0);
  for (std::thread& t : threads) t.join();
}

// Calls fn(i) for every i in [0, n), spread over the cores.
template <typename Fn>
void ParallelFor(size_t n, Fn&& fn) {
  ParallelChunks(n, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace tessera::linkage
