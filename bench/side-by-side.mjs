#!/usr/bin/env node
// Two builds of the runner side by side: both serve half the sessions of one
// environment on one local control plane, at the same moments, so that a
// change's effect on CPU is not lost in the machine's drift from one run to
// the next (up to a quarter on a shared VM).
//
//   node bench/side-by-side.mjs BUILD_A BUILD_B
//
// BUILD_A and BUILD_B are build folders (with environment-runner and
// plugins/.libs), the one before a change and the one after, say.  Each
// session runs `bash true` once a second; each runner takes N/2 sessions
// (--capacity), and its CPU is read from /proc over ROUNDS windows.
//
//   BENCH_SIDE_N=300          sessions in all
//   BENCH_SIDE_WINDOW=80      seconds measured, in ROUNDS windows
//   BENCH_SIDE_ROUNDS=4
//
// Prints, for each window, each runner's CPU as a share of a core, its user
// and system parts, and B's CPU over A's.  The figures go to stdout only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createSession, environment, killChildren, procStat, sleep, startControlPlane, startRunner, until } from './lib.mjs';

const [dirA, dirB] = process.argv.slice(2).map((d) => d && resolve(d));
if (!dirA || !dirB) {
  console.error('usage: node bench/side-by-side.mjs BUILD_A BUILD_B (two build folders)');
  process.exit(64);
}
const N = Number(process.env.BENCH_SIDE_N ?? 300);
const WINDOW_SEC = Number(process.env.BENCH_SIDE_WINDOW ?? 80);
const ROUNDS = Number(process.env.BENCH_SIDE_ROUNDS ?? 4);
if (!(N >= 2 && N % 2 === 0) || !(WINDOW_SEC > 0) || !(ROUNDS >= 1)) {
  console.error('side-by-side: BENCH_SIDE_N must be an even number of at least 2, BENCH_SIDE_WINDOW and BENCH_SIDE_ROUNDS positive');
  process.exit(64);
}
const tmp = mkdtempSync(join(tmpdir(), 'er-side-'));
const pct = (s) => ((s / (WINDOW_SEC / ROUNDS)) * 100).toFixed(2);
try {
  const cp = await startControlPlane({ node: process.execPath, tmp, leaseTtlSec: 10 });
  await cp.api('POST', '/_test/default-script', {
    turns: [{ tool_calls: Array.from({ length: 20_000 }, () => ({ name: 'bash', input: { command: 'true' }, delay_ms: 1000 })), message: 'done' }],
  });
  const env = await environment(cp, tmp, 'side');
  const runners = [dirA, dirB].map((dir, i) => startRunner(
    { node: process.execPath, runner: join(dir, 'environment-runner'), pluginDir: join(dir, 'plugins/.libs') },
    { kind: 'c', env, cpUrl: cp.runnerUrl, tmp, workerId: `side-${'AB'[i]}`, baseDir: join(tmp, `base-${'AB'[i]}`), capacity: N / 2, maxIdleSec: 60 },
  ));
  for (let i = 0; i < N; i += 50) {
    for (const r of runners) r.check();
    await Promise.all(Array.from({ length: Math.min(50, N - i) }, () => createSession(cp, env.id)));
  }
  if (!(await until(async () => (await cp.answered(env.id)) === N, 60_000 + N * 250, 500, runners))) {
    throw new Error(`not every one of the ${N} sessions had a tool call answered`);
  }
  console.log(`A ${dirA}\nB ${dirB}\n${N / 2} sessions each, one \`bash true\` a second each`);
  console.log('window  A cpu %  (user/sys)      B cpu %  (user/sys)      B/A');
  for (let w = 1; w <= ROUNDS; w++) {
    const before = runners.map((r) => procStat(r.pid));
    await sleep((WINDOW_SEC / ROUNDS) * 1000);
    const [a, b] = runners.map((r, i) => {
      const now = procStat(r.pid);
      return { user: now.user_s - before[i].user_s, sys: now.sys_s - before[i].sys_s };
    });
    const line = (x) => `${pct(x.user + x.sys).padStart(6)}  (${pct(x.user)}/${pct(x.sys)})`.padEnd(24);
    console.log(`${String(w).padStart(6)}  ${line(a)}${line(b)}${((b.user + b.sys) / (a.user + a.sys)).toFixed(3)}`);
  }
  await Promise.all(runners.map((r) => r.stop(20_000)));
  await cp.stop();
} finally {
  killChildren();
  rmSync(tmp, { recursive: true, force: true });
}
