#!/bin/sh
# A throwaway PostgreSQL cluster for tests.
#
#   pg_cluster.sh start DIR [PORT]  initdb a cluster under DIR, start it on
#                                   127.0.0.1:PORT (0 or none: the first free
#                                   port of a search), create role and
#                                   database csf (password auth, SCRAM), and
#                                   print its URL (also written to DIR/url)
#   pg_cluster.sh restart DIR       stop and start it again: same data, port
#                                   and URL (for reconnect tests)
#   pg_cluster.sh stop DIR          stop it and delete it
#
# As root the server runs as the `postgres` user (PostgreSQL refuses root).
# The cluster lives in DIR unless `postgres` cannot reach it or the path is
# too long for a unix socket; then in a mktemp dir under /tmp that DIR/base
# names. Only 127.0.0.1 is listened on; the unix socket (superuser, trust)
# sits in the cluster's own 0700 directory. fsync is off: data is
# throwaway. Set CSF_PG_BIN to the directory of initdb and pg_ctl to pick a
# version (default: the newest /usr/lib/postgresql/*/bin).
set -eu

usage() {
	echo "usage: $0 start DIR [PORT] | restart DIR | stop DIR" >&2
	exit 2
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
cd /  # the postgres user may not be able to enter the caller's directory

bin=${CSF_PG_BIN:-}
if [ -z "$bin" ]; then
	for b in /usr/lib/postgresql/*/bin; do
		[ -x "$b/initdb" ] && bin=$b
	done
fi
if [ -z "$bin" ] && command -v initdb >/dev/null 2>&1; then
	bin=$(dirname "$(command -v initdb)")
fi
# a symlink on PATH may stand alone: the tools are beside its target
[ -n "$bin" ] && [ -x "$bin/initdb" ] && bin=$(dirname "$(readlink -f "$bin/initdb")")
[ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/psql" ] || {
	echo "pg_cluster: PostgreSQL server binaries not found (install package postgresql)" >&2
	exit 1
}

root=0
[ "$(id -u)" -eq 0 ] && root=1

as_owner() {
	if [ $root -eq 1 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

show_log() {
	echo "pg_cluster: $1; server log:" >&2
	tail -n 20 "$2" >&2 2>/dev/null || true
}

stop_server() {
	if [ -f "$1/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
	fi
}

start() {
	port=${1:-0}
	if [ -f "$dir/base" ]; then  # left over from a run that did not clean up
		old=$(cat "$dir/base")
		stop_server "$old"
		rm -rf "$old"
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 700 "$dir"
	base=$dir
	if [ $root -eq 1 ]; then
		chown postgres "$dir"
		as_owner test -w "$dir" || base=
	fi
	# the socket path (BASE/sock/.s.PGSQL.NNNNN) must fit sun_path
	if [ -z "$base" ] || [ ${#dir} -gt 80 ]; then
		base=$(mktemp -d /tmp/csf-pg.XXXXXX)
		[ $root -eq 1 ] && chown postgres "$base"
	fi
	echo "$base" >"$dir/base"

	password=csf-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	as_owner "$bin/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
		>"$dir/initdb.log" 2>&1 || { show_log "initdb failed" "$dir/initdb.log"; exit 1; }
	as_owner mkdir -m 700 "$base/sock"
	as_owner sh -c "cat >>'$base/data/postgresql.conf'" <<-EOF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$base/sock'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_connections = 50
		shared_buffers = 16MB
		password_encryption = 'scram-sha-256'
	EOF
	as_owner sh -c "cat >'$base/data/pg_hba.conf'" <<-EOF
		local all postgres trust
		host all csf 127.0.0.1/32 scram-sha-256
	EOF

	if [ "$port" -eq 0 ]; then
		first=$((20000 + ($$ * 37) % 30000))
		tries=30
	else
		first=$port
		tries=1
	fi
	i=0
	started=0
	while [ $i -lt $tries ]; do
		p=$((first + i * 7))
		rm -f "$base/log"
		if as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/log" -w -t 60 -o "-p $p" start \
			>/dev/null 2>&1; then
			started=1
			break
		fi
		# a port taken by something else: try the next
		grep -q "could not bind\|could not create any TCP/IP sockets\|already in use" "$base/log" \
			2>/dev/null || { show_log "the server did not start" "$base/log"; exit 1; }
		i=$((i + 1))
	done
	[ $started -eq 1 ] || { show_log "no free port from $first" "$base/log"; exit 1; }

	as_owner "$bin/psql" -X -q -h "$base/sock" -p "$p" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE csf LOGIN CREATEDB PASSWORD '$password'" \
		-c "CREATE DATABASE csf OWNER csf" >/dev/null ||
		{ show_log "cannot create role and database csf" "$base/log"; exit 1; }
	as_owner "$bin/pg_isready" -q -h 127.0.0.1 -p "$p" -t 30 ||
		{ show_log "not ready on 127.0.0.1:$p" "$base/log"; exit 1; }

	url="postgresql://csf:$password@127.0.0.1:$p/csf"
	echo "$p" >"$dir/port"
	(umask 077 && echo "$url" >"$dir/url")
	echo "$url"
}

restart() {
	[ -f "$dir/base" ] || { echo "pg_cluster: no cluster in $dir" >&2; exit 1; }
	base=$(cat "$dir/base")
	as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/log" -m fast -w -t 60 restart >/dev/null 2>&1 ||
		{ show_log "restart failed" "$base/log"; exit 1; }
	as_owner "$bin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$dir/port")" -t 30 ||
		{ show_log "not ready after the restart" "$base/log"; exit 1; }
}

stop() {
	if [ -f "$dir/base" ]; then
		base=$(cat "$dir/base")
		stop_server "$base"
		rm -rf "$base"
	fi
	rm -rf "$dir"
}

case $cmd in
start) start "${3:-0}" ;;
restart) restart ;;
stop) stop ;;
*) usage ;;
esac
