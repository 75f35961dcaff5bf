#!/bin/sh
# user.interrupt cancels a running tool within about a second.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/interrupt.mjs
