#!/bin/sh
# The plugin loader through the real binary: `plugins` lists what it finds
# and why it refuses the rest; `orchestrator` refuses each bad plugin with
# one log line naming the file and the fault, and a sysexits code.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-plugins.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fix=$ER_FIXTURE_DIR
abi=$ER_TOP_BUILDDIR/tests/abi/.libs
key=$tmp/key
printf 'sk-test-plugins-0123456789\n' >"$key"
chmod 600 "$key"

# --- plugins ------------------------------------------------------------------
out=$("$ER_RUNNER" plugins 2>&1)
rc=$?
check "plugins exits 0" test "$rc" -eq 0
case "$out" in
*"sandbox   none "*"plugins/.libs/sandbox-none.so"*) ok "plugins finds sandbox-none via ER_PLUGIN_PATH" ;;
*) not_ok "plugins finds sandbox-none via ER_PLUGIN_PATH"; diag "$out" ;;
esac

out=$("$ER_RUNNER" plugins --plugin-dir "$fix" --plugin-dir="$abi" 2>&1)
rc=$?
check "plugins --plugin-dir exits 0 despite refused files" test "$rc" -eq 0
listed() {
	case "$out" in *"$1"*) ok "plugins lists: $1" ;; *) not_ok "plugins lists: $1"; diag "$out" ;; esac
}
listed "KIND      NAME             VERSION    ABI    FILE"
listed "sandbox   good             1.2.3      1.2    $fix/sandbox-good.so"
listed "executor  good             1.2.3      1.2    $fix/executor-good.so"
listed "sandbox   oldminor         1.0        1.0    $abi/sandbox-oldminor.so"
listed "refused   plugin '$fix/sandbox-badmagic.so': wrong magic"
listed "refused   plugin '$fix/sandbox-badmajor.so': built for plugin ABI 2"
listed "sandbox   minor1           1.1        1.1    $abi/sandbox-minor1.so"
listed "executor  minor1           1.1        1.1    $abi/executor-minor1.so"
listed "refused   plugin '$fix/sandbox-toonew.so': built for plugin ABI 1.3, needs a runner with plugin ABI 1.3 or later, this runner has 1.2"
listed "refused   plugin '$fix/sandbox-newflag.so': descriptor flags 0x80 unknown to this runner"
listed "refused   plugin '$fix/sandbox-wrongkind.so': wrong kind 'executor'"
listed "refused   plugin '$fix/sandbox-mismatch.so': name 'other' does not match"
listed "refused   plugin '$fix/sandbox-nosym.so': no symbol 'er_plugin_v1'"
listed "refused   plugin '$fix/sandbox-undef.so': cannot load"

# --- orchestrator: each rejection ----------------------------------------------
# expect CODE NEEDLE ARGS...: exit code CODE and exactly one stderr line
# containing NEEDLE.  $xenv, when set, is one NAME=VALUE for the runner.
xenv=
expect() {
	code=$1 needle=$2
	shift 2
	env ${xenv:+"$xenv"} "$ER_RUNNER" orchestrator --environment-id env_test \
		--service-key-file "$key" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" -eq "$code" ] && [ "$lines" -eq 1 ] && grep -qF -- "$needle" "$tmp/err"; then
		ok "exit $code, one line with '$needle' ($*)"
	else
		not_ok "exit $code, one line with '$needle' ($*): got $rc, $lines lines"
		sed 's/^/# /' "$tmp/err"
	fi
	cat "$tmp/err" >>"$tmp/all-output"
}

sb() { expect "$1" "$2" --sandbox-backend "$3" --executor "$fix/executor-good.so"; }
sb 78 "plugin '$fix/sandbox-badmagic.so': wrong magic 0xdeadbeef" "$fix/sandbox-badmagic.so"
sb 78 "plugin '$fix/sandbox-badmajor.so': built for plugin ABI 2, this runner speaks ABI 1" \
	"$fix/sandbox-badmajor.so"
sb 78 "plugin '$fix/sandbox-badmajor1.so': built for plugin ABI 3" "$fix/sandbox-badmajor1.so"
sb 78 "plugin '$fix/sandbox-toonew.so': built for plugin ABI 1.3, needs a runner with plugin ABI 1.3 or later, this runner has 1.2" \
	"$fix/sandbox-toonew.so"
sb 78 "plugin '$fix/sandbox-newflag.so': descriptor flags 0x80 unknown to this runner (plugin ABI 1.2, built for 1.3)" \
	"$fix/sandbox-newflag.so"
sb 78 "plugin '$fix/sandbox-wrongkind.so': wrong kind 'executor'" "$fix/sandbox-wrongkind.so"
sb 78 "plugin '$fix/sandbox-mismatch.so': name 'other' does not match the file name" \
	"$fix/sandbox-mismatch.so"
sb 78 "plugin '$fix/sandbox-nosym.so': no symbol 'er_plugin_v1'" "$fix/sandbox-nosym.so"
sb 78 "undefined symbol: er_fixture_undefined_function" "$fix/sandbox-undef.so"
sb 78 "plugin '$fix/sandbox-small.so': descriptor struct_size 16 is smaller" \
	"$fix/sandbox-small.so"
sb 78 "plugin '$fix/sandbox-smallops.so': sandbox ops struct_size 4 is smaller" \
	"$fix/sandbox-smallops.so"
mkdir "$tmp/sandbox-dir.so"
sb 78 "plugin '$tmp/sandbox-dir.so': not a regular file" "$tmp/sandbox-dir.so"
expect 78 "plugin '$fix/sandbox-good.so': wrong kind 'sandbox'" \
	--sandbox-backend "$fix/sandbox-good.so" --executor "$fix/sandbox-good.so"

if [ "$(id -u)" -eq 0 ]; then
	mkdir "$tmp/gw"
	cp "$fix/sandbox-good.so" "$tmp/gw/"
	chmod 664 "$tmp/gw/sandbox-good.so"
	expect 78 "plugin '$tmp/gw/sandbox-good.so': unsafe mode 0664" \
		--plugin-dir "$tmp/gw" --sandbox-backend good --executor "$fix/executor-good.so"
	chmod 644 "$tmp/gw/sandbox-good.so"
	chown 65534 "$tmp/gw/sandbox-good.so"
	expect 78 "plugin '$tmp/gw/sandbox-good.so': unsafe owner uid 65534" \
		--plugin-dir "$tmp/gw" --sandbox-backend good --executor "$fix/executor-good.so"
else
	skip "group-writable plugin refused (only checked when running as root)"
	skip "plugin of another owner refused (only checked when running as root)"
fi

# Names: unknown ones are usage errors; known ones that are missing are not
# available here.
xenv=ER_PLUGIN_PATH=$tmp/empty
expect 64 "unknown sandbox backend 'docker'" --sandbox-backend docker
# ER_NO_SYSTEM_PLUGINS=1 (set for every test): the installed plugin
# directory is not searched, whatever this machine has installed there.
expect 69 "sandbox plugin 'firejail' not found: no 'sandbox-firejail.so' in $tmp/empty; fix:" \
	--sandbox-backend firejail
xenv=
expect 64 "unknown executor 'nothere'" --sandbox-backend none --executor nothere
expect 64 "unknown sandbox backend 'Bad Name'" --sandbox-backend "Bad Name"

# Plugin options: only keys the selected plugins declare, and the shared
# sandbox.* keys of the --sandbox-* settings; a refusal lists the valid keys.
out=$("$ER_RUNNER" plugins --verbose --plugin-dir "$fix" 2>&1)
case "$out" in
*"executor  good "*"fixture: loads"*"--plugin-option good.level=N"*"fixture: a declared option"*)
	ok "plugins --verbose shows the description and the options" ;;
*) not_ok "plugins --verbose shows the description and the options"; diag "$out" ;;
esac
out=$(ER_PLUGIN_PATH=$fix "$ER_RUNNER" orchestrator --help 2>&1)
case "$out" in
*"Plugin options (--plugin-option NAME.KEY=VALUE) of the plugins in the search path:"*"  good.level=N "*"fixture: a declared option"*)
	ok "orchestrator --help lists the options of the plugins in the search path" ;;
*) not_ok "orchestrator --help lists the options of the plugins in the search path"; diag "$out" ;;
esac
good="--sandbox-backend $fix/sandbox-good.so --executor $fix/executor-good.so"
# shellcheck disable=SC2086 # $good is a word list
{
expect 64 "plugin option 'good.nope': no such key (sandbox 'good', executor 'good'); fix: use one of the keys they declare: good.level, good.flag" \
	$good --plugin-option good.nope=1
expect 64 "plugin option 'bubblewrap.network': names no selected plugin (sandbox 'good', executor 'good'); fix: use one of the keys they declare: good.level, good.flag" \
	$good --plugin-option bubblewrap.network=none
expect 64 "plugin option 'sandbox.nope': names no selected plugin" \
	$good --plugin-option good.level=1 --plugin-option sandbox.nope=1
printf 'good.levle = 2\n' >"$tmp/options.conf"
expect 64 "plugin option 'good.levle': no such key" $good --config "$tmp/options.conf"
expect 64 "plugin option 'toolset.x': no such key (sandbox 'none', executor 'toolset'); fix: use one of the keys they declare: (none)" \
	--sandbox-backend none --executor toolset --plugin-option toolset.x=1
}

# The search path: --plugin-dir first, then ER_PLUGIN_PATH.
mkdir "$tmp/first"
cp "$fix/sandbox-badmagic.so" "$tmp/first/sandbox-good.so"
xenv=ER_PLUGIN_PATH=$fix
expect 78 "plugin '$tmp/first/sandbox-good.so': wrong magic" \
	--plugin-dir "$tmp/first" --sandbox-backend good --executor nothere
expect 64 "unknown executor 'nothere'" --sandbox-backend good --executor nothere
xenv=

if grep -q "sk-test-plugins" "$tmp/all-output"; then not_ok "no output shows the key"
else ok "no output shows the key"; fi
done_testing
