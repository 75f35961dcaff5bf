// 5xx bursts on every route the runner uses and SSE drops (ended and reset
// streams): the session completes, each tool call has exactly one result,
// and the results are right. A session read that keeps failing is retried.
// A result the API refuses with 413 is replaced
// by an error result quoting the refusal, as SDK 1.17's runner does.
import {
  apiClient, cp, done, environment, ok, say, startRunner, textOf, toolCalls, until, untilNoTracked, untilTurnEnds,
  untilWork,
} from './lib.mjs';

const client = apiClient();
const counting = {
  turns: [{ tool_calls: [1, 2, 3, 4].map((i) => ({ name: 'bash', input: { command: `echo ${i}` } })), message: '{{result.0}}{{result.1}}{{result.2}}{{result.3}}' }],
};

async function scenario(name, faults, fn) {
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, counting);
  await cp.faults(faults(session.id));
  const runner = startRunner({ envId: env.id, key, workerId: name });
  try {
    await say(client, session.id, 'count');
    const events = await untilTurnEnds(session.id, 1, 40_000);
    ok(events, `${name}: the turn ends`, runner.log().slice(-3000));
    const calls = toolCalls(events ?? []);
    ok(calls.length === 4 && calls.every((c) => c.results.length === 1), `${name}: every call has exactly one result`, calls.map((c) => c.results.length));
    ok(calls.map((c) => `${c.text}:${c.is_error}`).join(',') === '1:false,2:false,3:false,4:false', `${name}: results are right`, calls.map((c) => c.text));
    ok(textOf(events?.findLast((e) => e.type === 'agent.message')?.content) === '1234', `${name}: the session completes`);
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
    ok(w?.[0].history.at(-1).reason === 'stop_force', `${name}: the item is force-stopped at the end`, w?.[0].history);
    const rep = await cp.report();
    ok(!rep.mistake_counts.tool_result_duplicate, `${name}: no tool_result_duplicate in the report`, rep.mistake_counts);
    ok(Object.keys(rep.mistake_counts).length === 0, `${name}: no protocol mistakes at all`, rep.mistakes);
    await fn({ rep, runner, session });
  } finally {
    await cp.clearFaults();
    const r = await runner.stop();
    ok(r.code === 0, `${name}: runner exits 0 on SIGTERM`, { r, log: runner.log().slice(-2000) });
    const left = await untilNoTracked(runner.workdir, 3000);
    ok(left.length === 0, `${name}: no tracked process left`, left);
  }
}

// Error bursts on every route, the runner's calls only (the test's own API-key calls pass).
const bursts = [
  ['work.poll', 503, 2], ['work.ack', 500, 1], ['work.heartbeat', 503, 2], ['sessions.retrieve', 500, 2],
  ['events.stream', 502, 2], ['events.list', 503, 2], ['events.send', 503, 3],
];
await scenario('bursts', () => ({ errors: bursts.map(([route, status, count]) => ({ route, status, count, credential: route.startsWith('work.') && route !== 'work.heartbeat' ? 'env' : 'token' })) }), async ({ rep, runner }) => {
  const fired = rep.faults_fired.filter((f) => f.kind === 'error');
  const want = bursts.reduce((n, b) => n + b[2], 0);
  const byRoute = Object.fromEntries(bursts.map(([r]) => [r, fired.filter((f) => f.route === r).length]));
  ok(fired.length === want, `bursts: all ${want} injected errors were hit`, byRoute);
  const sends = rep.requests.log.filter((l) => l.route === 'events.send' && l.worker === 'bursts');
  ok(sends.filter((l) => l.status === 503).length === 3 && sends.filter((l) => l.status === 200).length === 4, 'bursts: results were re-sent after 503s, 4 accepted', sends.map((l) => l.status));
  ok(/503|retry|backoff/i.test(runner.log()), 'bursts: the runner logs the transient errors');
});

// SSE drops: ended after a few events, then reset connections.
const dropsOf = (rep, sid) => rep.faults_fired.filter((f) => f.kind === 'sse_drop' && f.detail?.session_id === sid);
await scenario('sse-end', (sid) => ({ sse_drop: { after_events: 2, count: 3, session_id: sid } }), async ({ rep, session }) => {
  const drops = dropsOf(rep, session.id);
  const streams = rep.requests.log.filter((l) => l.route === 'events.stream' && l.worker === 'sse-end');
  ok(drops.length === 3, `sse-end: 3 drops fired (${drops.length})`);
  ok(streams.length >= 4, `sse-end: the runner reconnected (${streams.length} stream connections)`);
  const lists = rep.requests.log.filter((l) => l.route === 'events.list' && l.worker === 'sse-end');
  ok(lists.length >= 4, `sse-end: history re-read after each reconnect (${lists.length} lists)`);
});
await scenario('sse-reset', (sid) => ({ sse_drop: { after_events: 3, count: 2, mode: 'destroy', session_id: sid } }), async ({ rep, session }) => {
  const drops = dropsOf(rep, session.id);
  ok(drops.length === 2 && drops.every((d) => d.detail.mode === 'destroy'), `sse-reset: 2 connection resets fired (${drops.length})`, drops);
  const streams = rep.requests.log.filter((l) => l.route === 'events.stream' && l.worker === 'sse-reset');
  ok(streams.length >= 3, `sse-reset: the runner reconnected (${streams.length} stream connections)`);
});
// The session read fails past the client's own retries: retried while the
// lease lasts, not given up (the item would be stopped unserved).
{
  const { env, key } = await environment(client, 'session-read');
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, counting);
  await cp.faults({ errors: [{ route: 'sessions.retrieve', status: 503, count: 5, credential: 'token' }] });
  const runner = startRunner({ envId: env.id, key, workerId: 'session-read' });
  try {
    await say(client, session.id, 'count');
    const events = await untilTurnEnds(session.id, 1, 40_000);
    ok(textOf(events?.findLast((e) => e.type === 'agent.message')?.content) === '1234', 'session-read: served after five failed reads of the session', runner.log().slice(-2000));
  } finally {
    await cp.clearFaults();
    const r = await runner.stop();
    ok(r.code === 0, 'session-read: runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  }
}

// A refused result (413): an error result takes its place, quoting the API.
{
  const { env, key } = await environment(client, 'refused');
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo big' } }], message: '{{result.0}}' }] });
  await cp.faults({ errors: [{ route: 'events.send', status: 413, count: 1, credential: 'token' }] });
  const runner = startRunner({ envId: env.id, key, workerId: 'refused' });
  try {
    await say(client, session.id, 'go');
    const events = await untilTurnEnds(session.id, 1, 20_000);
    const calls = toolCalls(events ?? []);
    ok(calls.length === 1 && calls[0].results.length === 1 && calls[0].is_error === true &&
      calls[0].text.startsWith("The API refused the result of tool 'bash': 413 injected fault (413) on events.send"),
    'refused: the refused result is replaced by an error result quoting the API', calls[0]);
  } finally {
    await cp.clearFaults();
    const r = await runner.stop();
    ok(r.code === 0, 'refused: runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  }
}
done();
