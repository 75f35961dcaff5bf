#!/bin/sh
# Run libFuzzer targets of this build for a bounded time each.
#   run.sh SECONDS TARGET...   (from the build directory; "make fuzz" calls it)
# Each target starts from its seed corpus (tests/fuzz/corpus/NAME, read
# only) plus a scratch corpus in $FUZZ_WORKDIR (default: a temporary
# directory, removed afterwards unless FUZZ_KEEP=1).  Crash, leak and
# timeout reproducers are left in FUZZ_ARTIFACTS (default: the build's
# tests/fuzz/artifacts/).  FUZZ_JOBS targets run at once (default: one a
# CPU; each fuzzer uses one).  Prints one line per target, in the order
# given, with libFuzzer's final figures; exits non-zero if any target found
# something.
set -u
seconds=$1
shift
jobs=${FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
srcdir=${ER_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
artifacts=${FUZZ_ARTIFACTS:-$(pwd)/tests/fuzz/artifacts}
mkdir -p "$artifacts"
work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/er-fuzz.XXXXXX")}
# One target; what it says goes to $work/$t.out, and $work/$t.failed
# marks one that found something.
fuzz_one() {
	t=$1
	bin=tests/fuzz/fuzz_$t
	seeds=$srcdir/tests/fuzz/corpus/$t
	corpus=$work/$t
	log=$work/$t.log
	mkdir -p "$corpus"
	if [ ! -x "$bin" ]; then
		echo "fuzz $t: $bin is not built" >"$work/$t.out"
		: >"$work/$t.failed"
		return
	fi
	# -rss_limit_mb: the targets cap their own buffers well below this.
	TMPDIR=$work "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t-" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		echo "fuzz $t: ok, ${seconds}s, ${runs:-?} runs, ${cov:-cov: ?}, ${ft:-ft: ?}, corpus $(ls "$corpus" | wc -l)" \
			>"$work/$t.out"
	else
		{
			echo "fuzz $t: FAILED (exit $rc), ${runs:-?} runs; reproducer in $artifacts"
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5
			tail -n 30 "$log" | sed 's/^/  /'
		} >"$work/$t.out"
		: >"$work/$t.failed"
	fi
}

running=0
for t in "$@"; do
	fuzz_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait
status=0
for t in "$@"; do
	cat "$work/$t.out"
	[ ! -e "$work/$t.failed" ] || status=1
done
[ "${FUZZ_KEEP:-0}" = 1 ] || [ -n "${FUZZ_WORKDIR:-}" ] || rm -rf "$work"
exit $status
