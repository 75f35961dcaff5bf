#!/bin/sh
# --on-work command: start one Kubernetes Job per claimed work item.
#
#   environment-runner orchestrator --on-work /path/to/on-work.sh ...
#
# The orchestrator has claimed (acked) the item and runs this with the work
# JSON on stdin and ANTHROPIC_WORK_ID, ANTHROPIC_ENVIRONMENT_ID,
# ANTHROPIC_SESSION_ID, ANTHROPIC_WORK_SECRET and ANTHROPIC_BASE_URL in the
# environment (never the environment key).  The Job runs
# `environment-runner run-item`, which heartbeats the item, serves the
# session and stops the item; if the Job never starts, the lease lapses and
# the item is queued again.
#
# The secret travels in a Secret (never on a command line), mounted for
# ANTHROPIC_WORK_SECRET_FILE as a root-owned 0440 file whose group is the
# pod's fsGroup (readable by the runner's user, uid 10001, through that
# group: a 0400 file would be root's alone), and owned by the Job so that
# it is deleted with it.  The pod is restricted (no capability, read-only
# root file system, emptyDirs for the sessions and /tmp): the runner there
# takes landlock where bubblewrap cannot make its namespaces.  kubectl reads the manifests from stdin: `kubectl
# create job` cannot set variables or volumes.
#
# Settings (environment): ER_JOB_IMAGE, ER_JOB_NAMESPACE (default: the
# current context's), ER_JOB_ARGS (extra run-item flags, e.g.
# "--sandbox-backend=bubblewrap"), KUBECTL (default kubectl).
set -eu
: "${ANTHROPIC_WORK_ID:?}" "${ANTHROPIC_ENVIRONMENT_ID:?}" "${ANTHROPIC_SESSION_ID:?}"
: "${ANTHROPIC_WORK_SECRET:?}" "${ANTHROPIC_BASE_URL:=https://api.anthropic.com}"
image=${ER_JOB_IMAGE:-ghcr.io/example/environment-runner:0.1.0}
kubectl=${KUBECTL:-kubectl}
ns_flag=${ER_JOB_NAMESPACE:+--namespace=$ER_JOB_NAMESPACE}
cat >/dev/null # the work JSON: everything needed is in the variables

# Ids are opaque: keep what a JSON string and a Kubernetes name allow.
clean() { printf '%s' "$1" | tr -c 'A-Za-z0-9_-' '_'; }
work_id=$(clean "$ANTHROPIC_WORK_ID")
env_id=$(clean "$ANTHROPIC_ENVIRONMENT_ID")
session_id=$(clean "$ANTHROPIC_SESSION_ID")
base_url=$(printf '%s' "$ANTHROPIC_BASE_URL" | tr -d '"\\')
name=er-$(printf '%s' "$work_id" | tr 'A-Z_' 'a-z-' | cut -c1-50)

args='"run-item", "--base-dir=/work/sessions"'
for a in ${ER_JOB_ARGS:-}; do
	args="$args, \"$(printf '%s' "$a" | tr -d '"\\')\""
done

uid=$($kubectl create $ns_flag -f - -o 'jsonpath={.metadata.uid}' <<JOB
{
  "apiVersion": "batch/v1",
  "kind": "Job",
  "metadata": {"name": "$name", "labels": {"app": "environment-runner-item"}},
  "spec": {
    "backoffLimit": 0,
    "ttlSecondsAfterFinished": 600,
    "template": {
      "metadata": {"labels": {"app": "environment-runner-item"}},
      "spec": {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 70,
        "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
          "name": "run-item",
          "image": "$image",
          "command": ["environment-runner"],
          "args": [$args],
          "env": [
            {"name": "ANTHROPIC_WORK_ID", "value": "$work_id"},
            {"name": "ANTHROPIC_ENVIRONMENT_ID", "value": "$env_id"},
            {"name": "ANTHROPIC_SESSION_ID", "value": "$session_id"},
            {"name": "ANTHROPIC_BASE_URL", "value": "$base_url"},
            {"name": "ANTHROPIC_WORK_SECRET_FILE", "value": "/var/run/work/secret"},
            {"name": "TMPDIR", "value": "/tmp"}
          ],
          "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
          "volumeMounts": [
            {"name": "work-secret", "mountPath": "/var/run/work", "readOnly": true},
            {"name": "work", "mountPath": "/work"},
            {"name": "tmp", "mountPath": "/tmp"}
          ]
        }],
        "volumes": [
          {"name": "work-secret", "secret": {"secretName": "$name", "defaultMode": 288}},
          {"name": "work", "emptyDir": {}},
          {"name": "tmp", "emptyDir": {}}
        ]
      }
    }
  }
}
JOB
)

secret_b64=$(printf '%s' "$ANTHROPIC_WORK_SECRET" | base64 | tr -d '\n')
$kubectl create $ns_flag -f - >/dev/null <<SECRET
{
  "apiVersion": "v1",
  "kind": "Secret",
  "metadata": {
    "name": "$name",
    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "$name", "uid": "$uid"}]
  },
  "type": "Opaque",
  "data": {"secret": "$secret_b64"}
}
SECRET
echo "started job $name for work item $ANTHROPIC_WORK_ID" >&2
