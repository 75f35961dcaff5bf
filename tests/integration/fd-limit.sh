#!/bin/sh
# The runner raises its soft open-file limit to the hard one, and warns when
# --capacity needs more open files than even that allows.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-fdlimit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(umask 077 && echo sk-ant-oat01-fd-limit-test-key > "$tmp/key")

# Runs the runner for a moment against a closed port, under the given soft
# and hard limits, and prints its log.
run() {
	(
		ulimit -Sn "$1" && ulimit -Hn "$2" || exit 99
		timeout 2 "$ER_RUNNER" orchestrator --environment-id env_fdlimit \
			--service-key-file "$tmp/key" --api-url http://127.0.0.1:9 \
			--sandbox-backend none --capacity "$3" --health-port 0 2>&1
	)
}

if ! (ulimit -Sn 100 && ulimit -Hn 2000) 2>/dev/null; then
	echo "1..0 # SKIP cannot set open-file limits here"
	exit 0
fi
out=$(run 100 200 50)
case "$out" in
*"--capacity 50 may need about 464 open files, but the limit is 200"*)
	ok "a capacity beyond the hard limit is reported, with the raised limit" ;;
*) not_ok "no warning for --capacity 50 under a hard limit of 200"; diag "$out" ;;
esac
out=$(run 100 2000 50)
case "$out" in
*"open files"*) not_ok "a soft limit below the need but a hard one above it still warns"; diag "$out" ;;
*) ok "the soft limit is raised to the hard one, so --capacity 50 fits" ;;
esac
done_testing
