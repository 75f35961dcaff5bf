#!/bin/sh
# The command line through the real binary: --version, --help everywhere,
# each bad input with its exit code and one message naming it and the fix,
# precedence flag > environment > file, and log formats.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-cli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fix=$ER_FIXTURE_DIR
key=$tmp/key
secret=sk-test-cli-0123456789abcdef
printf '%s\n' "$secret" >"$key"
chmod 600 "$key"
good_sb=$fix/sandbox-good.so

out=$("$ER_RUNNER" --version)
case "$out" in "environment-runner "*) ok "--version names the program" ;; *) not_ok "--version: $out" ;; esac

for args in "--help" "help" "orchestrator --help" "plugins --help" "orchestrator -h" \
	"help orchestrator"; do
	# shellcheck disable=SC2086 # split on purpose
	out=$("$ER_RUNNER" $args 2>&1)
	rc=$?
	case "$rc:$out" in
	0:Usage:*) ok "$args prints usage, exit 0" ;;
	*) not_ok "$args prints usage, exit 0 (got $rc)" ;;
	esac
done
out=$("$ER_RUNNER" orchestrator --help)
for flag in --organization-id --environment-id --service-key-file --sandbox-backend --executor \
	--plugin-dir --config --api-url --log-level --log-format --log-file --worker-id \
	--capacity --workdir --base-dir --keep-session-dirs --max-idle-sec --block-ms \
	--tool-timeout-sec --drain-wait-sec ER_ENVIRONMENT_ID ER_SANDBOX_BACKEND; do
	case "$out" in *"$flag"*) : ;; *) not_ok "orchestrator --help lacks $flag" ;; esac
done
ok "orchestrator --help documents every flag"

# expect CODE NEEDLE ARGS...: exit CODE, exactly one stderr line, containing
# NEEDLE and "fix".  $xenv, when set, is one NAME=VALUE for the runner.
xenv=
expect() {
	code=$1 needle=$2
	shift 2
	env ${xenv:+"$xenv"} "$ER_RUNNER" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" -eq "$code" ] && [ "$lines" -eq 1 ] && grep -qF -- "$needle" "$tmp/err" &&
		grep -q "fix" "$tmp/err"; then
		ok "exit $code: $needle"
	else
		not_ok "exit $code: $needle (got $rc, $lines lines)"
		sed 's/^/# /' "$tmp/err"
	fi
	cat "$tmp/out" "$tmp/err" >>"$tmp/all-output"
}
orch() {
	c=$1 n=$2
	shift 2
	expect "$c" "$n" orchestrator --environment-id env_1 --service-key-file "$key" \
		--sandbox-backend "$good_sb" "$@"
}

expect 64 "missing command"
expect 64 "unknown command 'serve'" serve
expect 64 "missing process id" upgrade
expect 64 "'abc' is not a process id" upgrade abc
expect 64 "unknown flag '--capacity' for 'upgrade'" upgrade 1 --capacity 2
expect 66 "cannot signal process 2147483646" upgrade 2147483646
sleep 30 &
expect 64 "process $! is not an environment-runner orchestrator" upgrade $!
kill $!
expect 64 "missing directory" upgrade-check
mkdir "$tmp/records"
printf '{"version":2}' >"$tmp/records/work_x.json"
expect 65 "cannot take over an item record '$tmp/records/work_x.json': record version 2" \
	upgrade-check "$tmp/records" --environment-id env_1 --service-key-file "$key" \
	--sandbox-backend "$good_sb"
# A new install whose plugin speaks another ABI major cannot take over.
rm "$tmp/records/work_x.json"
expect 78 "built for plugin ABI 2, this runner speaks ABI 1" \
	upgrade-check "$tmp/records" --environment-id env_1 --service-key-file "$key" \
	--sandbox-backend "$fix/sandbox-badmajor.so"
expect 64 "unknown flag '--bogus' for 'orchestrator'" orchestrator --bogus
expect 64 "unknown flag '--capacity' for 'plugins'" plugins --capacity 2
expect 64 "unexpected argument 'extra'" orchestrator extra
expect 64 "missing value for '--environment-id'" orchestrator --environment-id
expect 64 "missing value for '--capacity'" orchestrator --capacity --block-ms 5
expect 64 "no environment id" orchestrator --service-key-file "$key"
expect 64 "no service key file" orchestrator --environment-id env_1
orch 64 "--capacity: invalid value 'many'" --capacity many
orch 64 "--block-ms: invalid value '1000'; fix: give an integer from 1 to 999" --block-ms=1000
orch 64 "--log-format: invalid value 'xml'" --log-format xml
orch 64 "--log-level: invalid value 'loud'" --log-level=loud
orch 64 "--api-url: invalid value 'api.example'" --api-url api.example
orch 64 "unknown sandbox backend 'docker'" --sandbox-backend docker
orch 64 "unknown executor 'shell'" --executor shell
# A worker id goes into a header: a CR LF would add a header of its own.
"$ER_RUNNER" orchestrator --environment-id env_1 --service-key-file "$key" --sandbox-backend "$good_sb" \
	--worker-id "$(printf 'w\r\nX-Injected: yes')" >"$tmp/wid.log" 2>&1
rc=$?
if [ $rc -eq 78 ] && grep -q "level=error.*--worker-id holds a control character; fix: remove it" "$tmp/wid.log"; then
	ok "exit 78: --worker-id holds a control character"
else
	not_ok "exit 78: --worker-id holds a control character (got $rc)"
	sed 's/^/# /' "$tmp/wid.log"
fi
orch 64 "--api-url 'http://192.0.2.1:8080' would send credentials in clear text to a host other than this machine; fix: use https://, or pass --allow-insecure-http" \
	--api-url http://192.0.2.1:8080
orch 64 "--inference-url 'http://user@[2001:db8::1]/v1' would send credentials in clear text" \
	--inference-url 'http://user@[2001:db8::1]/v1'
orch 66 "cannot read CA file '$tmp/no-ca.pem' (--ca-file): No such file or directory; fix: give a PEM file" \
	--ca-file "$tmp/no-ca.pem"
xenv=SSL_CERT_FILE=$tmp/no-ca.pem
orch 66 "cannot read CA file '$tmp/no-ca.pem' (SSL_CERT_FILE)"
xenv=
orch 78 "CA file '$key' (--ca-file) holds no PEM certificate; fix:" --ca-file "$key"
expect 66 "cannot read service key file '$tmp/nokey'" orchestrator --environment-id e \
	--service-key-file "$tmp/nokey"
cp "$key" "$tmp/openkey"
chmod 644 "$tmp/openkey"
expect 78 "service key file '$tmp/openkey' is readable by others (mode 0644); fix: chmod o-rw" \
	orchestrator --environment-id e --service-key-file "$tmp/openkey"
# A status port another process holds: 73, not 69 (a missing plugin).  The
# holder is a runner on a port picked at random, retried when taken.
i=0
while [ $i -lt 5 ]; do
	port=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 30000 ))
	"$ER_RUNNER" orchestrator --environment-id env_1 --service-key-file "$key" \
		--sandbox-backend "$good_sb" --api-url http://127.0.0.1:1 --health-port "$port" \
		--base-dir "$tmp/holder" >"$tmp/holder.log" 2>&1 &
	holder=$!
	j=0
	while ! grep -q 'status listener on' "$tmp/holder.log" && kill -0 $holder 2>/dev/null &&
		[ $j -lt 100 ]; do
		sleep 0.05
		j=$((j + 1))
	done
	grep -q 'status listener on' "$tmp/holder.log" && break
	kill $holder 2>/dev/null
	wait $holder 2>/dev/null
	i=$((i + 1))
done
"$ER_RUNNER" orchestrator --environment-id env_1 --service-key-file "$key" --sandbox-backend "$good_sb" \
	--api-url http://127.0.0.1:1 --health-port "$port" --base-dir "$tmp/taker" >"$tmp/taker.log" 2>&1
rc=$?
if [ $rc -eq 73 ] && grep -q "level=error.*cannot listen on 127.0.0.1:$port for health checks: Address already in use; fix: pass a free port" "$tmp/taker.log"; then
	ok "exit 73: --health-port $port taken"
else
	not_ok "exit 73: --health-port $port taken (got $rc)"
	sed 's/^/# /' "$tmp/taker.log"
fi
kill $holder 2>/dev/null
wait $holder 2>/dev/null

# A sandbox user that does not exist: 67.  The runner looks users up only as
# root: as root here, or root of a user namespace of its own.
asroot=
[ "$(id -u)" -eq 0 ] || asroot="unshare -r"
if [ ! -e "$ER_PLUGIN_PATH/sandbox-bubblewrap.so" ]; then
	skip "no bubblewrap plugin in this build to look up a sandbox user"
elif $asroot true 2>/dev/null; then
	$asroot "$ER_RUNNER" orchestrator --environment-id env_1 --service-key-file "$key" \
		--sandbox-backend bubblewrap --sandbox-user no-such-user-er --api-url http://127.0.0.1:1 \
		--health-port 0 --base-dir "$tmp/nouser" >"$tmp/nouser.log" 2>&1
	rc=$?
	if [ $rc -eq 67 ] && grep -q "no user 'no-such-user-er' for the sandbox; fix: create it" "$tmp/nouser.log"; then
		ok "exit 67: no user 'no-such-user-er' for the sandbox"
	else
		not_ok "exit 67: no user 'no-such-user-er' for the sandbox (got $rc)"
		sed 's/^/# /' "$tmp/nouser.log"
	fi
else
	skip "neither root nor a user namespace to look up a sandbox user"
fi

# A root runner whose sandbox runs as another user, on a --workdir that user
# does not own: bash and the file tools would act as two users.  78, with the
# ways out.
if $asroot true 2>/dev/null && [ -f "$ER_TOP_BUILDDIR/plugins/.libs/sandbox-bubblewrap.so" ]; then
	mkdir -p "$tmp/rootwd"
	# Bounded: a runner that accepts the directory polls on (nothing answers).
	timeout 30 $asroot "$ER_RUNNER" orchestrator --environment-id env_1 --service-key-file "$key" \
		--sandbox-backend bubblewrap --api-url http://127.0.0.1:1 --health-port 0 \
		--workdir "$tmp/rootwd" >"$tmp/rootwd.log" 2>&1
	rc=$?
	if [ $rc -eq 69 ]; then
		skip "bubblewrap cannot run here"
	elif [ $rc -eq 78 ] && grep -q "level=error.*--workdir '$tmp/rootwd' belongs to uid 0 but the sandbox runs commands as uid [0-9]*.*fix: chown [0-9:]* '$tmp/rootwd', or pass --sandbox-user with the directory's owner, or use --base-dir" "$tmp/rootwd.log"; then
		ok "exit 78: a root runner's --workdir that its sandbox user does not own"
	else
		not_ok "exit 78: a root runner's --workdir that its sandbox user does not own (got $rc)"
		sed 's/^/# /' "$tmp/rootwd.log"
	fi
else
	skip "neither root nor a user namespace, or no bubblewrap plugin"
fi

printf 'capacity = 2\nthis is not a setting\n' >"$tmp/bad.conf"
orch 78 "$tmp/bad.conf:2: expected 'key = value'" --config "$tmp/bad.conf"
printf 'capasity = 2\n' >"$tmp/typo.conf"
orch 78 "$tmp/typo.conf:1: unknown key 'capasity'" --config="$tmp/typo.conf"
orch 66 "cannot open config file '$tmp/none.conf'" --config "$tmp/none.conf"
xenv=ER_CAPACITY=zero
orch 78 "ER_CAPACITY: invalid value 'zero'"
xenv=ER_CONFIG=$tmp/bad.conf
orch 78 "$tmp/bad.conf:2:"
xenv=

# sample-config/runner.conf with every setting uncommented is the defaults:
# the run gets as far as the (unknown) executor.
sed 's/^#\([a-z_]* =\)/\1/' "$ER_TOP_SRCDIR/sample-config/runner.conf" >"$tmp/all.conf"
expect 64 "unknown executor 'exec-from-flag'" orchestrator --environment-id e --service-key-file "$key" \
	--config "$tmp/all.conf" --sandbox-backend "$good_sb" --executor exec-from-flag

# Precedence, observed through which plugin gets loaded: a good sandbox
# from one source lets the run reach the (unknown) executor; a bad name from
# a source that should lose must not matter.
printf 'sandbox_backend = from-file\nexecutor = exec-from-file\n' >"$tmp/p.conf"
expect 64 "unknown executor 'exec-from-file'" orchestrator --environment-id e \
	--service-key-file "$key" --config "$tmp/p.conf" --sandbox-backend "$good_sb"
xenv=ER_SANDBOX_BACKEND=$good_sb
expect 64 "unknown executor 'exec-from-file'" orchestrator --environment-id e \
	--service-key-file "$key" --config "$tmp/p.conf"
xenv=ER_SANDBOX_BACKEND=from-env
expect 64 "unknown sandbox backend 'from-env'" orchestrator --environment-id e \
	--service-key-file "$key" --config "$tmp/p.conf"
expect 64 "unknown executor 'exec-from-flag'" orchestrator --environment-id e \
	--service-key-file "$key" --config "$tmp/p.conf" --sandbox-backend "$good_sb" \
	--executor=exec-from-flag
xenv=

# Log formats: the plugin error above is a log line.
"$ER_RUNNER" orchestrator --environment-id e --service-key-file "$key" --sandbox-backend docker \
	--log-format json 2>"$tmp/json.err"
line=$(head -n 1 "$tmp/json.err")
case "$line" in
'{"time":"'*'Z","level":"error","component":"loader","msg":"unknown sandbox backend '*'"}')
	ok "--log-format=json writes JSON lines" ;;
*) not_ok "--log-format=json: $line" ;;
esac
if command -v python3 >/dev/null 2>&1; then
	check "the JSON line parses" python3 -c 'import json,sys; json.loads(sys.stdin.readline())' \
		<"$tmp/json.err"
else
	skip "python3 not installed"
fi
"$ER_RUNNER" orchestrator --environment-id e --service-key-file "$key" --sandbox-backend docker \
	--log-file "$tmp/runner.log" 2>"$tmp/file.err"
line=$(head -n 1 "$tmp/runner.log")
case "$line" in
'time='*'Z level=error component=loader msg="unknown sandbox backend '*) ok "--log-file gets logfmt lines" ;;
*) not_ok "--log-file: $line" ;;
esac
check "nothing on stderr with --log-file" test ! -s "$tmp/file.err"
cat "$tmp/json.err" "$tmp/runner.log" >>"$tmp/all-output"

if grep -q "$secret" "$tmp/all-output"; then not_ok "no output shows the service key"
else ok "no output shows the service key"; fi
done_testing
