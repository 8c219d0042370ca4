#!/usr/bin/env bash
# Installs what building and testing Tessera needs on Debian 12, skipping what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ clang-14 libclang-rt-14-dev cmake ninja-build pkg-config
  librocksdb-dev libsimdjson-dev libboost-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libfmt-dev libhowardhinnant-date-dev tzdata libabsl-dev libcurl4-openssl-dev libpq-dev libutf8proc-dev
  zlib1g-dev libssl-dev libgtest-dev libbenchmark-dev libphonenumber-dev libjemalloc-dev
  postgresql curl ca-certificates python3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js: any installed node with npm will do (the machine may carry its own build).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real Segment and RudderStack SDKs, for the end-to-end tests and the demo loader.
if [ ! -d tests/e2e/node_modules/@segment/analytics-node ] ||
   [ ! -d tests/e2e/node_modules/@rudderstack/rudder-sdk-node ]; then
  echo "install-deps: npm install in tests/e2e"
  # `npm install` with the committed lock file: npm 11's `npm ci` rejects lock files that lack
  # other platforms' optional native packages (msgpackr-extract), whoever generated them.
  (cd tests/e2e && npm install --no-audit --no-fund --loglevel=error)
fi
echo "install-deps: ready"
