#!/bin/sh
# sample-config/: the systemd unit verifies (where systemd-analyze exists),
# its stop timeout and the Kubernetes grace periods cover the shutdown budget
# the runner prints with those settings, and the on-work script parses; the
# manual page names every flag.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-sample.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
sc=$ER_TOP_SRCDIR/sample-config
unit=$sc/systemd/environment-runner.service

if command -v systemd-analyze >/dev/null 2>&1; then
	# The unit names the installed binary; verify it against this build's.
	sed "s|/usr/local/bin/environment-runner|$ER_RUNNER|" "$unit" >"$tmp/environment-runner.service"
	if systemd-analyze verify --man=no "$tmp/environment-runner.service" >"$tmp/verify" 2>&1 &&
		! grep -q 'environment-runner.service' "$tmp/verify"; then
		ok "the systemd unit verifies"
	else
		not_ok "the systemd unit verifies"
		diag "$(cat "$tmp/verify")"
	fi
else
	skip "systemd-analyze is not installed"
fi
for opt in NoNewPrivileges=yes ProtectSystem=strict User=environment-runner ExecReload=; do
	grep -q "^$opt" "$unit" || not_ok "the unit sets $opt"
done
ok "the unit is hardened (NoNewPrivileges, ProtectSystem, a dedicated user) and reloads with SIGHUP"

# RestartPreventExitStatus= is exactly the README's exit statuses that a
# restart does not help.
table=$(sed -n 's/^| \([0-9]*\) | .* | no |$/\1/p' "$ER_TOP_SRCDIR/README.md" | tr '\n' ' ')
prevent=$(sed -n 's/^RestartPreventExitStatus=//p' "$unit")
if [ -n "$table" ] && [ "$prevent " = "$table" ]; then
	ok "RestartPreventExitStatus=$prevent matches the README's table"
else
	not_ok "RestartPreventExitStatus=$prevent matches the README's table ($table)"
fi

# budget FLAGS...: the shutdown budget the runner prints with these flags.
printf 'sk-ant-oat01-sample-config-check-0000\n' >"$tmp/key"
chmod 600 "$tmp/key"
budget() {
	log=$(mktemp "$tmp/budget.XXXXXX")
	"$ER_RUNNER" orchestrator --environment-id env_sample --service-key-file "$tmp/key" \
		--api-url http://127.0.0.1:9 --sandbox-backend none --health-port 0 \
		--base-dir "$tmp/base" "$@" >"$log" 2>&1 &
	pid=$!
	i=0
	while ! grep -q 'shutdown budget' "$log" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -INT $pid 2>/dev/null
	kill -INT $pid 2>/dev/null
	wait $pid 2>/dev/null
	cat "$log" >>"$tmp/log"
	sed -n 's/.*shutdown budget: \([0-9]*\) s after SIGTERM.*/\1/p' "$log" | head -n 1
}

b=$(budget --hooks-dir "$tmp")
t=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
if [ -n "$b" ] && [ "$t" -ge "$b" ]; then
	ok "TimeoutStopSec=$t covers the budget with a hooks directory ($b s)"
else
	not_ok "TimeoutStopSec=$t covers the budget with a hooks directory (${b:-none} s)"
	diag "$(cat "$tmp/log")"
fi
b=$(budget --drain-wait-sec 30)
for f in "$sc/kubernetes/deployment.yaml" "$sc/kubernetes/job-per-item/orchestrator.yaml"; do
	g=$(sed -n 's/^ *terminationGracePeriodSeconds: *//p' "$f" | head -n 1)
	if [ -n "$b" ] && [ "$g" = "$b" ]; then
		ok "$(basename "$f"): terminationGracePeriodSeconds is the printed budget ($b s)"
	else
		not_ok "$(basename "$f"): terminationGracePeriodSeconds $g is the printed budget (${b:-none} s)"
	fi
done
grep -q 'path: /readyz' "$sc/kubernetes/deployment.yaml" && ok "the Deployment's readiness probe is /readyz" ||
	not_ok "the Deployment's readiness probe is /readyz"
check "on-work.sh parses" sh -n "$sc/kubernetes/job-per-item/on-work.sh"

# The manual page names every flag of --help (hyphens escaped as \-).
missing=
for verb in orchestrator run-item; do
	for flag in $("$ER_RUNNER" $verb --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p'); do
		grep -qF -- "$(printf '%s' "$flag" | sed 's/-/\\-/g')" "$ER_TOP_SRCDIR/man/environment-runner.8" ||
			missing="$missing $flag"
	done
done
if [ -z "$missing" ]; then
	ok "man/environment-runner.8 documents every flag of orchestrator and run-item --help"
else
	not_ok "man/environment-runner.8 lacks:$missing"
fi
done_testing
