#!/usr/bin/env bash
# Configures the release build the bench/run_*.sh scripts measure: Tessera linked with a
# release RocksDB built from Debian's source (scripts/build-rocksdb.sh, once per machine).
# TESSERA_ROCKSDB=debian measures with Debian's own library instead. Usage: bench/configure.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
root=""
[ "${TESSERA_ROCKSDB:-}" = debian ] || root=$(scripts/build-rocksdb.sh)
cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_BENCH=ON \
  -DTESSERA_ROCKSDB_ROOT="$root" >/dev/null
