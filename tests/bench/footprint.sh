#!/bin/bash
# Memory and CPU footprint of `csf-agent collect --interval 1` against a
# program built and linked like it that only sleeps (idle.c), both measured
# in the same run (docs/performance.md, "System snapshot").
#
# usage: tests/bench/footprint.sh [BUILD_DIR]
#   BUILD_DIR          a build with CSF_BUILD_BENCH=ON (default: build-bench)
#   FOOTPRINT_SECONDS  how long both run before they are measured (default 60)
set -euo pipefail

build=${1:-build-bench}
secs=${FOOTPRINT_SECONDS:-60}
agent=$build/bin/csf-agent
idle=$build/bin/csf-bench-idle
for exe in "$agent" "$idle"; do
	if [[ ! -x $exe ]]; then
		echo "footprint.sh: $exe is missing: build with -DCSF_BUILD_BENCH=ON" >&2
		exit 2
	fi
done
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 2)); then
	echo "footprint.sh: FOOTPRINT_SECONDS must be a whole number >= 2" >&2
	exit 2
fi

# Shared objects each program loads, as one line.
libs() { ldd "$1" | awk '$1 !~ /^linux-vdso/ { sub(/.*\//, "", $1); print $1 }' | sort | paste -sd ' '; }

# "Rss Pss Uss" in KiB from smaps_rollup; USS is the private part (clean + dirty).
mem() {
	awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 } $1 ~ /^Private_(Clean|Dirty):$/ { u += $2 }
	END { print r, p, u }' "/proc/$1/smaps_rollup"
}

# Rss in KiB by kind of mapping: "binary shared-libs heap stack+anon".
mem_parts() {
	awk -v exe="$(readlink -f "$2")" '
	/^[0-9a-f]+-[0-9a-f]+ / { kind = $6 == exe ? "bin" : $6 ~ /\.so/ ? "lib" : $6 == "[heap]" ? "heap" : "anon" }
	$1 == "Rss:" { kb[kind] += $2 }
	END { print kb["bin"] + 0, kb["lib"] + 0, kb["heap"] + 0, kb["anon"] + 0 }' "/proc/$1/smaps"
}

# utime + stime in clock ticks (fields 14 and 15; the comm field may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# Nanoseconds on a CPU (schedstat), finer than the 10 ms ticks above; -1 without it.
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo -1; }

agent_pid= idle_pid= print_pid=
cleanup() {
	local pid
	for pid in $agent_pid $idle_pid $print_pid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

start=$(date +%s.%N)
# --count leaves the agent running past the measurement.
"$agent" collect --interval 1 --count $((secs + 10)) >/dev/null &
agent_pid=$!
"$idle" &
idle_pid=$!
"$idle" --print >/dev/null &
print_pid=$!
sleep "$secs"
if ! kill -0 "$agent_pid" 2>/dev/null; then
	echo "footprint.sh: csf-agent exited early" >&2
	exit 1
fi
read -r agent_rss agent_pss agent_uss < <(mem "$agent_pid")
read -r idle_rss idle_pss idle_uss < <(mem "$idle_pid")
read -r print_rss print_pss print_uss < <(mem "$print_pid")
agent_parts=$(mem_parts "$agent_pid" "$agent")
idle_parts=$(mem_parts "$idle_pid" "$idle")
ticks=$(cpu_ticks "$agent_pid")
ns=$(cpu_ns "$agent_pid")
end=$(date +%s.%N)

agent_libs=$(libs "$agent")
idle_libs=$(libs "$idle")
echo "Footprint after ${secs} s: csf-agent collect --interval 1 (processes on, top 5) vs csf-bench-idle"
echo "  libraries: csf-agent: ${agent_libs}; idle: ${idle_libs}"
if [[ $agent_libs != "$idle_libs" ]]; then
	echo "  warning: the two programs load different libraries, the ratio is not like for like"
fi
awk -v ar="$agent_rss" -v ap="$agent_pss" -v au="$agent_uss" \
	-v ir="$idle_rss" -v ip="$idle_pss" -v iu="$idle_uss" \
	-v pr="$print_rss" -v pp="$print_pss" -v pu="$print_uss" \
	-v aparts="$agent_parts" -v iparts="$idle_parts" -v ticks="$ticks" -v ns="$ns" -v hz="$(getconf CLK_TCK)" -v start="$start" -v end="$end" '
function mib(k) { return k / 1024 }
BEGIN {
	split(aparts, a, " ")
	split(iparts, i, " ")
	printf "  %-16s %8s %8s %8s    RSS KiB by mapping: %s\n", "program", "RSS MiB", "PSS MiB",
		"USS MiB", "binary / shared libs / heap / stack+anon"
	printf "  %-16s %8.2f %8.2f %8.2f    %d / %d / %d / %d\n", "csf-agent", mib(ar), mib(ap), mib(au),
		a[1], a[2], a[3], a[4]
	printf "  %-16s %8.2f %8.2f %8.2f    %d / %d / %d / %d\n", "csf-bench-idle", mib(ir), mib(ip), mib(iu),
		i[1], i[2], i[3], i[4]
	printf "  %-16s %8.2f %8.2f %8.2f\n", "idle --print", mib(pr), mib(pp), mib(pu)
	printf "  %-16s %8.2f %8.2f %8.2f    goal <= 1.25 (RSS, PSS): RSS %s, PSS %s\n", "ratio to idle",
		ar / ir, ap / ip, au / iu, ar / ir <= 1.25 ? "met" : "MISSED", ap / ip <= 1.25 ? "met" : "MISSED"
	printf "  %-16s %8.2f %8.2f %8.2f    goal <= 1.25 (RSS, PSS): RSS %s, PSS %s\n", "ratio to --print",
		ar / pr, ap / pp, au / pu, ar / pr <= 1.25 ? "met" : "MISSED", ap / pp <= 1.25 ? "met" : "MISSED"
	printf "  csf-agent CPU: %.2f s (utime+stime) over %.1f s = %.3f%% of a core\n",
		ticks / hz, end - start, 100 * ticks / hz / (end - start)
	if (ns >= 0)
		printf "  csf-agent CPU by schedstat: %.4f s = %.4f%% of a core (%.2f ms a second, startup included)\n",
			ns / 1e9, 100 * ns / 1e9 / (end - start), ns / 1e6 / (end - start)
}'
