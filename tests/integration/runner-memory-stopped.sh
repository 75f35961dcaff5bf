#!/bin/sh
# A memory a stopped call moved away is pulled again, not deleted (differential).
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/memory-stopped.mjs
