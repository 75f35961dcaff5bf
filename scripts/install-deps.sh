#!/bin/sh
# Install the Debian/Ubuntu packages a fresh machine lacks to build and test
# environment-runner, then the SDK used by the end-to-end tests.  Safe to run
# again: it installs only what is missing, and runs apt-get update at most
# once.  Needs root (or sudo) only when something is missing.
set -eu
cd "$(dirname "$0")/.."

packages="build-essential autoconf automake libtool pkg-config libcurl4-openssl-dev \
libjsmn-dev libcmocka-dev bubblewrap firejail ripgrep clang clang-format python3 openssl acl \
dpkg-dev debhelper lintian debootstrap systemd-container"
# Node.js only when there is no node at all (a newer one may be installed
# another way).
command -v node >/dev/null 2>&1 || packages="$packages nodejs npm"

missing=
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			SUDO=sudo
		else
			echo "install-deps: missing:$missing; run this script as root" >&2
			exit 1
		fi
	else
		SUDO=
	fi
	echo "install-deps: installing$missing"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086 # a word list
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
else
	echo "install-deps: every package is installed"
fi

# The official SDK, for the end-to-end tests (tests/sdk).  Those tests skip
# when it is absent, so a failure here is a warning, not an error.
if [ -f tests/sdk/package.json ]; then
	if ! npm install --prefix tests/sdk --no-audit --no-fund; then
		echo "install-deps: warning: npm install in tests/sdk failed; SDK tests will skip" >&2
	fi
fi
# The Claude Code CLI for the claude-code executor's test (it skips when the
# CLI is absent).
if [ -f tests/claude-code/package.json ]; then
	if ! npm install --prefix tests/claude-code --no-audit --no-fund; then
		echo "install-deps: warning: npm install in tests/claude-code failed; its test will skip" >&2
	fi
fi
