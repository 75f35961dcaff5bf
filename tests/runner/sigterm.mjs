// SIGTERM while a tool runs: within --drain-wait-sec the call finishes and
// its result is posted; past it the tool is stopped and its "was stopped"
// result posted, as the SDK stops a call. Either way the item
// is stopped, the runner exits 0 and nothing is left running.
import {
  apiClient, cp, done, environment, eventsOf, ok, say, startRunner, toolCalls, untilGone, untilNoTracked, untilTracked,
  untilWork,
} from './lib.mjs';

const client = apiClient();

async function scenario(name, { command, sleepRe, drainSec }, fn) {
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command } }], message: 'done: {{result.0}}' }] });
  const runner = startRunner({ envId: env.id, key, workerId: name, extra: ['--drain-wait-sec', String(drainSec)] });
  try {
    await say(client, session.id, 'go');
    const proc = await untilTracked(sleepRe, runner.workdir, 15_000);
    ok(proc, `${name}: the tool runs`, runner.log().slice(-2000));
    const r = await runner.stop(drainSec * 1000 + 10_000);
    ok(r.code === 0 && r.sig === null, `${name}: runner exits 0 (${r.ms} ms after SIGTERM)`, { r, log: runner.log().slice(-2500) });
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 3000);
    const hist = w?.[0].history ?? [];
    ok(hist.at(-1)?.reason === 'stop_force', `${name}: the item is stopped`, (await cp.report()).work.find((x) => x.session_id === session.id)?.history);
    const left = await untilNoTracked(runner.workdir, 1000);
    ok(left.length === 0, `${name}: nothing left running`, left);
    const calls = toolCalls(await eventsOf(session.id));
    await fn({ r, proc, calls, runner });
  } finally {
    await runner.stop();
  }
}

// The call ends within the drain time: its result goes out, then the item is stopped.
await scenario('finish', { command: 'sleep 2; echo finished', sleepRe: /^sleep 2$/, drainSec: 10 }, async ({ r, calls }) => {
  ok(r.ms >= 1000 && r.ms < 5000, `finish: the runner waited for the call (${r.ms} ms)`);
  ok(calls[0]?.results.length === 1 && calls[0].text === 'finished' && calls[0].is_error === false, 'finish: the result was posted once', calls[0]);
});

// The call outlasts --drain-wait-sec 1: cancelled, exit within a few seconds.
await scenario('cancel', { command: 'sleep 30; echo never', sleepRe: /^sleep 30$/, drainSec: 1 }, async ({ r, proc, calls }) => {
  ok(r.ms < 4000, `cancel: exit within a few seconds (${r.ms} ms)`);
  ok(proc && (await untilGone(proc.pid, 100)) !== null, 'cancel: the sleep was killed');
  ok(calls[0]?.results.length === 1 && calls[0].is_error && calls[0].text === "tool 'bash' was stopped, and may have already done some or all of its work",
    `cancel: the call is stopped as the SDK stops it, its result says so (${JSON.stringify(calls[0]?.text ?? null)})`, calls[0]);
});
done();
