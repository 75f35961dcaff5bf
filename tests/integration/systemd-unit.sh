#!/bin/sh
# The Debian package's unit under a real systemd (tests/runner/systemd-unit.mjs):
# builds the package from this tree (debian/, dpkg-buildpackage; lintian
# must report no error), boots a
# minimal Debian 12 tree with systemd-nspawn, installs, starts, serves a
# session under bubblewrap, stops and purges there.  Nothing is installed on
# the host.  The package (rebuilt when the tree changes) and the debootstrap
# tree are kept in build/systemd-test of the source tree, so that a rerun
# takes a minute.  Skips, with the reason, where it cannot run: not root, no
# debootstrap, systemd-nspawn or dpkg-buildpackage, no Debian mirror.
set -u
srcdir=${ER_TOP_SRCDIR:?}
cache=$srcdir/build/systemd-test
skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn dpkg-buildpackage; do
	command -v $tool >/dev/null 2>&1 || skip_all "$tool is not installed (scripts/install-deps.sh)"
done
[ -d "$srcdir/debian" ] || skip_all "no debian/ in this tree"
mkdir -p "$cache" || exit 99

# The minimal tree, with the package's dependencies so that dpkg -i needs no
# network inside: fetched while the package builds.
bootstrap=
if [ ! -d "$cache/bookworm" ]; then
	(
		rm -rf "$cache/bookworm.new"
		debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libcurl4,bubblewrap,ca-certificates \
			bookworm "$cache/bookworm.new" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 &&
			mv "$cache/bookworm.new" "$cache/bookworm"
	) &
	bootstrap=$!
	# An early exit waits for it: nothing is left running.
	trap 'wait "$bootstrap"' EXIT
fi

# The package, built from a copy of the tree (dpkg-buildpackage writes to
# the parent directory) when the tree's files changed since the last build.
hash=$(cd "$srcdir" && git ls-files -co --exclude-standard 2>/dev/null | grep -v '^build/' | sort |
	xargs -d '\n' sha256sum 2>/dev/null | sha256sum | cut -c1-16)
debs=$cache/debs-$hash
if [ ! -e "$debs/environment-runner_"*.deb ] 2>/dev/null || ! ls "$debs"/environment-runner_*.deb >/dev/null 2>&1; then
	rm -rf "$cache"/debs-* "$cache/pkg"
	mkdir -p "$cache/pkg/src" "$debs"
	(cd "$srcdir" && git ls-files -co --exclude-standard | grep -v '^build/' |
		xargs -d '\n' cp --parents -t "$cache/pkg/src") || exit 99
	if ! (cd "$cache/pkg/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
		>"$cache/pkg/build.log" 2>&1; then
		echo "1..1"
		echo "not ok 1 - dpkg-buildpackage -us -uc -b"
		tail -n 30 "$cache/pkg/build.log" | sed 's/^/# /'
		exit 0
	fi
	mv "$cache"/pkg/*.deb "$debs"/
fi

# lintian on what was built: errors fail the check (tests/runner/systemd-unit.mjs).
if command -v lintian >/dev/null 2>&1; then
	lintian --fail-on error "$debs"/*.deb >"$cache/lintian.log" 2>&1
	lintian_status=$?
else
	echo "lintian is not installed" >"$cache/lintian.log"
	lintian_status=skip
fi

# The minimal tree has come down meanwhile, or not.
if [ -n "$bootstrap" ] && ! wait "$bootstrap"; then
	tail -n 5 "$cache/debootstrap.log"
	skip_all "debootstrap bookworm failed (no Debian mirror?): see $cache/debootstrap.log"
fi

# A fresh copy per run, with the check's oneshot unit enabled.
tree=$cache/run
rm -rf "$tree"
cp -a "$cache/bookworm" "$tree" || exit 99
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/check/debs"
cp "$debs"/*.deb "$tree/check/debs/"
cp "$srcdir/tests/systemd/in-container.sh" "$tree/check/run.sh"
cat >"$tree/etc/systemd/system/er-check.service" <<'UNIT'
[Unit]
Description=environment-runner package check
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/check/run.sh
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$tree/etc/systemd/system/multi-user.target.wants"
ln -sf ../er-check.service "$tree/etc/systemd/system/multi-user.target.wants/er-check.service"
# No getty on the container's console, no clock or machine-id work to wait for.
ln -sf /dev/null "$tree/etc/systemd/system/console-getty.service"
: >"$tree/etc/machine-id"

ER_LINTIAN_STATUS=$lintian_status ER_LINTIAN_LOG=$cache/lintian.log \
ER_SYSTEMD_TREE=$tree SDK_CHECK_TIMEOUT=${SDK_CHECK_TIMEOUT:-300} \
	sh "$srcdir/tests/sdk/run-check.sh" ../runner/systemd-unit.mjs
