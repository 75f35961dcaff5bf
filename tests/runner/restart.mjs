// A runner SIGKILLed and started again with the same worker id and state
// directory takes its items back within the lease's TTL, without the control
// plane handing them to anyone: (a) a result computed but not yet accepted
// (its post held by the control plane) is sent once from the item's record;
// (b) a call running at the kill is answered with an error saying so, never
// run again; (c) a record whose lease ran out is not taken back.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, eventsOf, freePort, getStatus, gone, metric, ok, parseMetrics, say, startRunner, TMP,
  toolCalls, until, untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const TTL = 8;
await cp.faults({ lease_ttl_sec: TTL });

/** The files of the item records under a --state-dir ending in `suffix`: [{path, json}]. */
function records(stateDir, suffix = '.json') {
  const found = [];
  const workers = join(stateDir, 'workers');
  for (const w of existsSync(workers) ? readdirSync(workers) : []) {
    const items = join(workers, w, 'items');
    for (const f of existsSync(items) ? readdirSync(items) : []) {
      if (!f.endsWith(suffix)) continue;
      try {
        found.push({ path: join(items, f), json: JSON.parse(readFileSync(join(items, f), 'utf8')) });
      } catch {}
    }
  }
  return found;
}

/** The lines of the calls' logs under a --state-dir that `pick` keeps. */
function logLines(stateDir, pick) {
  return recordFiles(stateDir).filter((f) => f.endsWith('.calls')).flatMap((f) => readFileSync(f, 'utf8').split('\n').flatMap((l) => {
    try {
      const j = JSON.parse(l);
      return pick(j) ? [j] : [];
    } catch {
      return [];
    }
  }));
}

/** The results kept in the calls' logs under a --state-dir: [{result, is_error, text}]. */
const resultLines = (stateDir) => logLines(stateDir, (j) => j.result);
/** The heartbeats the calls' logs keep, {beat, lease_until} each. */
const beatLines = (stateDir) => logLines(stateDir, (j) => j.beat && j.lease_until > 0);

/** Every file in the item-record directories under a --state-dir. */
function recordFiles(stateDir) {
  const workers = join(stateDir, 'workers');
  return (existsSync(workers) ? readdirSync(workers) : []).flatMap((w) => {
    const items = join(workers, w, 'items');
    return existsSync(items) ? readdirSync(items).map((f) => join(items, f)) : [];
  });
}

async function metricsOf(port) {
  return parseMetrics((await getStatus(port, '/metrics')).text);
}

/** One scenario: a session, a first runner killed at `killWhen`, a second one on the same state. */
async function scenario(name, { steps, message, arm, killWhen }) {
  const { env, key } = await environment(client, `restart-${name}`);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: steps.map((command) => ({ name: 'bash', input: { command } })), message }] });
  const workdir = join(TMP, `wd-restart-${name}`);
  const workerId = `worker-${name}`;
  const a = startRunner({ envId: env.id, key, workdir, workerId });
  const port = await freePort();
  let b;
  try {
    if (arm) await cp.faults(arm(session.id));
    await say(client, session.id, 'go');
    const ready = await killWhen(a, workdir);
    ok(ready, `${name}: the first runner reached the moment of the kill`, a.log().slice(-3000));
    const held = records(a.stateDir);
    ok(held.length === 1 && beatLines(a.stateDir).length > 0, `${name}: the item's record is kept, with its lease`, held.map((r) => r.json.work_id));
    await a.kill('SIGKILL');
    b = startRunner({ envId: env.id, key, workdir, workerId, stateDir: a.stateDir, extra: ['--health-port', String(port)] });
    const events = await untilTurnEnds(session.id, 1, 30_000);
    ok(events, `${name}: the restarted runner finishes the session`, b.log().slice(-3000));
    ok(/taken back after the runner restarted/.test(b.log()), `${name}: ... having taken the item back`, b.log().slice(0, 3000));
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    const item = w?.[0];
    ok(item?.handouts.length === 1 && item.handouts[0].worker === workerId, `${name}: the item was handed out once, to that worker`,
      item?.handouts.map((h) => h.worker));
    ok(!item?.history.some((h) => h.reason === 'lease_expired'), `${name}: its lease never lapsed`, item?.history);
    ok(await until(() => recordFiles(a.stateDir).length === 0, 5000), `${name}: the record and its files go with the item`, recordFiles(a.stateDir));
    const m = await metricsOf(port);
    const rep = await cp.report();
    ok(!rep.mistake_counts.tool_result_duplicate && !rep.mistake_counts.heartbeat_wrong_expected && !rep.mistake_counts.heartbeat_lease_lost,
      `${name}: no duplicate result and no refused heartbeat`, rep.mistake_counts);
    return { calls: toolCalls(events ?? []), log: b.log(), metrics: m, workdir, events };
  } finally {
    a.kill();
    if (b) {
      const r = await b.stop();
      ok(r.code === 0, `${name}: the restarted runner exits 0 on SIGTERM`, { r, log: b.log().slice(-2000) });
    }
    await cp.clearFaults();
    await cp.faults({ lease_ttl_sec: TTL });
  }
}

const lines = (workdir) => readFileSync(join(workdir, 'calls.log'), 'utf8').trim().split('\n');

// (a) The result is computed; its post hangs (never processed) when the runner dies.
{
  const r = await scenario('outbox', {
    steps: ['echo c0 >> calls.log; sleep 1; echo r0', 'echo c1 >> calls.log; echo r1'],
    message: '{{result.0}}{{result.1}}',
    arm: (sid) => ({ hold: { route: 'events.send', credential: 'token', session_id: sid, count: 1 } }),
    killWhen: async (a) => {
      const kept = await until(() => resultLines(a.stateDir).find((x) => x.text === 'r0'), 15_000);
      // The post is out, and held by the control plane: nothing of it reached the session.
      const held = await until(async () => (await cp.report()).faults_fired.some((f) => f.kind === 'hold'), 10_000);
      return kept && held;
    },
  });
  ok(r.calls.length === 2 && r.calls.every((c) => c.results.length === 1), 'outbox: each call has exactly one result', r.calls.map((c) => c.results.length));
  ok(r.calls.map((c) => c.text).join(',') === 'r0,r1', 'outbox: the kept result is the one the call computed', r.calls.map((c) => c.text));
  ok(lines(r.workdir).join(',') === 'c0,c1', 'outbox: no call ran twice', lines(r.workdir));
  ok(/finished before the runner restarted: sending its kept result/.test(r.log), 'outbox: the log says the result was sent from the record');
  ok(metric(r.metrics, 'er_results_replayed_total') === 1 && metric(r.metrics, 'er_items_resumed_total') === 1,
    'outbox: er_results_replayed_total and er_items_resumed_total count it', r.metrics.samples.er_results_replayed_total);
}

// (b) The runner dies while a call runs: the call is answered with an error, not run again.
{
  let slow;
  const r = await scenario('running', {
    steps: ['echo c0 >> calls.log; sleep 30; echo r0', 'echo c1 >> calls.log; echo r1'],
    message: '{{result.1}}',
    killWhen: async (_a, workdir) => (slow = await untilTracked(/^sleep 30$/, workdir, 15_000)),
  });
  ok(r.calls.length === 2 && r.calls.every((c) => c.results.length === 1), 'running: each call has exactly one result', r.calls.map((c) => c.results.length));
  ok(r.calls[0]?.is_error === true && /the runner restarted while it ran/.test(r.calls[0]?.text), 'running: the interrupted call is answered with the restart error',
    r.calls[0]);
  ok(r.calls[1]?.text === 'r1', 'running: the session goes on with its next call', r.calls[1]);
  ok(lines(r.workdir).join(',') === 'c0,c1', 'running: the interrupted call was not run again', lines(r.workdir));
  ok(slow && gone(slow.pid), 'running: its process does not outlive the restart');
  ok(metric(r.metrics, 'er_calls_interrupted_total') === 1, 'running: er_calls_interrupted_total counts it', r.metrics.samples.er_calls_interrupted_total);
}

// (c) Restarted after the lease ran out: the record is dropped, the item is the control plane's again.
{
  const { env, key } = await environment(client, 'restart-expired');
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 30' } }], message: 'done' }] });
  const workdir = join(TMP, 'wd-restart-expired');
  const a = startRunner({ envId: env.id, key, workdir, workerId: 'worker-expired' });
  let b;
  try {
    await say(client, session.id, 'go');
    ok(await untilTracked(/^sleep 30$/, workdir, 15_000), 'expired: the call runs', a.log().slice(-2000));
    await a.kill('SIGKILL');
    await sleep((TTL + 1) * 1000);
    b = startRunner({ envId: env.id, key, workdir, workerId: 'worker-expired', stateDir: a.stateDir });
    ok(await until(() => /its lease ran out \d+ s ago, while no runner served it; not taken back/.test(b.log()), 5000),
      'expired: the restarted runner says the lease ran out and does not take the item back', b.log().slice(0, 3000));
    ok(!/taken back after the runner restarted/.test(b.log()), 'expired: ... nor heartbeats it');
  } finally {
    a.kill();
    if (b) await b.stop();
  }
}

// A damaged record does not stop the runner: it is set aside, named in the log.
{
  const { env, key } = await environment(client, 'restart-damaged');
  const a = startRunner({ envId: env.id, key, workerId: 'worker-damaged' });
  const log = await until(() => /serving environment/.test(a.log()) && a.log(), 5000);
  await a.stop();
  const items = join(a.stateDir, 'workers', readdirSync(join(a.stateDir, 'workers'))[0], 'items');
  const bad = join(items, 'work_damaged.json');
  (await import('node:fs')).writeFileSync(bad, '{"version": 1, "work_id": ', { mode: 0o600 });
  const b = startRunner({ envId: env.id, key, workerId: 'worker-damaged', stateDir: a.stateDir });
  ok(log && await until(() => /cannot read the item record '.*work_damaged\.json' \(not a JSON record.*\): set aside as/.test(b.log()), 5000),
    'damaged: the record is named and set aside', b.log().slice(0, 2000));
  ok(existsSync(`${bad}.unreadable`) && !existsSync(bad), 'damaged: ... as NAME.unreadable');
  const r = await b.stop();
  ok(r.code === 0, 'damaged: the runner serves on and exits 0 on SIGTERM', r);
}
done();
