#!/bin/sh
# Sandbox escape attempts under landlock with the runner itself unprivileged.
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" landlock user
