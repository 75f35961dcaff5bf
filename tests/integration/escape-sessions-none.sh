#!/bin/sh
# Two sessions at once under none, --base-dir under /tmp: the runner's own
# bounds (the secret file, the total disk) hold; what none cannot isolate
# is reported.
ER_ESCAPE_CHECK=sessions.mjs
export ER_ESCAPE_CHECK
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" none
