#!/bin/bash
# Run every test, as on a fresh Debian machine:
#   install missing packages, lint, autogen, then two out-of-tree builds in
#   build/ (the default one, and --disable-linux-extras built with ASan and
#   UBSan), each with `make check`, and a libFuzzer smoke run of every fuzz
#   target when clang can link libFuzzer.  Prints the test-suite.log of a
#   failing build and ends with one line "N passed, N failed" summed over
#   everything.
#
# Counting: each TAP test point of a script test counts once; each cmocka
# test case counts once (from the binary's summary); any other test program
# counts once.  Skipped tests are reported on their own line.
#
# Options (environment): JOBS (default: number of CPUs), SKIP_DEPS=1 to skip
# the package step, CONFIGURE_FLAGS for extra configure flags, FUZZ_SECONDS
# per fuzz target (default 10; 0 skips the fuzz smoke), SKIP_SYSTEMD_UNIT=1
# to skip the package's systemd check.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
status=0

if [ "${SKIP_DEPS:-0}" != 1 ]; then
	scripts/install-deps.sh || { echo "check: installing dependencies failed" >&2; exit 1; }
fi
scripts/lint.sh || status=1
./autogen.sh >/dev/null 2>&1 || { echo "check: ./autogen.sh failed" >&2; ./autogen.sh; exit 1; }

passed=0
failed=0
skipped=0

# Add one build's results to the totals.
count_results() {
	local dir=$1 trs log base p f s r e
	while IFS= read -r trs; do
		base=${trs%.trs}
		log=$base.log
		if grep -q '^\[==========\] Running' "$log" 2>/dev/null; then
			# A cmocka binary: its own summary, if it got that far.
			p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | tail -n 1)
			f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" |
				tail -n 1)
			s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" |
				tail -n 1)
			r=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
			p=${p:-0} f=${f:-0} s=${s:-0}
			# A crash or a bad exit status with no failure in the summary.
			if [ "$f" -eq 0 ] && [ "$r" != PASS ] && [ "$r" != SKIP ]; then
				f=1
			fi
			passed=$((passed + p))
			failed=$((failed + f))
			skipped=$((skipped + s))
			continue
		fi
		# TAP scripts (one line per test point) and plain programs (one line).
		# The TAP driver adds an ERROR for a non-zero exit status, which a
		# failing test point already causes: count it only when no test
		# point failed (a crash, a bad plan).
		f=0
		e=0
		while IFS= read -r r; do
			case "$r" in
			PASS | XFAIL) passed=$((passed + 1)) ;;
			SKIP) skipped=$((skipped + 1)) ;;
			ERROR) e=$((e + 1)) ;;
			*) f=$((f + 1)) ;;
			esac
		done < <(sed -n 's/^:test-result: \([A-Z]*\).*/\1/p' "$trs")
		[ "$f" -gt 0 ] || f=$e
		failed=$((failed + f))
	done < <(find "$dir" -name '*.trs' | sort)
}

# build NAME CONFIGURE-FLAGS...
build() {
	local name=$1 dir=$top/build/$1
	shift
	echo "=== build/$name: configure $*"
	mkdir -p "$dir"
	find "$dir" -name '*.trs' -delete 2>/dev/null
	if ! (cd "$dir" && "$top/configure" --enable-werror "$@" ${CONFIGURE_FLAGS:-} \
		>configure.out 2>&1); then
		tail -n 30 "$dir/configure.out"
		echo "check: build/$name: configure failed" >&2
		failed=$((failed + 1))
		status=1
		return
	fi
	if ! make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1; then
		grep -E 'error|warning' "$dir/make.out" | head -n 40
		echo "check: build/$name: make failed" >&2
		failed=$((failed + 1))
		status=1
		return
	fi
	echo "=== build/$name: make check"
	# Keep every runner's log, so that they can be searched for credentials.
	rm -rf "$dir/runner-logs"
	mkdir -p "$dir/runner-logs"
	if ! ER_RUNNER_LOG_DIR=$dir/runner-logs make -C "$dir" -j"$jobs" check \
		>"$dir/check.out" 2>&1; then
		status=1
		grep -E '^(FAIL|ERROR|XPASS):' "$dir/check.out"
		if [ -f "$dir/test-suite.log" ]; then
			echo "=== build/$name/test-suite.log"
			cat "$dir/test-suite.log"
		else
			tail -n 40 "$dir/check.out"
			failed=$((failed + 1))
		fi
	fi
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$dir/check.out" |
		sed "s|^|build/$name: |"
	count_results "$dir"
	no_credentials_in_logs "$name" "$dir"
}

# One more test per build: no log the suite produced (test logs and every
# runner's own log) holds a credential of the kinds the tests hand out:
# environment keys, sessions tokens, API keys.
no_credentials_in_logs() {
	local name=$1 dir=$2 hits n
	n=$(find "$dir/runner-logs" -type f | wc -l)
	hits=$(grep -rlE 'sk-ant-(oat01|req|api03)-' --include='*.log' "$dir/runner-logs" "$dir/tests" \
		2>/dev/null | head -n 5)
	if [ -n "$hits" ]; then
		echo "build/$name: a credential appears in these logs:"
		echo "$hits"
		failed=$((failed + 1))
		status=1
	elif [ "$n" -eq 0 ]; then
		echo "build/$name: no runner log was kept: the credential search had nothing to read"
		failed=$((failed + 1))
		status=1
	else
		echo "build/$name: no credential in $n runner logs nor in the test logs"
		passed=$((passed + 1))
	fi
}

# make distcheck from the main build: the tarball carries every test, the
# control plane and the scripts, and builds and passes from there (the Node
# checks skip: node_modules is not distributed).  One test; about a minute
# on two cores.  SKIP_DISTCHECK=1 skips it.
distcheck() {
	local dir=$top/build/main
	[ "${SKIP_DISTCHECK:-0}" != 1 ] && [ -f "$dir/Makefile" ] || return
	echo "=== build/main: make distcheck"
	if make -C "$dir" -j"$jobs" distcheck >"$dir/distcheck.out" 2>&1; then
		passed=$((passed + 1))
	else
		grep -E '^(FAIL|ERROR)|ERROR:|Error ' "$dir/distcheck.out" | head -n 20
		# The failing tests' own output, which distcheck leaves in its tree.
		find "$dir" -path '*/_build/*' -name test-suite.log -exec cat {} + 2>/dev/null |
			head -n 200
		failed=$((failed + 1))
		status=1
	fi
}

# libFuzzer smoke: each target for FUZZ_SECONDS from its seed corpus; one
# test per target.  Skipped where clang cannot link libFuzzer.
fuzz_smoke() {
	local dir=$top/build/fuzz secs=${FUZZ_SECONDS:-10} line
	[ "$secs" -gt 0 ] || return
	mkdir -p "$dir"
	if ! command -v clang >/dev/null 2>&1 ||
		! (cd "$dir" && "$top/configure" CC=clang --enable-werror --enable-fuzzing \
			>configure.out 2>&1); then
		echo "=== build/fuzz: skipped (no clang with libFuzzer)"
		skipped=$((skipped + 1))
		return
	fi
	# The whole tree with clang and -Werror first: warning-free under both
	# compilers, counted as one test.
	echo "=== build/fuzz: make (clang, -Werror)"
	if make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1; then
		echo "build/fuzz: the whole tree builds with clang without a warning"
		passed=$((passed + 1))
	else
		grep -E 'error|warning' "$dir/make.out" | head -n 40
		failed=$((failed + 1))
		status=1
	fi
	echo "=== build/fuzz: make fuzz FUZZ_SECONDS=$secs"
	make -C "$dir" -j"$jobs" fuzz FUZZ_SECONDS="$secs" >"$dir/fuzz.out" 2>&1 || status=1
	if ! grep -q '^fuzz [a-z_]*: ' "$dir/fuzz.out"; then
		tail -n 40 "$dir/fuzz.out"
		failed=$((failed + 1))
		status=1
		return
	fi
	while IFS= read -r line; do
		echo "build/fuzz: $line"
		case "$line" in
		*": ok,"*) passed=$((passed + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done < <(grep '^fuzz [a-z_]*: ' "$dir/fuzz.out")
	grep -q 'FAILED' "$dir/fuzz.out" && sed -n '/FAILED/,/^fuzz /p' "$dir/fuzz.out" | head -n 60
}

# The Debian package's systemd unit under a real systemd: builds the
# package, boots a debootstrap tree with systemd-nspawn and serves a session
# there (tests/integration/systemd-unit.sh; about 2 minutes, half a minute with
# build/systemd-test kept).  Each test point counts once.
# SKIP_SYSTEMD_UNIT=1 skips it.
systemd_unit() {
	local out=$top/build/systemd-unit.out p f
	[ "${SKIP_SYSTEMD_UNIT:-0}" != 1 ] || return
	echo "=== tests/integration/systemd-unit.sh"
	mkdir -p "$top/build"
	ER_TOP_SRCDIR=$top sh tests/integration/systemd-unit.sh >"$out" 2>&1
	if grep -q '^1\.\.0 # SKIP' "$out"; then
		sed -n 's/^1\.\.0 # SKIP/systemd-unit.sh: skipped:/p' "$out"
		skipped=$((skipped + 1))
		return
	fi
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ] || [ "$p" -eq 0 ]; then
		cat "$out"
		[ "$p" -gt 0 ] || failed=$((failed + 1))
		status=1
	fi
}

build main
# The portable paths under AddressSanitizer and UndefinedBehaviorSanitizer,
# with the bundled jsmn.h that a macOS build uses: one build covers all three
# for the time of one.
build portable --disable-linux-extras --enable-sanitizers --with-bundled-jsmn
fuzz_smoke
distcheck
systemd_unit

if [ "$failed" -gt 0 ]; then
	status=1
fi
echo "$skipped skipped"
echo "$passed passed, $failed failed"
exit "$status"
