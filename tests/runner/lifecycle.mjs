// Watchdogs, hooks and the runner's own lifecycle: --startup-timeout-sec,
// --kill-session-after-min and --max-idle-sec each end a session and count
// in /metrics; pre-session and post-session hooks run with the documented
// variables (and no credential), a failing pre-session fails the session
// cleanly; --max-sessions 1 exits after one session; --exit-if-unused-min
// exits when idle; the start-up sweep removes only stale directories;
// --min-free-disk-mb keeps the runner from claiming.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, eventsOf, freePort, getStatus, issuedTokens, metric, ok, parseMetrics, say,
  startRunner, TMP, toolCalls, until, untilNoTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const VARS = ['HOOK', 'WORK_ID', 'SESSION_ID', 'ENVIRONMENT_ID', 'WORKER_ID', 'WORKDIR', 'OUTCOME', 'END_REASON'];

/** A hooks dir whose hooks append their environment to OUT/<hook>.env; `pre` is extra shell for pre-session. */
function hooksDir(name, { pre = '', post = '' } = {}) {
  const dir = join(TMP, `hooks-${name}`);
  const out = join(TMP, `hooks-${name}-out`);
  mkdirSync(dir, { recursive: true });
  mkdirSync(out, { recursive: true });
  for (const [hook, extra] of [['pre-session', pre], ['post-session', post]]) {
    writeFileSync(join(dir, hook), `#!/bin/sh\npwd > '${out}/${hook}.pwd'\nenv > '${out}/${hook}.tmp' && mv '${out}/${hook}.tmp' '${out}/${hook}.env'\n${extra}\n`);
    chmodSync(join(dir, hook), 0o755);
  }
  return { dir, out };
}
const readEnv = (file) => existsSync(file)
  ? Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  : null;

async function metricsOf(port) {
  return parseMetrics((await getStatus(port, '/metrics')).text);
}

async function withRunner(name, opts, fn) {
  const { env, key } = await environment(client, name);
  const port = await freePort();
  const baseDir = opts.baseDir ?? join(TMP, `base-${name}`);
  const runner = startRunner({ envId: env.id, key, baseDir, workerId: name, maxIdleSec: opts.maxIdleSec ?? 1,
    extra: ['--health-port', String(port), ...(opts.extra ?? [])] });
  try {
    await fn({ env, key, runner, port, baseDir });
  } catch (e) {
    ok(false, `${name}: ${e.message} ${e.cause?.code ?? ""}`, { alive: runner.alive(), log: runner.log().slice(-3000).split("\n") });
  } finally {
    await runner.stop();
  }
}

// Hooks: the documented variables, the session directory, no credential;
// pre-session prepares the directory before any tool runs.
{
  const { dir, out } = hooksDir('ok', { pre: 'echo prepared > prepared.txt; echo "pre says hi" >&2' });
  await withRunner('hooks', { extra: ['--hooks-dir', dir] }, async ({ env, key, runner, port }) => {
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'cat prepared.txt' } }], message: '{{result.0}}' }] });
    await say(client, session.id, 'go');
    ok(await untilTurnEnds(session.id, 1, 20_000), 'hooks: the turn ends', runner.log().slice(-2000));
    const calls = toolCalls(await eventsOf(session.id));
    ok(calls[0]?.text === 'prepared', 'hooks: pre-session ran in the session directory before the first tool', calls[0]);
    await untilWork(session.id, (w) => w[0]?.state === 'stopped', 10_000);
    const post = await until(() => readEnv(join(out, 'post-session.env')), 10_000);
    const pre = readEnv(join(out, 'pre-session.env'));
    const work = (await cp.report()).work.find((w) => w.session_id === session.id);
    const started = runner.log().match(/session started in '([^']+)'/)?.[1];
    const expect = { HOOK: 'pre-session', WORK_ID: work.id, SESSION_ID: session.id, ENVIRONMENT_ID: env.id, WORKER_ID: 'hooks', WORKDIR: started };
    ok(pre && Object.entries(expect).every(([k, v]) => pre[`ENVIRONMENT_RUNNER_${k}`] === v), 'hooks: pre-session gets the documented variables', pre);
    ok(post?.ENVIRONMENT_RUNNER_HOOK === 'post-session' && post.ENVIRONMENT_RUNNER_OUTCOME === 'completed' &&
      post.ENVIRONMENT_RUNNER_END_REASON === 'idle' && post.ENVIRONMENT_RUNNER_WORKDIR === started,
    'hooks: post-session gets the outcome (completed) and the end reason (idle)', post);
    ok(readFileSync(join(out, 'pre-session.pwd'), 'utf8').trim() === started, 'hooks: they run in the session directory');
    const all = JSON.stringify([pre, post]);
    const secrets = [key, ...issuedTokens(await cp.report())];
    ok(secrets.every((s) => !all.includes(s)) && !Object.keys({ ...pre, ...post }).some((k) => k.startsWith('ANTHROPIC_')),
      'hooks: no environment key, no sessions token, no ANTHROPIC_* variable');
    ok(Object.keys(pre).every((k) => k.startsWith('ENVIRONMENT_RUNNER_') || ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'LOGNAME', 'PWD', 'SHLVL', '_'].includes(k)),
      `hooks: nothing else in their environment (${Object.keys(pre).join(' ')})`);
    ok(/pre-session: pre says hi/.test(runner.log()), 'hooks: their stderr lines are logged');
    const m = await until(async () => {
      const x = await metricsOf(port);
      return metric(x, 'er_hook_runs_total', { hook: 'post-session', outcome: 'ok' }) === 1 ? x : null;
    }, 5000);
    ok(m && metric(m, 'er_hook_runs_total', { hook: 'pre-session', outcome: 'ok' }) === 1, 'hooks: counted in /metrics');
  });
}

// A failing pre-session: the session fails with its last stderr line, no
// tool runs, the item is stopped, post-session still runs.
{
  const { dir, out } = hooksDir('fail', { pre: 'echo "cloning..." >&2; echo "clone failed: repository not found" >&2; exit 3' });
  await withRunner('hookfail', { extra: ['--hooks-dir', dir] }, async ({ env, runner, port }) => {
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await say(client, session.id, 'go');
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', 'pre-session fails: the item is force-stopped', w?.[0].history);
    ok(/pre-session hook failed: clone failed: repository not found/.test(runner.log()), 'pre-session fails: the log names its last stderr line', runner.log().slice(-2000));
    ok(!(await eventsOf(session.id)).some((e) => e.type === 'user.tool_result'), 'pre-session fails: no tool ran');
    const post = await until(() => readEnv(join(out, 'post-session.env')), 5000);
    ok(post?.ENVIRONMENT_RUNNER_OUTCOME === 'failed', 'pre-session fails: post-session runs with outcome failed', post);
    const m = await metricsOf(port);
    ok(metric(m, 'er_sessions_failed_total') === 1 && metric(m, 'er_hook_runs_total', { hook: 'pre-session', outcome: 'failed' }) === 1,
      'pre-session fails: one failed session, one failed hook in /metrics');
    ok(runner.alive(), 'pre-session fails: the runner goes on');
  });
}

// --startup-timeout-sec: a pre-session hook that hangs.
{
  const { dir, out } = hooksDir('slow', { pre: 'sleep 30' });
  await withRunner('startup', { extra: ['--hooks-dir', dir, '--startup-timeout-sec', '1'] }, async ({ env, runner, port, baseDir }) => {
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    const t0 = Date.now();
    await say(client, session.id, 'go');
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    ok(w && Date.now() - t0 < 8000, `startup timeout: the item is stopped within seconds (${Date.now() - t0} ms)`, runner.log().slice(-2000));
    ok(/not started within --startup-timeout-sec/.test(runner.log()), 'startup timeout: logged');
    const m = await until(async () => {
      const x = await metricsOf(port);
      return metric(x, 'er_sessions_failed_total') === 1 ? x : null;
    }, 5000);
    ok(m && metric(m, 'er_watchdog_fired_total', { watchdog: 'startup' }) === 1, 'startup timeout: counted in /metrics');
    const post = await until(() => readEnv(join(out, 'post-session.env')), 5000);
    ok(post?.ENVIRONMENT_RUNNER_END_REASON === 'startup_timeout' && post.ENVIRONMENT_RUNNER_OUTCOME === 'failed', 'startup timeout: post-session sees it', post);
    ok((await untilNoTracked(baseDir, 3000)).length === 0, 'startup timeout: the hanging hook is killed');
  });
}

// --kill-session-after-min (0.05 min = 3 s) under a long tool call.
await withRunner('maxrun', { extra: ['--kill-session-after-min', '0.05'], maxIdleSec: 60 }, async ({ env, runner, port, baseDir }) => {
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 60' } }], message: 'x' }] });
  const t0 = Date.now();
  await say(client, session.id, 'go');
  const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 20_000);
  ok(w && Date.now() - t0 < 12_000, `max runtime: the item is stopped after about 3 s (${Date.now() - t0} ms)`, runner.log().slice(-2000));
  const calls = toolCalls(await eventsOf(session.id));
  ok(calls[0] && !calls[0].results.some((r) => /never|^0$/.test(JSON.stringify(r.content))), 'max runtime: the call never completes', calls[0]);
  const m = await metricsOf(port);
  ok(metric(m, 'er_watchdog_fired_total', { watchdog: 'max_runtime' }) === 1 && metric(m, 'er_tool_calls_total', { tool: 'bash', outcome: 'cancelled' }) === 1,
    'max runtime: counted in /metrics (watchdog, cancelled call)');
  ok((await untilNoTracked(baseDir, 3000)).length === 0, 'max runtime: the tool is killed');
});

// --max-sessions 1: one session, then exit 0 without claiming the next.
{
  const { env, key } = await environment(client, 'maxsessions');
  const a = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await say(client, a.id, 'one');
  const runner = startRunner({ envId: env.id, key, baseDir: join(TMP, 'base-max'), workerId: 'maxsessions', extra: ['--max-sessions', '1'] });
  const b = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await say(client, b.id, 'two');
  const r = await Promise.race([runner.exited, sleep(20_000).then(() => null)]);
  ok(r?.code === 0, `--max-sessions 1: the runner exits 0 by itself (${JSON.stringify(r)})`, runner.log().slice(-2000));
  const rep = await cp.report();
  const handed = rep.work.filter((w) => w.environment_id === env.id && w.handouts.some((h) => h.worker === 'maxsessions'));
  ok(handed.length === 1 && rep.work.find((w) => w.session_id === b.id)?.state === 'queued', '--max-sessions 1: exactly one item claimed, the other still queued', handed.map((w) => w.state));
  await runner.stop();
}

// --exit-if-unused-min 0.05 (3 s): no work, exit 0.
{
  const { env, key } = await environment(client, 'unused');
  const runner = startRunner({ envId: env.id, key, workerId: 'unused', extra: ['--exit-if-unused-min', '0.05'] });
  const t0 = Date.now();
  const r = await Promise.race([runner.exited, sleep(15_000).then(() => null)]);
  ok(r?.code === 0 && Date.now() - t0 >= 2500, `--exit-if-unused-min: exit 0 after about 3 s unused (${Date.now() - t0} ms)`, runner.log().slice(-1500));
  await runner.stop();
}

// The start-up sweep: a directory whose runner is gone goes; one a live
// runner serves, and one without a lock file, stay.  A lock file names its
// runner's owner lock (.er-owner-ID, flock'd while that runner lives);
// an empty one, as older runners left them, is in use while flock'd.
{
  const { env, key } = await environment(client, 'sweep');
  const base = join(TMP, 'base-sweep');
  const dirs = ['sesn_stale-0000aaaa', 'sesn_live-0000bbbb', 'sesn_foreign-0000cccc', 'sesn_gone-0000dddd', 'sesn_served-0000eeee'];
  for (const d of dirs) {
    mkdirSync(join(base, d, 'sub'), { recursive: true });
    writeFileSync(join(base, d, 'sub', 'f'), 'x');
  }
  const goneOwner = '11111111-2222-4333-8444-555555555555';
  const liveOwner = '66666666-7777-4888-8999-aaaaaaaaaaaa';
  writeFileSync(join(base, 'sesn_stale-0000aaaa.er-lock'), '', { mode: 0o600 });
  writeFileSync(join(base, 'sesn_live-0000bbbb.er-lock'), '', { mode: 0o600 });
  writeFileSync(join(base, 'sesn_gone-0000dddd.er-lock'), `${goneOwner}\n`, { mode: 0o600 });
  writeFileSync(join(base, 'sesn_served-0000eeee.er-lock'), `${liveOwner}\n`, { mode: 0o600 });
  writeFileSync(join(base, `.er-owner-${goneOwner}`), '', { mode: 0o600 });
  writeFileSync(join(base, `.er-owner-${liveOwner}`), '', { mode: 0o600 });
  const holders = [join(base, 'sesn_live-0000bbbb.er-lock'), join(base, `.er-owner-${liveOwner}`)]
    .map((f) => spawn('flock', [f, 'sleep', '30'], { stdio: 'ignore' }));
  await sleep(300);
  const runner = startRunner({ envId: env.id, key, baseDir: base, workerId: 'sweep' });
  await until(() => /status listener|serving environment/.test(runner.log()), 5000);
  const left = readdirSync(base).sort();
  ok(!left.includes('sesn_stale-0000aaaa') && !left.includes('sesn_stale-0000aaaa.er-lock'), 'sweep: a directory whose empty lock file is free goes, with it', left);
  ok(!left.includes('sesn_gone-0000dddd') && !left.includes('sesn_gone-0000dddd.er-lock') && !left.includes(`.er-owner-${goneOwner}`),
    'sweep: a directory whose runner is gone goes, with its lock file and then the owner file', left);
  ok(left.includes('sesn_live-0000bbbb') && left.includes('sesn_served-0000eeee') && left.includes(`.er-owner-${liveOwner}`) && left.includes('sesn_foreign-0000cccc'),
    "sweep: directories a live runner serves (its owner lock, or an older runner's flock'd lock file) and one without a lock file stay", left);
  ok(/removed 2 session directories/.test(runner.log()), 'sweep: logged');
  for (const h of holders) h.kill();
  await runner.stop();
}

// --min-free-disk-mb: above the free space, nothing is claimed and /readyz says why.
await withRunner('disk', { extra: ['--min-free-disk-mb', '1000000000'] }, async ({ env, runner, port }) => {
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await say(client, session.id, 'go');
  const ready = await until(async () => {
    const r = await getStatus(port, '/readyz').catch(() => null);
    return r?.status === 503 ? r : null;
  }, 5000);
  ok(ready?.json?.reason === 'low disk space', '--min-free-disk-mb: /readyz 503 "low disk space"', ready);
  await sleep(2000);
  ok((await cp.report()).work.find((w) => w.session_id === session.id)?.state === 'queued', '--min-free-disk-mb: the item stays queued');
  ok(/claiming no work/.test(runner.log()), '--min-free-disk-mb: logged once');
});
done();
