#!/usr/bin/env bash
# Record linkage: quality on the FEBRL sets (default settings, unsupervised), the 1M x 1M speed
# run on data from bench/linkage's FEBRL-like generator, and the same linkage work in PostgreSQL
# (blocking rules as joins, comparison levels with fuzzystrmatch / pg_trgm, the trained model's
# match weights summed in SQL) against Tessera on the same generated files, in the same run.
# Usage: bench/run_linkage_bench.sh [--records N] [--pg-records N] [--no-pg] [--pg-only]
#   --records N     records per side for the Tessera speed run (default 1000000)
#   --pg-records N  records per side for the PostgreSQL comparison (default: the same as
#                   --records, and then the same files and the same timed Tessera run)
#   --no-pg         skip the PostgreSQL comparison; --pg-only: only it
# BUILD_DIR overrides the build directory (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
records=1000000
pg_records=
run_pg=1
run_tessera=1
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records=$2; shift 2 ;;
    --pg-records) pg_records=$2; shift 2 ;;
    --no-pg) run_pg=0; shift ;;
    --pg-only) run_tessera=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
scripts/install-deps.sh >/dev/null
pg_records=${pg_records:-$records}
build=${BUILD_DIR:-build/release}
bench/configure.sh "$build"
cmake --build "$build" -j2 --target tessera linkage_gen >/dev/null
tessera="$build"/src/cli/tessera
febrl=../shared/data/febrl
source bench/lib.sh
work=$bench_work

if [ "$run_tessera" = 1 ]; then
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
  echo "-- timed run (no evaluation; the report keeps the model for the PostgreSQL comparison)"
  "$tessera" link --id-column rec_id "$work/A.csv" "$work/B.csv" --print-settings > "$work/settings.json"
  /usr/bin/time -f "wall %e s, cpu %U s user + %S s sys, peak RSS %M KiB" \
    "$tessera" link --id-column rec_id "$work/A.csv" "$work/B.csv" --report "$work/report.json" \
    --out "$work/tessera_pairs.csv" 2> "$work/tessera.log"
  grep -E '^(records|time|wall|decisions)' "$work/tessera.log"
  echo "-- quality of the same run"
  "$tessera" link --id-column rec_id "$work/A.csv" "$work/B.csv" --truth "$work/T.csv" --out /dev/null 2>&1 |
    grep -E '^(pairs|clusters|blocking)'
  machine_line
fi

[ "$run_pg" = 1 ] || exit 0
echo "== PostgreSQL vs Tessera: $pg_records x $pg_records generated records, the same files"
if [ "$run_tessera" != 1 ] || [ "$pg_records" != "$records" ]; then
  "$build"/bench/linkage/linkage_gen --records "$pg_records" --overlap 0.5 --seed 1 --febrl-dir "$febrl" \
    --out-a "$work/A.csv" --out-b "$work/B.csv" --truth "$work/T.csv" 2>/dev/null
  echo "-- Tessera (tessera link, default settings; the model it trains is then applied in SQL)"
  "$tessera" link --id-column rec_id "$work/A.csv" "$work/B.csv" --print-settings > "$work/settings.json"
  /usr/bin/time -f "wall %e s, cpu %U s user + %S s sys, peak RSS %M KiB" \
    "$tessera" link --id-column rec_id "$work/A.csv" "$work/B.csv" --report "$work/report.json" \
    --out "$work/tessera_pairs.csv" 2> "$work/tessera.log"
  grep -E '^(records|time|wall|decisions)' "$work/tessera.log"
else
  echo "-- Tessera: the timed run above (the model it trained is applied in SQL)"
fi
tessera_wall=$(sed -n 's/^wall \([0-9.]*\) s.*/\1/p' "$work/tessera.log")
python3 bench/linkage/pg_link.py "$work/settings.json" "$work/report.json" "$work/A.csv" \
  "$work/B.csv" "$work/sql"
# Memory to keep everything cached, both cores for parallel plans, no durability cost (unlogged
# tables, no fsync): PostgreSQL at its fastest for a one-off batch.
start_postgres <<'CONF'
shared_buffers = 2GB
work_mem = 256MB
maintenance_work_mem = 512MB
max_parallel_workers_per_gather = 2
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$pg_conninfo" "$@"; }
# Peak memory of the server: the proportional set size of the postmaster and its children,
# sampled twice a second while it loads and links.
pg_pid=$(head -1 "$work/pg/postmaster.pid")
(
  peak=0
  while true; do
    pss=0
    for p in $pg_pid $(pgrep -P "$pg_pid" || true); do
      v=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
      pss=$((pss + ${v:-0}))
    done
    if [ "$pss" -gt "$peak" ]; then peak=$pss; echo "$peak" > "$work/pg_peak_kib"; fi
    sleep 0.5
  done
) &
sampler=$!
t0=$(date +%s.%N)
psql_ -f "$work/sql/load.sql"
t1=$(date +%s.%N)
psql_ -A -F ' ' -t -f "$work/sql/link.sql" > "$work/pg.out"
t2=$(date +%s.%N)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
read -r pg_candidates pg_matches < "$work/pg.out"
pg_load=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
pg_link=$(python3 -c "print(f'{$t2 - $t1:.1f}')")
# How far the two agree, and the quality of each against the generator's truth.
psql_ -A -F ' ' -t > "$work/pg_quality.out" <<SQL
CREATE TABLE truth (l text, r text);
\copy truth FROM '$work/T.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE tp (l text, r text, p float8);
\copy tp FROM '$work/tessera_pairs.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE pgp AS SELECT a.id AS l, b.id AS r FROM matches m JOIN a ON a.n = m.an JOIN b ON b.n = m.bn;
SELECT (SELECT count(*) FROM truth), (SELECT count(*) FROM pgp JOIN truth USING (l, r)),
       (SELECT count(*) FROM tp JOIN truth USING (l, r)), (SELECT count(*) FROM tp),
       (SELECT count(*) FROM pgp JOIN tp USING (l, r));
SQL
read -r n_truth pg_tp t_tp t_pairs both < "$work/pg_quality.out"
echo "-- PostgreSQL $(psql_ -A -t -c 'SHOW server_version') (fuzzystrmatch, pg_trgm)"
echo "load and normalise: $pg_load s; link (blocking, comparing, scoring): $pg_link s"
echo "candidates $pg_candidates, matches $pg_matches, peak server memory (PSS) $(cat "$work/pg_peak_kib") KiB"
python3 - "$pg_tp" "$pg_matches" "$t_tp" "$t_pairs" "$n_truth" "$both" "$tessera_wall" "$pg_load" "$pg_link" <<'PY'
import sys
pg_tp, pg_n, t_tp, t_n, truth, both = map(int, sys.argv[1:7])
tw, load, link = map(float, sys.argv[7:10])
print(f"PostgreSQL quality: precision {pg_tp / pg_n:.4f} recall {pg_tp / truth:.4f}")
print(f"Tessera quality:    precision {t_tp / t_n:.4f} recall {t_tp / truth:.4f}; pairs found by both {both}")
print(f"ratio PostgreSQL / Tessera, files to pairs: {(load + link) / tw:.1f}x "
      f"(PostgreSQL's link stage alone: {link / tw:.1f}x)")
PY
machine_line
