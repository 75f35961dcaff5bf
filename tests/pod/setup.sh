# Sourced by tests/integration/pod*.sh: run the runner of the check in the
# pod-like harness (runner.sh) with the default sandbox backend, or skip.
skip() {
	echo "1..0 # SKIP $*"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "the pod-like harness needs root to set itself up"
[ -x "${ER_TOP_BUILDDIR:?}/tests/pod/er-pod" ] || skip "er-pod is not built here"
helper=$ER_TOP_BUILDDIR/plugins/sandbox-landlock/er-sandbox-landlock
[ -x "$helper" ] || skip "the landlock backend is not built here"
ER_POD_RUNNER=${ER_RUNNER:?}
ER_RUNNER=$ER_TOP_SRCDIR/tests/pod/runner.sh
ER_TEST_SANDBOX=default
ER_TEST_SANDBOX_UID=${ER_POD_UID:-10001}
ER_TEST_SANDBOX_ARGS="--plugin-option=landlock.helper=$helper"
export ER_POD_RUNNER ER_RUNNER ER_TEST_SANDBOX ER_TEST_SANDBOX_UID ER_TEST_SANDBOX_ARGS
