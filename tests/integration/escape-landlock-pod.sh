#!/bin/sh
# Sandbox escape attempts with the runner in the pod-like harness (tests/pod),
# where the default backend is landlock.
exec sh "${ER_TOP_SRCDIR:?}/tests/escape/escape.sh" landlock pod
