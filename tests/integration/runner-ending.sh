#!/bin/sh
# Archive, deletion or a server stop request under a running tool: cancelled at once, item stopped.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/ending.mjs
