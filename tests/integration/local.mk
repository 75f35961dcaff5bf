# TAP shell tests, each against the real binary and plugins of this build.
TESTS += \
	tests/integration/fd-limit.sh \
	tests/integration/cli.sh \
	tests/integration/key-files.sh \
	tests/integration/plugins.sh \
	tests/integration/plugin-check.sh \
	tests/integration/install.sh
EXTRA_DIST += tests/lib/tap.sh tests/integration/fd-limit.sh tests/integration/cli.sh tests/integration/plugins.sh \
	tests/integration/plugin-check.sh \
	tests/integration/key-files.sh \
	tests/integration/install.sh
# The Debian package and its unit under a real systemd: run once by
# scripts/check.sh, not by make check (it builds the package from the tree).
EXTRA_DIST += tests/integration/systemd-unit.sh tests/runner/systemd-unit.mjs \
	tests/systemd/in-container.sh debian/changelog debian/control debian/copyright debian/rules \
	debian/source/format debian/not-installed debian/environment-runner.sysusers \
	debian/environment-runner.install debian/environment-runner.docs \
	debian/environment-runner.postinst debian/environment-runner.postrm \
	debian/environment-runner-dev.install debian/environment-runner-dev.docs \
	debian/environment-runner-dev.examples

# The local control plane (tests/controlplane) and the official SDK against it
# (tests/sdk; skipped until `npm install --prefix tests/sdk` has run).
SDK_TESTS = \
	tests/integration/sdk-cookbook.sh \
	tests/integration/sdk-api.sh \
	tests/integration/sdk-auth.sh \
	tests/integration/sdk-worker-tools.sh \
	tests/integration/sdk-worker-faults.sh \
	tests/integration/sdk-demo.sh \
	tests/integration/controlplane-selftest.sh
TESTS += $(SDK_TESTS)
EXTRA_DIST += $(SDK_TESTS) scripts/demo.mjs tests/controlplane/selftest.mjs \
	tests/controlplane/README.md tests/controlplane/server.mjs tests/controlplane/plane.mjs \
	tests/controlplane/http.mjs tests/controlplane/listen.mjs tests/controlplane/auth.mjs tests/controlplane/work.mjs \
	tests/controlplane/sessions.mjs tests/controlplane/environments.mjs tests/controlplane/agent.mjs \
	tests/controlplane/faults.mjs tests/controlplane/report.mjs tests/controlplane/admin.mjs \
	tests/sdk/README.md tests/sdk/package.json tests/sdk/.npmrc tests/sdk/run-check.sh tests/sdk/lib.mjs \
	tests/sdk/sdk-worker.mjs tests/sdk/cookbook.mjs tests/sdk/api.mjs tests/sdk/auth.mjs \
	tests/sdk/worker-tools.mjs tests/sdk/worker-faults.mjs tests/sdk/demo-check.mjs

# The C runner end to end against the local control plane (tests/runner).
RUNNER_TESTS = \
	tests/integration/runner-basic.sh \
	tests/integration/runner-differential.sh \
	tests/integration/runner-sigkill.sh \
	tests/integration/runner-restart.sh \
	tests/integration/runner-upgrade.sh \
	tests/integration/runner-upgrade-bubblewrap.sh \
	tests/integration/runner-lease-lost.sh \
	tests/integration/runner-lease-claim.sh \
	tests/integration/runner-faults.sh \
	tests/integration/runner-sigterm.sh \
	tests/integration/runner-capacity.sh \
	tests/integration/runner-connections.sh \
	tests/integration/runner-descriptors.sh \
	tests/integration/runner-interrupt.sh \
	tests/integration/runner-bad-input.sh \
	tests/integration/runner-permissions.sh \
	tests/integration/runner-ending.sh \
	tests/integration/runner-tls-proxy.sh \
	tests/integration/runner-http2.sh \
	tests/integration/plugin-session.sh \
	tests/integration/plugin-session-sandbox.sh
TESTS += $(RUNNER_TESTS)
EXTRA_DIST += $(RUNNER_TESTS) tests/runner/lib.mjs tests/runner/basic.mjs \
	tests/runner/differential.mjs tests/runner/sigkill.mjs tests/runner/restart.mjs tests/runner/upgrade.mjs tests/runner/lease-lost.mjs tests/runner/lease-claim.mjs tests/runner/faults.mjs \
	tests/runner/sigterm.mjs tests/runner/capacity.mjs tests/runner/connections.mjs tests/runner/descriptors.mjs tests/runner/interrupt.mjs tests/runner/bad-input.mjs \
	tests/runner/permissions.mjs tests/runner/ending.mjs tests/runner/tls-proxy.mjs tests/runner/http2.mjs tests/runner/README.md \
	tests/runner/plugin-session.mjs

# Operating it: the status listener and metrics, drain, watchdogs, hooks,
# lifecycle limits, --on-work with run-item, and sample-config/.
OPS_TESTS = \
	tests/integration/runner-status.sh \
	tests/integration/runner-lifecycle.sh \
	tests/integration/runner-drain.sh \
	tests/integration/runner-onwork.sh \
	tests/integration/sample-config.sh
TESTS += $(OPS_TESTS)
EXTRA_DIST += $(OPS_TESTS) tests/runner/status.mjs tests/runner/lifecycle.mjs \
	tests/runner/drain.mjs tests/runner/onwork.mjs tests/runner/kubectl-standin.mjs

# Hardening: a soak under faults, secret hygiene, hostile input.
HARDENING_TESTS = \
	tests/integration/runner-soak.sh \
	tests/integration/runner-secrets.sh \
	tests/integration/runner-hostile.sh
TESTS += $(HARDENING_TESTS)
EXTRA_DIST += $(HARDENING_TESTS) tests/runner/soak.mjs tests/runner/secrets.mjs tests/runner/hostile.mjs

# Skills and memory stores prepared by the core, against the SDK's worker.
PREPARE_TESTS = \
	tests/integration/runner-skills.sh \
	tests/integration/runner-memory.sh \
	tests/integration/runner-memory-stopped.sh
TESTS += $(PREPARE_TESTS)
EXTRA_DIST += $(PREPARE_TESTS) tests/runner/archives.mjs tests/runner/skills.mjs \
	tests/runner/memory.mjs tests/runner/memory-stopped.mjs tests/controlplane/skills.mjs \
	tests/controlplane/memory.mjs

# Sandbox escape attempts through the real runner, per backend (tests/escape;
# each skips with the reason where its backend cannot run), and the runner
# checks again with every command under bubblewrap and under landlock.
ESCAPE_TESTS = \
	tests/integration/escape-none.sh \
	tests/integration/escape-bubblewrap.sh \
	tests/integration/escape-bubblewrap-user.sh \
	tests/integration/escape-bubblewrap-allowlist.sh \
	tests/integration/escape-bubblewrap-allowlist-user.sh \
	tests/integration/escape-landlock.sh \
	tests/integration/escape-landlock-user.sh \
	tests/integration/escape-landlock-pod.sh \
	tests/integration/escape-firejail.sh \
	tests/integration/escape-sessions-none.sh \
	tests/integration/escape-sessions-bubblewrap.sh \
	tests/integration/escape-sessions-bubblewrap-user.sh \
	tests/integration/escape-sessions-firejail.sh \
	tests/integration/escape-sessions-firejail-user.sh \
	tests/integration/escape-sessions-landlock.sh \
	tests/integration/escape-sessions-landlock-user.sh \
	tests/integration/runner-basic-bubblewrap.sh \
	tests/integration/runner-basic-landlock.sh \
	tests/integration/runner-landlock.sh \
	tests/integration/sandbox-default.sh \
	tests/integration/runner-differential-bubblewrap.sh
TESTS += $(ESCAPE_TESTS)
check_PROGRAMS += tests/escape/er-escape-attempt
tests_escape_er_escape_attempt_SOURCES = tests/escape/attempt.c
EXTRA_DIST += $(ESCAPE_TESTS) tests/escape/escape.sh tests/escape/escape.mjs \
	tests/escape/sessions.mjs tests/runner/sandbox-default.mjs tests/runner/landlock.mjs

# The runner in a pod-like harness (tests/pod: a non-root uid, no
# capability, a read-only root, no new namespaces, Secret-like key files):
# the default backend is landlock, and the runner checks pass under it.
POD_TESTS = \
	tests/integration/pod.sh \
	tests/integration/pod-basic.sh \
	tests/integration/pod-differential.sh \
	tests/integration/pod-samples.sh
TESTS += $(POD_TESTS)
EXTRA_DIST += $(POD_TESTS) tests/pod/pod.mjs tests/pod/samples.mjs tests/pod/runner.sh \
	tests/pod/setup.sh
if LINUX_LANDLOCK
check_PROGRAMS += tests/pod/er-pod
tests_pod_er_pod_SOURCES = tests/pod/pod.c
endif

# The benchmark harness (bench/run.sh; README "Performance"): a QUICK run of
# the tool round trip benchmark, checking the report's structure only.
TESTS += tests/integration/bench-smoke.sh
EXTRA_DIST += tests/integration/bench-smoke.sh bench/run.sh bench/bench.mjs bench/lib.mjs \
	bench/cp.mjs bench/report.mjs bench/launch.c bench/memory.sh bench/memory.mjs
