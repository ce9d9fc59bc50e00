#!/usr/bin/env bash
# The main job: set up, build, and run csf-server on embedded SQLite with the
# dashboard and a local csf-agent enrolled and running, printing the URL and
# the admin login. Settings come from the environment as usual
# (CSF_DATA_DIR, CSF_HTTP_LISTEN, CSF_AGENT_LISTEN, ...; see docs/csf-server.md);
# extra arguments go to `csf-server serve`. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSF_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# The dashboard, when this build made it (CSF_BUILD_WEB, on where npm is).
web=$PWD/build/server/web/web
if [ -z "${CSF_WEB_ROOT:-}" ] && [ -f "$web/index.html" ]; then
  export CSF_WEB_ROOT=$web
fi

export CSF_DATA_DIR=${CSF_DATA_DIR:-$PWD/csf-data}
export CSF_HTTP_LISTEN=${CSF_HTTP_LISTEN:-127.0.0.1:8080}
export CSF_AGENT_LISTEN=${CSF_AGENT_LISTEN:-0.0.0.0:7443}

log=$(mktemp)
build/bin/csf-server serve "$@" 2> >(tee "$log" >&2) &
server=$!
agent=''
stop() {
  [ -z "$agent" ] || kill "$agent" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -f "$log"
}
trap stop EXIT INT TERM

for _ in $(seq 1 100); do
  grep -q "serving: http on port" "$log" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "run: csf-server did not start" >&2; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/.*serving: http on port \([0-9]*\),.*/\1/p' "$log" | head -n1)
agent_port=$(sed -n 's/.*serving: http on port [0-9]*, agents on port \([0-9]*\),.*/\1/p' "$log" | head -n1)
[ -n "$port" ] && [ -n "$agent_port" ] || { echo "run: csf-server did not start in time" >&2; exit 1; }

# A local agent: enrolled once (its identity stays in the state dir), then run.
state=${CSF_LOCAL_AGENT_STATE_DIR:-$CSF_DATA_DIR/local-agent}
if [ ! -f "$state/identity.conf" ]; then
  token=$(build/bin/csf-server token create --ttl 5m | awk 'END { print $NF }')
  build/bin/csf-agent enroll --server-url "https://127.0.0.1:${agent_port}" --token "$token" \
    --state-dir "$state" --tags role=local
fi
build/bin/csf-agent run --state-dir "$state" --config /dev/null 2> >(sed 's/^/[agent] /' >&2) &
agent=$!

echo
if [ -n "${CSF_WEB_ROOT:-}" ]; then
  echo "csf-server is running: dashboard at http://127.0.0.1:${port}/  (REST API under /api/v1, health at /healthz)"
else
  echo "csf-server is running: http://127.0.0.1:${port}/  (REST API under /api/v1, health at /healthz; no dashboard: build with npm)"
fi
if [ -f "$CSF_DATA_DIR/initial-admin-password" ]; then
  echo "admin login: admin / $(cat "$CSF_DATA_DIR/initial-admin-password")"
else
  echo "admin login: admin / the password set on first start (CSF_ADMIN_PASSWORD)"
fi
echo "local agent: enrolled as $(hostname) and running (state in $state)"
echo "enroll another: build/bin/csf-server token create --data-dir $CSF_DATA_DIR   (prints the token)"
echo
wait "$server"
