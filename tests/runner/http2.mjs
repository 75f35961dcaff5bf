// The runner against an API that speaks HTTP/2 over TLS, as the API does
// (ALPN h2): the control plane serves HTTPS with HTTP/2 first, the runner
// trusts its certificate through --ca-file.
//  - several sessions at once are served, each answered once;
//  - every request of the runner went over HTTP/2;
//  - while their event streams are open, the runner holds fewer TCP
//    connections than it has sessions: the streams share connections.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { apiClient, cp, done, environment, ok, say, startRunner, textOf, toolCalls, untilTurnEnds } from './lib.mjs';

const SESSIONS = 6;
const client = apiClient();
const { env, key } = await environment(client, 'http2');
const sessions = [];
for (let i = 0; i < SESSIONS; i++) sessions.push(await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id }));

// The TCP connections `pid` holds: its sockets found in /proc/net/tcp{,6}
// as established (state 01).
function connections(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {}
  }
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {}
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '01' && inodes.has(f[9])) n++;
    }
  }
  return n;
}

// --max-idle-sec keeps the sessions, and so their streams, open after
// their turn, long enough to count the connections.
const runner = startRunner({ envId: env.id, key, workerId: 'http2', maxIdleSec: 8,
  extra: ['--capacity', String(SESSIONS), '--ca-file', process.env.ER_TEST_CA] });
try {
  await Promise.all(sessions.map((s) => say(client, s.id, "What's 2 + 2?")));
  const turns = await Promise.all(sessions.map((s) => untilTurnEnds(s.id, 1, 30_000)));
  const answered = turns.filter((events) => {
    const calls = toolCalls(events ?? []);
    return calls.length === 1 && calls[0].text === '4' && textOf(events.findLast((x) => x.type === 'agent.message')?.content) === '2 + 2 = 4';
  }).length;
  ok(answered === SESSIONS, `${SESSIONS} sessions at once served over HTTP/2, each call answered once`, { answered, log: runner.log().slice(-1500) });

  const report = await cp.report();
  const streams = report.requests.log.filter((r) => r.route === 'events.stream');
  // The runner's requests: with its environment key or the sessions token.
  const ours = report.requests.log.filter((r) => r.credential === 'env' || r.credential === 'token');
  ok(ours.length > 0 && ours.every((r) => r.http === '2.0'), "every poll, ack, heartbeat and result went over HTTP/2",
    { notHttp2: ours.filter((r) => r.http !== "2.0").map((r) => `${r.route} ${r.http} ${r.at}`) });

  const held = connections(runner.pid);
  ok(held > 0 && held < SESSIONS, `the runner holds ${held} connections for ${SESSIONS} open event streams (shared)`,
    { held, streamsClosed: streams.length });

  // Queued while the capacity is full: claimed as the first sessions end
  // and their streams close, each with a tool call of 40 kB, so that its
  // history is far larger than a stream's 4 kB receive buffer.
  const big = [];
  for (let i = 0; i < SESSIONS; i++) {
    const s = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(s.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: `: ${String(i).repeat(40_000)}; echo $((2+2))` } }], message: '2 + 2 = {{result.0}}' }] });
    big.push(s);
  }
  await Promise.all(big.map((s) => say(client, s.id, "What's 2 + 2?")));
  const bigTurns = await Promise.all(big.map((s) => untilTurnEnds(s.id, 1, 40_000)));
  ok(bigTurns.every((events) => toolCalls(events ?? [])[0]?.text === '4') && runner.alive(),
    `${SESSIONS} sessions with 40 kB histories, claimed as the first ones end, are served`, runner.log().slice(-3000));
} finally {
  const exit = await runner.stop();
  ok(exit.code === 0, 'exit 0 on SIGTERM', exit);
}
done();
