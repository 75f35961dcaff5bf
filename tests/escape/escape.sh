#!/bin/sh
# Runs tests/escape/escape.mjs (TAP; $ER_ESCAPE_CHECK names another check
# of tests/escape, e.g. sessions.mjs) against the local control plane with
# one sandbox backend, or skips with the reason it cannot run here.
# Usage: escape.sh BACKEND [user|allowlist|allowlist-user|pod]   ("user": the
# runner runs as an unprivileged user, $ER_ESCAPE_USER or nobody (firejail:
# its regular user), instead of root; "allowlist": --sandbox-network=allowlist
# with names served; "allowlist-user": both; "pod": the runner in the
# pod-like harness of tests/pod with the default backend, which must be
# BACKEND)
set -u
backend=$1
mode=${2:-root}
skip() {
	echo "1..0 # SKIP $backend${mode:+ ($mode)}: $*"
	exit 0
}
case $backend in
bubblewrap) command -v bwrap >/dev/null 2>&1 || skip "bwrap is not installed" ;;
firejail) command -v firejail >/dev/null 2>&1 || skip "firejail is not installed" ;;
landlock)
	helper="$ER_TOP_BUILDDIR/plugins/sandbox-landlock/er-sandbox-landlock"
	[ -x "$helper" ] || skip "er-sandbox-landlock is not built"
	ER_TEST_SANDBOX_ARGS="${ER_TEST_SANDBOX_ARGS:-} --plugin-option=landlock.helper=$helper"
	export ER_TEST_SANDBOX_ARGS
	;;
esac
[ -f "${ER_TOP_BUILDDIR:?}/plugins/.libs/sandbox-$backend.so" ] ||
	skip "the $backend plugin is not built here"
[ -x "$ER_TOP_BUILDDIR/tests/escape/er-escape-attempt" ] || skip "er-escape-attempt is not built"
if [ "$backend" = firejail ] && [ "$(id -u)" -eq 0 ]; then
	# firejail refuses system users (nobody) and runs commands through the
	# user's login shell: a regular user with a shell, made once here.
	fjuser=${ER_ESCAPE_FIREJAIL_USER:-er-sbx-test}
	if ! id "$fjuser" >/dev/null 2>&1; then
		command -v useradd >/dev/null 2>&1 || skip "no useradd to make a regular user for firejail"
		useradd -M -s /bin/bash -K UID_MIN=1000 "$fjuser" >/dev/null 2>&1 ||
			skip "cannot create the regular user '$fjuser' firejail needs"
	fi
	if [ "$mode" != user ] && [ "$mode" != allowlist-user ]; then
		ER_TEST_SANDBOX_UID=$(id -u "$fjuser")
		ER_TEST_SANDBOX_ARGS="${ER_TEST_SANDBOX_ARGS:-} --sandbox-user=$fjuser"
		export ER_TEST_SANDBOX_UID ER_TEST_SANDBOX_ARGS
	fi
fi
case $mode in
allowlist | allowlist-user)
	relay="$ER_TOP_BUILDDIR/plugins/sandbox-bubblewrap/er-sandbox-relay"
	[ -x "$relay" ] || skip "er-sandbox-relay is not built"
	ER_ESCAPE_NETWORK=allowlist
	# The names and their pinned addresses come from escape.mjs.
	ER_TEST_SANDBOX_ARGS="${ER_TEST_SANDBOX_ARGS:-} --sandbox-network=allowlist"
	ER_TEST_SANDBOX_ARGS="$ER_TEST_SANDBOX_ARGS --plugin-option=bubblewrap.relay=$relay"
	export ER_ESCAPE_NETWORK ER_TEST_SANDBOX_ARGS
	;;
esac
case $mode in
user | allowlist-user)
	[ "$(id -u)" -eq 0 ] || skip "needs root to start the runner as another user"
	[ "$backend" = firejail ] && ER_ESCAPE_USER=${ER_ESCAPE_USER:-${ER_ESCAPE_FIREJAIL_USER:-er-sbx-test}}
	ER_ESCAPE_USER=${ER_ESCAPE_USER:-nobody}
	id "$ER_ESCAPE_USER" >/dev/null 2>&1 || skip "no user '$ER_ESCAPE_USER'"
	export ER_ESCAPE_USER
	;;
pod)
	. "$ER_TOP_SRCDIR/tests/pod/setup.sh"
	ER_ESCAPE_BACKEND=$backend
	export ER_ESCAPE_BACKEND
	;;
esac
[ "$mode" = pod ] || export ER_TEST_SANDBOX="$backend"
export ER_ESCAPE_ATTEMPT="$ER_TOP_BUILDDIR/tests/escape/er-escape-attempt"
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" "../escape/${ER_ESCAPE_CHECK:-escape.mjs}"
