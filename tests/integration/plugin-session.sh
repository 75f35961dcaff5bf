#!/bin/sh
# A session served by an executor built against plugin ABI 1.2 (tool_call_err, session_log).
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/plugin-session.mjs
