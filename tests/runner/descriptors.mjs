// A runner short of open files holds back its claims instead of running
// out: with its limit at 160 descriptors and --capacity 60, 30 queued
// sessions, each with a 2 s call, do not all start at once; the runner says
// why it stopped claiming, never meets "Too many open files", loses no
// lease, and serves every session.
//
// Descriptors also come back without a session ending: the runner looks
// again each second.  With one session running, idle connections to its
// status listener put it short; once they are gone and out of its 30 s
// window, it claims the next item, long before that session's call ends.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, freePort, ok, queueSleepers, RUNNER, startRunner, textOf, toolCalls, TMP, until,
  untilNoTracked, untilTurnEnds,
} from './lib.mjs';

const LIMIT = 160;
const N = 30;
const client = apiClient();
const { env, key } = await environment(client, 'descriptors');
const sessions = await queueSleepers(client, env.id, N, 2);
// The limit as a service manager would set it: soft and hard.
const bin = join(TMP, 'runner-few-files.sh');
writeFileSync(bin, `#!/bin/sh\nulimit -n ${LIMIT} || exit 97\nexec "${RUNNER}" "$@"\n`, { mode: 0o755 });
const baseDir = join(TMP, 'descriptors-base');
const runner = startRunner({ envId: env.id, key, baseDir, workerId: 'descriptors', bin, extra: ['--capacity', '60'] });
try {
  let peak = 0;
  const ended = Promise.all(sessions.map((s) => untilTurnEnds(s.id, 1, 90_000)));
  let finished = false;
  ended.then(() => (finished = true));
  while (!finished && runner.alive()) {
    const rep = await cp.report();
    peak = Math.max(peak, rep.work.filter((w) => w.environment_id === env.id && w.state === 'active').length);
    await sleep(100);
  }
  const all = await ended;
  const log = runner.log();
  ok(runner.alive(), 'the runner keeps running', log.slice(-2000));
  ok(all.every(Boolean), `all ${N} sessions complete`, log.slice(-3000));
  ok(all.every((evs, i) => {
    const c = toolCalls(evs ?? [])[0];
    return c?.text === `s${i}` && c.results.length === 1 && textOf(evs.findLast((e) => e.type === 'agent.message')?.content) === `got s${i}`;
  }), 'each session got its own result and answer, once');
  ok(peak >= 1 && peak < N, `the runner held back: at most ${peak} of ${N} items active at once`, peak);
  ok(/open files in use (at the busiest of the last 30 s|\(estimated: 8 a session, the system does not count them\)), with \d+ sessions: claiming no work until more are free; raise the limit \(LimitNOFILE=/.test(log),
    'it says why it stopped claiming and what to do', log.match(/.*open files.*/g));
  ok(/may need about \d+ open files, but the limit is 160/.test(log), 'at start it says that --capacity 60 does not fit 160 open files');
  ok(!/Too many open files|EMFILE/.test(log), 'it never ran out of descriptors', log.match(/.*(Too many open files|EMFILE).*/g));
  ok(!/lease lost|lease assumed lost/.test(log), 'no lease lost', log.match(/.*lease.*lost.*/g));
  const stopped = await until(async () => (await cp.report()).work.filter((w) => w.environment_id === env.id && w.state === 'stopped').length === N, 10_000);
  ok(stopped, `all ${N} items end stopped, each claimed once`);
  const rep = await cp.report();
  ok(rep.work.filter((w) => w.environment_id === env.id).every((w) => w.handouts.length === 1), 'no item handed out twice', rep.work.map((w) => w.handouts.length));
  ok(Object.keys(rep.mistake_counts).length === 0, 'no protocol mistakes', rep.mistakes);
} finally {
  const r = await runner.stop();
  ok(r.code === 0, 'runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  const left = await untilNoTracked(baseDir, 3000);
  ok(left.length === 0, 'no tracked process left', left);
}

/** The runner's open descriptors as the kernel counts them. */
const openFiles = (pid) => readdirSync(`/proc/${pid}/fd`).length;

// Linux before 6.2 does not count a process's descriptors for it (the
// runner then estimates 8 a session, and connections do not show).
if (statSync('/proc/self/fd').size === 0) {
  ok(true, 'descriptors freed without a session ending # SKIP this kernel does not count open files');
} else {
  const limit = 120;
  const few = join(TMP, 'runner-120-files.sh');
  writeFileSync(few, `#!/bin/sh\nulimit -n ${limit} || exit 97\nexec "${RUNNER}" "$@"\n`, { mode: 0o755 });
  const port = await freePort();
  const base2 = join(TMP, 'descriptors-base-2');
  const r2 = startRunner({ envId: env.id, key, baseDir: base2, workerId: 'descriptors-2', bin: few, extra: ['--capacity', '4', '--health-port', String(port)] });
  const conns = [];
  try {
    const [long] = await queueSleepers(client, env.id, 1, 50);
    const running = await until(async () => (await cp.report()).work.find((w) => w.session_id === long.id && w.state === 'active'), 15_000);
    ok(running, 'the first session runs');
    await sleep(1000);
    // Enough to pass the limit with a new session's 8 and the reserve of 64, and no more.
    const idle = openFiles(r2.pid);
    const burst = limit - idle - 8 - 64 + 3;
    console.log(`# ${idle} open files with one session: ${burst} status connections`);
    ok(burst >= 3 && burst <= 32, 'the burst fits the status listener (32 connections)', { idle, burst });
    for (let i = 0; i < Math.min(Math.max(burst, 0), 32); i++) {
      conns.push(await new Promise((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => resolve(c));
        c.on('error', reject);
      }));
    }
    const short = await until(() => /claiming no work until more are free/.test(r2.log()), 10_000);
    ok(short, 'the connections leave it short: it stops claiming', r2.log().slice(-1500));
    // The poll in flight when it fell short may still hand out an item: let it end.
    await sleep(2000);
    for (const c of conns) c.destroy();
    const burstEnded = Date.now();
    const [next] = await queueSleepers(client, env.id, 1, 1);
    let longDone = false;
    const longEnded = untilTurnEnds(long.id, 1, 90_000).then((evs) => ((longDone = true), evs));
    const claimed = await until(async () => (await cp.report()).work.find((w) => w.session_id === next.id && w.handouts.length > 0), 60_000);
    const waited = Date.now() - burstEnded;
    ok(claimed && waited >= 25_000, `the next item waits for the burst to leave the 30 s window (claimed ${Math.round(waited / 1000)} s after)`);
    ok(claimed && !longDone, 'it is claimed while the first session still runs: no session had to end', r2.log().slice(-1500));
    ok(/open files free again/.test(r2.log()), 'it says it claims again');
    ok(await untilTurnEnds(next.id, 1, 20_000), 'the next session completes');
    ok(await longEnded, 'the first session completes');
    ok(!/Too many open files|EMFILE|lease lost/.test(r2.log()), 'no descriptor ran out and no lease was lost');
  } finally {
    for (const c of conns) c.destroy();
    const r = await r2.stop();
    ok(r.code === 0, 'the second runner exits 0 on SIGTERM', { r, log: r2.log().slice(-2000) });
    const left = await untilNoTracked(base2, 3000);
    ok(left.length === 0, 'no tracked process left', left);
  }
}
done();
