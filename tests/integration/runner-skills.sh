#!/bin/sh
# Skills: zip and tar.gz archives unpacked into <workdir>/skills exactly as
# the SDK's worker does it (differential), and hostile archives refused.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/skills.mjs
