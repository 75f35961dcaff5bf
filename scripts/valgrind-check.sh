#!/bin/sh
# The runner's end-to-end checks with the runner under valgrind (memcheck):
# no invalid access, no use of uninitialised memory, no definite or indirect
# leak.  Usage: BUILD=DIR scripts/valgrind-check.sh [TEST.sh...], where DIR
# is a configured and built build directory, not a --enable-sanitizers one
# (default build/main).  The checks start a wrapper instead of the runner
# (ER_RUNNER) that runs it under valgrind, one log per process.
# Default tests: every tests/integration/runner-*.sh except the soak and the
# hostile-input check (their 1 GiB and many-session phases take long under
# valgrind; name them to run them anyway) and the sandboxed variants
# (*-bubblewrap, *-firejail), plus the escape attempts under bubblewrap with
# the allow-list network (the proxy lives on the runner's event loop) and
# with two sessions at once (the secret file, the disk bound's thread).
# valgrind refuses a child's setrlimit(RLIMIT_NOFILE) that changes the hard
# limit it emulates, so sandboxed commands get exactly that limit
# (--sandbox-max-open-files) here.  Timeouts are stretched
# (SDK_CHECK_TIMEOUT, default 600 s per check), but checks with tight timing
# may still fail from the slowdown alone: what counts here is the valgrind
# summary.  Prints each check's TAP summary, then every valgrind error
# summary that is not clean, and exits non-zero on a failed check or a
# valgrind finding.  Logs stay in $VG_LOG_DIR (default: a new directory
# under $TMPDIR, printed at the end).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${BUILD:-$top/build/main}" && pwd) || exit 2
command -v valgrind >/dev/null || { echo "valgrind-check: valgrind not installed" >&2; exit 77; }
[ -x "$build/environment-runner" ] || { echo "valgrind-check: no runner in $build (run make there)" >&2; exit 2; }
if grep -q -- '-fsanitize' "$build/Makefile" 2>/dev/null && grep -q '^SANITIZER_CFLAGS = -f' "$build/Makefile"; then
	echo "valgrind-check: $build is a sanitizer build; use another" >&2
	exit 2
fi
VG_LOG_DIR=${VG_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/er-valgrind.XXXXXX")}
mkdir -p "$VG_LOG_DIR"
# The runner the checks start: valgrind around the real one.  Paths are
# written into it, so it also works for runners started with a scrubbed
# environment (run-item from --on-work).  Children (tools) are not traced.
wrapper=$VG_LOG_DIR/environment-runner
cat >"$wrapper" <<WRAPPER
#!/bin/sh
ER_NO_DLCLOSE=1 exec valgrind --tool=memcheck --leak-check=full \\
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
	--track-origins=yes --num-callers=30 --suppressions='$top/tests/valgrind/runner.supp' \\
	--log-file='$VG_LOG_DIR/vg-%p.log' '$build/environment-runner' "\$@"
WRAPPER
chmod +x "$wrapper"
export ER_TOP_SRCDIR=$top ER_TOP_BUILDDIR=$build ER_PLUGIN_PATH=$build/plugins/.libs ER_NO_SYSTEM_PLUGINS=1 \
	ER_FIXTURE_DIR=$build/tests/fixtures/.libs ER_RUNNER=$wrapper
export SDK_CHECK_TIMEOUT=${SDK_CHECK_TIMEOUT:-600}
vg_nofile=$(valgrind -q sh -c 'ulimit -Hn')
export ER_TEST_SANDBOX_ARGS="${ER_TEST_SANDBOX_ARGS:-} --sandbox-max-open-files=$vg_nofile"

if [ $# -eq 0 ]; then
	set --
	for t in "$top"/tests/integration/runner-*.sh; do
		case $t in */runner-soak.sh | */runner-hostile.sh | *-bubblewrap.sh | *-firejail.sh) continue ;; esac
		set -- "$@" "$t"
	done
	set -- "$@" "$top/tests/integration/escape-bubblewrap-allowlist.sh" \
		"$top/tests/integration/escape-sessions-bubblewrap.sh"
fi
status=0
for t in "$@"; do
	name=$(basename "$t" .sh)
	out=$VG_LOG_DIR/$name.tap
	sh "$t" >"$out" 2>&1
	pass=$(grep -c '^ok ' "$out")
	fail=$(grep -c '^not ok ' "$out")
	echo "$name: $pass passed, $fail failed"
	if [ "$fail" -gt 0 ] || ! grep -q '^1\.\.' "$out"; then
		status=1
		grep -A8 '^not ok ' "$out" | head -n 40 | sed 's/^/  /'
	fi
done

# One log per runner process, and one per forked child that did not exec
# (valgrind follows the fork, not the exec).  A child that fails to exec
# leaves with _exit(): its leak report only shows the parent's memory it
# copied, so only access errors count there.  A runner log without a summary
# is a SIGKILLed runner.
pids=" "
for log in "$VG_LOG_DIR"/vg-*.log; do
	[ -e "$log" ] || continue
	p=${log##*/vg-}
	pids="$pids${p%.log} "
done
runners=0
children=0
killed=0
bad=0
access='^==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|Source and destination)'
for log in "$VG_LOG_DIR"/vg-*.log; do
	[ -e "$log" ] || continue
	parent=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\)$/\1/p' "$log")
	case $pids in
	*" $parent "*)
		children=$((children + 1))
		grep -qE "$access" "$log" || continue
		;;
	*)
		runners=$((runners + 1))
		if ! grep -q 'ERROR SUMMARY' "$log"; then
			killed=$((killed + 1))
			continue
		fi
		grep -q 'ERROR SUMMARY: [1-9]' "$log" || continue
		;;
	esac
	bad=$((bad + 1))
	echo "=== $log"
	grep -E "$access|^==[0-9]+== ([0-9,]+ bytes in|   (at|by) 0x)" "$log" | head -n 60
	grep 'ERROR SUMMARY' "$log"
done
echo "valgrind: $runners runner processes ($killed SIGKILLed, no summary), $children forked children," \
	"$bad with errors; logs in $VG_LOG_DIR"
[ "$bad" -eq 0 ] || status=1
exit $status
