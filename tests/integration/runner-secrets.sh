#!/bin/sh
# Secret hygiene: no key or sessions token in logs, argv, environments, tool
# output or metrics while sessions run; an unsafe key file is refused.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/secrets.mjs
