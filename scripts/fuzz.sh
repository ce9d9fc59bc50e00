#!/usr/bin/env bash
# Fuzz every target for a while (default 60 s each) with libFuzzer, starting
# from its committed corpus. New interesting inputs go to build-fuzz/corpus/;
# crashes stop the run and are left as build-fuzz/crash-*. Not part of CI.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

scripts/setup.sh test
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSF_SANITIZE=ON \
  -DCSF_BUILD_FUZZERS=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls tests/fuzz/corpus)
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "== $t ($seconds s)"
  (cd build-fuzz && "bin/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
     "corpus/$t" "../tests/fuzz/corpus/$t" 2>&1 | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY)' || true)
  ls build-fuzz/crash-* >/dev/null 2>&1 && { echo "crash found: $(ls build-fuzz/crash-*)"; exit 1; }
done
echo "no crashes"
