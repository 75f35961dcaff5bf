// Permission gating and unknown tools, as the SDK worker does them:
// `ask` waits for user.tool_confirmation (allow runs once, deny never runs),
// `deny` never runs, and a tool the toolset does not know is left to another
// client (here the test answers it). A call the session does not wait on
// (no evaluated_permission, no requires_action idle listing it, then the
// turn ends) is not run at all.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, cp, done, environment, eventsOf, ok, say, startRunner, textOf, toolCalls, until, untilNoTracked } from './lib.mjs';

const client = apiClient();
const { env, key } = await environment(client, 'permissions');
const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
await cp.script(session.id, {
  turns: [{
    tool_calls: [
      { name: 'write', input: { file_path: 'asked.txt', content: 'approved' }, evaluated_permission: 'ask' },
      { name: 'bash', input: { command: 'touch ask-denied.txt' }, evaluated_permission: 'ask' },
      { name: 'bash', input: { command: 'touch denied.txt' }, evaluated_permission: 'deny' },
      { name: 'web_lookup', input: { q: 'x' } },
      { name: 'bash', input: { command: 'ls' }, evaluated_permission: null },
      { name: 'bash', input: { command: 'touch not-awaited.txt' }, evaluated_permission: null, awaited: false },
    ],
    message: 'asked: {{result.0}}; ask-denied: {{result.1}}; denied: {{result.2}}; other: {{result.3}}; ls: {{result.4}}',
  }],
});
const runner = startRunner({ envId: env.id, key, workerId: 'permissions', maxIdleSec: 2 });
try {
  const stream = await client.beta.sessions.events.stream(session.id, {}, { signal: AbortSignal.timeout(30_000) });
  await say(client, session.id, 'go');
  const seen = [];
  let unknownWait = null;
  for await (const ev of stream) {
    seen.push(ev);
    if (ev.type === 'agent.tool_use' && ev.evaluated_permission === 'ask') {
      // Give the runner time to (wrongly) run it before the confirmation.
      await new Promise((r) => setTimeout(r, 300));
      const allow = ev.name === 'write';
      await client.beta.sessions.events.send(session.id, {
        events: [{ type: 'user.tool_confirmation', tool_use_id: ev.id, result: allow ? 'allow' : 'deny', ...(!allow && { deny_message: 'no' }) }],
      });
    }
    if (ev.type === 'agent.tool_use' && ev.name === 'web_lookup') {
      // The runner must leave it alone: no result from it within a second.
      await new Promise((r) => setTimeout(r, 1000));
      unknownWait = toolCalls(await eventsOf(session.id)).find((c) => c.name === 'web_lookup')?.results.length ?? -1;
      await client.beta.sessions.events.send(session.id, {
        events: [{ type: 'user.tool_result', tool_use_id: ev.id, content: [{ type: 'text', text: 'from another client' }] }],
      });
    }
    if (ev.type === 'session.status_idle' && ev.stop_reason?.type === 'end_turn') break;
  }
  const wd = runner.workdir;
  const calls = toolCalls(await eventsOf(session.id));
  ok(calls[0]?.results.length === 1 && calls[0].text === 'wrote 8 bytes to asked.txt' && readFileSync(join(wd, 'asked.txt'), 'utf8') === 'approved',
    'ask + allow: executed once after the confirmation', calls[0]);
  ok(calls[1]?.results.length === 0 && !existsSync(join(wd, 'ask-denied.txt')), 'ask + deny: not executed, no result', calls[1]);
  ok(calls[2]?.results.length === 0 && !existsSync(join(wd, 'denied.txt')), 'deny: not executed, no result', calls[2]);
  ok(unknownWait === 0, 'unknown tool name: the runner posts nothing for it', unknownWait);
  ok(calls[3]?.results.length === 1 && calls[3].text === 'from another client', 'unknown tool name: answered by the other client only', calls[3]);
  ok(calls[4]?.results.length === 1 && calls[4].is_error === false && calls[4].text.includes('asked.txt'), 'no evaluated_permission: executed', calls[4]);
  ok(calls[5]?.results.length === 0 && !existsSync(join(wd, 'not-awaited.txt')), 'a call the session does not wait on: not run, no result', calls[5]);
  const answer = textOf(seen.findLast((e) => e.type === 'agent.message')?.content);
  ok(answer.startsWith('asked: wrote 8 bytes to asked.txt; ask-denied: (denied: no); denied: (denied); other: from another client; ls: '), 'final message', answer);
  const rep = await until(async () => {
    const r = await cp.report();
    return r.work.find((w) => w.session_id === session.id)?.state === 'stopped' ? r : null;
  }, 10_000);
  ok(rep && Object.keys(rep.mistake_counts).length === 0, 'no protocol mistakes (no result for denied or unconfirmed calls)', rep?.mistakes);
} finally {
  const r = await runner.stop();
  ok(r.code === 0, 'runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  const left = await untilNoTracked(runner.workdir, 3000);
  ok(left.length === 0, 'no tracked process left', left);
}
done();
