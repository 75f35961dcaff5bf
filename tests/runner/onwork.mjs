// Scale-out: `orchestrator --on-work CMD` claims items and hands each to
// CMD, which runs `environment-runner run-item`; run-item serves the session
// (heartbeats, tools, force stop) without polling or acking. Then the same
// through sample-config's Kubernetes on-work.sh with a stand-in kubectl; and
// run-item's refusals.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  apiClient, cp, done, environment, issuedTokens, ok, PLUGIN_DIR, RUNNER, say, startRunner, TMP, toolCalls, until,
  untilTurnEnds, untilWork,
} from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, '../..');
const client = apiClient();
const itemFlags = `--sandbox-backend=none --plugin-dir=${PLUGIN_DIR} --max-idle-sec=1 --log-level=debug`;

// A local on-work script: keeps what it was given, then serves the item.
{
  const { env, key } = await environment(client, 'onwork');
  const out = join(TMP, 'onwork-out');
  mkdirSync(out, { recursive: true });
  const script = join(TMP, 'on-work-local.sh');
  writeFileSync(script, `#!/bin/sh
cat > "${out}/$ANTHROPIC_WORK_ID.json"
env > "${out}/$ANTHROPIC_WORK_ID.env"
"${RUNNER}" run-item ${itemFlags} --base-dir="${join(TMP, 'onwork-items')}" --worker-id=onwork-item
echo "run-item exit $?" >&2
`);
  chmodSync(script, 0o755);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const runner = startRunner({ envId: env.id, key, workerId: 'onwork-orch', extra: ['--on-work', script, '--capacity', '2'] });
  try {
    await say(client, session.id, "What's 2 + 2?");
    const events = await untilTurnEnds(session.id, 1, 30_000);
    ok(events, 'on-work: the turn ends', runner.log().slice(-3000));
    const calls = toolCalls(events ?? []);
    ok(calls[0]?.text === '4' && calls[0].results.length === 1, 'on-work: the bash call ran once, result "4"', calls[0]);
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', 'on-work: run-item force-stops the item', w?.[0].history);
    ok(await until(() => /run-item exit 0/.test(runner.log()), 10_000), 'on-work: run-item exits 0 when the session ends', runner.log().slice(-3000));
    const rep = await cp.report();
    // The orchestrator's own lines, and those it relays from the command.
    const own = runner.log().split('\n').filter((l) => !/component=on-work/.test(l));
    const relayed = runner.log().split('\n').filter((l) => /component=on-work/.test(l));
    ok(!own.some((l) => /component=(lease|stream|session) /.test(l)) && own.some((l) => /component=poller .*acked/.test(l)),
      'on-work: the orchestrator acks, and never heartbeats or serves the session', own);
    ok(relayed.some((l) => /heartbeat ok/.test(l)) && relayed.some((l) => /work item stopped/.test(l)) && !relayed.some((l) => /component=poller/.test(l)),
      'on-work: run-item heartbeats and stops the item, and never polls or acks', relayed.slice(-20));
    const acks = rep.requests.log.filter((l) => l.route === 'work.ack' && l.path.includes(w?.[0].id));
    ok(acks.length === 1 && rep.work.find((x) => x.session_id === session.id)?.handouts.length === 1, 'on-work: one hand-out, one ack', acks);
    ok(Object.keys(rep.mistake_counts).length === 0, 'on-work: no protocol mistakes', rep.mistakes);
    const workId = w?.[0].id;
    const given = JSON.parse(readFileSync(join(out, `${workId}.json`), 'utf8'));
    ok(given.id === workId && given.data?.id === session.id && typeof given.secret === 'string', 'on-work: the work JSON (with its secret) on stdin');
    const vars = readFileSync(join(out, `${workId}.env`), 'utf8');
    ok(vars.includes(`ANTHROPIC_WORK_ID=${workId}\n`) && vars.includes(`ANTHROPIC_ENVIRONMENT_ID=${env.id}\n`) &&
      vars.includes(`ANTHROPIC_SESSION_ID=${session.id}\n`) && vars.includes(`ANTHROPIC_WORK_SECRET=${given.secret}\n`) &&
      /^ANTHROPIC_BASE_URL=http/m.test(vars), 'on-work: ANTHROPIC_WORK_ID, _ENVIRONMENT_ID, _SESSION_ID, _WORK_SECRET, _BASE_URL');
    ok(!vars.includes(key) && !/^ANTHROPIC_ENVIRONMENT_KEY=/m.test(vars) && !/^ER_SERVICE_KEY_FILE=/m.test(vars), 'on-work: never the environment key');
    ok(!runner.log().includes(key) && issuedTokens(rep).every((t) => !runner.log().includes(t)), 'on-work: no key or token in the log');
  } finally {
    await runner.stop();
  }
}

// sample-config/kubernetes/job-per-item/on-work.sh with a stand-in kubectl.
{
  const { env, key } = await environment(client, 'kube');
  const kube = join(TMP, 'kube');
  const bin = join(TMP, 'kube-bin');
  mkdirSync(kube, { recursive: true });
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\nexec "${process.execPath}" "${join(HERE, 'kubectl-standin.mjs')}" "$@"\n`);
  chmodSync(join(bin, 'kubectl'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.KUBE_DIR = kube;
  process.env.KUBE_RUNNER = RUNNER;
  process.env.KUBE_EXTRA_ARGS = `${itemFlags} --base-dir=${join(TMP, 'kube-items')} --worker-id=kube-item`;
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const onWork = join(SRC, 'sample-config/kubernetes/job-per-item/on-work.sh');
  const runner = startRunner({ envId: env.id, key, workerId: 'kube-orch', extra: ['--on-work', onWork] });
  try {
    await say(client, session.id, "What's 2 + 2?");
    ok(await untilTurnEnds(session.id, 1, 30_000), 'kubernetes sample: the session is served by the Job', runner.log().slice(-3000));
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', 'kubernetes sample: the item is stopped');
    const exitFile = await until(() => readdirSync(kube).find((f) => f.endsWith('.exit')), 10_000);
    ok(exitFile && readFileSync(join(kube, exitFile), 'utf8').trim() === '0', 'kubernetes sample: run-item exits 0', exitFile && readFileSync(join(kube, exitFile.replace('.exit', '.log')), 'utf8').slice(-2000));
    const calls = readFileSync(join(kube, 'calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    ok(calls.length === 2 && calls.every((c) => c[0] === 'create' && c.includes('-') && !c.join(' ').includes('sk-ant')), 'kubernetes sample: kubectl create twice (Job, Secret), no secret on its command line', calls);
    const job = JSON.parse(readFileSync(join(kube, readdirSync(kube).find((f) => f.endsWith('.job.json'))), 'utf8'));
    ok(!JSON.stringify(job).includes('sk-ant') && job.spec.template.spec.containers[0].env.some((e) => e.name === 'ANTHROPIC_WORK_SECRET_FILE'), 'kubernetes sample: the Job carries no credential, only the secret file path');
  } finally {
    await runner.stop();
  }
}

// run-item refuses what it cannot use.
{
  const base = { ...process.env, ANTHROPIC_WORK_ID: 'work_x', ANTHROPIC_ENVIRONMENT_ID: 'env_x', ANTHROPIC_SESSION_ID: 'sesn_x', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' };
  const run = (env) => spawnSync(RUNNER, ['run-item', ...itemFlags.split(' ')], { env, encoding: 'utf8', timeout: 10_000 });
  const open = join(TMP, 'secret-open');
  writeFileSync(open, 'c2VjcmV0', { mode: 0o644 });
  chmodSync(open, 0o644);
  let r = run({ ...base, ANTHROPIC_WORK_SECRET_FILE: open });
  ok(r.status === 78 && /readable by others.*fix: chmod o-rw/.test(r.stderr), `run-item: a world-readable secret file is refused (${r.status})`, r.stderr);
  r = run({ ...base, ANTHROPIC_WORK_ID: '' });
  ok(r.status === 64 && /ANTHROPIC_WORK_ID/.test(r.stderr), `run-item: a missing variable is a usage error (${r.status})`, r.stderr);
  r = run(base);
  ok(r.status === 64 && /no credential/.test(r.stderr), `run-item: no secret and no key is a usage error (${r.status})`, r.stderr);
  ok(!existsSync(join(TMP, 'nothing')), 'run-item: refusals start nothing');
}
done();
