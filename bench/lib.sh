# Shared by the bench/run_*.sh scripts: a work directory, a throwaway PostgreSQL and Tessera
# servers on loopback, all stopped and removed on exit. Source it after `cd` to the repo root.

bench_work=$(mktemp -d /tmp/tessera-bench.XXXXXX)
chmod 755 "$bench_work"
bench_pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
bench_tessera_pids=()

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# initdb refuses to run as root: the server runs as postgres then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
bench_cleanup() {
  for pid in "${bench_tessera_pids[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if [ -d "$bench_work/pg" ]; then
    as_pg "$bench_pgbin/pg_ctl" -D "$bench_work/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$bench_work"
}
trap bench_cleanup EXIT

machine_line() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r);" \
    "$(date -u +%F); load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# start_postgres: a fresh cluster in $bench_work/pg; sets pg_port and pg_conninfo. The lines of
# postgresql.conf to add come on stdin.
start_postgres() {
  pg_port=$(free_port)
  mkdir -p "$bench_work/pg"
  if [ "$(id -u)" = 0 ]; then chown postgres "$bench_work/pg"; fi
  as_pg "$bench_pgbin/initdb" -D "$bench_work/pg" -A trust -U postgres --locale=C -E UTF8 >/dev/null
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $pg_port"
    echo "unix_socket_directories = '$bench_work/pg'"
    cat
  } >> "$bench_work/pg/postgresql.conf"
  as_pg "$bench_pgbin/pg_ctl" -D "$bench_work/pg" -l "$bench_work/pg/server.log" -w start >/dev/null
  pg_conninfo="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
}

# start_tessera BINARY NAME: `tessera serve` on a fresh data dir $bench_work/NAME, with a source;
# sets tessera_pid, tessera_port, tessera_token and tessera_key. TESSERA_EXTRA: more serve flags
# (e.g. "--threads 2"), for A/B runs.
start_tessera() {
  local bin=$1 name=$2
  tessera_port=$(free_port)
  tessera_token=bench-admin-token
  "$bin" serve --data-dir "$bench_work/$name" --listen "127.0.0.1:$tessera_port" \
    --admin-token "$tessera_token" --log-level warn ${TESSERA_EXTRA:-} &
  tessera_pid=$!
  bench_tessera_pids+=("$tessera_pid")
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$tessera_port/healthz" >/dev/null && break
    sleep 0.1
  done
  tessera_key=$(curl -sf -X POST -H "Authorization: Bearer $tessera_token" \
    -d '{"name":"bench","touchpoint":"web"}' "http://127.0.0.1:$tessera_port/v1/sources" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["write_key"])')
}

# stop_tessera: stops the server start_tessera started last.
stop_tessera() {
  kill "$tessera_pid" 2>/dev/null && wait "$tessera_pid" 2>/dev/null || true
}
