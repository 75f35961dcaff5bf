#!/bin/sh
# Two sessions at once under landlock, the runner as root, --base-dir outside /tmp:
# neither reaches the other's directory.
ER_ESCAPE_BASE=outside
ER_ESCAPE_CHECK=sessions.mjs
export ER_ESCAPE_CHECK ER_ESCAPE_BASE
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" landlock
