// Wire-level checks of the control plane that need no SDK: raw responses,
// the SSE format, keep-alives, a slow reader, the end of a stream.
// Usage: node selftest.mjs URL   (server started with --keepalive-ms 200)
// Prints TAP test lines; the caller prints the plan.
import { request } from 'node:http';

const base = process.argv[2];
const KEY = 'sk-ant-api03-local-test-key';
let n = 0;
let failed = 0;
function ok(cond, desc, diag) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
  if (!cond && diag !== undefined) console.log(`# ${JSON.stringify(diag).slice(0, 2000)}`);
}

async function call(method, path, { token = KEY, body, headers = {} } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'anthropic-beta': 'managed-agents-2026-04-01', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Opens an SSE stream with node:http so reading can be paused. */
function openStream(path) {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { authorization: `Bearer ${KEY}`, 'anthropic-beta': 'managed-agents-2026-04-01' } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

const env = (await call('POST', '/v1/environments', { body: { name: 'selftest', config: { type: 'self_hosted' } } })).json;
const envKey = (await call('POST', `/_test/environments/${env.id}/keys`)).json.key;

let t0 = Date.now();
const empty = await call('GET', `/v1/environments/${env.id}/work/poll?block_ms=250`, { token: envKey });
ok(empty.status === 200 && empty.headers.get('content-type') === 'application/json' && empty.text === 'null' && Date.now() - t0 >= 240,
  'empty poll: 200 application/json null after block_ms', { status: empty.status, text: empty.text });
const noBeta = await fetch(`${base}/v1/environments`, { headers: { 'x-api-key': KEY } });
ok(noBeta.status === 200, 'x-api-key accepted; a missing anthropic-beta is only reported');

const session = (await call('POST', '/v1/sessions', { body: { agent: 'a', environment_id: env.id } })).json;
await call('POST', `/_test/sessions/${session.id}/script`, { body: { external: true } });
const item = (await call('GET', `/v1/environments/${env.id}/work/poll`, { token: envKey })).json;
const secret = JSON.parse(Buffer.from(item.secret, 'base64url').toString());
ok(/^sk-ant-req-/.test(secret.sessions_token) && !item.secret.includes('='), 'secret is unpadded base64url JSON with a sessions token');
await call('POST', `/v1/environments/${env.id}/work/${item.id}/ack`, { token: envKey });
const hb = await call('POST', `/v1/environments/${env.id}/work/${item.id}/heartbeat?expected_last_heartbeat=wrong`, { token: secret.sessions_token });
ok(hb.status === 412 && hb.json.type === 'error' && hb.json.error.details.error_code === 'heartbeat_precondition_failed' &&
  hb.json.error.details.current_state.state === 'starting' && hb.json.request_id === hb.headers.get('request-id'),
  '412 envelope with details.current_state and request-id', hb.json);
const stop1 = await call('POST', `/v1/environments/${env.id}/work/${item.id}/stop`, { token: envKey, body: { force: true } });
const stop2 = await call('POST', `/v1/environments/${env.id}/work/${item.id}/stop`, { token: envKey, body: {} });
ok(stop1.json.state === 'stopped' && stop2.status === 409 && stop2.headers.get('x-should-retry') === 'false', '409 on a stopped item carries x-should-retry: false');

// A stream whose reader pauses while 200 events of 20 KB are appended.
const res = await openStream(`/v1/sessions/${session.id}/events/stream`);
ok(res.statusCode === 200 && res.headers['content-type'] === 'text/event-stream', 'stream answers text/event-stream at once');
res.setEncoding('utf8');
let raw = '';
res.on('data', (d) => (raw += d));
await new Promise((r) => setTimeout(r, 450));
ok(/^event: ping\ndata: \{"type":"ping"\}\n\n/.test(raw), 'keep-alives arrive as event: ping', raw.slice(0, 200));
res.pause();
const big = 'x'.repeat(20_000);
for (let i = 0; i < 200; i++) {
  await call('POST', `/v1/sessions/${session.id}/events`, { body: { events: [{ type: 'user.message', content: [{ type: 'text', text: `${i} ${big}` }] }] } });
}
await call('POST', `/v1/sessions/${session.id}/archive`);
res.resume();
await new Promise((resolve) => {
  res.on('end', resolve);
  setTimeout(resolve, 10_000);
});
const frames = raw.split('\n\n').filter((f) => f && !f.startsWith('event: ping'));
const msgs = frames.filter((f) => f.startsWith('event: user.message\ndata: ')).map((f) => JSON.parse(f.split('\ndata: ')[1]));
ok(msgs.length === 200 && msgs.every((m, i) => m.content[0].text.startsWith(`${i} `) && m.id && m.processed_at), 'slow reader: all 200 events, in order, none lost', msgs.length);
ok(frames.at(-1)?.startsWith('event: session.status_terminated\n') && res.complete, 'stream ends after session.status_terminated', frames.at(-1)?.slice(0, 100));

const rep = (await call('GET', '/_test/report')).json;
ok(rep.mistake_counts.missing_beta_header === 1 && rep.mistake_counts.heartbeat_wrong_expected === 1 && rep.mistake_counts.stop_on_stopped === 1,
  'report lists the mistakes made above', rep.mistake_counts);
process.exitCode = failed ? 1 : 0;
