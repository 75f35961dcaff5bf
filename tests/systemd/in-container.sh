#!/bin/sh
# Runs inside the booted container (er-check.service, a oneshot): installs
# the package, configures and starts its unit, waits until the host has
# seen a session served, stops the unit (a drain), purges the package, and
# writes what it found to /check/result (NAME=VALUE lines), then powers off.
set -u
out=/check/result
: >"$out"
say() { printf '%s=%s\n' "$1" "$2" >>"$out"; }
finish() {
	say done yes
	systemctl poweroff --no-block
	exit 0
}

if ! dpkg -i /check/debs/environment-runner_*.deb >/check/dpkg-install.log 2>&1; then
	say installed no
	finish
fi
say installed yes
say user "$(getent passwd environment-runner | cut -d: -f1,7)"
say etc_dir "$(stat -c '%a %U' /etc/environment-runner)"
say unit_enabled "$(systemctl is-enabled environment-runner 2>&1)"

# The settings the host wrote, and the key where the unit's
# LoadCredential= reads it: root's, 0600.
cat /check/runner.conf >>/etc/environment-runner/runner.conf
install -m 600 /check/service-key /etc/environment-runner/service-key
systemctl start environment-runner
say started "$(systemctl is-active environment-runner)"
systemd-analyze security environment-runner >/check/security.txt 2>&1
say exposure "$(sed -n 's/.*Overall exposure level for environment-runner.service: \([0-9.]*\) \(.*\)/\1 \2/p' /check/security.txt)"

# The host serves "What's 2 + 2?" and says when it is done (or gives up).
i=0
while [ ! -e /check/served ] && [ $i -lt 900 ]; do
	sleep 0.2
	i=$((i + 1))
done
say active_while_serving "$(systemctl is-active environment-runner)"
systemctl stop environment-runner
say stop_result "$(systemctl show -P Result environment-runner)"
say exit_status "$(systemctl show -P ExecMainStatus environment-runner)"
journalctl -u environment-runner --no-pager -o cat >/check/journal.txt 2>&1

dpkg --purge environment-runner >/check/dpkg-purge.log 2>&1 && say purged yes || say purged no
left=
for f in /usr/bin/environment-runner /etc/environment-runner /lib/systemd/system/environment-runner.service \
	/var/lib/environment-runner; do
	[ -e "$f" ] && left="$left $f"
done
say left_after_purge "${left:-none}"
finish
