#!/bin/sh
# Sandbox escape attempts through the real runner (root) under the landlock backend.
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" landlock
