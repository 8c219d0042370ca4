#!/usr/bin/env bash
# Builds a release Tessera, starts it and a PostgreSQL (both on loopback, fresh data, fsync on),
# and runs bench/ingest_bench against both. Usage: bench/run_ingest_bench.sh [ingest_bench flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_BENCH=ON >/dev/null
cmake --build build/release --target tessera ingest_bench >/dev/null

work=$(mktemp -d /tmp/tessera-bench.XXXXXX)
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
tessera_port=$(free_port)
cleanup() {
  [ -n "${tessera_pid:-}" ] && kill "$tessera_pid" 2>/dev/null && wait "$tessera_pid" 2>/dev/null || true
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pg" && chown postgres "$work/pg"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
cat >> "$work/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work/pg'
fsync = on
synchronous_commit = on
shared_buffers = 2GB
max_wal_size = 8GB
checkpoint_timeout = 30min
max_connections = 100
CONF
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w start >/dev/null

token=bench-admin-token
build/release/src/cli/tessera serve --data-dir "$work/tessera" --listen "127.0.0.1:$tessera_port" \
  --admin-token "$token" --log-level warn &
tessera_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$tessera_port/healthz" >/dev/null && break; sleep 0.1; done
key=$(curl -sf -X POST -H "Authorization: Bearer $token" -d '{"name":"bench","touchpoint":"web"}' \
  "http://127.0.0.1:$tessera_port/v1/sources" | python3 -c 'import json,sys; print(json.load(sys.stdin)["write_key"])')

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%F)"
build/release/bench/ingest_bench --port "$tessera_port" --write-key "$key" --admin-token "$token" \
  --server-pid "$tessera_pid" --pg "host=127.0.0.1 port=$pg_port user=postgres dbname=postgres" "$@"
