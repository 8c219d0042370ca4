#!/usr/bin/env bash
# Record linkage: quality on the FEBRL sets (default settings, unsupervised) and the 1M x 1M
# speed run on data from bench/linkage's FEBRL-like generator.
# Usage: bench/run_linkage_bench.sh [--records N] (default 1000000 per side)
# BUILD_DIR overrides the build directory (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
records=1000000
if [ "${1:-}" = "--records" ]; then records=$2; fi
scripts/install-deps.sh >/dev/null
build=${BUILD_DIR:-build/release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_BENCH=ON >/dev/null
cmake --build "$build" --target tessera linkage_gen >/dev/null
tessera="$build"/src/cli/tessera
febrl=../shared/data/febrl
work=$(mktemp -d /tmp/tessera-linkage.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== FEBRL, default settings, unsupervised, threshold 0.5"
for set in 1 2 3; do
  echo "-- FEBRL$set"
  "$tessera" link --id-column rec_id "$febrl/dataset$set.csv" --truth "$febrl/truth/dataset${set}_pairs.csv" \
    --out /dev/null 2>&1 | grep -E '^(records|pairs|clusters|blocking)'
done
echo "-- FEBRL4"
"$tessera" link --id-column rec_id "$febrl/dataset4a.csv" "$febrl/dataset4b.csv" \
  --truth "$febrl/truth/dataset4_pairs.csv" --out /dev/null 2>&1 | grep -E '^(records|pairs|clusters|blocking)'

echo "== $records x $records generated records (half of B are corrupted copies of A records)"
"$build"/bench/linkage/linkage_gen --records "$records" --overlap 0.5 --seed 1 --febrl-dir "$febrl" \
  --out-a "$work/A.csv" --out-b "$work/B.csv" --truth "$work/T.csv" 2>/dev/null
echo "-- timed run (no evaluation)"
/usr/bin/time -f "wall %e s, cpu %U s user + %S s sys, peak RSS %M KiB" \
  "$tessera" link --id-column rec_id "$work/A.csv" "$work/B.csv" --out "$work/pairs.csv" 2>&1 | grep -E '^(records|time|wall|decisions)'
echo "-- quality of the same run"
"$tessera" link --id-column rec_id "$work/A.csv" "$work/B.csv" --truth "$work/T.csv" --out /dev/null 2>&1 |
  grep -E '^(pairs|clusters|blocking)'
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
