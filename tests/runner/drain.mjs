// Graceful drain as operators see it: the shutdown budget printed at start;
// on SIGTERM the running call finishes, the item is stopped and the
// post-session hook runs before the runner exits 0; a second SIGTERM ends
// the session at once; /readyz turns 503 while draining.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, eventsOf, freePort, getStatus, ok, say, startRunner, TMP, toolCalls, until,
  untilGone, untilNoTracked, untilTracked, untilWork,
} from './lib.mjs';

const client = apiClient();

// Drain with a post-session hook.
{
  const { env, key } = await environment(client, 'drain');
  const hooks = join(TMP, 'drain-hooks');
  const out = join(TMP, 'drain-out');
  mkdirSync(hooks, { recursive: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(hooks, 'post-session'), `#!/bin/sh\nsleep 1\necho "$ENVIRONMENT_RUNNER_OUTCOME $ENVIRONMENT_RUNNER_END_REASON" > '${out}/post'\n`);
  chmodSync(join(hooks, 'post-session'), 0o755);
  const port = await freePort();
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 2; echo finished' } }], message: 'done' }] });
  const runner = startRunner({ envId: env.id, key, baseDir: join(TMP, 'drain-base'), workerId: 'drain',
    extra: ['--drain-wait-sec', '10', '--hooks-dir', hooks, '--post-session-hook-timeout-sec', '20', '--health-port', String(port)] });
  try {
    const budget = await until(() => runner.log().match(/shutdown budget: (\d+) s after SIGTERM/)?.[1], 5000);
    ok(Number(budget) === 10 + 40 + 20, `the budget printed at start is drain + 40 s + post-session hook (${budget} s)`);
    await say(client, session.id, 'go');
    ok(await untilTracked(/^sleep 2$/, join(TMP, 'drain-base'), 15_000), 'drain: the tool runs');
    const t0 = Date.now();
    runner.proc.kill('SIGTERM');
    const ready = await until(async () => {
      const r = await getStatus(port, '/readyz').catch(() => null);
      return r?.status === 503 ? r : null;
    }, 2000);
    ok(ready?.json?.reason === 'draining' && ready.json.draining === true, '/readyz: 503 "draining" during the drain', ready);
    const r = await Promise.race([runner.exited, sleep(30_000).then(() => null)]);
    ok(r?.code === 0, `drain: exit 0 (${Date.now() - t0} ms after SIGTERM)`, runner.log().slice(-2500));
    ok(Date.now() - t0 >= 2000, 'drain: the runner waited for the call and the hook');
    const calls = toolCalls(await eventsOf(session.id));
    ok(calls[0]?.text === 'finished' && calls[0].results.length === 1, 'drain: the running call finished and its result went out', calls[0]);
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 3000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', 'drain: the item is stopped');
    ok(readFileSync(join(out, 'post'), 'utf8').trim() === 'shutdown shutdown', 'drain: the post-session hook ran (outcome shutdown) before the exit');
  } finally {
    await runner.stop();
  }
}

// A second SIGTERM ends the session at once.
{
  const { env, key } = await environment(client, 'now');
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 45; echo never' } }], message: 'x' }] });
  const runner = startRunner({ envId: env.id, key, workerId: 'now', extra: ['--drain-wait-sec', '60'] });
  try {
    await say(client, session.id, 'go');
    const proc = await untilTracked(/^sleep 45$/, runner.workdir, 15_000);
    ok(proc, 'second signal: the tool runs');
    runner.proc.kill('SIGTERM');
    await sleep(1500);
    ok(runner.alive(), 'second signal: after the first SIGTERM the runner waits for the call');
    const t0 = Date.now();
    runner.proc.kill('SIGTERM');
    const r = await Promise.race([runner.exited, sleep(15_000).then(() => null)]);
    ok(r && Date.now() - t0 < 5000, `second signal: the runner exits within seconds (${Date.now() - t0} ms, code ${r?.code})`, runner.log().slice(-2000));
    ok(proc && (await untilGone(proc.pid, 2000)) !== null, 'second signal: the tool is killed');
    ok((await untilNoTracked(runner.workdir, 2000)).length === 0, 'second signal: nothing left running');
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 3000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', 'second signal: the item is stopped');
    ok(!toolCalls(await eventsOf(session.id))[0]?.text?.includes('never'), 'second signal: the call never completed');
  } finally {
    await runner.stop();
  }
}
done();
