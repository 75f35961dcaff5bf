// The first heartbeat claims the item, as the SDK's worker (1.16 on) does it:
// nothing of the session is read before that heartbeat succeeded; a refused
// first heartbeat (403) fails the item without stopping it; a heartbeat
// refused later (403) loses the lease: the session's processes go, and the
// item is not stopped (it returns to the queue and is served again). A
// health-check item is claimed (first heartbeat answered), then force-stopped.
import {
  API_KEY, CP_URL, apiClient, cp, done, environment, ok, say, startRunner, until, untilGone, untilNoTracked, untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const TTL = 4;
await cp.faults({ lease_ttl_sec: TTL });

const requestsOf = (rep, workerId) => rep.requests.log.filter((l) => l.worker === workerId);
const endOf = (l) => Date.parse(l.at) + l.ms;

async function scenario(name, body) {
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const runner = startRunner({ envId: env.id, key, workerId: name });
  try {
    await body({ session, runner });
  } finally {
    await cp.clearFaults();
    await cp.faults({ lease_ttl_sec: TTL });
    const r = await runner.stop();
    ok(r.code === 0, `${name}: runner exits 0 on SIGTERM`, { r, log: runner.log().slice(-2000) });
    const left = await untilNoTracked(runner.workdir, 3000);
    ok(left.length === 0, `${name}: no tracked process left`, left);
  }
}

// A slow first heartbeat: the session is read only once it has answered.
await scenario('claim-order', async ({ session, runner }) => {
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo hi' } }], message: '{{result.0}}' }] });
  await cp.faults({ latency: [{ route: 'work.heartbeat', ms: 700, count: 1 }] });
  await say(client, session.id, 'go');
  ok(await untilTurnEnds(session.id, 1, 20_000), 'claim-order: the turn ends', runner.log().slice(-2000));
  const log = requestsOf(await cp.report(), 'claim-order');
  const first = log.find((l) => l.route === 'work.heartbeat');
  const reads = log.filter((l) => l.route.startsWith('sessions.') || l.route.startsWith('events.'));
  ok(first?.status === 200 && reads.length > 0 && reads.every((l) => Date.parse(l.at) >= endOf(first)),
    'claim-order: no read of the session began before the first heartbeat answered', { first, reads: reads.slice(0, 3) });
});

// A health check: claimed with a heartbeat, then force-stopped, nothing read.
{
  const { env, key } = await environment(client, 'health-check');
  const res = await fetch(`${CP_URL}/_test/environments/${env.id}/healthcheck`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
  const { work_id: workId } = await res.json();
  const runner = startRunner({ envId: env.id, key, workerId: 'health-check' });
  try {
    const item = await until(async () => (await cp.report()).work.find((w) => w.id === workId && w.state === 'stopped'), 15_000);
    const hist = (item?.history ?? []).map((h) => `${h.to}:${h.reason}`);
    ok(hist.join(' ') === 'queued:healthcheck starting:ack active:first_heartbeat stopped:stop_force',
      'health-check: acked, claimed by its first heartbeat, then force-stopped', hist);
    const log = requestsOf(await cp.report(), 'health-check');
    const beat = log.find((l) => l.route === 'work.heartbeat');
    const stop = log.find((l) => l.route === 'work.stop');
    ok(beat?.status === 200 && stop && Date.parse(stop.at) >= endOf(beat) && !log.some((l) => l.route.startsWith('sessions.')),
      'health-check: the stop follows the answered heartbeat; no session is read', log.map((l) => `${l.route} ${l.status}`));
  } finally {
    const r = await runner.stop();
    ok(r.code === 0, 'health-check: runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  }
}

// The first heartbeat is refused: the item fails, unread and not stopped.
await scenario('claim-refused', async ({ session, runner }) => {
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo hi' } }], message: '{{result.0}}' }] });
  await cp.faults({ errors: [{ route: 'work.heartbeat', status: 403, count: 1 }] });
  await say(client, session.id, 'go');
  // The lease runs out, the item is queued again and served to the end.
  ok(await untilTurnEnds(session.id, 1, 25_000), 'claim-refused: the session is served once the item is handed out again', runner.log().slice(-2000));
  const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
  const item = w?.[0];
  const log = requestsOf(await cp.report(), 'claim-refused');
  const refused = log.find((l) => l.route === 'work.heartbeat' && l.status === 403);
  const second = item?.handouts[1]?.at;
  const between = log.filter((l) => refused && second && l.at >= refused.at && l.at < second);
  // (the ack that preceded the refused heartbeat can share its millisecond)
  ok(refused && second && between.every((l) => ['work.heartbeat', 'work.poll', 'work.ack'].includes(l.route)),
    'claim-refused: nothing but the refused heartbeat and polls until the item is handed out again (no read, no stop)', between);
  ok(/work item failed|session failed/.test(runner.log()), 'claim-refused: the runner reports the item failed');
});

// A later heartbeat is refused: the lease is lost, the item is not stopped.
await scenario('beat-refused', async ({ session, runner }) => {
  const command = 'if [ -e served-once ]; then echo survived; else touch served-once; sleep 30; fi';
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command } }], message: 'done: {{result.0}}' }] });
  await say(client, session.id, 'go');
  const sleep = await untilTracked(/^sleep 30$/, runner.workdir, 15_000);
  ok(sleep, 'beat-refused: the tool runs', runner.log().slice(-2000));
  const armed = new Date().toISOString();
  await cp.faults({ errors: [{ route: 'work.heartbeat', status: 403, count: 1 }] });
  ok(sleep && (await untilGone(sleep.pid, 10_000)) !== null, 'beat-refused: the session\'s processes are killed', runner.log().slice(-2000));
  const events = await untilTurnEnds(session.id, 1, 25_000);
  ok(events, 'beat-refused: the item is served again to the end', runner.log().slice(-3000));
  const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
  const second = w?.[0]?.handouts[1]?.at;
  const stops = requestsOf(await cp.report(), 'beat-refused').filter((l) => l.route === 'work.stop' && l.at >= armed && (!second || l.at < second));
  ok(second && stops.length === 0, 'beat-refused: no work.stop between the refused heartbeat and the next hand-out', stops);
});
done();
