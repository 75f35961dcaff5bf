#!/bin/sh
# The event loop's cost per iteration against the number of idle watches,
# for core/loop.c of a revision (or the work tree), with each of its
# backends: instructions counted by callgrind (user space only, exact, the
# same on a busy machine) and CPU time measured natively (kernel included,
# noisy on a busy machine).  Runs bench/loop-bench.c.
#
#   bench/loop-profile.sh [REV...]      default: the work tree
#   LOOP_IDLE="0 600 6000" LOOP_ROUNDS=2000 (under callgrind; ten times that natively)
#   LOOP_ANNOTATE=PREFIX                  also write callgrind_annotate's summaries
#
# Prints a Markdown table.  A runner holds about 6.3 fds per session, so
# 600 and 6000 idle watches stand for 100 and 1000 sessions.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
idle_counts=${LOOP_IDLE:-0 600 6000}
rounds=${LOOP_ROUNDS:-2000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-loop.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
command -v valgrind >/dev/null 2>&1 || { echo "loop-profile.sh: needs valgrind" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# build NAME REV BACKEND: loop-bench against REV's loop.c with BACKEND
build() {
	dir="$tmp/$1"
	mkdir -p "$dir"
	if [ "$2" = worktree ]; then
		cp core/loop.c core/loop.h "$dir/"
	else
		git show "$2:core/loop.c" >"$dir/loop.c"
		git show "$2:core/loop.h" >"$dir/loop.h"
	fi
	if [ "$3" = epoll ]; then echo '#define HAVE_SYS_EPOLL_H 1' >"$dir/config.h"; else : >"$dir/config.h"; fi
	cc -std=c11 -D_GNU_SOURCE -O2 -g -I"$dir" -o "$dir/loop-bench" bench/loop-bench.c "$dir/loop.c" -lcurl
}

# Only the revision's own backends: one without epoll support has poll only.
variants=
for rev in ${*:-worktree}; do
	src=core/loop.c
	[ "$rev" = worktree ] || src="$rev:core/loop.c"
	if { [ "$rev" = worktree ] && grep -q HAVE_SYS_EPOLL_H core/loop.c; } ||
		{ [ "$rev" != worktree ] && git show "$src" | grep -q HAVE_SYS_EPOLL_H; }; then
		variants="$variants $rev:epoll"
	fi
	variants="$variants $rev:poll"
done

echo "| loop.c | backend | idle watches | instructions per iteration | CPU µs per iteration |"
echo "|---|---|---|---|---|"
for v in $variants; do
	rev=${v%:*}
	backend=${v#*:}
	name=$(echo "$rev-$backend" | tr -c 'A-Za-z0-9-\n' _)
	build "$name" "$rev" "$backend"
	for idle in $idle_counts; do
		# Each count less that of one round: the set-up (the pipes) is the same.
		full="$tmp/$name/callgrind.$idle"
		one="$tmp/$name/callgrind.$idle.1"
		valgrind --tool=callgrind --callgrind-out-file="$full" "$tmp/$name/loop-bench" "$idle" "$rounds" >/dev/null 2>&1
		valgrind --tool=callgrind --callgrind-out-file="$one" "$tmp/$name/loop-bench" "$idle" 1 >/dev/null 2>&1
		ir=$(sed -n 's/^summary: //p' "$full")
		ir1=$(sed -n 's/^summary: //p' "$one")
		us=$("$tmp/$name/loop-bench" "$idle" $((10 * rounds)))
		us1=$("$tmp/$name/loop-bench" "$idle" 1)
		hops=$((2 * (rounds - 1)))
		echo "| $rev | $backend | $idle | $(((ir - ir1) / hops)) | $(awk -v a="$us" -v b="$us1" -v n=$((20 * rounds - 2)) 'BEGIN { printf "%.1f", (a - b) / n }') |"
		if [ -n "${LOOP_ANNOTATE:-}" ]; then
			callgrind_annotate --inclusive=no --auto=no "$full" | sed -n '/PROGRAM TOTALS/,$p' |
				sed "s#$tmp/$name/##g; s#\[[^]]*/\([^/]*\)\]#[\1]#" | head -20 >"$LOOP_ANNOTATE-$name-$idle.txt"
		fi
	done
done
