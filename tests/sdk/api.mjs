// The SDK's resource methods against the control plane: environments,
// sessions, events (pagination, validation, ingress, interrupt) and the work
// lifecycle (poll, secret, ack, heartbeat 412, stop semantics, lease expiry,
// stats, list, retrieve, re-enqueue on a new message).
import { apiClient, cp, done, environment, eventsOf, ok, say, textOf, tokenClient, until, untilTurnEnds, workOf } from './lib.mjs';

const client = apiClient();
const status = async (p) => p.then(() => 200, (e) => e.status ?? e.message);
const secretOf = (w) => JSON.parse(Buffer.from(w.secret, 'base64url').toString('utf8'));

// --- environments ---
const created = [];
for (const name of ['a', 'b', 'c']) created.push(await client.beta.environments.create({ name, config: { type: 'self_hosted' }, metadata: { k: name } }));
const listed = [];
for await (const e of client.beta.environments.list({ limit: 2 })) listed.push(e.id);
ok(created.every((e) => listed.includes(e.id)) && listed.length === 3, 'environments.list pages with limit 2 and stops (next_page null)', listed);
const upd = await client.beta.environments.update(created[0].id, { name: 'a2', metadata: { k: null, x: 'y' } });
ok(upd.name === 'a2' && upd.metadata.x === 'y' && !('k' in upd.metadata), 'environments.update: name and metadata (null deletes)', upd);
const arch = await client.beta.environments.archive(created[1].id);
const visible = (await client.beta.environments.list()).data.map((e) => e.id);
const all = (await client.beta.environments.list({ include_archived: true })).data.map((e) => e.id);
ok(arch.archived_at && !visible.includes(arch.id) && all.includes(arch.id), 'archive hides from the default list, include_archived shows');
ok((await status(client.beta.sessions.create({ agent: 'a', environment_id: arch.id }))) === 400, 'no session on an archived environment (400)');
const del = await client.beta.environments.delete(created[2].id);
ok(del.type === 'environment_deleted' && (await status(client.beta.environments.retrieve(created[2].id))) === 404, 'delete, then retrieve is 404');

// --- work lifecycle ---
const { env, key } = await environment(client, 'work');
const envc = tokenClient(key);
const work = envc.beta.environments.work;
const t0 = Date.now();
ok((await work.poll(env.id, { block_ms: 300 })) === null && Date.now() - t0 >= 280, 'empty poll holds block_ms and returns null');
ok((await status(work.poll(env.id, { block_ms: 1000 }))) === 400, 'block_ms out of range is 400');
const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
const w1 = await work.poll(env.id, { block_ms: 999 }, { headers: { 'Anthropic-Worker-ID': 'api-check' } });
const token = secretOf(w1).sessions_token;
ok(w1.state === 'queued' && w1.data.id === session.id && token.startsWith('sk-ant-req-'), 'poll hands out the session item with a sessions token', w1);
ok((await work.poll(env.id)) === null, 'a handed-out item is not handed out again within reclaim_older_than_ms');
const w1b = await work.poll(env.id, { reclaim_older_than_ms: 0 });
ok(w1b?.id === w1.id && w1b.secret !== w1.secret, 'reclaim_older_than_ms=0 re-delivers it with a fresh secret');
const stats = await work.stats(env.id);
ok(stats.type === 'work_queue_stats' && stats.pending === 1 && stats.depth === 0 && stats.workers_polling === 1, 'stats: one pending, one worker polling', stats);
const acked = await work.ack(w1.id, { environment_id: env.id });
ok(acked.state === 'starting' && acked.acknowledged_at && acked.secret === null, 'ack: queued -> starting');
const tok = tokenClient(token).beta.environments.work;
const hb1 = await tok.heartbeat(w1.id, { environment_id: env.id, expected_last_heartbeat: 'NO_HEARTBEAT' });
ok(hb1.type === 'work_heartbeat' && hb1.state === 'active' && hb1.lease_extended && hb1.ttl_seconds === 60, 'first heartbeat (NO_HEARTBEAT) -> active', hb1);
let err = await tok.heartbeat(w1.id, { environment_id: env.id, expected_last_heartbeat: 'bogus' }).catch((e) => e);
ok(err.status === 412 && err.error?.error?.details?.error_code === 'heartbeat_precondition_failed' && err.error.error.details.current_state.state === 'active',
  'wrong expected_last_heartbeat -> 412 heartbeat_precondition_failed with current_state', err.error);
const hb2 = await tok.heartbeat(w1.id, { environment_id: env.id, expected_last_heartbeat: hb1.last_heartbeat });
ok(hb2.last_heartbeat !== hb1.last_heartbeat, 'heartbeat echoing last_heartbeat succeeds with a new value');
const listedWork = await work.list(env.id);
ok(listedWork.data.some((x) => x.id === w1.id) && listedWork.next_page === null, 'work.list with the environment key');
const retrieved = await client.beta.environments.work.retrieve(w1.id, { environment_id: env.id });
ok(retrieved.state === 'active' && retrieved.started_at && retrieved.secret === null, 'work.retrieve with the API key, secret null');
const stopping = await work.stop(w1.id, { environment_id: env.id });
const hb3 = await tok.heartbeat(w1.id, { environment_id: env.id, expected_last_heartbeat: 'whatever' });
ok(stopping.state === 'stopping' && hb3.state === 'stopping' && hb3.lease_extended === false, 'non-force stop: active -> stopping, reported by the next heartbeat unchecked, lease not extended');
const stopped = await tok.stop(w1.id, { environment_id: env.id, force: true });
ok(stopped.state === 'stopped' && stopped.stopped_at, 'force stop with the sessions token -> stopped');
const before = (await cp.report()).requests.by_route_status['work.stop 409'] ?? 0;
err = await work.stop(w1.id, { environment_id: env.id }).catch((e) => e);
const after = (await cp.report()).requests.by_route_status['work.stop 409'];
ok(err.status === 409 && after - before === 1, 'stop of a stopped item: 409, not retried (x-should-retry: false)');
ok((await status(work.ack(w1.id, { environment_id: env.id }))) === 409, 'ack of a stopped item: 409');

// A21: a new message to a session without a live item enqueues one.
await say(client, session.id, 'again');
const w2 = await work.poll(env.id, { block_ms: 500 });
ok(w2 && w2.id !== w1.id && w2.data.id === session.id, 'a new user.message enqueued a new item');

// Lease expiry: acked, never heartbeated -> back to queued; a late heartbeat gets 412.
await cp.faults({ lease_ttl_sec: 1 });
await work.ack(w2.id, { environment_id: env.id });
const requeued = await until(async () => workOf(await cp.report(), session.id).find((x) => x.id === w2.id && x.state === 'queued'), 4000);
ok(requeued?.history.at(-1).reason === 'lease_expired', 'lease expiry sends the item back to queued', requeued?.history);
err = await tokenClient(secretOf(w2).sessions_token).beta.environments.work.heartbeat(w2.id, { environment_id: env.id, expected_last_heartbeat: 'NO_HEARTBEAT' }).catch((e) => e);
ok(err.status === 412 && err.error.error.details.current_state.state === 'queued', 'heartbeat after expiry: 412, current_state queued');
await cp.clearFaults();

// --- events: validation, pagination, ingress, interrupt ---
const s2 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
await say(client, s2.id, "What's 2 + 2?");
const use = await until(async () => (await eventsOf(s2.id)).find((e) => e.type === 'agent.tool_use'));
const result = (id) => ({ events: [{ type: 'user.tool_result', tool_use_id: id, content: [{ type: 'text', text: '4' }] }] });
ok((await status(client.beta.sessions.events.send(s2.id, result('sevt_nope')))) === 400, 'result for an unknown tool use: 400');
const echoed = await client.beta.sessions.events.send(s2.id, result(use.id));
ok(echoed.data?.[0]?.id && echoed.data[0].type === 'user.tool_result', 'send echoes stored events with ids');
ok((await status(client.beta.sessions.events.send(s2.id, result(use.id)))) === 400, 'second result for the same tool use: 400');
const evs = await untilTurnEnds(s2.id);
ok(textOf(evs?.findLast((e) => e.type === 'agent.message')?.content) === '2 + 2 = 4', 'the agent finishes the turn with a client-sent result');
const rep = await cp.report();
ok(rep.mistake_counts.tool_result_duplicate === 1 && rep.mistake_counts.tool_result_unknown_tool_use === 1, 'report counts the duplicate and the unknown result', rep.mistake_counts);
const paged = [];
for await (const e of client.beta.sessions.events.list(s2.id, { limit: 3 })) paged.push(e.id);
ok(paged.join() === evs.map((e) => e.id).join(), 'events.list pages in order (limit 3)');
ok((await status(client.beta.sessions.events.send(s2.id, { events: [{ type: 'agent.message', content: [{ type: 'text', text: 'x' }] }] }))) === 403,
  'agent-side event with the API key: 403');

const s3 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
await cp.script(s3.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 100' } }], message: 'never' }] });
await say(client, s3.id, 'go');
await until(async () => (await eventsOf(s3.id)).find((e) => e.type === 'agent.tool_use'));
await client.beta.sessions.events.send(s3.id, { events: [{ type: 'user.interrupt' }] });
const s3evs = await untilTurnEnds(s3.id, 1, 3000);
ok(s3evs && !s3evs.some((e) => e.type === 'agent.message'), 'user.interrupt ends the turn without a message');

// --- sessions ---
const slist = [];
for await (const s of client.beta.sessions.list({ limit: 1 })) slist.push(s.id);
ok([session.id, s2.id, s3.id].every((id) => slist.includes(id)), 'sessions.list pages with limit 1');
const got = await client.beta.sessions.retrieve(s2.id);
ok(got.id === s2.id && got.agent.skills.length === 0 && got.resources.length === 0 && got.status === 'idle', 'sessions.retrieve: 5.2 object');
const archived = await client.beta.sessions.archive(s3.id);
ok(archived.archived_at && archived.status === 'terminated' && (await eventsOf(s3.id)).at(-1).type === 'session.status_terminated', 'archive -> terminated + session.status_terminated');
ok((await status(say(client, s3.id, 'x'))) === 400, 'no messages to an archived session');
const sdel = await client.beta.sessions.delete(s2.id);
ok(sdel.type === 'session_deleted' && (await status(client.beta.sessions.retrieve(s2.id))) === 404, 'delete -> session_deleted, then 404');
ok((await cp.report()).sessions[s2.id].events.at(-1).type === 'session.deleted', 'delete emits session.deleted');
ok(!(await cp.report()).mistake_counts.missing_beta_header, 'the SDK sends anthropic-beta everywhere');
const versions = [...new Set((await cp.report()).requests.log.filter((l) => !l.route.startsWith('_test')).map((l) => l.version))];
ok(versions.length === 1 && versions[0] === '2026-10-21', 'the SDK sends anthropic-version 2026-10-21', versions);
done();
