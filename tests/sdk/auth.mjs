// The three credential classes are kept apart: each wrong credential is
// refused with the error envelope and reported as a mistake.
import { API_KEY, CP_URL, apiClient, cp, done, environment, ok, tokenClient } from './lib.mjs';

const client = apiClient();
const { env, key } = await environment(client, 'auth');
const other = await environment(client, 'auth-other');
const envc = tokenClient(key);
const s1 = await client.beta.sessions.create({ agent: 'a', environment_id: env.id });
const s2 = await client.beta.sessions.create({ agent: 'a', environment_id: env.id });
const w1 = await envc.beta.environments.work.poll(env.id);
const w2 = await envc.beta.environments.work.poll(env.id);
const tokenOf = (w) => JSON.parse(Buffer.from(w.secret, 'base64url').toString()).sessions_token;
const t1 = tokenClient(tokenOf(w1));
const mine = (w) => (w.data.id === s1.id ? w : null);
const item1 = mine(w1) ?? mine(w2);
const item2 = item1 === w1 ? w2 : w1;
const tok1 = tokenClient(tokenOf(item1));

/** Resolves to the HTTP status and error envelope of a call. */
const refused = (p) => p.then(() => ({ status: 200 }), (e) => ({ status: e.status, body: e.error }));

const cases = [
  ['environment key on an admin call (environments.create)', () => envc.beta.environments.create({ name: 'x', config: { type: 'self_hosted' } }), 403],
  ['environment key on sessions.create', () => envc.beta.sessions.create({ agent: 'a', environment_id: env.id }), 403],
  ['API key on poll', () => client.beta.environments.work.poll(env.id), 403],
  ['API key on work.list', () => client.beta.environments.work.list(env.id), 403],
  ["another environment's key on poll", () => tokenClient(other.key).beta.environments.work.poll(env.id), 403],
  ['environment key on work.retrieve', () => envc.beta.environments.work.retrieve(item1.id, { environment_id: env.id }), 403],
  ['sessions token on poll', () => t1.beta.environments.work.poll(env.id), 403],
  ["another item's sessions token on heartbeat", () => tok1.beta.environments.work.heartbeat(item2.id, { environment_id: env.id, expected_last_heartbeat: 'NO_HEARTBEAT' }), 403],
  ["another item's sessions token on stop", () => tok1.beta.environments.work.stop(item2.id, { environment_id: env.id, force: true }), 403],
  ["another session's events with a sessions token", () => tok1.beta.sessions.events.list(s2.id), 403],
  ["another session's retrieve with a sessions token", () => tok1.beta.sessions.retrieve(s2.id), 403],
  ['sessions token on an admin call', () => tok1.beta.environments.list(), 403],
  ['unknown key', () => tokenClient('sk-ant-api03-nope').beta.environments.list(), 401],
];
for (const [desc, p, want] of cases) {
  const r = await refused(p());
  ok(r.status === want && r.body?.type === 'error' && r.body.error?.type === (want === 401 ? 'authentication_error' : 'permission_error') && r.body.request_id,
    `refused: ${desc} (${want})`, r);
}
const noAuth = await fetch(`${CP_URL}/v1/environments`, { headers: { 'anthropic-beta': 'managed-agents-2026-04-01' } });
ok(noAuth.status === 401, 'no credential: 401');
const xApiKey = await fetch(`${CP_URL}/v1/environments`, { headers: { 'x-api-key': API_KEY, 'anthropic-beta': 'managed-agents-2026-04-01' } });
ok(xApiKey.status === 200, 'x-api-key is accepted for the API key');

// The right credentials work, including A6: ack with the sessions token.
ok((await tok1.beta.environments.work.ack(item1.id, { environment_id: env.id })).state === 'starting', 'ack with the sessions token (A6)');
ok((await envc.beta.environments.work.ack(item2.id, { environment_id: env.id })).state === 'starting', 'ack with the environment key');
ok((await tok1.beta.sessions.retrieve(s1.id)).id === s1.id, "sessions token reads its own session");
await tok1.beta.environments.work.stop(item1.id, { environment_id: env.id, force: true });
ok((await refused(tok1.beta.sessions.retrieve(s1.id))).status === 401, "a stopped item's token no longer reads the session");

const rep = await cp.report();
ok(rep.mistake_counts.wrong_credential === 12 && rep.mistake_counts.unknown_credential === 1 && rep.mistake_counts.missing_credential === 1,
  'report counts the refused credentials', rep.mistake_counts);
done();
