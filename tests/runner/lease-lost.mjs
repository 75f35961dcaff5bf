// A forced 412 on a heartbeat while a tool runs: the runner kills that
// session's processes within one heartbeat interval and does not stop the
// item; the item goes back to queued and is served again to completion.
import {
  apiClient, cp, done, environment, ok, say, startRunner, toolCalls, trackedProcs, until, untilGone, untilNoTracked,
  untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const TTL = 4; // heartbeats every 2 s
const INTERVAL_MS = (TTL * 1000) / 2;
await cp.faults({ lease_ttl_sec: TTL });
const { env, key } = await environment(client, 'lease-lost');
const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 5; echo survived' } }], message: 'done: {{result.0}}' }] });
const runner = startRunner({ envId: env.id, key, workerId: 'lease-lost' });
try {
  await say(client, session.id, 'go');
  const sleep = await untilTracked(/^sleep 5$/, runner.workdir, 15_000);
  ok(sleep, 'the tool runs', runner.log().slice(-2000));
  await until(async () => (await untilWork(session.id, (w) => w[0]?.state === 'active', 100)) !== null, 5000);
  const armed = Date.now();
  await cp.faults({ heartbeat_412: { session_id: session.id } });
  const killMs = sleep && (await untilGone(sleep.pid, INTERVAL_MS + 3000));
  const rep1 = await cp.report();
  const hb412 = rep1.requests.log.find((l) => l.route === 'work.heartbeat' && l.status === 412 && l.worker === 'lease-lost');
  ok(hb412, 'the runner got the 412', rep1.requests.by_route_status);
  const afterArm = killMs === null ? null : Date.now() - armed;
  ok(killMs !== null && afterArm <= INTERVAL_MS + 1000, `the running tool was killed ${afterArm} ms after arming (heartbeat interval ${INTERVAL_MS} ms)`,
    { killMs, log: runner.log().slice(-2000) });
  const since412 = hb412 && killMs !== null ? Date.now() - Date.parse(hb412.at) : null;
  ok(since412 !== null && since412 < 1500, `killed within ${since412} ms of the 412 (including the test's polling)`);
  const same = trackedProcs(runner.workdir).filter((p) => p.id === sleep?.id && p.pid <= (sleep?.pid ?? 0));
  ok(same.length === 0, "none of the session's processes (shell included) is left", same);

  const events = await untilTurnEnds(session.id, 1, 25_000);
  ok(events, 'the session completes after the item is served again', runner.log().slice(-3000));
  const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
  const item = w?.[0];
  const hist = item?.history ?? [];
  const i412 = hist.findIndex((h) => h.reason === 'forced_412');
  ok(i412 > 0 && hist[i412].to === 'queued', 'the 412 sent the item back to queued', hist);
  ok(hist[i412 + 1]?.to === 'starting', 'next transition: acked again (the runner did not stop it)', hist.slice(i412));
  ok(item?.handouts.length === 2, 'the item was handed out again', item?.handouts.map((h) => h.worker));
  const rep = await cp.report();
  const stopsBetween = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === 'lease-lost' && hb412 &&
    l.at >= hb412.at && l.at < item.handouts[1].at);
  ok(stopsBetween.length === 0, 'no work.stop from the runner between the 412 and the next hand-out', stopsBetween);
  const stops = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === 'lease-lost');
  ok(stops.length === 1 && hist.at(-1).reason === 'stop_force', 'exactly one stop: the force stop after the second serve', stops);
  const calls = toolCalls(events ?? []);
  ok(calls.length === 1 && calls[0].results.length === 1 && calls[0].text === 'survived', 'the call got exactly one result, from the second serve', calls);
  ok(!rep.mistake_counts.tool_result_duplicate && !rep.mistake_counts.heartbeat_wrong_expected, 'no protocol mistakes', rep.mistake_counts);
} finally {
  const r = await runner.stop();
  ok(r.code === 0, 'runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  const left = await untilNoTracked(runner.workdir, 3000);
  ok(left.length === 0, 'no tracked process left', left);
}
done();
