#!/bin/bash
# Ingest throughput (issue 4): rows per second through the whole path
# (gRPC -> batch -> commit -> ack) against the floor measured in the same
# run, the same rows written straight into the same database; on SQLite,
# then on a throwaway PostgreSQL cluster (tests/pg/pg_cluster.sh: fsync off,
# for the path and the floor alike).
#
# usage: tests/bench/ingest_bench.sh [BUILD_DIR] [N] [K]
#   BUILD_DIR  default build-bench; configured (Release, CSF_BUILD_BENCH=ON)
#              and csf-server + csf-ingest-loadgen built when needed
#   N          agents, each enrolled and on its own mTLS connection [1000]
#   K          metrics messages per agent, one row each [500]
#   WINDOW     unacked messages per agent [32]
#   BACKENDS   "sqlite postgresql" (default) or one of them
#   INSECURE=1 agents in cleartext h2c without client certificates
#              (csf-server --insecure-dev) instead of mTLS
#   RESULTS    a file to keep the raw result lines in
set -euo pipefail

. "$(dirname "$0")/lib.sh"
agents=${2:-1000}
messages=${3:-500}
window=${WINDOW:-32}
backends=${BACKENDS:-sqlite postgresql}

if [[ ! -f $build/CMakeCache.txt ]]; then
	cmake -S "$root" -B "$build" -DCSF_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
elif ! grep -q '^CSF_BUILD_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
	cmake -S "$root" -B "$build" -DCSF_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target csf-server csf-ingest-loadgen >/dev/null
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
server_bin=$build/bin/csf-server
loadgen=$build/bin/csf-ingest-loadgen

scheme=https
server_flags=()
loadgen_flags=()
transport="mTLS (TLS 1.3, a client certificate per agent)"
if [[ ${INSECURE:-0} == 1 ]]; then
	scheme=http
	server_flags=(--insecure-dev)
	loadgen_flags=(--insecure)
	transport="h2c cleartext, no client certificates (--insecure-dev)"
fi

tmp=$(mktemp -d /tmp/csf-ingest-bench.XXXXXX)
server_pid=
loadgen_pid=
pg_dir=
cleanup() {
	if [[ -n $loadgen_pid ]] && kill -0 "$loadgen_pid" 2>/dev/null; then
		kill "$loadgen_pid" 2>/dev/null || true
		wait "$loadgen_pid" 2>/dev/null || true
	fi
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ -n $pg_dir ]]; then
		sh "$root/tests/pg/pg_cluster.sh" stop "$pg_dir" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# N connections on each side, and the server's database files
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < agents + 200)); then
	echo "ingest_bench: the file descriptor limit $(ulimit -n) is too low for $agents agents" >&2
	exit 1
fi

field() { # field LINE KEY: the value of KEY=VALUE in LINE
	sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1"
}

metric() { # metric NAME: a value from the server's /metrics
	sed -n "s/^$1 //p" "$tmp/metrics" | head -n1
}

start_server() { # start_server DIR [DB_URL]
	local dir=$1 db=${2:-} line= i
	mkdir -p "$dir"
	"$server_bin" serve --data-dir "$dir" ${db:+--db "$db"} --http-listen 127.0.0.1:0 \
		--agent-listen 127.0.0.1:0 --log-level warn "${server_flags[@]}" 2>"$dir/server.log" &
	server_pid=$!
	for ((i = 0; i < 300; i++)); do
		line=$(grep -m1 'serving: http on port' "$dir/server.log" || true)
		[[ -n $line ]] && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -z $line ]]; then
		echo "ingest_bench: csf-server did not start:" >&2
		tail -n 20 "$dir/server.log" >&2
		exit 1
	fi
	http_port=$(sed 's/.*http on port \([0-9]*\),.*/\1/' <<<"$line")
	agent_port=$(sed 's/.*agents on port \([0-9]*\),.*/\1/' <<<"$line")
}

stop_server() {
	kill "$server_pid"
	if ! wait "$server_pid"; then
		echo "ingest_bench: csf-server did not exit cleanly:" >&2
		tail -n 20 "$1/server.log" >&2
		exit 1
	fi
	server_pid=
}

declare -A path_line floor_line extra
bench() { # bench NAME [DB_URL] [POSTMASTER_PID]
	local name=$1 db=${2:-} pg_pid=${3:-} dir=$tmp/$1 token out
	echo "== $name: csf-server, $agents agents x $messages messages, window $window"
	start_server "$dir" "$db"
	token=$("$server_bin" token create --data-dir "$dir" ${db:+--db "$db"} --uses "$agents" | awk 'END { print $NF }')
	"$loadgen" run --url "$scheme://127.0.0.1:$agent_port" --token "$token" -n "$agents" -k "$messages" \
		--window "$window" --server-pid "$server_pid" ${pg_pid:+--pg-pid "$pg_pid"} "${loadgen_flags[@]}" \
		>"$dir/loadgen.out" 2>&1 &
	loadgen_pid=$!
	# the batches of the streaming alone: the agents' status rows before it
	# (Hello, about one per batch) would pull the mean down
	while ! grep -q 'streams up' "$dir/loadgen.out" && kill -0 "$loadgen_pid" 2>/dev/null; do
		sleep 0.05
	done
	curl -sf "http://127.0.0.1:$http_port/metrics" >"$tmp/metrics"
	start_batches=$(metric csf_ingest_commit_seconds_count)
	start_rows=$(metric csf_ingest_rows_committed_total)
	if ! wait "$loadgen_pid"; then
		cat "$dir/loadgen.out" >&2
		exit 1
	fi
	loadgen_pid=
	out=$(cat "$dir/loadgen.out")
	echo "$out"
	path_line[$name]=$(grep '^result ' <<<"$out")
	curl -sf "http://127.0.0.1:$http_port/metrics" >"$tmp/metrics"
	extra[$name]="batches=$(metric csf_ingest_commit_seconds_count) commit_s=$(metric csf_ingest_commit_seconds_sum)"
	extra[$name]+=" stream_batches=$(($(metric csf_ingest_commit_seconds_count) - start_batches))"
	extra[$name]+=" stream_rows=$(($(metric csf_ingest_rows_committed_total) - start_rows))"
	extra[$name]+=" duplicates=$(metric csf_ingest_duplicates_skipped_total) failures=$(metric csf_ingest_commit_failures_total)"
	echo "server ${extra[$name]}"
	stop_server "$dir"
	echo "== $name: the same rows straight into the database"
	out=$("$loadgen" floor --db "${db:-sqlite:$dir/csf.db}" -n "$agents" -k "$messages")
	echo "$out"
	if grep -q MISMATCH <<<"$out"; then
		echo "ingest_bench: $name: the rows are not what was sent" >&2
		exit 1
	fi
	floor_line[$name]=$(grep '^floor ' <<<"$out")
	if [[ -n ${RESULTS:-} ]]; then
		printf '%s %s\n%s %s\n' "$name" "${path_line[$name]} ${extra[$name]}" "$name" "${floor_line[$name]}" >>"$RESULTS"
	fi
}

echo "ingest benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), kernel $(uname -r)"
echo "build: $build ($build_type); agents: $transport"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $build_type != Release && $build_type != RelWithDebInfo ]]; then
	echo "warning: not an optimized build; figures are not comparable"
fi
echo

for b in $backends; do
	case $b in
	sqlite)
		bench sqlite
		;;
	postgresql)
		pg_dir=$tmp/pg
		url=$(sh "$root/tests/pg/pg_cluster.sh" start "$pg_dir" 0)
		bench postgresql "$url" "$(head -n1 "$(cat "$pg_dir/base")/data/postmaster.pid")"
		;;
	*)
		echo "ingest_bench: unknown backend $b" >&2
		exit 2
		;;
	esac
	echo
done

printf '%-11s %6s %5s %6s %10s %10s %6s %8s %7s %7s %7s %8s %7s %7s\n' backend agents msgs window \
	"path r/s" "floor r/s" ratio "srv cpu%" "loop%" "writer%" "pg cpu%" "loadgen%" "rest%" "rows/tx"
for b in $backends; do
	p=${path_line[$b]}
	f=${floor_line[$b]}
	pr=$(field "$p" rows_per_s)
	fr=$(field "$f" rows_per_s)
	printf '%-11s %6s %5s %6s %10s %10s %6s %8s %7s %7s %7s %8s %7s %7s\n' "$b" "$agents" "$messages" "$window" \
		"$pr" "$fr" "$(awk -v a="$pr" -v b="$fr" 'BEGIN { printf "%.2f", a / b }')" \
		"$(field "$p" server_cpu_pct)" "$(field "$p" loop_cpu_pct)" "$(field "$p" other_threads_cpu_pct)" \
		"$(field "$p" pg_cpu_pct)" "$(field "$p" loadgen_cpu_pct)" "$(field "$p" rest_of_machine_cpu_pct)" \
		"$(awk -v r="$(field " ${extra[$b]}" stream_rows)" -v b="$(field " ${extra[$b]}" stream_batches)" \
			'BEGIN { printf "%.0f", b ? r / b : 0 }')"
	if awk -v r="$(field "$p" rest_of_machine_cpu_pct)" 'BEGIN { exit !(r > 10) }'; then
		echo "warning: $b: the rest of the machine used $(field "$p" rest_of_machine_cpu_pct)% of a core during the run"
	fi
done
echo "ratio = path / floor; CPU in % of one core over the path's run (2 cores = 200%); rows/tx: rows per"
echo "batch committed while the agents streamed"
echo

# CPU per row does not depend on what else the machine runs as much as rows/s does
printf '%-11s %10s %10s %10s %10s %10s %10s\n' backend "loop us" "writer us" "pg us" "loadgen us" "path us" "floor us"
for b in $backends; do
	p=${path_line[$b]}
	awk -v secs="$(field "$p" secs)" -v rows="$(field "$p" rows)" -v loop="$(field "$p" loop_cpu_pct)" \
		-v writer="$(field "$p" other_threads_cpu_pct)" -v pg="$(field "$p" pg_cpu_pct)" \
		-v lg="$(field "$p" loadgen_cpu_pct)" -v floor="$(field "${floor_line[$b]}" rows_per_s)" -v name="$b" '
		function us(pct) { return pct / 100 * secs / rows * 1e6 }
		BEGIN {
			total = us(loop) + us(writer) + us(pg) + us(lg)
			printf "%-11s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f\n", name, us(loop), us(writer), us(pg), us(lg),
				total, 1e6 / floor
		}'
done
echo "CPU microseconds per row: the server's event loop thread (TLS, HTTP/2, decoding, acks) and writer"
echo "thread, the PostgreSQL server, the load generator, their sum (the path's CPU per row on this machine),"
echo "and the floor's wall time per row"
