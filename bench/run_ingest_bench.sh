#!/usr/bin/env bash
# Builds a release Tessera, starts it and a PostgreSQL (both on loopback, fresh data, fsync on),
# and runs bench/ingest_bench against both. Usage: bench/run_ingest_bench.sh [ingest_bench flags]
# BUILD_DIR overrides the build directory (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
build=${BUILD_DIR:-build/release}
bench/configure.sh "$build"
cmake --build "$build" --target tessera ingest_bench >/dev/null
source bench/lib.sh

start_postgres <<CONF
fsync = on
synchronous_commit = on
shared_buffers = 2GB
max_wal_size = 8GB
checkpoint_timeout = 30min
max_connections = 100
CONF
start_tessera "$build"/src/cli/tessera tessera

machine_line
"$build"/bench/ingest_bench --port "$tessera_port" --write-key "$tessera_key" \
  --admin-token "$tessera_token" --server-pid "$tessera_pid" --pg "$pg_conninfo" "$@"
