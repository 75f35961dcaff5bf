#!/bin/sh
# `environment-runner plugin-check FILE` on every plugin this build ships,
# as CI runs it, and on fixtures that break the contract.  A plugin that
# cannot run on this machine (its probe says why, or its create with the
# runner's exit status 69) is skipped, not failed.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-plugin-check.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
libs=$ER_TOP_BUILDDIR/plugins/.libs
fix=$ER_FIXTURE_DIR
printf 'sk-test-plugin-check-0000\n' >"$tmp/inference-key"
chmod 600 "$tmp/inference-key"

# plugin_check FILE ARGS...: its exit status in $rc, its output in $tmp/out.
plugin_check() {
	"$ER_RUNNER" plugin-check "$@" >"$tmp/out" 2>&1
	rc=$?
}

for p in "$libs"/sandbox-*.so "$libs"/executor-*.so; do
	name=$(basename "$p")
	case $name in
	sandbox-bubblewrap.so) args="--plugin-option bubblewrap.relay=$ER_TOP_BUILDDIR/plugins/sandbox-bubblewrap/er-sandbox-relay" ;;
	sandbox-landlock.so) args="--plugin-option landlock.helper=$ER_TOP_BUILDDIR/plugins/sandbox-landlock/er-sandbox-landlock" ;;
	executor-command.so) args="--command true" ;;
	executor-claude-code.so) args="--inference-key-file $tmp/inference-key" ;;
	*) args= ;;
	esac
	# shellcheck disable=SC2086 # args is a word list
	plugin_check "$p" $args
	unusable=$(sed -n -e 's/^not ok [0-9]* - probe(): usable here: //p' \
		-e 's/^not ok [0-9]* - create() with this configuration: \(.*(exit status 69)\)$/\1/p' "$tmp/out")
	if [ -n "$unusable" ]; then
		skip "$name: not usable on this machine ($(printf '%s' "$unusable" | cut -c1-120))"
		continue
	fi
	if [ "$rc" -eq 0 ] && tail -n 1 "$tmp/out" | grep -q '^1\.\.[0-9]*$' && ! grep -q '^not ok' "$tmp/out"; then
		ok "plugin-check $name passes"
	else
		not_ok "plugin-check $name passes (exit $rc)"
		sed 's/^/# /' "$tmp/out"
	fi
	case $name in
	sandbox-none.so)
		check "sandbox-none: a wrapped command runs in the session's directory" \
			grep -q "^ok [0-9]* - it runs in the session's directory" "$tmp/out"
		# `none` isolates nothing, and the report says so; it still keeps
		# credentials out of a command's environment.
		check "sandbox-none: the report shows a write outside the session's directory" \
			grep -q "^#   NOT blocked  write outside the session's directory" "$tmp/out"
		check "sandbox-none: the report shows the runner's credential kept out" \
			grep -q "^#   blocked      see a credential of the runner's environment" "$tmp/out"
		;;
	sandbox-bubblewrap.so)
		check "sandbox-bubblewrap: the report shows the service key file hidden" \
			grep -q "^#   blocked      read the service key file" "$tmp/out"
		;;
	esac
done

# Contract failures: exit 1, with the check that failed.
plugin_check "$fix/sandbox-createfail.so"
check "a plugin whose create() fails: exit 1 and the plugin's words" \
	sh -c '[ "$1" -eq 1 ] && grep -q "^not ok [0-9]* - create() with this configuration: .*option .createfail.mode. is bad" "$2"' sh "$rc" "$tmp/out"
plugin_check "$fix/sandbox-badmagic.so"
check "a file the loader refuses: exit 1, the loader's reason" \
	sh -c '[ "$1" -eq 1 ] && grep -q "^not ok 1 - the loader accepts it: .*wrong magic" "$2"' sh "$rc" "$tmp/out"
plugin_check "$fix/executor-newflag.so"
check "an executor asking for an unknown flag: exit 1" \
	sh -c '[ "$1" -eq 1 ] && grep -q "executor flags 0x20 unknown" "$2"' sh "$rc" "$tmp/out"
plugin_check "$fix/executor-good.so"
check "an executor whose options are well formed passes the options check" \
	grep -q "^ok [0-9]* - options: 2, each NAME.KEY with a help line" "$tmp/out"
# A backend that cannot run here says why, with the exit status the runner
# would end with (69: unavailable, as plugin.h's table has it).
if [ -f "$libs/sandbox-bubblewrap.so" ]; then
	plugin_check "$libs/sandbox-bubblewrap.so" --plugin-option bubblewrap.bwrap=/nonexistent/bwrap
	check "a backend whose program is missing: exit 1, its words and status 69" \
		sh -c '[ "$1" -eq 1 ] && grep -q "^not ok [0-9]* - create() with this configuration: .*bwrap not found at /nonexistent/bwrap.*(exit status 69)$" "$2"' sh "$rc" "$tmp/out"
else
	skip "a backend whose program is missing (sandbox-bubblewrap is not built here)"
fi
plugin_check "$tmp/libfoo.so"
check "a file named after no kind: exit 64" test "$rc" -eq 64
"$ER_RUNNER" plugin-check >"$tmp/out" 2>&1
check "no file: exit 64, and the fix" \
	sh -c '[ "$1" -eq 64 ] && grep -q "missing plugin file; fix:" "$2"' sh "$?" "$tmp/out"
done_testing
