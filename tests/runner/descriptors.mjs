// A runner short of open files holds back its claims instead of running
// out: with its limit at 160 descriptors and --capacity 60, 30 queued
// sessions, each with a 2 s call, do not all start at once; the runner says
// why it stopped claiming, never meets "Too many open files", loses no
// lease, and serves every session.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiClient, cp, done, environment, ok, queueSleepers, RUNNER, startRunner, textOf, toolCalls, TMP, until, untilNoTracked,
  untilTurnEnds,
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
    await new Promise((r) => setTimeout(r, 100));
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
done();
