#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Has the reference moved?  Installs the @anthropic-ai/sdk that the tests pin
# (tests/sdk/package.json) and the newest published one (or VERSION) side by
# side in a temporary directory, and prints the differences of the sources
# that define the protocol as environment-runner speaks it: the wire API of
# environments, work and sessions, the worker, the poller, the lease, the
# stop, the session tool runner, the agent toolset, and the backoff rules.
# docs/protocol.md describes the pinned version; a difference here is what
# the runner may have to follow next.
#
# Usage: scripts/sdk-drift.sh [--stat] [VERSION]
# Exit status: 0 no difference, 1 differences printed, 2 failure.
set -eu

stat=
case "${1:-}" in
--stat)
	stat=1
	shift
	;;
-h | --help)
	sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
pinned=$(sed -n 's/.*"@anthropic-ai\/sdk": *"\([^"]*\)".*/\1/p' "$top/tests/sdk/package.json")
if [ -z "$pinned" ]; then
	echo "sdk-drift: no @anthropic-ai/sdk pin in tests/sdk/package.json" >&2
	exit 2
fi
newest=${1:-$(npm view @anthropic-ai/sdk version)} || {
	echo "sdk-drift: cannot ask the npm registry for the newest version" >&2
	exit 2
}
echo "pinned: @anthropic-ai/sdk $pinned"
echo "newest: @anthropic-ai/sdk $newest"
if [ "$pinned" = "$newest" ]; then
	echo "no drift: the tests pin the newest version"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sdk-drift.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' INT TERM
for v in "$pinned" "$newest"; do
	if ! npm install --prefix "$tmp/$v" --no-audit --no-fund --no-package-lock --ignore-scripts \
		--loglevel=error "@anthropic-ai/sdk@$v" >/dev/null; then
		echo "sdk-drift: cannot install @anthropic-ai/sdk@$v" >&2
		exit 2
	fi
done

# The protocol-relevant sources, relative to the package's src/.
paths="
lib/environments
lib/internal/environments
lib/internal/check-json.ts
lib/tools/SessionToolRunner.ts
lib/tools/BetaRunnableTool.ts
tools/agent-toolset
resources/beta/environments
resources/beta/sessions
resources/beta/skills
resources/beta/memory-stores
internal/utils/backoff.ts
internal/utils/abort.ts
core/error.ts
"
old="$tmp/$pinned/node_modules/@anthropic-ai/sdk/src"
new="$tmp/$newest/node_modules/@anthropic-ai/sdk/src"
status=0
for p in $paths; do
	if [ ! -e "$old/$p" ] && [ ! -e "$new/$p" ]; then
		continue
	elif [ ! -e "$old/$p" ]; then
		echo "added in $newest: src/$p"
	elif [ ! -e "$new/$p" ]; then
		echo "removed in $newest: src/$p"
	elif diff -rq "$old/$p" "$new/$p" >/dev/null; then
		continue
	elif [ -n "$stat" ]; then
		diff -rq "$old/$p" "$new/$p" | sed "s|$tmp/||g"
	else
		diff -ru "$old/$p" "$new/$p" | sed "s|$tmp/||g"
	fi
	status=1
done
[ "$status" -eq 0 ] && echo "no difference in the protocol's sources"
exit "$status"
