// The session ends under a running tool: archived (session.status_terminated),
// deleted (session.deleted), or the server asks to stop the item (stopping,
// seen on the next heartbeat). The runner keeps reading the stream while the
// tool runs, so it cancels the tool at once (within a heartbeat interval for
// the stop request) and force-stops the item. And the idle countdown after
// a turn is not cancelled by events other than a session status: the item
// is released while such events keep coming.
import {
  apiClient, cp, done, environment, ok, say, startRunner, untilGone, untilNoTracked, untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const TTL = 4;

async function scenario(name, end, limitMs) {
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 30; echo never' } }], message: 'x' }] });
  const runner = startRunner({ envId: env.id, key, workerId: name, maxIdleSec: 30 });
  try {
    await say(client, session.id, 'go');
    const proc = await untilTracked(/^sleep 30$/, runner.workdir, 15_000);
    ok(proc, `${name}: the tool runs`, runner.log().slice(-2000));
    await untilWork(session.id, (w) => w[0]?.state === 'active', 5000);
    const t0 = Date.now();
    await end(session);
    const ms = proc && (await untilGone(proc.pid, limitMs + 3000));
    const took = Date.now() - t0;
    ok(ms !== null && took <= limitMs, `${name}: the tool is cancelled ${took} ms later (limit ${limitMs} ms)`, runner.log().slice(-2000));
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 5000);
    const hist = w?.[0].history.map((h) => `${h.to}:${h.reason}`);
    ok(w && hist.at(-1).endsWith(':stop_force'), `${name}: the runner force-stops the item`, (await cp.report()).work.find((x) => x.session_id === session.id)?.history);
    const rep = await cp.report();
    const stops = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === name);
    ok(stops.length === 1, `${name}: one stop request`, stops);
    ok(Object.keys(rep.mistake_counts).length === 0, `${name}: no protocol mistakes`, rep.mistakes);
    const left = await untilNoTracked(runner.workdir, 1000);
    ok(left.length === 0, `${name}: nothing left running`, left);
    ok(runner.alive(), `${name}: the runner goes on serving`);
  } finally {
    await cp.clearFaults();
    const r = await runner.stop();
    ok(r.code === 0, `${name}: runner exits 0 on SIGTERM`, { r, log: runner.log().slice(-2000) });
  }
}

await scenario('archived', (s) => client.beta.sessions.archive(s.id), 1500);
await scenario('deleted', (s) => client.beta.sessions.delete(s.id), 1500);
await cp.faults({ lease_ttl_sec: TTL });
await scenario('stop-request', (s) => cp.faults({ stop_request: { session_id: s.id } }), (TTL * 1000) / 2 + 1000);
await cp.clearFaults();

// Events that are no session status do not hold the item after the turn.
{
  const { env, key } = await environment(client, 'idle-events');
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const runner = startRunner({ envId: env.id, key, workerId: 'idle-events', maxIdleSec: 2 });
  try {
    await say(client, session.id, 'go');
    ok(await untilTurnEnds(session.id, 1, 20_000), 'idle-events: the turn ends', runner.log().slice(-2000));
    let stopped = false;
    for (let i = 0; i < 20 && !stopped; i++) {
      await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.define_outcome', description: `tick ${i}` }] });
      await new Promise((r) => setTimeout(r, 600));
      stopped = (await cp.report()).work.find((w) => w.session_id === session.id)?.state === 'stopped';
    }
    ok(stopped, 'idle-events: the item is released while other events keep coming (every 0.6 s, --max-idle-sec 2)', runner.log().slice(-2000));
  } finally {
    const r = await runner.stop();
    ok(r.code === 0, 'idle-events: runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  }
}
done();
