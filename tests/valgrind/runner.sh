#!/bin/sh
# Stands in for environment-runner under valgrind (scripts/valgrind-check.sh
# points ER_RUNNER here).  Memcheck with leak checking; each process writes
# its own log into $VG_LOG_DIR.  Tool processes (children) are not traced.
: "${VG_REAL_RUNNER:?}" "${VG_LOG_DIR:?}"
ER_NO_DLCLOSE=1
export ER_NO_DLCLOSE
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=30 \
	--suppressions="$(dirname "$0")/runner.supp" \
	--log-file="$VG_LOG_DIR/vg-%p.log" "$VG_REAL_RUNNER" "$@"
