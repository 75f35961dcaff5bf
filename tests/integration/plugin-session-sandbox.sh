#!/bin/sh
# A sandbox with per-session state (plugin ABI 1.2 session_start, session_end, cmd_sandbox_session).
ER_TEST_SANDBOX=${ER_FIXTURE_DIR:?}/sandbox-sessions.so
export ER_TEST_SANDBOX
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/plugin-session.mjs
