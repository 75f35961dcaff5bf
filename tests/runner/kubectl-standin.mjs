// A stand-in for `kubectl create -f -` as sample-config's on-work.sh calls
// it: a Job is recorded (its uid printed for -o jsonpath); the Secret that
// names it as owner is written as this user's file, and the Job's container is
// then started here, detached: KUBE_RUNNER replaces its command, the
// secret volume's mount path is mapped to that file, KUBE_EXTRA_ARGS are
// appended to its arguments. Output and exit status go to KUBE_DIR.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.KUBE_DIR;
const args = process.argv.slice(2);
writeFileSync(join(dir, 'calls.log'), `${JSON.stringify(args)}\n`, { flag: 'a' });
if (args[0] !== 'create' || !args.includes('-f') || args[args.indexOf('-f') + 1] !== '-') {
  process.stderr.write(`kubectl stand-in: unsupported: ${args.join(' ')}\n`);
  process.exit(1);
}
const doc = JSON.parse(readFileSync(0, 'utf8'));
const name = doc.metadata.name;
if (doc.kind === 'Job') {
  writeFileSync(join(dir, `${name}.job.json`), JSON.stringify(doc));
  if (args.some((a) => a.includes('jsonpath={.metadata.uid}'))) process.stdout.write(`uid-${name}`);
  process.exit(0);
}
if (doc.kind !== 'Secret') process.exit(1);
const owner = doc.metadata.ownerReferences?.[0];
const job = JSON.parse(readFileSync(join(dir, `${owner.name}.job.json`), 'utf8'));
if (owner.uid !== `uid-${owner.name}`) process.exit(2);
const vol = join(dir, name);
mkdirSync(vol, { recursive: true, mode: 0o700 });
for (const [k, v] of Object.entries(doc.data)) {
  writeFileSync(join(vol, k), Buffer.from(v, 'base64'));
  // The container runs here as this user, who owns the file: the bits
  // the pod's fsGroup would read it through are the owner's here
  // (tests/pod runs the Job as its pod does).
  const mode = job.spec.template.spec.volumes[0].secret.defaultMode;
  chmodSync(join(vol, k), (mode | ((mode & 0o040) << 3)) & 0o700);
}
const c = job.spec.template.spec.containers[0];
const mount = c.volumeMounts[0].mountPath;
const env = { PATH: process.env.PATH };
for (const e of c.env) env[e.name] = e.value.startsWith(`${mount}/`) ? join(vol, e.value.slice(mount.length + 1)) : e.value;
const argv = [...c.args, ...(process.env.KUBE_EXTRA_ARGS ?? '').split(' ').filter(Boolean)];
const child = spawn('/bin/sh', ['-c', '"$0" "$@" >"$KUBE_LOG" 2>&1; echo $? >"$KUBE_EXIT"', process.env.KUBE_RUNNER, ...argv], {
  env: { ...env, KUBE_LOG: join(dir, `${name}.log`), KUBE_EXIT: join(dir, `${name}.exit`) },
  detached: true,
  stdio: 'ignore',
});
child.unref();
