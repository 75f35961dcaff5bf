#!/bin/sh
# Banned C functions (docs/design.md §7): unbounded copies and formats, strtok,
# unchecked conversions, shell-outs.  Tests may shell out (system, popen) to
# set up fixtures; nothing else is allowed anywhere.  A line may opt out with
# "lint-ok" in a comment, with the reason next to it.
set -u
cd "$(dirname "$0")/.."

scan() {  # scan REGEX DIR...
	re=$1
	shift
	files=$(find "$@" -name '*.[ch]' -not -path '*/node_modules/*' 2>/dev/null | sort)
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2086 # a file list
	grep -nE "(^|[^A-Za-z0-9_.>])($re)[[:space:]]*\\(" $files /dev/null |
		grep -v 'lint-ok' |
		grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)'
}

common='strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol'
hits=$(scan "$common|system|popen" core common plugins include)
hits=$(printf '%s\n%s' "$hits" "$(scan "$common" tests)" | sed '/^$/d')
if [ -n "$hits" ]; then
	echo "lint: banned functions (use snprintf, memcpy with a length, strtol with checks," >&2
	echo "posix_spawn...; or mark a justified line with 'lint-ok'):" >&2
	echo "$hits" >&2
	exit 1
fi
echo "lint: no banned functions"

# Formatting: .clang-format over every C file but the bundled jsmn and the
# frozen ABI headers (tests/abi/plugin-v1.N.h stay as they were published).
if ! command -v clang-format >/dev/null 2>&1; then
	echo "lint: clang-format is not installed (apt-get install clang-format)" >&2
	exit 1
fi
unformatted=
for f in $(find core common plugins include tests bench -name '*.[ch]' \
	-not -path '*/node_modules/*' -not -name 'plugin-v1.*.h' 2>/dev/null | sort); do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted="$unformatted $f"
done
if [ -n "$unformatted" ]; then
	echo "lint: not formatted as .clang-format says (fix: clang-format -i FILE):" >&2
	for f in $unformatted; do
		echo "  $f" >&2
	done
	exit 1
fi
echo "lint: every C file formatted"
