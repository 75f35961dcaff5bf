#!/bin/sh
# The command executor: the SDK's handleItem() as the program, the on-work
# contract, lease kept or handed over, a lost lease, a killed program.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/command.mjs
