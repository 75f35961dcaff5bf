// Every fault knob of the control plane has a visible effect on the SDK's
// worker, and the worker reacts as docs/protocol.md §5-§6 says.
import { apiClient, cp, done, environment, eventsOf, ok, say, startWorker, textOf, toolCalls, until, untilTurnEnds, workOf } from './lib.mjs';

const client = apiClient();

/** A fresh environment, session (with `script`, `faults` armed first) and SDK worker; faults cleared afterwards. */
async function scenario(name, { script, faults }, fn) {
  if (faults) await cp.faults(faults);
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  if (script) await cp.script(session.id, script);
  const worker = startWorker({ envId: env.id, key, maxIdleSec: 1, workerId: `${name}-worker` });
  try {
    await fn({ env, session, worker });
  } finally {
    await cp.clearFaults();
    const r = await worker.stop();
    if (r.code !== 0) ok(false, `${name}: SDK worker exits 0`, { r, log: worker.log().slice(-2000) });
  }
}

const itemOf = async (sessionId, pred) =>
  until(async () => {
    const w = workOf(await cp.report(), sessionId);
    return pred(w) ? w : null;
  }, 15_000);
const bashTurn = (command, message = 'done: {{result.0}}') => ({ turns: [{ tool_calls: [{ name: 'bash', input: { command } }], message }] });
/** Waits until the session's item is active and its agent has asked for a tool. */
const toolRunning = async (sessionId) =>
  (await itemOf(sessionId, (w) => w[0]?.state === 'active')) &&
  until(async () => (await eventsOf(sessionId)).find((e) => e.type === 'agent.tool_use'));
const noDuplicates = (events) => toolCalls(events).every((c) => c.results.length <= 1);

// Forced 412 while a tool runs: the worker drops the lease without stopping the
// item; the item is re-queued, handed out again and the session completes.
await scenario('lease-lost', { script: bashTurn('sleep 3; echo survived'), faults: { lease_ttl_sec: 4 } }, async ({ session }) => {
  await say(client, session.id, 'go');
  await toolRunning(session.id);
  await cp.faults({ heartbeat_412: { session_id: session.id } });
  const events = await untilTurnEnds(session.id, 1, 25_000);
  const [item] = (await itemOf(session.id, (w) => w[0]?.handouts.length >= 2)) ?? [];
  const hist = item?.history ?? [];
  const i412 = hist.findIndex((h) => h.reason === 'forced_412');
  ok(i412 > 0 && hist[i412].from === 'active' && hist[i412].to === 'queued', 'lease-lost: heartbeat 412 re-queued the active item', hist);
  ok(hist[i412 + 1]?.to === 'starting', 'lease-lost: the worker did not stop the item after the 412', hist);
  ok(item?.handouts.length === 2, 'lease-lost: the item was handed out again', item?.handouts);
  ok(textOf(events?.findLast((e) => e.type === 'agent.message')?.content).startsWith('done: '), 'lease-lost: the session still completes');
  ok(events && noDuplicates(events), 'lease-lost: no tool use answered twice', events && toolCalls(events));
});

// A server-side stop request: active -> stopping; the worker sees it on its
// next heartbeat, aborts and confirms with a force stop.
await scenario('stop-request', { script: bashTurn('sleep 6; echo late'), faults: { lease_ttl_sec: 4 } }, async ({ session }) => {
  await say(client, session.id, 'go');
  await toolRunning(session.id);
  const t0 = Date.now();
  const res = await cp.faults({ stop_request: { session_id: session.id } });
  ok(res.stop_request?.applied === true, 'stop-request: applied to the active item', res);
  const w = await itemOf(session.id, (x) => x[0]?.state === 'stopped');
  const hist = w?.[0].history.map((h) => `${h.to}:${h.reason}`);
  ok(hist?.slice(-2).join(',') === 'stopping:server_stop_request,stopped:stop_force', 'stop-request: stopping, then the worker force-stops', hist);
  ok(w && Date.now() - t0 < 4000, `stop-request: stopped within one heartbeat interval (${Date.now() - t0} ms)`);
  const rep = await cp.report();
  ok(!rep.mistake_counts.stop_on_stopped, 'stop-request: no stop of an already stopped item', rep.mistakes);
});

// 5xx bursts on every route the worker uses: retried, completed, nothing doubled.
const bursts = [
    ['work.poll', 503, 2], ['work.ack', 500, 1], ['work.heartbeat', 503, 2], ['sessions.retrieve', 500, 1],
    ['events.stream', 502, 2], ['events.list', 503, 1], ['events.send', 503, 3],
].map(([route, status, count]) => ({ route, status, count, credential: route.startsWith('work.') ? 'env' : 'token' }));
bursts.find((e) => e.route === 'work.heartbeat').credential = 'token';
await scenario('bursts', { faults: { errors: bursts } }, async ({ session }) => {
  await say(client, session.id, "What's 2 + 2?");
  const events = await untilTurnEnds(session.id, 1, 30_000);
  const rep = await cp.report();
  const fired = rep.faults_fired.filter((f) => f.kind === 'error');
  ok(fired.length === 12, `bursts: all 12 injected errors were hit (${fired.length})`, fired.map((f) => f.route));
  const [call] = toolCalls(events ?? []);
  ok(call?.text === '4' && call.results.length === 1, 'bursts: the tool result arrived exactly once', call);
  ok(textOf(events?.findLast((e) => e.type === 'agent.message')?.content) === '2 + 2 = 4', 'bursts: the session completes');
  ok(!rep.mistake_counts.tool_result_duplicate, 'bursts: no duplicate results in the report', rep.mistake_counts);
  const retried = rep.requests.log.filter((l) => l.route === 'events.send' && l.retry_count > 0);
  ok(retried.length >= 2, 'bursts: the SDK retried sends (X-Stainless-Retry-Count > 0)', retried.length);
});

// 429 with retry-after: 1 — the poll retry waits about a second.
await scenario('rate-limit', { faults: { errors: [{ route: 'work.poll', status: 429, count: 1, retry_after: 1 }] } }, async ({ session }) => {
  await say(client, session.id, 'hi');
  await untilTurnEnds(session.id);
  const polls = (await cp.report()).requests.log.filter((l) => l.route === 'work.poll' && l.worker === 'rate-limit-worker');
  const i = polls.findIndex((l) => l.status === 429);
  const gap = i >= 0 && polls[i + 1] ? Date.parse(polls[i + 1].at) - Date.parse(polls[i].at) : -1;
  ok(gap >= 900 && polls[i + 1].retry_count === 1, `rate-limit: retried after retry-after (${gap} ms)`, polls.slice(0, 3));
});

// Latency: an added delay shows up in the request's duration.
await scenario('latency', { faults: { latency: [{ route: 'sessions.retrieve', ms: 1200, count: 1 }] } }, async ({ session }) => {
  await say(client, session.id, 'hi');
  const events = await untilTurnEnds(session.id);
  const rs = (await cp.report()).requests.log.filter((l) => l.route === 'sessions.retrieve' && l.worker === 'latency-worker');
  ok(rs[0]?.ms >= 1200, `latency: session retrieve took ${rs[0]?.ms} ms`, rs);
  ok(toolCalls(events ?? [])[0]?.text === '4', 'latency: the session completes');
});

// SSE drops: the worker reconnects, re-reads history and still answers once.
const counting = { turns: [{ tool_calls: [1, 2, 3].map((i) => ({ name: 'bash', input: { command: `echo ${i}` } })), message: '{{result.0}}{{result.1}}{{result.2}}' }] };
await scenario('sse-drop', { script: counting, faults: { sse_drop: { after_events: 2, count: 3 } } }, async ({ session }) => {
  await say(client, session.id, 'count');
  const events = await untilTurnEnds(session.id, 1, 20_000);
  const of = (rep, route) => rep.requests.log.filter((l) => l.route === route && l.worker === 'sse-drop-worker');
  // After the third drop the worker reconnects once more and stays connected.
  const rep = (await until(async () => ((r) => (of(r, 'events.stream').length >= 4 ? r : null))(await cp.report()), 5000)) ?? (await cp.report());
  const drops = rep.faults_fired.filter((f) => f.kind === 'sse_drop');
  ok(drops.length === 3 && of(rep, 'events.stream').length === 4, `sse-drop: 3 drops, ${of(rep, 'events.stream').length} stream connections`);
  ok(of(rep, 'events.list').length >= 4, 'sse-drop: history re-read after each reconnect');
  ok(textOf(events?.findLast((e) => e.type === 'agent.message')?.content) === '123', 'sse-drop: all three results arrived');
  ok(events && noDuplicates(events), 'sse-drop: no tool use answered twice');
});

// A short lease: heartbeats follow ttl/2 (1 s for a 2 s lease).
await scenario('short-lease', { script: bashTurn('sleep 3'), faults: { lease_ttl_sec: 2 } }, async ({ session }) => {
  await say(client, session.id, 'go');
  await untilTurnEnds(session.id, 1, 15_000);
  const [item] = workOf(await cp.report(), session.id);
  ok(item?.heartbeats >= 3, `short-lease: ${item?.heartbeats} heartbeats during a 3 s tool run`);
  ok(!item?.history.some((h) => h.reason === 'lease_expired'), 'short-lease: the lease never expired', item?.history);
});

done();
