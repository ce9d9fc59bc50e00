#!/bin/bash
# The agent transport at scale (docs/performance.md, "Agent transport at
# scale"): one server, a load generator on the same machine opening N mTLS
# connections that each stream one metrics message a second, and the same
# load against a stock grpcio server as the anchor.
#
# usage: tests/bench/net_bench.sh [BUILD_DIR] [N...]
#   BUILD_DIR        default build-bench; configured (Release,
#                    CSF_BUILD_BENCH=ON) and built when needed. A relative
#                    path is taken from the current directory if it exists
#                    there, else from the repository root.
#   N...             connection counts (default: 1000 10000)
#   IDLE_SECONDS     connections open, no messages, before memory is read (default 10)
#   WARMUP_SECONDS   streaming before the measured window (default 5)
#   STREAM_SECONDS   the measured window (default 30)
#   BATCH            TLS handshakes in flight while connecting (default 200)
#   GRPCIO           0: skip the grpcio anchor (default 1)
#   RESULTS          keep the raw results here (net_bench_report.py prints them again)
#
# For each N and each server: start it and read its memory; connect N
# (each a csf_net_channel with one StreamMetrics call); wait IDLE_SECONDS and
# read its memory again: (RSS idle - RSS before) / N is the memory of one idle
# connection. Then stream, one message a second per connection spread evenly
# over the second; after WARMUP_SECONDS measure STREAM_SECONDS: the server's
# CPU time (user + system, all threads) over wall time, the messages it
# acked, and the load generator's send -> Ack round trips and its own CPU.
# Servers report through "stats" lines on SIGUSR1; every process this script
# starts is ended by its pid.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
shift || true
ns=("$@")
if ((${#ns[@]} == 0)); then
	ns=(1000 10000)
fi
idle_s=${IDLE_SECONDS:-10}
warmup_s=${WARMUP_SECONDS:-5}
stream_s=${STREAM_SECONDS:-30}
batch=${BATCH:-200}
py=/usr/bin/python3
for v in "$idle_s" "$warmup_s" "$stream_s" "$batch" "${ns[@]}"; do
	if ! [[ $v =~ ^[0-9]+$ ]] || ((v < 1)); then
		echo "net_bench.sh: counts and durations are whole numbers >= 1 (got '$v')" >&2
		exit 2
	fi
done

if [[ -f $build/CMakeCache.txt ]]; then
	cmake -S "$root" -B "$build" -DCSF_BUILD_BENCH=ON >/dev/null
else
	cmake -S "$root" -B "$build" -DCSF_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target csf-net-bench-server csf-net-loadgen >/dev/null
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
server_bin=$build/bin/csf-net-bench-server
loadgen_bin=$build/bin/csf-net-loadgen

grpcio=${GRPCIO:-1}
if [[ $grpcio != 0 ]] && ! $py -c 'import grpc, grpc_tools, cryptography' 2>/dev/null; then
	echo "net_bench.sh: python3-grpcio / python3-grpc-tools missing (scripts/setup.sh test): no grpcio anchor" >&2
	grpcio=0
fi

tmp=$(mktemp -d /tmp/csf-net-bench.XXXXXX)
cleanup() {
	kill_own_jobs
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
$py "$root/tests/interop/make_pki.py" "$tmp/pki" >/dev/null
results=$tmp/results

# Wait until FILE has a line starting with PREFIX (at least COUNT of them);
# fail after SECS.
wait_line() {
	local file=$1 prefix=$2 count=$3 secs=$4 i have
	for ((i = 0; i < secs * 10; i++)); do
		have=$(grep -c "^$prefix" "$file" 2>/dev/null || true)
		if ((${have:-0} >= count)); then
			return 0
		fi
		sleep 0.1
	done
	echo "net_bench.sh: no '$prefix' line in $file after $secs s" >&2
	tail -n 5 "$file" "$file.err" >&2 || true
	return 1
}

# CPU time (ns, from schedstat: exact, where /proc/stat's tick sampling
# misses short bursts) of every thread on the machine but those of the
# processes given, one "/proc/PID/task/TID ns" line each.
threads_cpu() {
	# grep -s, not awk FILENAME: threads end while the files are read (and
	# grep then exits 2, which pipefail would make fatal)
	{ grep -sH '' /proc/[0-9]*/task/[0-9]*/schedstat || true; } |
		awk -v skip=" $* " '{ split($1, p, "/"); sub(/\/schedstat:.*/, "", $1)
			if (index(skip, " " p[3] " ") == 0) print $1, $2 }'
}

# What the other threads ran since threads_cpu wrote BEFORE, in µs: threads
# that ended in between are not counted, those that began count whole.
others_cpu_us() {
	local before=$1
	shift
	threads_cpu "$@" | awk 'NR == FNR { t0[$1] = $2; next } { ns += $2 - ($1 in t0 ? t0[$1] : 0) }
		END { printf "%.0f", ns / 1000 }' "$before" -
}

# Ask the server for a stats line and record it under LABEL.
sample() {
	local pid=$1 out=$2 label=$3 before
	before=$(grep -c '^stats' "$out" || true)
	kill -USR1 "$pid"
	wait_line "$out" stats $((before + 1)) 30
	echo "$label $(grep '^stats' "$out" | tail -n 1) ${4:-}" >>"$results"
}

# Stop a process we started (a job of this shell): SIGTERM, then SIGKILL
# after SECS.
stop() {
	local pid=$1 secs=$2 i
	jobs -pr | grep -qx "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

run() {
	local kind=$1 n=$2 out=$tmp/$1-$2.server lg=$tmp/$1-$2.loadgen spid lpid port
	echo "== $kind, N=$n" >&2
	if [[ $kind == csf ]]; then
		"$server_bin" --pki "$tmp/pki" --tally >"$out" 2>"$out.err" &
	else
		$py "$here/net_bench_grpcio.py" --pki "$tmp/pki" >"$out" 2>"$out.err" &
	fi
	spid=$!
	wait_line "$out" ready 1 60
	port=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$out")
	echo "run kind=$kind n=$n $(grep '^ready' "$out")" >>"$results"
	sleep 1
	sample "$spid" "$out" base

	"$loadgen_bin" --url "https://127.0.0.1:$port" --pki "$tmp/pki" -n "$n" --batch "$batch" >"$lg" 2>"$lg.err" &
	lpid=$!
	if ! wait_line "$lg" 'connected\|connect timed out' 1 $((n / 10 + 120)); then
		stop "$lpid" 5
		stop "$spid" 30
		echo "fail kind=$kind n=$n stage=connect" >>"$results"
		return 0
	fi
	echo "loadgen $(grep '^connected' "$lg" | tail -n 1)" >>"$results"
	sample "$spid" "$out" connected
	sleep "$idle_s"
	sample "$spid" "$out" idle

	kill -USR1 "$lpid"
	wait_line "$lg" streaming 1 30
	sleep "$warmup_s"
	threads_cpu "$spid" "$lpid" >"$tmp/threads"
	sample "$spid" "$out" w0
	kill -USR1 "$lpid"
	wait_line "$lg" window 1 30
	sleep "$stream_s"
	sample "$spid" "$out" w1 "others_cpu_us=$(others_cpu_us "$tmp/threads" "$spid" "$lpid")"
	kill -USR1 "$lpid"
	if wait_line "$lg" result 1 60; then
		echo "loadgen $(grep '^result' "$lg")" >>"$results"
	else
		echo "fail kind=$kind n=$n stage=result" >>"$results"
	fi
	stop "$lpid" 30
	stop "$spid" 30
	grep -h '^loadgen: .*fail\|lost' "$lg.err" | head -n 3 >&2 || true
	# the next run starts with the kernel's socket memory given back
	sleep 2
}

for n in "${ns[@]}"; do
	run csf "$n"
	if [[ $grpcio != 0 ]]; then
		run grpcio "$n"
	fi
done

echo "libcsf transport benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(awk '$1 == "MemTotal:" { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
echo "build: $build ($build_type); OpenSSL $(openssl version | awk '{ print $2 }'), libevent $(dpkg-query -W -f='${Version}' libevent-dev 2>/dev/null || echo '?'), nghttp2 $(dpkg-query -W -f='${Version}' libnghttp2-dev 2>/dev/null || echo '?')"
if [[ $build_type != Release && $build_type != RelWithDebInfo ]]; then
	echo "warning: not an optimized build; figures are not comparable"
fi
echo "machine load average before the run: $load_before (the load generator and the server share the CPUs: anything else running skews the figures)"
echo "load: N connections from 127.0.0.1, each one StreamMetrics call, one message/s; idle ${idle_s} s, warm-up ${warmup_s} s, window ${stream_s} s, ${batch} handshakes in flight"
echo
if [[ -n ${RESULTS:-} ]]; then
	cp "$results" "$RESULTS"
fi
$py "$here/net_bench_report.py" "$results"
