#!/bin/bash
# Footprint of `csf-agent run` (enrolled against a local csf-server, its mTLS
# stream connected) at a 1 s and a 10 s interval, measured in the same run
# against Debian's prometheus-node-exporter (default collectors, scraped by
# this script over loopback at the same interval) and collectd (Debian's
# default /etc/collectd/collectd.conf: its default plugins, at the same
# interval). RSS and PSS from /proc/PID/smaps_rollup at the end, CPU as a
# share of one core over the measured window (docs/performance.md, "Agent
# footprint (issue 5)").
#
# usage: tests/bench/agent_footprint.sh [BUILD_DIR]
#   BUILD_DIR   a build without sanitizers (default: build-bench; `build` works)
#   DURATION    seconds measured per interval (default 300)
#   INTERVALS   the intervals to measure (default "1 10")
# Needs: scripts/setup.sh bench (prometheus-node-exporter, collectd, curl).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

duration=${DURATION:-300}
intervals=${INTERVALS:-1 10}
agent=$build/bin/csf-agent
server=$build/bin/csf-server
node_exporter=$(command -v prometheus-node-exporter || true)
collectd=$(command -v collectd || echo /usr/sbin/collectd)
for exe in "$agent" "$server" "$node_exporter" "$collectd"; do
	if [[ -z $exe || ! -x $exe ]]; then
		echo "agent_footprint.sh: ${exe:-prometheus-node-exporter} is missing (build; scripts/setup.sh bench)" >&2
		exit 2
	fi
done
if [[ ! -f /etc/collectd/collectd.conf ]]; then
	echo "agent_footprint.sh: /etc/collectd/collectd.conf is missing (apt-get install collectd)" >&2
	exit 2
fi
if ! [[ $duration =~ ^[0-9]+$ ]] || ((duration < 5)); then
	echo "agent_footprint.sh: DURATION must be a whole number >= 5" >&2
	exit 2
fi

work=$(mktemp -d /tmp/csf-agent-footprint-XXXXXX)
cleanup() {
	kill_own_jobs
	rm -rf "$work"
}
trap cleanup EXIT

# "Rss Pss" in KiB.
mem() { awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 } END { print r, p }' "/proc/$1/smaps_rollup"; }

# Rss and Pss in KiB by mapping: "binary-rss lib-rss heap-rss anon-rss binary-pss lib-pss heap-pss anon-pss".
mem_parts() {
	awk -v exe="$(readlink -f "$2")" '
	/^[0-9a-f]+-[0-9a-f]+ / { kind = $6 == exe ? 1 : $6 ~ /\.so/ ? 2 : $6 == "[heap]" ? 3 : 4 }
	$1 == "Rss:" { r[kind] += $2 }
	$1 == "Pss:" { p[kind] += $2 }
	END { for (k = 1; k <= 4; k++) printf "%d ", r[k]; for (k = 1; k <= 4; k++) printf "%d ", p[k]; print "" }' \
		"/proc/$1/smaps"
}

# The shared libraries with the most RSS, "name RSS/PSS KiB, ...".
lib_rss() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { lib = $6 ~ /\.so/ ? $6 : "" ; sub(/.*\//, "", lib) }
	lib != "" && $1 == "Rss:" { r[lib] += $2 }
	lib != "" && $1 == "Pss:" { p[lib] += $2 }
	END { for (l in r) print r[l], p[l], l }' "/proc/$1/smaps" |
		sort -rn | head -n 6 | awk '{ printf "%s%s %d/%d", (NR > 1 ? ", " : ""), $3, $1, $2 }'
}

# CPU time in ns of a process and all its threads (schedstat of each task).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

alive() {
	local name=$1 pid=$2
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "agent_footprint.sh: $name exited early; its log:" >&2
		tail -20 "$work/$name.log" >&2 || true
		exit 1
	fi
}

wait_for() { # DESCRIPTION SECONDS COMMAND...
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "agent_footprint.sh: timed out waiting for $what" >&2
	exit 1
}

agent_libs=$(ldd "$agent" | awk '$1 !~ /^linux-vdso/ { sub(/.*\//, "", $1); print $1 }' | sort | paste -sd ' ')
echo "csf-agent run vs prometheus-node-exporter $("$node_exporter" --version 2>&1 | awk 'NR == 1 { print $3 }')" \
	"and collectd $("$collectd" -h | awk '/^collectd / { sub(/,$/, "", $2); print $2; exit }'), ${duration} s per interval"
echo "  csf-agent loads: $agent_libs"

for interval in $intervals; do
	dir=$work/i$interval
	mkdir -p "$dir/server" "$dir/state" "$dir/collectd/rrd"

	# csf-server on loopback, telling agents this interval
	"$server" serve --data-dir "$dir/server" --http-listen 127.0.0.1:0 --agent-listen 127.0.0.1:0 \
		--collect-interval "$interval" --heartbeat-interval "$interval" --log-level warn 2>"$work/csf-server.log" &
	server_pid=$!
	wait_for "csf-server" 20 grep -q "serving: http on port" "$work/csf-server.log"
	http_port=$(sed -n 's/.*http on port \([0-9]*\),.*/\1/p' "$work/csf-server.log")
	agent_port=$(sed -n 's/.*agents on port \([0-9]*\),.*/\1/p' "$work/csf-server.log")
	token=$("$server" token create --data-dir "$dir/server" | tail -1)
	CSF_TOKEN=$token "$agent" enroll --server-url "https://127.0.0.1:$agent_port" --state-dir "$dir/state" \
		--name footprint >/dev/null
	printf 'server_url = https://127.0.0.1:%s\nstate_dir = %s\ninterval = %s\nlog_level = warn\n' \
		"$agent_port" "$dir/state" "$interval" >"$dir/agent.conf"

	# the three, started by hand on loopback
	"$agent" run --config "$dir/agent.conf" 2>"$work/csf-agent.log" &
	agent_pid=$!
	"$node_exporter" --web.listen-address=127.0.0.1:0 2>"$work/node_exporter.log" &
	ne_pid=$!
	sed -e "s|^#*Interval .*|Interval $interval|" -e "s|/var/lib/collectd/rrd|$dir/collectd/rrd|" \
		-e "s|^#*BaseDir .*|BaseDir \"$dir/collectd\"|" /etc/collectd/collectd.conf >"$dir/collectd.conf"
	grep -q "^Interval $interval" "$dir/collectd.conf" || sed -i "1i Interval $interval" "$dir/collectd.conf"
	"$collectd" -f -C "$dir/collectd.conf" >"$work/collectd.log" 2>&1 &
	cd_pid=$!

	wait_for "the agent's stream" 30 sh -c \
		"curl -fsS http://127.0.0.1:$http_port/metrics | grep -qx 'csf_agents_connected 1'"
	wait_for "node_exporter" 10 grep -q 'msg="Listening on"' "$work/node_exporter.log"
	ne_port=$(sed -n 's/.*msg="Listening on" address=127.0.0.1:\([0-9]*\).*/\1/p' "$work/node_exporter.log")
	# a scraper at the interval, as Prometheus would
	while sleep "$interval"; do curl -fsS -o /dev/null "http://127.0.0.1:$ne_port/metrics" || true; done &

	t0=$(date +%s.%N)
	a0=$(cpu_ns "$agent_pid") n0=$(cpu_ns "$ne_pid") c0=$(cpu_ns "$cd_pid")
	sleep "$duration"
	for p in "csf-agent:$agent_pid" "node_exporter:$ne_pid" "collectd:$cd_pid" "csf-server:$server_pid"; do
		alive "${p%%:*}" "${p##*:}"
	done
	a1=$(cpu_ns "$agent_pid") n1=$(cpu_ns "$ne_pid") c1=$(cpu_ns "$cd_pid")
	t1=$(date +%s.%N)
	read -r ar ap < <(mem "$agent_pid")
	read -r nr np < <(mem "$ne_pid")
	read -r cr cp < <(mem "$cd_pid")
	parts=$(mem_parts "$agent_pid" "$agent")
	libs_top=$(lib_rss "$agent_pid")
	connected=$(curl -fsS "http://127.0.0.1:$http_port/metrics" | awk '$1 == "csf_agents_connected" { print $2 }')

	awk -v i="$interval" -v t0="$t0" -v t1="$t1" -v conn="$connected" \
		-v ar="$ar" -v ap="$ap" -v ac="$((a1 - a0))" -v nr="$nr" -v np="$np" -v nc="$((n1 - n0))" \
		-v cr="$cr" -v cp="$cp" -v cc="$((c1 - c0))" -v parts="$parts" -v libs="$libs_top" '
	function mib(k) { return k / 1024 }
	function pct(ns) { return 100 * ns / 1e9 / t }
	BEGIN {
		t = t1 - t0
		split(parts, m, " ")
		printf "\ninterval %d s, measured over %.1f s (agents connected at the end: %s)\n", i, t, conn
		printf "  %-26s %8s %8s %11s\n", "program", "RSS MiB", "PSS MiB", "CPU % core"
		printf "  %-26s %8.2f %8.2f %11.3f\n", "csf-agent run", mib(ar), mib(ap), pct(ac)
		printf "  %-26s %8.2f %8.2f %11.3f\n", "prometheus-node-exporter", mib(nr), mib(np), pct(nc)
		printf "  %-26s %8.2f %8.2f %11.3f\n", "collectd", mib(cr), mib(cp), pct(cc)
		printf "  %-26s %8.2f %8.2f %11.2f\n", "ratio to node-exporter", ar / nr, ap / np, nc ? ac / nc : 0
		printf "  %-26s %8.2f %8.2f %11.2f\n", "ratio to collectd", ar / cr, ap / cp, cc ? ac / cc : 0
		printf "  goals: RSS < 8 MiB %s; PSS < 6 MiB %s; CPU below both peers %s\n",
			mib(ar) < 8 ? "met" : "MISSED", mib(ap) < 6 ? "met" : "MISSED", ac < nc && ac < cc ? "met" : "MISSED"
		printf "  csf-agent by mapping, RSS / PSS KiB: binary %d / %d, shared libraries %d / %d, heap %d / %d, " \
			"stacks and other anonymous %d / %d\n", m[1], m[5], m[2], m[6], m[3], m[7], m[4], m[8]
		printf "  csf-agent libraries with the most RSS (RSS/PSS KiB): %s\n", libs
	}'

	kill_own_jobs
done
