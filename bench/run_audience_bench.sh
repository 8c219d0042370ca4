#!/usr/bin/env bash
# Batch audience evaluation against PostgreSQL: builds a release audience_bench, starts a fresh
# PostgreSQL on loopback (fsync off: the data is throwaway, only queries are timed) and runs the
# trait-only and the trait + 30-day-count workloads on the same generated data.
# Usage: bench/run_audience_bench.sh [audience_bench flags, e.g. --trait-profiles 1000000]
# BUILD_DIR overrides the build directory (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
build=${BUILD_DIR:-build/release}
bench/configure.sh "$build"
cmake --build "$build" --target audience_bench >/dev/null

source bench/lib.sh
start_postgres <<CONF
fsync = off
synchronous_commit = off
wal_level = minimal
max_wal_senders = 0
shared_buffers = 4GB
work_mem = 256MB
maintenance_work_mem = 1GB
effective_cache_size = 12GB
max_wal_size = 16GB
checkpoint_timeout = 30min
CONF

machine_line
echo "$("$bench_pgbin/postgres" --version), max_parallel_workers_per_gather 2 (default)"
"$build/bench/audience/audience_bench" \
  --pg "$pg_conninfo" "$@"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
