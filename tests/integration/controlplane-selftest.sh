#!/bin/sh
# Wire-level self-test of the local control plane with the system's Node
# only (no SDK): raw responses, SSE framing, keep-alives, a slow reader.
set -u
srcdir=${ER_TOP_SRCDIR:?ER_TOP_SRCDIR is not set}
if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node not installed"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-cp.XXXXXX")
cp_pid=
cleanup() {
	[ -n "$cp_pid" ] && kill "$cp_pid" 2>/dev/null && wait "$cp_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

node "$srcdir/tests/controlplane/server.mjs" --port-file "$tmp/port" --keepalive-ms 200 >"$tmp/cp.log" 2>&1 &
cp_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$tmp/port" ]; then
	echo "1..1"
	echo "not ok 1 - control plane did not start"
	sed 's/^/# /' "$tmp/cp.log"
	exit 0
fi
timeout -k 5 60 node "$srcdir/tests/controlplane/selftest.mjs" "http://127.0.0.1:$(cat "$tmp/port")" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out"
n=$(grep -cE '^(not )?ok ' "$tmp/out")
if [ $rc -ne 0 ]; then
	n=$((n + 1))
	echo "not ok $n - selftest.mjs exited with status $rc"
	sed 's/^/# /' "$tmp/err" | tail -n 40
fi
echo "1..$n"
