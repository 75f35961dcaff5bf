#!/bin/sh
# The key-file policy through the real binary, one case each with its exit
# status and message: the runner's own 0600 file, a systemd credential
# (LoadCredential=: $CREDENTIALS_DIRECTORY/service-key, root-owned with an
# ACL entry for the runner), a Kubernetes Secret volume (root-owned 0440
# with the runner's group, fsGroup) for the service key and for run-item's
# work secret, and the files that are refused.  The root-owned cases need
# root to make them and run the runner as another user; they skip without.
. "$ER_TOP_SRCDIR/tests/lib/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-keyfiles.XXXXXX") || exit 99
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
good_sb=$ER_FIXTURE_DIR/sandbox-good.so

# key FILE MODE [OWNER]: a key file with that mode (and owner).
key() {
	printf 'sk-ant-test-keyfiles-0123456789\n' >"$1"
	chmod "$2" "$1"
	[ -z "${3:-}" ] || chown "$3" "$1"
}

# run CODE NEEDLE [AS] ARGS...: the runner exits CODE, its first error line
# contains NEEDLE.  The key is accepted when the run gets as far as the
# executor, which is unknown on purpose (exit 64).  AS: setpriv arguments.
run() {
	code=$1 needle=$2 as=$3
	shift 3
	# shellcheck disable=SC2086 # a word list
	${as:+setpriv $as} env ${xenv:-} "$ER_RUNNER" orchestrator --environment-id env_1 \
		--sandbox-backend "$good_sb" --executor no-such-executor --health-port 0 "$@" \
		>"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq "$code" ] && grep -qF -- "$needle" "$tmp/out"; then
		ok "exit $code: $needle"
	else
		not_ok "exit $code: $needle (got $rc)"
		sed 's/^/# /' "$tmp/out"
	fi
}
accepted="unknown executor 'no-such-executor'"
xenv=

key "$tmp/own" 600
run 64 "$accepted" "" --service-key-file "$tmp/own"
key "$tmp/own400" 400
run 64 "$accepted" "" --service-key-file "$tmp/own400"
key "$tmp/group" 640
run 78 "service key file '$tmp/group' is readable by its group (mode 0640); fix: chmod 600 '$tmp/group'" "" \
	--service-key-file "$tmp/group"
key "$tmp/gw" 620
run 78 "service key file '$tmp/gw' is writable by its group (mode 0620); fix: chmod g-w '$tmp/gw'" "" \
	--service-key-file "$tmp/gw"
key "$tmp/others" 604
run 78 "service key file '$tmp/others' is readable by others (mode 0604); fix: chmod o-rw '$tmp/others'" "" \
	--service-key-file "$tmp/others"

# systemd's LoadCredential=service-key:FILE: read when no key file is given.
mkdir -m 700 "$tmp/creds"
key "$tmp/creds/service-key" 400
xenv="CREDENTIALS_DIRECTORY=$tmp/creds"
run 64 "$accepted" ""
rm "$tmp/creds/service-key"
run 66 "cannot read service key file '$tmp/creds/service-key': No such file or directory" ""
xenv=
run 64 "no service key file; fix: pass --service-key-file FILE (or set ER_SERVICE_KEY_FILE, or service_key_file in the config file, or give systemd's LoadCredential=service-key:FILE)" ""

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	skip "root-owned key files: not root (or no setpriv)"
	done_testing
	exit 0
fi
# The runner as uid 4242 in group 4242, with fsGroup 4343 as a supplementary
# group, as a pod with runAsUser and fsGroup runs.
pod="--reuid=4242 --regid=4242 --groups=4343"
key "$tmp/secret" 440 0:4343
run 64 "$accepted" "$pod" --service-key-file "$tmp/secret"
key "$tmp/secret0400" 400 0:4343
run 66 "service key file '$tmp/secret0400' (owner uid 0, mode 0400) is not readable by the runner (uid 4242); fix: make it 0600 owned by the runner's user, or 0440 root-owned with the runner's group (Kubernetes: fsGroup)" \
	"$pod" --service-key-file "$tmp/secret0400"
key "$tmp/othergroup" 440 0:4444
run 78 "service key file '$tmp/othergroup' is readable by group 4444, which the runner (uid 4242) is not in; fix: chgrp" \
	"$pod" --service-key-file "$tmp/othergroup"
key "$tmp/stranger" 600 4444:4343
run 78 "service key file '$tmp/stranger' is owned by uid 4444, neither the runner's user (uid 4242) nor root; fix: chown 4242" \
	"$pod" --service-key-file "$tmp/stranger"

# A systemd credential: root-owned 0400 plus an ACL entry for the runner.
if ! grep -q 'define HAVE_LINUX_XATTR_H 1' "$ER_TOP_BUILDDIR/config.h" 2>/dev/null; then
	skip "this build reads no ACLs (--disable-linux-extras)"
elif command -v setfacl >/dev/null 2>&1; then
	key "$tmp/cred" 400 0:0
	if setfacl -m u:4242:r "$tmp/cred" 2>/dev/null; then
		run 64 "$accepted" "$pod" --service-key-file "$tmp/cred"
		setfacl -m u:4444:r "$tmp/cred"
		run 78 "service key file '$tmp/cred' is readable by user 4444, not the runner's, through its access control list; fix: setfacl -b" \
			"$pod" --service-key-file "$tmp/cred"
	else
		skip "the temporary directory's file system has no ACLs"
	fi
else
	skip "setfacl is not installed"
fi

# run-item's work secret as the Job-per-item pod mounts it.
key "$tmp/own" 600 4242:4242
key "$tmp/work-secret" 440 0:4343
setpriv $pod env ANTHROPIC_WORK_ID=work_1 ANTHROPIC_ENVIRONMENT_ID=env_1 ANTHROPIC_SESSION_ID=sesn_1 \
	ANTHROPIC_WORK_SECRET_FILE="$tmp/work-secret" ANTHROPIC_BASE_URL=http://127.0.0.1:1 \
	"$ER_RUNNER" run-item --sandbox-backend "$good_sb" --executor no-such-executor >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 64 ] && grep -qF "$accepted" "$tmp/out"; then
	ok "run-item reads a work secret mounted root-owned 0440 with fsGroup"
else
	not_ok "run-item reads a work secret mounted root-owned 0440 with fsGroup (got $rc)"
	sed 's/^/# /' "$tmp/out"
fi
chmod 400 "$tmp/work-secret"
setpriv $pod env ANTHROPIC_WORK_ID=work_1 ANTHROPIC_ENVIRONMENT_ID=env_1 ANTHROPIC_SESSION_ID=sesn_1 \
	ANTHROPIC_WORK_SECRET_FILE="$tmp/work-secret" ANTHROPIC_BASE_URL=http://127.0.0.1:1 \
	"$ER_RUNNER" run-item --sandbox-backend "$good_sb" --executor no-such-executor >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 66 ] && grep -qF "ANTHROPIC_WORK_SECRET_FILE '$tmp/work-secret' (owner uid 0, mode 0400) is not readable by the runner (uid 4242); fix:" "$tmp/out"; then
	ok "exit 66: a work secret root-owned 0400 without fsGroup names the fix"
else
	not_ok "exit 66: a work secret root-owned 0400 without fsGroup names the fix (got $rc)"
	sed 's/^/# /' "$tmp/out"
fi
done_testing
