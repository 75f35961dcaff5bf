#!/bin/sh
# Two sessions at once under landlock, the runner unprivileged, --base-dir under /tmp:
# neither reaches the other's directory.
ER_ESCAPE_CHECK=sessions.mjs
export ER_ESCAPE_CHECK
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" landlock user
