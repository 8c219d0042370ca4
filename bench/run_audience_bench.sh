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
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_BENCH=ON >/dev/null
cmake --build "$build" --target audience_bench >/dev/null

work=$(mktemp -d /tmp/tessera-audience-bench.XXXXXX)
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# initdb refuses to run as root: the server runs as postgres then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pg"
if [ "$(id -u)" = 0 ]; then chown postgres "$work/pg"; fi
as_pg "$pgbin/initdb" -D "$work/pg" -A trust -U postgres --locale=C -E UTF8 >/dev/null
cat >> "$work/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work/pg'
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
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w start >/dev/null

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%F);" \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$("$pgbin/postgres" --version), max_parallel_workers_per_gather 2 (default)"
"$build/bench/audience/audience_bench" \
  --pg "host=127.0.0.1 port=$pg_port user=postgres dbname=postgres" "$@"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
