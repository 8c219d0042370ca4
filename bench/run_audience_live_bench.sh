#!/usr/bin/env bash
# The live cost of audiences (issue 4): the same ingest workload twice, each into a fresh
# release Tessera, first with no definitions, then with 100 audiences and 20 computed traits
# (bench/live_definitions.cc), timing durable ingest and the time until profiles and audiences
# have caught up. Usage: bench/run_audience_live_bench.sh [ingest_bench flags]
# (default --events 1000000 --customers 100000).
# BUILD_DIR overrides the build directory (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
build=${BUILD_DIR:-build/release}
bench/configure.sh "$build"
cmake --build "$build" --target tessera ingest_bench >/dev/null
source bench/lib.sh

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--events 1000000 --customers 100000)
machine_line
for defs in "0 0" "100 20"; do
  read -r audiences computed <<<"$defs"
  echo "== $audiences audiences, $computed computed traits"
  start_tessera "$build"/src/cli/tessera "tessera-$audiences"
  "$build"/bench/ingest_bench --port "$tessera_port" --write-key "$tessera_key" \
    --admin-token "$tessera_token" --server-pid "$tessera_pid" --lookup-seconds 0 \
    --audiences "$audiences" --computed-traits "$computed" "${args[@]}"
  curl -sf "http://127.0.0.1:$tessera_port/metrics" | grep -E '^tessera_audience' || true
  stop_tessera
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
