#!/bin/sh
# Sandbox escape attempts under bubblewrap with the runner itself unprivileged.
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" bubblewrap user
