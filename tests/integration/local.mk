# TAP shell tests, each against the real binary and plugins of this build.
TESTS += \
	tests/integration/cli.sh
EXTRA_DIST += tests/lib/tap.sh tests/integration/cli.sh
