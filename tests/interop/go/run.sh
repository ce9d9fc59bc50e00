#!/usr/bin/env bash
# Stock grpc-go client (Debian golang-go 1.19 + golang-google-grpc-dev 1.33 +
# golang-google-protobuf-dev) against libcsf's test_server.
#
#   tests/interop/go/run.sh SERVER_BIN_DIR
#
# Makes the test PKI, builds client.go offline in GOPATH mode (Debian's Go
# sources under /usr/share/gocode; no module proxy, nothing downloaded),
# starts SERVER_BIN_DIR/test_server, runs the client against its TLS and h2c
# ports and exits with the client's status. Everything lives in a temp dir
# that is removed at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin_dir=${1:?usage: run.sh SERVER_BIN_DIR}
GO=/usr/lib/go-1.19/bin/go
PYTHON=/usr/bin/python3

for f in "$GO" "$PYTHON" "$bin_dir/test_server" /usr/share/gocode/src/google.golang.org/grpc \
         /usr/share/gocode/src/google.golang.org/protobuf/encoding/protowire; do
  if [ ! -e "$f" ]; then
    echo "run.sh: missing $f (scripts/setup.sh test installs golang-go, golang-google-grpc-dev," \
         "golang-google-protobuf-dev)" >&2
    exit 1
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/csf-grpc-go.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$PYTHON" "$here/../make_pki.py" "$work/pki" >/dev/null

# Offline GOPATH build: module mode off, no proxy, no VCS, caches in $work.
mkdir -p "$work/gopath"
start=$(date +%s)
env GO111MODULE=off GOPATH="$work/gopath:/usr/share/gocode" GOCACHE="$work/gocache" \
    GOPROXY=off GOFLAGS= GOENV=off GOTOOLCHAIN=local HOME="$work" \
    "$GO" build -o "$work/client" "$here/client.go"
echo "run.sh: built the grpc-go client in $(( $(date +%s) - start )) s"

"$bin_dir/test_server" --pki "$work/pki" >"$work/server.log" 2>&1 &
server_pid=$!
ports=
for _ in $(seq 100); do
  ports=$(sed -n 's/^ready tls=\([0-9]*\) h2c=\([0-9]*\)$/\1 \2/p' "$work/server.log")
  [ -n "$ports" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ports" ]; then
  echo "run.sh: test_server did not become ready:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
read -r tls_port h2c_port <<<"$ports"
echo "run.sh: test_server ready tls=$tls_port h2c=$h2c_port"

rc=0
"$work/client" -pki "$work/pki" -tls "${CSF_GO_TLS_PORT:-$tls_port}" -h2c "${CSF_GO_H2C_PORT:-$h2c_port}" || rc=$?

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "run.sh: test_server died during the checks:" >&2
  rc=1
fi
if [ "$rc" -ne 0 ]; then
  echo "--- test_server output ---"
  cat "$work/server.log"
fi
exit "$rc"
