#!/bin/bash
# Run every benchmark in tests/bench and print the results
# (docs/performance.md). Benchmarks are never part of ctest.
#
# usage: tests/bench/run.sh [BUILD_DIR]
#   BUILD_DIR            default build-bench; configured (Release,
#                        CSF_BUILD_BENCH=ON) and built when needed. A relative
#                        path is taken from the current directory if it exists
#                        there, else from the repository root.
#   SNAPSHOT_ITERATIONS  hot iterations per case of csf-snapshot-bench (default 20000)
#   SNAPSHOT_COLD_ROUNDS cold single snapshots per case, 250 ms apart (default 20; 0: none)
#   FOOTPRINT_SECONDS    how long footprint.sh runs the agent (default 60)
set -euo pipefail

. "$(dirname "$0")/lib.sh"

# Peers measured in the same run: psutil (Debian's, for /usr/bin/python3)
# and libstatgrab.
"$root/scripts/setup.sh" bench

if [[ -f $build/CMakeCache.txt ]]; then
	cmake -S "$root" -B "$build" -DCSF_BUILD_BENCH=ON >/dev/null
else
	cmake -S "$root" -B "$build" -DCSF_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target csf-agent csf-snapshot-bench csf-bench-idle >/dev/null
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")

echo "libcsf benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
echo "build: $build ($build_type)"
if [[ $build_type != Release && $build_type != RelWithDebInfo ]]; then
	echo "warning: not an optimized build; figures are not comparable"
fi
echo

"$build/bin/csf-snapshot-bench" -n "${SNAPSHOT_ITERATIONS:-20000}" --cold "${SNAPSHOT_COLD_ROUNDS:-20}"
echo
"$here/footprint.sh" "$build"
