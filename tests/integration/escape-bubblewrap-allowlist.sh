#!/bin/sh
# Sandbox escape attempts under bubblewrap with --sandbox-network=allowlist:
# only the allowed name is reachable, through the runner's proxy.
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" bubblewrap allowlist
