#!/bin/sh
# make install into a DESTDIR, then build tests/out-of-tree/sandbox-example.c
# with plain cc against the *installed* header alone (found through the
# installed pkg-config file) and load it with the installed runner.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-install.XXXXXX") || exit 99
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
unit=$(find "$dest" -path '*/sample-config/systemd/environment-runner.service' | head -n 1)
onwork=$(find "$dest" -path '*/sample-config/kubernetes/job-per-item/on-work.sh' | head -n 1)
check "the sample configuration is installed (systemd unit, executable on-work script)" \
	sh -c 'test -s "$1" && test -x "$2"' sh "$unit" "$onwork"

export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags environment-runner-plugin)
plugindir=$(pkg-config --variable=plugindir environment-runner-plugin)
plugindir=${plugindir#"$dest"}  # pkgconf prefixes variables with the sysroot too
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
	-o "$tmp/plugins/sandbox-example.so" "$ER_TOP_SRCDIR/tests/out-of-tree/sandbox-example.c" \
	2>"$tmp/cc.log"; then
	ok "the out-of-tree example builds against the installed header"
else
	not_ok "the out-of-tree example builds against the installed header"
	sed 's/^/# /' "$tmp/cc.log"
fi

out=$(env -u ER_PLUGIN_PATH "$bin" plugins --plugin-dir "$tmp/plugins" --plugin-dir "$dest$plugindir" 2>&1)
rc=$?
diag "$out"
check "plugins exits 0" test "$rc" -eq 0
case "$out" in
*"sandbox   example "*" 0.1 "*" 1.2 "*"$tmp/plugins/sandbox-example.so"*)
	ok "the installed runner loads the example" ;;
*) not_ok "the installed runner loads the example" ;;
esac
case "$out" in
*"sandbox   none "*"$dest$plugindir/sandbox-none.so"*) ok "and the installed sandbox-none" ;;
*) not_ok "and the installed sandbox-none" ;;
esac
case "$out" in
*refused*) not_ok "nothing refused" ;;
*) ok "nothing refused" ;;
esac
done_testing
