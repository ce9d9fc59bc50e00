#!/bin/sh
# Install csf-agent from the csf-server that served this script, then enroll
# it and start it as a service (csf-agent install):
#
#   curl -fsSL https://SERVER/agent/install.sh | sh -s -- --token TOKEN [--name N] [--tags k=v,...]
#
# Every option of `csf-agent install` may follow (csf-agent install --help);
# CSF_TOKEN=TOKEN in the environment keeps the token out of `ps`. csf-server
# writes its own URLs below when it serves this file; the environment
# overrides them, and lets tests install into a throwaway root
# (docs/csf-agent.md, "install.sh"):
#   CSF_SERVER_HTTP_URL  where the binary is fetched from
#   CSF_AGENT_URL        the agent listener, passed as --server-url
#   CSF_INSTALL_ROOT     install under this root (csf-agent install --root)
#   CSF_BIN_DIR          where the binary goes [/usr/local/bin]
set -eu

http_url=${CSF_SERVER_HTTP_URL:-'@CSF_HTTP_URL@'}
agent_url=${CSF_AGENT_URL:-'@CSF_AGENT_URL@'}
root=${CSF_INSTALL_ROOT:-}
bin_dir=${CSF_BIN_DIR:-/usr/local/bin}

fail() {
	echo "csf-agent install.sh: $*" >&2
	exit 1
}

case $http_url$agent_url in
*@CSF_*) fail "not served by csf-server: set CSF_SERVER_HTTP_URL and CSF_AGENT_URL" ;;
esac
[ "$(id -u)" = 0 ] || fail "run as root, e.g. curl -fsSL $http_url/agent/install.sh | sudo sh -s -- --token TOKEN"

case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
*) fail "no csf-agent for $(uname -s)" ;;
esac
name=csf-agent-$os-$(uname -m)

fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --proto '=https,http' -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		fail "needs curl or wget"
	fi
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csf-agent.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

fetch "$http_url/agent/$name.sha256" "$tmp/sha256" ||
	fail "$http_url has no csf-agent for $os $(uname -m) ($http_url/agent/$name.sha256)"
fetch "$http_url/agent/$name" "$tmp/csf-agent" || fail "cannot download $http_url/agent/$name"
want=$(cut -d' ' -f1 <"$tmp/sha256")
got=$(sha256 "$tmp/csf-agent")
[ "$want" = "$got" ] || fail "$name: SHA-256 is $got, the server says $want: not installed"

# a rename replaces a running binary without "text file busy"
mkdir -p "$root$bin_dir"
cp "$tmp/csf-agent" "$root$bin_dir/.csf-agent.new"
chmod 0755 "$root$bin_dir/.csf-agent.new"
mv -f "$root$bin_dir/.csf-agent.new" "$root$bin_dir/csf-agent"
echo "csf-agent install.sh: installed $root$bin_dir/csf-agent ($("$root$bin_dir/csf-agent" version))"

if [ -n "$root" ]; then
	set -- --root "$root" "$@"
fi
# the server's URL first: a --server-url among "$@" wins
"$root$bin_dir/csf-agent" install --server-url "$agent_url" "$@"
