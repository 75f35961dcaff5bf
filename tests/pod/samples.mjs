// sample-config/kubernetes/ as shipped, in the pod-like harness
// (tests/pod/runner.sh) with the settings each manifest declares: its pod's
// user, group and fsGroup, its Secret's mode, its arguments (paths of its
// volumes mapped to directories here, the status listener on the
// loopback).  The Deployment serves a session under landlock and is ready
// on /readyz; the orchestrator probes no sandbox and hands the item to
// on-work.sh, whose Job (recorded by a stand-in kubectl) is then started
// here as its pod would be and serves the session with its work secret;
// every terminationGracePeriodSeconds is the budget the runner prints.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  apiClient, CP_URL, done, environment, freePort, getStatus, ok, PLUGIN_DIR, RUNNER, say, startRunner, TMP, toolCalls, until,
  untilTurnEnds, untilWork, cp,
} from '../runner/lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
// Installed with the SDK (tests/sdk/package.json).
const YAML = createRequire(join(HERE, '../sdk/package.json'))('yaml');
const SAMPLES = join(HERE, '../../sample-config/kubernetes');
const client = apiClient();
const helperArg = process.env.ER_TEST_SANDBOX_ARGS ?? '';

// YAML 1.1, as Kubernetes reads it: 0440 is octal.
const docsOf = (file) => YAML.parseAllDocuments(readFileSync(join(SAMPLES, file), 'utf8'), { version: '1.1' }).map((d) => d.toJS());
const podOf = (docs, name) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name).spec.template.spec;

// The harness's settings from a pod spec (tests/pod/runner.sh).
function usePod(pod, container) {
  const psc = pod.securityContext ?? {};
  const csc = container.securityContext ?? {};
  const secret = pod.volumes.find((v) => v.secret)?.secret;
  ok(psc.runAsNonRoot === true && psc.runAsUser > 0 && psc.seccompProfile?.type === 'RuntimeDefault' &&
    csc.allowPrivilegeEscalation === false && csc.readOnlyRootFilesystem === true && csc.capabilities?.drop?.includes('ALL'),
  `${container.name}: a restricted pod (non-root, RuntimeDefault, no privilege escalation, read-only root, no capability)`, { psc, csc });
  process.env.ER_POD_UID = String(psc.runAsUser);
  process.env.ER_POD_GID = String(psc.runAsGroup ?? psc.runAsUser);
  process.env.ER_POD_FS_GROUP = psc.fsGroup ? String(psc.fsGroup) : '';
  // Kubernetes gives a Secret's files to the fsGroup, readable by it.
  const mode = (secret?.defaultMode ?? 0o644) | (psc.fsGroup ? 0o040 : 0);
  process.env.ER_POD_SECRET_MODE = `0${mode.toString(8)}`;
  return { uid: psc.runAsUser };
}

// A manifest's path in one of its volumes, as a directory here.
function volumePath(container, path, root) {
  const m = container.volumeMounts.find((v) => path === v.mountPath || path.startsWith(`${v.mountPath}/`));
  const dir = join(root, m.name, path.slice(m.mountPath.length));
  mkdirSync(dir, { recursive: true });
  return dir;
}

// The budget the runner prints, and the manifest's grace period.
function budgetMatches(log, pod, what) {
  const b = Number(/shutdown budget: (\d+) s/.exec(log)?.[1]);
  ok(b > 0 && pod.terminationGracePeriodSeconds === b, `${what}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} is the printed budget (${b} s)`);
}

// The Deployment.
{
  const pod = podOf(docsOf('deployment.yaml'), 'environment-runner');
  const c = pod.containers[0];
  const { uid } = usePod(pod, c);
  const { env, key } = await environment(client, 'sample-deployment');
  const port = await freePort();
  let baseDir = null;
  const extra = [];
  for (const a of c.args.slice(1)) {
    const [flag, value] = a.split(/=(.*)/s);
    if (flag === '--base-dir') baseDir = volumePath(c, value, join(TMP, 'deployment-volumes'));
    else if (flag === '--health-addr') extra.push('--health-addr=127.0.0.1');
    else if (flag === '--health-port') extra.push(`--health-port=${port}`);
    else if (flag !== '--environment-id' && flag !== '--service-key-file') extra.push(a);
  }
  ok(!c.args.some((a) => a.startsWith('--sandbox-backend')), 'deployment.yaml: the sandbox backend is the default');
  const runner = startRunner({ envId: env.id, key, baseDir, workerId: 'sample-deployment', extra });
  try {
    const probe = c.readinessProbe.httpGet.path;
    const ready = await until(async () => (await getStatus(port, probe).catch(() => null))?.status === 200, 15_000);
    ok(ready && probe === '/readyz', `deployment.yaml: ready on its readiness probe (${probe})`, runner.log().slice(-3000));
    const h = (await getStatus(port, '/healthz').catch(() => null))?.json;
    ok(h?.sandbox === 'landlock' && /^bubblewrap: /.test(h.sandbox_reason ?? ''), 'deployment.yaml: landlock serves, /healthz says why not bubblewrap', h);
    budgetMatches(runner.log(), pod, 'deployment.yaml');
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'id -u && echo ok > f && cat f' } }], message: 'done' }] });
    await say(client, session.id, 'go');
    const text = toolCalls((await untilTurnEnds(session.id, 1, 30_000)) ?? [])[0]?.text;
    ok(text === `${uid}\nok`, 'deployment.yaml: a session is served in the pod', { text, log: runner.log().slice(-2000) });
  } finally {
    await runner.stop();
  }
}

// The orchestrator and a Job per item.
{
  const pod = podOf(docsOf('job-per-item/orchestrator.yaml'), 'environment-runner-orchestrator');
  const c = pod.containers[0];
  usePod(pod, c);
  const { env, key } = await environment(client, 'sample-jobs');
  const kube = join(TMP, 'kube-jobs');
  const bin = join(TMP, 'kube-jobs-bin');
  mkdirSync(kube, { recursive: true });
  mkdirSync(bin, { recursive: true });
  chownSync(kube, Number(process.env.ER_POD_UID), Number(process.env.ER_POD_GID));
  writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\nexec "${process.execPath}" "${join(HERE, '../runner/kubectl-standin.mjs')}" "$@"\n`);
  chmodSync(join(bin, 'kubectl'), 0o755);
  // The stand-in records the Job and its Secret; the Job's pod is started
  // below, as Kubernetes would, in the harness.
  const orchEnv = { PATH: `${bin}:${process.env.PATH}`, KUBE_DIR: kube, KUBE_RUNNER: '/bin/true' };
  const port = await freePort();
  const extra = [];
  for (const a of c.args.slice(1)) {
    const [flag] = a.split('=');
    if (flag === '--on-work') extra.push(`--on-work=${join(SAMPLES, 'job-per-item/on-work.sh')}`);
    else if (flag === '--health-addr') extra.push('--health-addr=127.0.0.1', `--health-port=${port}`);
    else if (flag !== '--environment-id' && flag !== '--service-key-file') extra.push(a);
  }
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo 4' } }], message: 'done' }] });
  const orch = startRunner({ envId: env.id, key, workerId: 'sample-orchestrator', extra, env: orchEnv });
  let job = null;
  try {
    const ready = await until(async () => (await getStatus(port, c.readinessProbe.httpGet.path).catch(() => null))?.status === 200, 15_000);
    ok(ready, 'orchestrator.yaml: ready on its readiness probe', orch.log().slice(-3000));
    ok(/sandbox: none probed/.test(orch.log()) && !/component=(bubblewrap|landlock)/.test(orch.log()), 'orchestrator.yaml: no sandbox is probed', orch.log().slice(-2000));
    budgetMatches(orch.log(), pod, 'orchestrator.yaml');
    await say(client, session.id, 'go');
    const jobFile = await until(() => readdirSync(kube).find((f) => f.endsWith('.job.json')), 15_000);
    ok(jobFile, 'orchestrator.yaml: on-work.sh creates a Job', orch.log().slice(-3000));
    job = jobFile && JSON.parse(readFileSync(join(kube, jobFile), 'utf8'));
    await until(() => readdirSync(kube).some((f) => f.endsWith('.exit')), 10_000);
  } finally {
    await orch.stop();
  }
  if (job) {
    const jpod = job.spec.template.spec;
    const jc = jpod.containers[0];
    usePod(jpod, jc);
    const name = job.metadata.name;
    const secretMount = jc.volumeMounts.find((m) => m.name === jpod.volumes.find((v) => v.secret).name).mountPath;
    const jobEnv = {};
    for (const e of jc.env) jobEnv[e.name] = e.value.startsWith(`${secretMount}/`) ? join(kube, name, e.value.slice(secretMount.length + 1)) : e.value;
    jobEnv.ANTHROPIC_BASE_URL = CP_URL;
    delete jobEnv.TMPDIR; // the harness gives the pod its /tmp
    const args = jc.args.map((a) => (a.startsWith('--base-dir=') ? `--base-dir=${volumePath(jc, a.slice(11), join(TMP, 'job-volumes'))}` : a));
    args.push(`--plugin-dir=${PLUGIN_DIR}`, ...helperArg.split(' ').filter(Boolean), '--max-idle-sec=1', '--log-level=debug');
    const item = spawn(RUNNER, args, { env: { ...process.env, ...jobEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    item.stdout.on('data', (d) => (log += d));
    item.stderr.on('data', (d) => (log += d));
    const code = await new Promise((r) => {
      const t = setTimeout(() => item.kill('SIGKILL'), 60_000);
      item.on('exit', (c2) => {
        clearTimeout(t);
        r(c2);
      });
    });
    ok(code === 0, `job: run-item reads its work secret and serves the item (exit ${code})`, log.slice(-3000));
    ok(/sandbox: landlock, the strongest that runs here/.test(log), 'job: landlock serves in the Job\'s pod', log.slice(-2000));
    budgetMatches(log, jpod, 'on-work.sh\'s Job');
    const text = toolCalls((await untilTurnEnds(session.id, 1, 5_000)) ?? [])[0]?.text;
    ok(text === '4', 'job: the session\'s tool call ran in the Job', text);
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
    ok(w, 'job: the item is stopped');
  }
}
done();
