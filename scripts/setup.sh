#!/usr/bin/env bash
# Install what building and testing csf needs, from Debian 12's archive.
# Usage: scripts/setup.sh [build|test|bench]   (default: test)
# Only missing packages are installed; nothing else is downloaded.
set -euo pipefail

profile=${1:-test}

build_pkgs=(build-essential cmake pkg-config libssl-dev libevent-dev libnghttp2-dev libhttp-parser-dev
            libwslay-dev libprotobuf-c-dev protobuf-c-compiler libjansson-dev libargon2-dev libpq-dev libsqlite3-dev)
test_pkgs=(clang libclang-rt-14-dev llvm g++ libcmocka-dev python3 python3-psutil
           e2fsprogs mount util-linux binutils
           python3-grpcio python3-grpc-tools python3-protobuf python3-websockets python3-cryptography python3-prometheus-client
           golang-go golang-google-grpc-dev golang-google-protobuf-dev postgresql
           chromium curl systemd)
bench_pkgs=(libstatgrab-dev python3-psutil valgrind prometheus-node-exporter collectd curl)

case "$profile" in
  build) want=("${build_pkgs[@]}") ;;
  test)  want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

# The dashboard is built with npm: Debian's nodejs and npm unless a Node.js
# is already on PATH. Its Vite needs Node.js 20.19 or later, newer than
# Debian 12's 18: with that one the build leaves the dashboard out and says
# so (docs/dashboard.md).
if [ "$profile" != bench ] && ! command -v npm >/dev/null; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root (or install these packages) first" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The dashboard's npm dependencies (server/web), for its build and tests;
# npm ci runs only when node_modules is missing.
web=$(cd "$(dirname "$0")/../server/web" && pwd)
if [ "$profile" = test ] && [ ! -d "$web/node_modules" ]; then
  if ! command -v npm >/dev/null; then
    echo "setup: the dashboard needs Node.js 20 and npm (or configure with -DCSF_BUILD_WEB=OFF)" >&2
    exit 1
  fi
  echo "setup: npm ci in server/web"
  (cd "$web" && npm ci --no-audit --no-fund --prefer-offline >/dev/null)
fi
