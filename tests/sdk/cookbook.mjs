// The cookbook flow: the SDK as a client creates a self-hosted environment
// and a session, sends "What's 2 + 2?" and streams the reply, while the
// SDK's own worker serves the session against the local control plane.
import { apiClient, cp, done, environment, ok, say, startWorker, textOf, until, workOf } from './lib.mjs';

const client = apiClient();
const { env, key } = await environment(client, 'cookbook');
ok(env.id.startsWith('env_') && env.config.type === 'self_hosted', 'environment created through the SDK');

const worker = startWorker({ envId: env.id, key, maxIdleSec: 1, workerId: 'cookbook-worker' });
try {
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id, title: 'cookbook' });
  ok(session.status === 'idle' && Array.isArray(session.resources) && Array.isArray(session.agent.skills), 'session created with the 5.2 shape');

  const stream = await client.beta.sessions.events.stream(session.id, {}, { signal: AbortSignal.timeout(30_000) });
  await say(client, session.id, "What's 2 + 2?");
  const seen = [];
  for await (const ev of stream) {
    seen.push(ev);
    if (ev.type === 'session.status_idle' && ev.stop_reason?.type === 'end_turn') break;
  }
  const types = seen.map((e) => e.type);
  const use = seen.find((e) => e.type === 'agent.tool_use');
  const result = seen.find((e) => e.type === 'user.tool_result');
  const answer = seen.find((e) => e.type === 'agent.message');
  ok(types[0] === 'user.message' && types.includes('session.status_running'), 'stream delivers the user message, then running', types);
  ok(use?.name === 'bash' && use.input.command === 'echo $((2+2))', 'agent asks for bash echo $((2+2))', use);
  ok(result?.tool_use_id === use?.id && result.is_error === false && textOf(result.content) === '4', "worker's bash result is 4", result);
  ok(
    seen.some((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'requires_action' && e.stop_reason.event_ids[0] === use?.id),
    'idle requires_action names the pending tool use',
  );
  ok(textOf(answer?.content) === '2 + 2 = 4', 'agent answers "2 + 2 = 4"', answer);

  const page = [];
  for await (const ev of client.beta.sessions.events.list(session.id, { limit: 2 })) page.push(ev.id);
  ok(page.length >= seen.length && seen.every((e) => page.includes(e.id)), 'events.list pages (limit 2) through the same events', { page, seen: seen.map((e) => e.id) });

  // After maxIdle (1 s) the worker releases the item with a force stop.
  const report = await until(async () => {
    const r = await cp.report();
    return workOf(r, session.id)[0]?.state === 'stopped' ? r : null;
  }, 10_000);
  const hist = report && workOf(report, session.id)[0].history.map((h) => h.to);
  ok(hist?.join(',') === 'queued,starting,active,stopped', 'work item went queued, starting, active, stopped', hist);
  ok(report?.requests.by_worker['cookbook-worker']?.['work.poll'] > 0, 'polls carried the worker id', report?.requests.by_worker);
  ok(report && Object.keys(report.mistake_counts).length === 0, 'no protocol mistakes', report?.mistakes);
  const retrieved = await client.beta.sessions.retrieve(session.id);
  ok(retrieved.status === 'idle', 'session is idle after the turn');
} finally {
  const r = await worker.stop();
  ok(r.code === 0, 'SDK worker exits 0 on SIGTERM', { r, log: worker.log().slice(-2000) });
}
done();
