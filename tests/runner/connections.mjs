// The runner's connections for short requests are capped, so that an API
// slow to answer cannot make it open one for every request in flight
// until no descriptor is left: with its open-file limit at 512 the cap is
// 32.  48 sessions each post a call's result while the API takes 10 s to
// answer every post, so that all 48 would be open at once; over HTTP/1.1
// a connection carries one request at a time, and the control plane sees
// no more than 32 posts open at once.  The rest wait their turn, and the
// leases' heartbeats, on connections of their own, are not held up behind
// them: with a 6 s lease, a heartbeat waiting out a 10 s post would lose it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, freePort, getStatus, metric, ok, parseMetrics, queueSleepers, RUNNER, startRunner, textOf, toolCalls, TMP,
  until, untilNoTracked,
} from './lib.mjs';

const LIMIT = 512;
const CAP = LIMIT / 16;
const N = 48;
const client = apiClient();
const { env, key } = await environment(client, 'connections');
const sessions = await queueSleepers(client, env.id, N, 1);
await cp.faults({ lease_ttl_sec: 6, latency: [{ route: 'events.send', ms: 10000, credential: 'token' }] });
const bin = join(TMP, 'runner-512-files.sh');
writeFileSync(bin, `#!/bin/sh\nulimit -n ${LIMIT} || exit 97\nexec "${RUNNER}" "$@"\n`, { mode: 0o755 });
const baseDir = join(TMP, 'connections-base');
const port = await freePort();
const runner = startRunner({
  envId: env.id, key, baseDir, workerId: 'connections', bin, extra: ['--capacity', String(N), '--health-port', String(port)],
});
try {
  const all = await untilAllTurnsEnd(sessions.map((s) => s.id), 120_000);
  const log = runner.log();
  const rep = await cp.report();
  ok(runner.alive(), 'the runner keeps running', log.slice(-2000));
  ok(all !== null, `all ${N} sessions complete`, log.slice(-3000));
  ok(all?.every((evs, i) => {
    const c = toolCalls(evs ?? [])[0];
    return c?.text === `s${i}` && c.results.length === 1 && textOf(evs.findLast((e) => e.type === 'agent.message')?.content) === `got s${i}`;
  }), 'each session got its own result and answer, once');
  const posts = rep.requests.most_open['events.send'];
  // The cap counts every short request (the poll, a session's reads), so that a few of its turns may go to those.
  ok(posts <= CAP && posts >= CAP - 8, `at most ${CAP} results were posted at once (${posts}): the others waited their turn`, rep.requests.most_open);
  const m = parseMetrics((await getStatus(port, '/metrics')).text);
  ok(metric(m, 'er_requests_waited_total') > 0 && metric(m, 'er_requests_waiting') === 0,
    `its metrics count the requests that waited (${metric(m, 'er_requests_waited_total')}) and none waiting now`);
  ok(rep.requests.by_http_version['1.1'] > 0 && !rep.requests.by_http_version['2.0'], 'over HTTP/1.1', rep.requests.by_http_version);
  ok(!/lease lost|lease assumed lost|transient heartbeat failure/.test(log), 'no heartbeat waited behind the posts: no lease lost',
    log.match(/.*level=(warning|error).*/g));
  ok(!/Too many open files|EMFILE/.test(log), 'no descriptor ran out', log.match(/.*(Too many open files|EMFILE).*/g));
  const stopped = await until(async () => (await cp.report()).work.filter((w) => w.environment_id === env.id && w.state === 'stopped').length === N, 10_000);
  ok(stopped, `all ${N} items end stopped`);
  // Once every item is stopped: a result posted twice late in the run counts too.
  const last = await cp.report();
  const work = last.work.filter((w) => w.environment_id === env.id);
  ok(work.every((w) => w.handouts.length === 1), 'no item handed out twice', work.map((w) => w.handouts.length));
  ok(Object.keys(last.mistake_counts).length === 0, 'no protocol mistakes', last.mistakes);
} finally {
  await cp.clearFaults();
  const r = await runner.stop();
  ok(r.code === 0, 'runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  const left = await untilNoTracked(baseDir, 3000);
  ok(left.length === 0, 'no tracked process left', left);
}
done();

/**
 * The sessions' event logs once each turn has ended, or null after `ms`.
 * One report a second for all: a report is large, and the control plane
 * answers nothing else while it writes one.
 */
async function untilAllTurnsEnd(ids, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(1000)) {
    const rep = await cp.report();
    const logs = ids.map((id) => rep.sessions[id]?.events ?? []);
    if (logs.every((evs) => evs.some((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'end_turn'))) return logs;
  }
  return null;
}
