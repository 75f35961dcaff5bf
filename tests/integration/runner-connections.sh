#!/bin/sh
# Short requests hold a capped number of connections; heartbeats never wait behind them.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/connections.mjs
