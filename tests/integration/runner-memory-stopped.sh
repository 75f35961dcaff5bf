#!/bin/sh
# Memory as SDK 1.17: a file a stopped call moved away is pulled again, not deleted; changes are flushed when the session goes idle (differential).
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/memory-stopped.mjs
