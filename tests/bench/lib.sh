# Sourced by the benchmark scripts: sets $here (tests/bench), $root (the
# repository) and $build from the first argument (default build-bench; a
# relative path is taken from the current directory if it exists there, else
# from the repository root).
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-bench}
if [[ $build != /* && ! -d $build ]]; then
	build=$root/$build
fi

# Kills this shell's own background jobs that are still running (never
# remembered pids, which may belong to someone else by then) and reaps them.
kill_own_jobs() {
	local p
	for p in $(jobs -pr); do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
