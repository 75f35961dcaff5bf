#!/bin/sh
# Sandbox escape attempts under bubblewrap with --sandbox-network=allowlist
# and the runner itself unprivileged.
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" bubblewrap allowlist-user
