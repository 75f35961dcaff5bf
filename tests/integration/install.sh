#!/bin/sh
# make install into a DESTDIR under the build directory, then, as a backend
# author would with the installed -dev files only (header, pkg-config file,
# manual page, example sources): build the installed examples, a sandbox
# backend in C and an executor in C++ with hidden visibility, and with the
# installed runner list them, pass plugin-check, and serve a session.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"

tmp=$(mktemp -d "$ER_TOP_BUILDDIR/tests/er-install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -C "$ER_TOP_BUILDDIR" install \
	DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR=..."
else
	not_ok "make install DESTDIR=..."
	sed 's/^/# /' "$tmp/install.log" | tail -20
	done_testing
	exit 1
fi

pc=$(find "$dest" -name environment-runner-plugin.pc | head -n 1)
check "the pkg-config file is installed" test -n "$pc"
hdr=$(find "$dest" -path '*/include/environment-runner/plugin.h' | head -n 1)
check "the header is installed" cmp -s "$hdr" "$ER_TOP_SRCDIR/include/environment-runner/plugin.h"
bin=$(find "$dest" -type f -name environment-runner | head -n 1)
check "the runner is installed" test -x "$bin"
man=$(find "$dest" -path '*/man8/environment-runner.8' | head -n 1)
check "the manual page environment-runner(8) is installed" test -s "$man"
man7=$(find "$dest" -path '*/man7/environment-runner-plugin.7' | head -n 1)
check "the manual page environment-runner-plugin(7) is installed" test -s "$man7"
examples=$(find "$dest" -path '*/examples/plugins' -type d | head -n 1)
check "the example plugins' sources are installed" \
	test -s "$examples/sandbox-example.c" -a -s "$examples/executor-example.cc"
unit=$(find "$dest" -path '*/sample-config/systemd/environment-runner.service' | head -n 1)
onwork=$(find "$dest" -path '*/sample-config/kubernetes/job-per-item/on-work.sh' | head -n 1)
check "the sample configuration is installed (systemd unit, executable on-work script)" \
	sh -c 'test -s "$1" && test -x "$2"' sh "$unit" "$onwork"

export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags environment-runner-plugin)
plugindir=$(pkg-config --variable=plugindir environment-runner-plugin)
plugindir=${plugindir#"$dest"}  # pkgconf prefixes variables with the sysroot too
abi=$(pkg-config --variable=abi_version environment-runner-plugin)
header_abi=$(sed -n 's/^#define ER_ABI_MAJOR \([0-9]*\)$/\1/p' "$hdr").$(sed -n 's/^#define ER_ABI_MINOR \([0-9]*\)$/\1/p' "$hdr")
check "pkg-config --variable=abi_version is the header's ($abi)" test "$abi" = "$header_abi"
case "$cflags" in
"-I$dest/"*) ok "pkg-config --cflags points into the installed tree" ;;
*) not_ok "pkg-config --cflags: '$cflags'" ;;
esac
check "sandbox-none.so is installed in plugindir ($plugindir)" \
	test -f "$dest$plugindir/sandbox-none.so"
syms=$(nm -D --defined-only "$dest$plugindir/sandbox-none.so" | awk '$2 ~ /^[A-Z]$/ && $2 != "W" { print $3 }')
if [ "$syms" = er_plugin_v1 ]; then ok "sandbox-none.so exports only er_plugin_v1"
else not_ok "sandbox-none.so exports: $syms"; fi

mkdir -p "$tmp/plugins"
# shellcheck disable=SC2086 # cflags is a word list
if ${CC_FOR_TEST:-cc} $cflags -std=c99 -Wall -Wextra -Werror -shared -fPIC \
	-o "$tmp/plugins/sandbox-example.so" "$examples/sandbox-example.c" \
	2>"$tmp/cc.log"; then
	ok "the installed sandbox example (C) builds against the installed header"
else
	not_ok "the installed sandbox example (C) builds against the installed header"
	sed 's/^/# /' "$tmp/cc.log"
fi
if ! command -v "${CXX_FOR_TEST:-c++}" >/dev/null 2>&1; then
	skip "no C++ compiler: the C++ executor example is not built"
# shellcheck disable=SC2086 # cflags is a word list
elif ${CXX_FOR_TEST:-c++} $cflags -std=c++17 -Wall -Wextra -Werror -fvisibility=hidden \
	-shared -fPIC -o "$tmp/plugins/executor-example.so" "$examples/executor-example.cc" \
	2>"$tmp/cxx.log"; then
	ok "the installed executor example (C++, -fvisibility=hidden) builds against the installed header"
	syms=$(nm -D --defined-only "$tmp/plugins/executor-example.so" | awk '$2 == "D" { print $3 }')
	check "and exports er_plugin_v1 ($syms)" test "$syms" = er_plugin_v1
else
	not_ok "the installed executor example (C++, -fvisibility=hidden) builds against the installed header"
	sed 's/^/# /' "$tmp/cxx.log"
fi

out=$(env -u ER_PLUGIN_PATH "$bin" plugins --plugin-dir "$tmp/plugins" --plugin-dir "$dest$plugindir" 2>&1)
rc=$?
diag "$out"
check "plugins exits 0" test "$rc" -eq 0
case "$out" in
*"sandbox   example "*" 0.1 "*" $abi "*"$tmp/plugins/sandbox-example.so"*)
	ok "the installed runner loads the sandbox example" ;;
*) not_ok "the installed runner loads the sandbox example" ;;
esac
if [ -f "$tmp/plugins/executor-example.so" ]; then
	case "$out" in
	*"executor  example "*" 0.1 "*" $abi "*"$tmp/plugins/executor-example.so"*)
		ok "and the executor example" ;;
	*) not_ok "and the executor example" ;;
	esac
fi
case "$out" in
*"sandbox   none "*"$dest$plugindir/sandbox-none.so"*) ok "and the installed sandbox-none" ;;
*) not_ok "and the installed sandbox-none" ;;
esac
case "$out" in
*refused*) not_ok "nothing refused" ;;
*) ok "nothing refused" ;;
esac

# plugin-check, as an author runs it before publishing.
for p in "$tmp"/plugins/*.so; do
	if env -u ER_PLUGIN_PATH "$bin" plugin-check "$p" >"$tmp/check.out" 2>&1; then
		ok "plugin-check $(basename "$p") passes"
	else
		not_ok "plugin-check $(basename "$p") passes"
		sed 's/^/# /' "$tmp/check.out"
	fi
done

# A session served by the installed runner with both: the executor's echo
# tool runs /bin/echo through the sandbox example.
if [ -f "$tmp/plugins/executor-example.so" ]; then
	ER_RUNNER=$bin ER_TEST_SANDBOX=$tmp/plugins/sandbox-example.so \
		ER_CHECK_EXECUTOR=$tmp/plugins/executor-example.so ER_CHECK_NAME=example \
		sh "$ER_TOP_SRCDIR/tests/sdk/run-check.sh" ../runner/plugin-session.mjs \
		>"$tmp/session.out" 2>&1
	if grep -q '^1\.\.0 # SKIP' "$tmp/session.out"; then
		skip "a session with the examples: $(sed -n 's/^1\.\.0 # SKIP //p' "$tmp/session.out")"
	elif grep -q '^ok ' "$tmp/session.out" && ! grep -q '^not ok' "$tmp/session.out"; then
		ok "the installed runner serves a session with the two examples ($(grep -c '^ok ' "$tmp/session.out") checks)"
	else
		not_ok "the installed runner serves a session with the two examples"
		sed 's/^/# /' "$tmp/session.out" | tail -40
	fi
fi
done_testing
