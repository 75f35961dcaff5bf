#!/bin/sh
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"
out=$("$ER_RUNNER" --version)
case "$out" in "environment-runner "*) ok "--version names the program" ;; *) not_ok "--version: $out" ;; esac
done_testing
