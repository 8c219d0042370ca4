#!/usr/bin/env bash
# Builds RocksDB as a release static library from Debian's own source package (the version of
# the installed librocksdb-dev, so its headers match) and prints the prefix it is installed in.
# Debian builds the library without NDEBUG: its assertions and test sync points run on every
# write and read (BENCHMARKS.md measures what that costs). Usage: scripts/build-rocksdb.sh
# [PREFIX] (default /var/cache/tessera/rocksdb-VERSION); does nothing when PREFIX already holds
# the library. Takes ~8 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(dpkg-query -W -f='${Version}' librocksdb-dev)
upstream=${version%%-*}
prefix=${1:-/var/cache/tessera/rocksdb-$version}
if [ -f "$prefix/lib/librocksdb.a" ]; then
  echo "$prefix"
  exit 0
fi
work=$(mktemp -d)
chmod 755 "$work"  # apt-get source downloads as _apt
lists=(/etc/apt/sources.list.d/tessera-rocksdb-src.sources /etc/apt/sources.list.d/tessera-rocksdb-src.list)
cleanup() {
  rm -rf "$work"
  rm -f "${lists[@]}"
}
trap cleanup EXIT
# deb-src entries for the archives the machine already uses, only while fetching.
for f in /etc/apt/sources.list.d/*.sources; do
  if [ -f "$f" ] && [ "$f" != "${lists[0]}" ]; then cat "$f"; echo; fi
done | sed -n '/^Types:/!p; s/^Types:.*/Types: deb-src/p' >"${lists[0]}"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  if [ -f "$f" ] && [ "$f" != "${lists[1]}" ]; then sed -n 's/^deb /deb-src /p' "$f"; fi
done >"${lists[1]}"
echo "build-rocksdb: fetching the source of rocksdb $version" >&2
apt-get update -qq >&2
(cd "$work" && apt-get source -qq --download-only "rocksdb=$version" >&2)
rm -f "${lists[@]}"
tar -xzf "$work"/rocksdb_"$upstream".orig.tar.gz -C "$work"
src="$work/rocksdb-$upstream"
echo "build-rocksdb: building (release, static) into $prefix" >&2
# The compressions Debian's package has (LZ4 and ZSTD are what Tessera writes); no tests or
# tools; PORTABLE as Debian builds it, so the library runs on any x86-64.
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DPORTABLE=ON -DFAIL_ON_WARNINGS=OFF \
  -DWITH_LZ4=ON -DWITH_ZSTD=ON -DWITH_SNAPPY=ON -DWITH_ZLIB=ON -DWITH_BZ2=ON -DWITH_GFLAGS=OFF \
  -DROCKSDB_BUILD_SHARED=OFF -DWITH_TESTS=OFF -DWITH_TOOLS=OFF -DWITH_BENCHMARK_TOOLS=OFF \
  -DWITH_CORE_TOOLS=OFF -DWITH_JNI=OFF >"$work/build.log" 2>&1 &&
  cmake --build "$work/build" --target rocksdb -j "$(nproc)" >>"$work/build.log" 2>&1 || {
  tail -50 "$work/build.log" >&2
  echo "build-rocksdb: the build failed" >&2
  exit 1
}
mkdir -p "$prefix/lib"
cp -r "$src/include" "$prefix/"
cp "$work/build/librocksdb.a" "$prefix/lib/librocksdb.a.tmp"
mv "$prefix/lib/librocksdb.a.tmp" "$prefix/lib/librocksdb.a"
echo "$prefix"
