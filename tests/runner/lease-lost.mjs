// The lease is lost while a tool runs, by a forced heartbeat 412 or by no
// successful heartbeat within the TTL (503 on every beat): the runner kills
// that session's processes within one heartbeat interval of noticing and
// does not stop the item; the item goes back to queued and is served again
// to completion, the call getting exactly one result (from the second serve).
import {
  apiClient, cp, done, environment, ok, say, startRunner, toolCalls, trackedProcs, untilGone, untilNoTracked,
  untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const TTL = 4; // heartbeats every 2 s
const INTERVAL_MS = (TTL * 1000) / 2;
await cp.faults({ lease_ttl_sec: TTL });

async function scenario(name, { arm, limitMs }) {
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  // Long the first time (only the runner can end it), instant when served again.
  const command = 'if [ -e served-once ]; then echo survived; else touch served-once; sleep 30; fi';
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command } }], message: 'done: {{result.0}}' }] });
  const runner = startRunner({ envId: env.id, key, workerId: name });
  try {
    await say(client, session.id, 'go');
    const sleep = await untilTracked(/^sleep 30$/, runner.workdir, 15_000);
    ok(sleep, `${name}: the tool runs`, runner.log().slice(-2000));
    await untilWork(session.id, (w) => w[0]?.state === 'active' && w[0].heartbeats >= 1, 5000);
    const armed = Date.now();
    await arm(session);
    const killMs = sleep && (await untilGone(sleep.pid, limitMs + 3000));
    const took = killMs === null ? null : Date.now() - armed;
    const rep1 = await cp.report();
    const beats = rep1.requests.log.filter((l) => l.route === 'work.heartbeat' && l.worker === name);
    const firstBad = beats.find((l) => l.status !== 200)?.at ?? '~';
    const lastOk = beats.filter((l) => l.status === 200 && l.at < firstBad).at(-1);
    const sinceLastOk = lastOk && killMs !== null ? Date.now() - Date.parse(lastOk.at) : null;
    ok(took !== null && took <= limitMs, `${name}: the running tool was killed ${took} ms after the fault was armed (${sinceLastOk} ms after the last good heartbeat; limit ${limitMs} ms)`,
      runner.log().split('\n').filter((l) => /lease|heartbeat/.test(l)).slice(-6));
    const same = trackedProcs(runner.workdir).filter((p) => p.id === sleep?.id);
    ok(same.length === 0, `${name}: none of the session's processes (shell included) is left`, same);
    await cp.clearFaults();
    await cp.faults({ lease_ttl_sec: TTL });

    const events = await untilTurnEnds(session.id, 1, 25_000);
    ok(events, `${name}: the session completes after the item is served again`, runner.log().slice(-3000));
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
    const item = w?.[0];
    const hist = item?.history ?? [];
    const iLost = hist.findIndex((h) => h.to === 'queued' && (h.reason === 'forced_412' || h.reason === 'lease_expired'));
    ok(iLost > 0, `${name}: the item went back to queued`, hist);
    ok(hist[iLost + 1]?.to === 'starting', `${name}: next transition: acked again (the runner did not stop it)`, hist.slice(iLost));
    ok(item?.handouts.length === 2, `${name}: the item was handed out again`, item?.handouts.map((h) => h.worker));
    const rep = await cp.report();
    const stopsBetween = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === name && l.at >= new Date(armed).toISOString() &&
      item && l.at < item.handouts[1].at);
    ok(stopsBetween.length === 0, `${name}: no work.stop from the runner between losing the lease and the next hand-out`, stopsBetween);
    const stops = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === name);
    ok(stops.length === 1 && hist.at(-1)?.reason === 'stop_force', `${name}: exactly one stop: the force stop after the second serve`, stops);
    const calls = toolCalls(events ?? []);
    ok(calls.length === 1 && calls[0].results.length === 1 && calls[0].text === 'survived',
      `${name}: the call got exactly one result, from the second serve (nothing posted after the lease was lost)`, calls[0]?.results.map((r) => r.content));
    // (heartbeat_lease_lost is expected when the lease expired before the runner noticed)
    ok(!rep.mistake_counts.tool_result_duplicate && !rep.mistake_counts.heartbeat_wrong_expected, `${name}: no duplicate result, no wrong expected_last_heartbeat`, rep.mistake_counts);
  } finally {
    const r = await runner.stop();
    ok(r.code === 0, `${name}: runner exits 0 on SIGTERM`, { r, log: runner.log().slice(-2000) });
    const left = await untilNoTracked(runner.workdir, 3000);
    ok(left.length === 0, `${name}: no tracked process left`, left);
  }
}

// The 412 comes with the next beat (within one interval); the kill must follow at once.
await scenario('forced-412', { arm: (s) => cp.faults({ heartbeat_412: { session_id: s.id } }), limitMs: INTERVAL_MS + 1000 });
// Every beat fails: the lease is assumed lost once the TTL has passed since the
// last good beat; noticed at a beat, so allow the TTL plus two intervals (the
// SDK worker's worst case: a beat every interval, each cut off after one interval).
await scenario('assumed-lost', {
  arm: () => cp.faults({ errors: [{ route: 'work.heartbeat', status: 503, count: 1000 }] }),
  limitMs: TTL * 1000 + 2 * INTERVAL_MS + 500,
});
done();
