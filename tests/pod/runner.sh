#!/bin/sh
# environment-runner as a Kubernetes pod with the restricted security
# settings runs it (tests/pod/pod.c): put in $ER_RUNNER in front of the
# real runner, $ER_POD_RUNNER.  The service key file and
# ANTHROPIC_WORK_SECRET_FILE are handed over as a Secret volume hands them:
# copied to a root-owned file of mode $ER_POD_SECRET_MODE (default 0440)
# whose group is the fsGroup.  Settings, with their defaults (those of
# sample-config/kubernetes/): ER_POD_UID=10001, ER_POD_GID=10001,
# ER_POD_FS_GROUP=10001 (empty: none), ER_POD_RW (emptyDirs, colon-separated;
# default $CP_TMP; made the fsGroup's and group-writable, as Kubernetes does).
set -eu
: "${ER_POD_RUNNER:?the runner to start}"
uid=${ER_POD_UID:-10001}
gid=${ER_POD_GID:-10001}
fsgroup=${ER_POD_FS_GROUP-10001}
mode=${ER_POD_SECRET_MODE:-0440}
pod=${ER_POD:-${ER_TOP_BUILDDIR:?}/tests/pod/er-pod}
secrets=$(mktemp -d "${CP_TMP:-${TMPDIR:-/tmp}}/pod-secrets.XXXXXX")
chmod 755 "$secrets"

# own DIR: a directory the check made for the runner belongs to the pod's
# user, as one the pod made in its emptyDir would.
own() {
	mkdir -p "$1"
	chown "$uid:$gid" "$1"
}

# secret FILE NAME: the Secret volume's copy of FILE.
secret() {
	cp "$1" "$secrets/$2"
	chown "0:${fsgroup:-0}" "$secrets/$2"
	chmod "$mode" "$secrets/$2"
	echo "$secrets/$2"
}

n=$#
i=0
while [ "$i" -lt "$n" ]; do
	a=$1
	shift
	i=$((i + 1))
	case $a in
	--base-dir=*) own "${a#*=}" ;;
	--workdir=*) own "$(dirname "${a#*=}")" ;;
	--base-dir) own "$1" ;;
	--workdir) own "$(dirname "$1")" ;;
	--service-key-file=*) a="--service-key-file=$(secret "${a#*=}" service-key)" ;;
	--service-key-file)
		set -- "$@" "$a" "$(secret "$1" service-key)"
		shift
		i=$((i + 1))
		continue
		;;
	esac
	set -- "$@" "$a"
done
# /tmp is an emptyDir in the samples: here, one in $CP_TMP.
TMPDIR=${CP_TMP:?}/pod-tmp
own "$TMPDIR"
export TMPDIR
if [ -n "${ANTHROPIC_WORK_SECRET_FILE:-}" ]; then
	ANTHROPIC_WORK_SECRET_FILE=$(secret "$ANTHROPIC_WORK_SECRET_FILE" work-secret)
	export ANTHROPIC_WORK_SECRET_FILE
fi

set -- --uid "$uid" --gid "$gid" ${fsgroup:+--fs-group "$fsgroup"} -- "$ER_POD_RUNNER" "$@"
old_ifs=$IFS
IFS=:
for dir in ${ER_POD_RW:-${CP_TMP:?}}; do
	# An emptyDir with an fsGroup: the group's, group-writable, setgid.
	if [ -n "$fsgroup" ]; then
		chgrp "$fsgroup" "$dir"
		chmod g+rwxs "$dir"
	fi
	set -- --rw "$dir" "$@"
done
IFS=$old_ifs
exec "$pod" "$@"
