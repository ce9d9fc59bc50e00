#!/bin/bash
# Where an idle connection's memory goes (docs/performance.md, "Agent
# transport at scale"): csf-net-bench-server under heaptrack with N idle
# StreamMetrics calls from csf-net-loadgen; the server then exits without
# freeing (--exit-fast), so everything the connections hold is reported as
# leaked, by call stack, and net_heap_breakdown.py sorts it by component.
#
# usage: tests/bench/net_heap_profile.sh [BUILD_DIR] [N]
#   BUILD_DIR  a build with CSF_BUILD_BENCH=ON (default build-bench)
#   N          connections (default 1000)
# Needs heaptrack (apt-get install heaptrack).
set -euo pipefail

. "$(dirname "$0")/lib.sh"
n=${2:-1000}
py=/usr/bin/python3
for tool in heaptrack heaptrack_print; do
	if ! command -v "$tool" >/dev/null; then
		echo "net_heap_profile.sh: $tool is missing (apt-get install heaptrack)" >&2
		exit 2
	fi
done
for exe in csf-net-bench-server csf-net-loadgen; do
	if [[ ! -x $build/bin/$exe ]]; then
		echo "net_heap_profile.sh: $build/bin/$exe is missing: build with -DCSF_BUILD_BENCH=ON" >&2
		exit 2
	fi
done

tmp=$(mktemp -d /tmp/csf-net-heap.XXXXXX)
spid=''
# This shell's running jobs (heaptrack, the load generator), and the server
# heaptrack started while it may still be running.
cleanup() {
	[[ -z $spid ]] || kill -KILL "$spid" 2>/dev/null || true
	kill_own_jobs
	rm -rf "$tmp"
}
trap cleanup EXIT

wait_for() {
	local file=$1 pattern=$2 i
	for ((i = 0; i < 1200; i++)); do
		grep -q "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "net_heap_profile.sh: no '$pattern' in $file" >&2
	exit 1
}

$py "$root/tests/interop/make_pki.py" "$tmp/pki" >/dev/null
heaptrack -o "$tmp/heap" "$build/bin/csf-net-bench-server" --pki "$tmp/pki" --exit-fast >"$tmp/server" 2>&1 &
hpid=$!
wait_for "$tmp/server" '^ready'
port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$tmp/server")
spid=$(sed -n 's/^ready .*pid=\([0-9]*\).*/\1/p' "$tmp/server")
"$build/bin/csf-net-loadgen" --url "https://127.0.0.1:$port" --pki "$tmp/pki" -n "$n" >"$tmp/loadgen" 2>&1 &
lpid=$!
wait_for "$tmp/loadgen" '^connected'
sleep 2
kill -USR1 "$spid"
wait_for "$tmp/server" '^stats'
cp "/proc/$spid/maps" "$tmp/maps"
kill -TERM "$spid"
wait "$hpid" || true
spid=''
kill -TERM "$lpid" 2>/dev/null || true
wait "$lpid" 2>/dev/null || true

echo "heaptrack of csf-net-bench-server with $(sed -n 's/^connected up=\([0-9]*\).*/\1/p' "$tmp/loadgen") idle connections: RSS $(grep '^stats' "$tmp/server" | sed -n 's/.* rss_kb=\([0-9]*\).*/\1/p') KiB (heaptrack's own included)"
echo
heaptrack_print -f "$tmp"/heap*.zst -p 0 -a 0 -T 0 -l 0 --flamegraph-cost-type leaked -F "$tmp/stacks" >/dev/null
$py "$here/net_heap_breakdown.py" "$tmp/stacks" "$n" "$tmp/maps"
