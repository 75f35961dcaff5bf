// user.interrupt while a tool runs: the session answers the call itself
// (agent.tool_result), so the runner stops the tool within about a second,
// posts the SDK's "was stopped" result, and the session goes on with the
// next message.
import {
  apiClient, cp, done, environment, eventsOf, ok, say, startRunner, textOf, toolCalls, until, untilGone, untilNoTracked,
  untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const { env, key } = await environment(client, 'interrupt');
const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
await cp.script(session.id, {
  turns: [
    { tool_calls: [{ name: 'bash', input: { command: 'sleep 30; echo never' } }], message: 'first: {{result.0}}' },
    // The stopped call took its shell with it: the next one restarts it.
    { tool_calls: [{ name: 'bash', input: { command: 'echo second', restart: true } }], message: 'second: {{result.0}}' },
  ],
});
const runner = startRunner({ envId: env.id, key, workerId: 'interrupt', maxIdleSec: 5 });
try {
  await say(client, session.id, 'go');
  const proc = await untilTracked(/^sleep 30$/, runner.workdir, 15_000);
  ok(proc, 'the long call runs', runner.log().slice(-2000));
  const t0 = Date.now();
  await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.interrupt' }] });
  const killMs = proc && (await untilGone(proc.pid, 5000));
  ok(killMs !== null && Date.now() - t0 < 1500, `the tool process is gone ${Date.now() - t0} ms after the interrupt`, runner.log().slice(-2000));
  const first = await until(async () => {
    const c = toolCalls(await eventsOf(session.id))[0];
    return c?.results.length ? c : null;
  }, 3000);
  const resultMs = first && Date.parse(first.results[0].processed_at) - t0;
  ok(first?.is_error === true && first.results.length === 1, `an error result is posted ${resultMs} ms after the interrupt: ${JSON.stringify(first?.text)}`, first);
  ok(first?.text === "tool 'bash' was stopped, and may have already done some or all of its work", 'it says the tool was stopped', first?.text);
  ok(resultMs !== null && resultMs < 1500, 'within about a second');
  const idle = await until(async () => (await eventsOf(session.id)).some((e) => e.type === 'session.status_idle'), 1000);
  ok(idle, 'the turn ended');

  await say(client, session.id, 'again');
  const events = await untilTurnEnds(session.id, 2, 15_000);
  const calls = toolCalls(events ?? []);
  ok(calls[1]?.text === 'second' && calls[1].results.length === 1, 'the session goes on: the next call runs', calls[1]);
  ok(textOf(events?.findLast((e) => e.type === 'agent.message')?.content) === 'second: second', 'and the next turn completes');
  ok(calls.every((c) => c.results.length === 1), 'every call has exactly one result', calls.map((c) => c.results.length));
  const w = await untilWork(session.id, (x) => x.every((i) => i.state === 'stopped'), 10_000);
  ok(w, 'the item(s) end stopped', (await cp.report()).work.filter((x) => x.session_id === session.id));
  const rep = await cp.report();
  ok(Object.keys(rep.mistake_counts).length === 0, 'no protocol mistakes', rep.mistakes);
} finally {
  const r = await runner.stop();
  ok(r.code === 0, 'runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  const left = await untilNoTracked(runner.workdir, 3000);
  ok(left.length === 0, 'no tracked process left', left);
}
done();
