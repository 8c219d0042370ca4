#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds with AddressSanitizer+UBSan (all tests,
# fuzzers, end-to-end with the real SDKs, kill -9 durability) and with ThreadSanitizer (the
# concurrent parts), runs everything with ctest, and ends with one "total: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

jobs=$(nproc)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=ignore_noninstrumented_modules=1:halt_on_error=1
passed=0
failed=0
status=0

# run_ctest DIR ARGS...: runs ctest and adds its counts to the totals.
run_ctest() {
  local dir=$1; shift
  local out
  out=$(mktemp)
  (cd "$dir" && ctest --output-on-failure --timeout 900 "$@") 2>&1 | tee "$out"
  local line
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$out" | tail -1)
  if [ -z "$line" ]; then
    echo "test.sh: ctest in $dir printed no summary"
    failed=$((failed + 1)); status=1
  else
    local f t
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    t=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/')
    passed=$((passed + t - f)); failed=$((failed + f))
    [ "$f" -eq 0 ] || status=1
  fi
  rm -f "$out"
}

build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1 -g" "$@" >/dev/null || return 1
}

echo "== ASan+UBSan build"
if build build/asan -DTESSERA_SANITIZE=address -DTESSERA_FUZZ=ON -DTESSERA_BENCH=OFF &&
   cmake --build build/asan -j "$jobs"; then
  run_ctest build/asan -j "$jobs"
else
  echo "test.sh: ASan build failed"; failed=$((failed + 1)); status=1
fi

echo "== ThreadSanitizer build (concurrent parts)"
tsan_targets=$(sed -n 's/^tsan_target: //p' tests/tsan_targets.txt)
if build build/tsan -DTESSERA_SANITIZE=thread -DTESSERA_BENCH=OFF &&
   cmake --build build/tsan -j "$jobs" --target $tsan_targets; then
  run_ctest build/tsan -L tsan
else
  echo "test.sh: TSan build failed"; failed=$((failed + 1)); status=1
fi

echo "total: $passed passed, $failed failed"
exit $status
