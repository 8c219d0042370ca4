#!/usr/bin/env bash
# Installs what is needed, builds Tessera, starts it on its embedded store and loads demo data
# (a few thousand customers across web, app, store and call-centre touchpoints). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_BENCH=OFF >/dev/null
cmake --build build/release --target tessera

data_dir=${TESSERA_DATA_DIR:-$PWD/tessera-data}
listen=${TESSERA_LISTEN:-127.0.0.1:8080}
export TESSERA_ADMIN_TOKEN=${TESSERA_ADMIN_TOKEN:-demo-admin-token}
build/release/src/cli/tessera serve --data-dir "$data_dir" --listen "$listen" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://$listen/healthz" >/dev/null && break
  sleep 0.1
done
csv="$data_dir/call-centre.csv"
node scripts/demo-data.js "http://$listen" "$csv"
if [ -f "$csv" ]; then
  build/release/src/cli/tessera import --source "Call Centre" --url "http://$listen" \
    --admin-token "$TESSERA_ADMIN_TOKEN" --timestamp-column called_at --no-progress "$csv"
fi
cat <<MSG

Tessera is running on http://$listen (data in $data_dir). Try:
  curl -s -H "Authorization: Bearer $TESSERA_ADMIN_TOKEN" http://$listen/v1/profiles/email:customer7@example.com
  curl -s -H "Authorization: Bearer $TESSERA_ADMIN_TOKEN" "http://$listen/v1/profiles/user_id:cust-7/events?limit=5"
  curl -s -H "Authorization: Bearer $TESSERA_ADMIN_TOKEN" http://$listen/v1/sources
  curl -s http://$listen/metrics
Ctrl-C stops it.
MSG
wait "$pid"
