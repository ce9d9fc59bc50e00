#!/usr/bin/env bash
# Set up and run the whole test suite, twice:
#   1. gcc, -Werror: unit, API/ABI, fuzz-corpus replay and integration tests;
#   2. clang, -Werror, ASan + UBSan, fuzz targets linked with libFuzzer: the
#      same suite again under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh test
jobs=$(nproc)
start=$(date +%s)

echo "== gcc build (-Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSF_WERROR=ON -DCSF_BUILD_TESTS=ON
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== clang build (-Werror, ASan + UBSan, libFuzzer) =="
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSF_WERROR=ON \
  -DCSF_BUILD_TESTS=ON -DCSF_SANITIZE=ON -DCSF_BUILD_FUZZERS=ON
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs")

echo "== all tests passed in $(( $(date +%s) - start )) s =="
