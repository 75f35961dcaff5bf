#!/bin/sh
# Run libFuzzer targets of this build for a bounded time each.
#   run.sh SECONDS TARGET...   (from the build directory; "make fuzz" calls it)
# Each target starts from its seed corpus (tests/fuzz/corpus/NAME, read
# only) plus a scratch corpus in $FUZZ_WORKDIR (default: a temporary
# directory, removed afterwards unless FUZZ_KEEP=1).  Crash, leak and
# timeout reproducers are left in FUZZ_ARTIFACTS (default: the build's
# tests/fuzz/artifacts/).  Prints one line per target with libFuzzer's final
# figures; exits non-zero if any target found something.
set -u
seconds=$1
shift
srcdir=${ER_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
artifacts=${FUZZ_ARTIFACTS:-$(pwd)/tests/fuzz/artifacts}
mkdir -p "$artifacts"
work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/er-fuzz.XXXXXX")}
status=0
for t in "$@"; do
	bin=tests/fuzz/fuzz_$t
	seeds=$srcdir/tests/fuzz/corpus/$t
	corpus=$work/$t
	log=$work/$t.log
	mkdir -p "$corpus"
	if [ ! -x "$bin" ]; then
		echo "fuzz $t: $bin is not built" >&2
		status=1
		continue
	fi
	# -rss_limit_mb: the targets cap their own buffers well below this.
	TMPDIR=$work "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t-" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		echo "fuzz $t: ok, ${seconds}s, ${runs:-?} runs, ${cov:-cov: ?}, ${ft:-ft: ?}, corpus $(ls "$corpus" | wc -l)"
	else
		status=1
		echo "fuzz $t: FAILED (exit $rc), ${runs:-?} runs; reproducer in $artifacts"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5
		tail -n 30 "$log" | sed 's/^/  /'
	fi
done
[ "${FUZZ_KEEP:-0}" = 1 ] || [ -n "${FUZZ_WORKDIR:-}" ] || rm -rf "$work"
exit $status
