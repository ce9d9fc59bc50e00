#!/usr/bin/env bash
# The main job: set up, build csf, and run it on this host.
# For now that is `csf-agent collect`: one snapshot of this host's metrics.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSF_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/bin/csf-agent collect "$@"
