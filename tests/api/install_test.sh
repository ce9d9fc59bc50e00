#!/usr/bin/env bash
# Install the build into a scratch prefix, then build and run a small outside
# program against the installed library three ways: pkg-config (shared),
# pkg-config --static, and CMake find_package(csf).
set -euo pipefail
build=$1 outside=$2
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name libcsf.pc -printf '%h\n' | head -1)
[ -n "$libdir" ] || { echo "libcsf.pc not installed"; exit 1; }
libdir=$(dirname "$libdir")
export PKG_CONFIG_PATH=$libdir/pkgconfig
# libcsf.pc is generated with the build's prefix; point it at the scratch one.
sed -i "s|^prefix=.*|prefix=$prefix|" "$libdir/pkgconfig/libcsf.pc"

cc=${CC:-cc}
# shellcheck disable=SC2046
$cc ${CFLAGS:-} -Wall -Wextra -Werror -o "$work/shared" "$outside/main.c" $(pkg-config --cflags --libs libcsf)
LD_LIBRARY_PATH=$libdir "$work/shared" | tee "$work/out1"
# (no `ldd | grep -q` under pipefail: grep's early exit would fail the pipe)
libs=$(ldd "$work/shared")
grep -q "libcsf.so.[0-9]" <<<"$libs" || { echo "not linked against libcsf.so"; exit 1; }

# shellcheck disable=SC2046
$cc ${CFLAGS:-} -Wall -Wextra -Werror -o "$work/static" "$outside/main.c" $(pkg-config --cflags libcsf) \
  -L"$libdir" -l:libcsf.a $(pkg-config --libs-only-l --static libcsf | sed 's/-lcsf\b//')
libs=$(ldd "$work/static")
! grep -q libcsf <<<"$libs" || { echo "static build still links libcsf.so"; exit 1; }
"$work/static" | tee "$work/out2"

cmake -S "$outside" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/outside" | tee "$work/out3"
"$work/cmake/outside_static" | tee "$work/out4"

for f in out1 out2 out3 out4; do
  grep -q '^ok libcsf ' "$work/$f" || { echo "$f: unexpected output"; exit 1; }
done
echo "installed package works via pkg-config (shared, static) and find_package"
