// Hostile input: from the control plane (oversized and deeply nested JSON,
// invalid UTF-8 and NULs, huge SSE lines, malformed events, a response that
// never ends) and from sessions (tool inputs of every wrong type, 1 GB of
// output, file names with newlines and control characters, a full disk).
// Each gets a clear error or a bounded result, and the runner keeps serving
// a benign session running next to the hostile ones.  Then a hostile
// network (every fault knob of the control plane at once) and a full disk.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, ok, say, startRunner, textOf, TMP, toolCalls, until, untilNoTracked, untilTurnEnds,
} from './lib.mjs';

const client = apiClient();
const t0 = Date.now();
const note = (msg) => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}`);
const MiB = 1024 * 1024;
const b64 = (buf) => Buffer.from(buf).toString('base64');

function status(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

async function newSession(env, script) {
  const s = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  if (script) await cp.script(s.id, script);
  return s.id;
}
const itemsOf = (rep, sid) => rep.work.filter((w) => w.session_id === sid);
const benignScript = (tag) => ({
  turns: [{ tool_calls: [1, 2, 3, 4].map((i) => ({ name: 'bash', input: { command: `sleep 1; echo ${tag}${i}` } })), message: 'benign done' }],
});
function benignOk(events, tag) {
  const calls = toolCalls(events ?? []);
  return calls.length === 4 && calls.every((c, i) => c.results.length === 1 && c.text === `${tag}${i + 1}` && !c.is_error);
}

const { env, key } = await environment(client, 'hostile');
let runner;
let before;
let peak;
let sampler;

try {
  // ---- sessions --------------------------------------------------------
  // Created before the runner starts: a new session is queued at once, and
  // the knobs aimed at it must be in place before it is claimed.
  const benign = await newSession(env, benignScript('b'));
  const badSession = await newSession(env); // sessions.retrieve answers garbage
  const sse = await newSession(env, {
    turns: [{ tool_calls: [1, 2].map((i) => ({ name: 'bash', input: { command: `echo s${i}` } })), message: 'sse done' }],
  });
  // Every wrong type the toolset's inputs can get.
  const wrong = [
    ['bash', {}], ['bash', { command: 123 }], ['bash', { command: ['ls'] }], ['bash', { command: null, restart: 'yes' }],
    ['bash', { command: 'echo t', timeout_ms: 'soon' }], ['bash', { command: { x: 1 } }], ['bash', []],
    ['read', {}], ['read', { file_path: 5 }], ['read', { file_path: 'a.txt', view_range: '1-2' }], ['read', { file_path: 'a.txt', view_range: [1, 'x'] }],
    ['read', { file_path: ['a'] }], ['write', { file_path: {}, content: 1 }], ['write', { file_path: 'w.txt', content: null }],
    ['edit', { file_path: 'w.txt', old_string: 1, new_string: [] }], ['edit', { file_path: true, old_string: 'a', new_string: 'b', replace_all: 'yes' }],
    ['glob', { pattern: [] }], ['glob', { pattern: '*', path: 7 }], ['grep', { pattern: {} }], ['grep', { pattern: 'x', path: [] }],
    ['bash', { command: 'echo still-alive' }],
  ];
  const inputs = await newSession(env, { turns: [{ tool_calls: wrong.map(([name, input]) => ({ name, input })), message: 'inputs done' }] });
  const gig = await newSession(env, {
    turns: [{ tool_calls: [{ name: 'bash', input: { command: 'yes | head -c 1073741824; echo; echo tail-marker' } }, { name: 'bash', input: { command: 'echo after' } }], message: 'gig done' }],
  });
  const odd = ['new\nline.txt', 'ctl\u0001\u001b[31m\u007f.txt', 'tab\there.txt', 'quote"back\\slash.txt', 'uni\u2028\u00e9.txt'];
  const names = await newSession(env, {
    turns: [{
      tool_calls: [
        ...odd.map((f) => ({ name: 'write', input: { file_path: f, content: 'needle\n' } })),
        { name: 'bash', input: { command: "printf 'needle\\n' > \"$(printf 'bad\\377\\376.txt')\"; echo made" } },
        { name: 'glob', input: { pattern: '*.txt' } },
        { name: 'grep', input: { pattern: 'needle' } },
        ...odd.map((f) => ({ name: 'read', input: { file_path: f } })),
        { name: 'bash', input: { command: 'ls | od -c | head -n 3' } },
      ],
      message: 'names done',
    }],
  });

  // The garbage answers that come with those sessions.
  await cp.faults({
    raw: [{ route: 'sessions.retrieve', session_id: badSession, status: 200, headers: { 'content-type': 'application/json' }, repeat: { prefix: '{"a":', unit: '[', times: 200000 }, count: 3 }],
    sse_inject: [
      // A line longer than any event the runner accepts, then the stream ends.
      { session_id: sse, repeat: { prefix: 'event: agent.message\ndata: ', unit: 'x', times: 12 * MiB }, count: 1, close: true },
      // Malformed events: bad JSON, NULs, invalid UTF-8, deep nesting, a BOM, bare CRs.
      {
        session_id: sse,
        body_b64: b64(Buffer.concat([
          Buffer.from('\ufeff: comment\r\revent: agent.tool_use\ndata: {"type":"agent.tool_use","id":\n\n'),
          Buffer.from('event: agent.tool_use\ndata: {"type":"agent.tool_use","id":"sevt_x\0y","name":"bash","input":{}}\n\n'),
          Buffer.from('event: agent.message\ndata: {"type":"agent.message","content":"'), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), Buffer.from('"}\n\n'),
          Buffer.from(`event: agent.message\ndata: ${'['.repeat(100000)}\n\n`),
          Buffer.from('event: agent.tool_use\ndata: {"type":"agent.tool_use","id":"sevt_y","name":"bash","input":{"command":"echo injected"}}garbage\n\n'),
        ])),
        count: 1,
      },
    ],
  });
  for (const [sid, text] of [[benign, 'go'], [badSession, 'go'], [sse, 'go'], [inputs, 'go'], [gig, 'go'], [names, 'go']]) await say(client, sid, text);
  runner = startRunner({ envId: env.id, key, workerId: 'hostile', baseDir: join(TMP, 'base'), extra: ['--capacity', '8'] });
  // The runner's RSS once it polls, and its peak from then on.
  await until(async () => (await cp.report()).requests.log.some((l) => l.route === 'work.poll' && l.worker === 'hostile'), 10_000);
  before = status(runner.pid);
  peak = before.rss;
  sampler = setInterval(() => {
    const st = status(runner.pid);
    if (st.rss > peak) peak = st.rss;
  }, 100);
  note('sessions started');

  // ---- the poll gets garbage once the sessions are claimed ---------------
  await until(async () => (await cp.report()).work.filter((w) => w.state !== 'queued').length >= 6, 20_000);
  const pollRaw = [
    { repeat: { prefix: '{"id":"', unit: 'x', times: 12 * MiB, suffix: '"}' } }, // past the body cap
    { repeat: { unit: '[', times: 300000 } }, // deep nesting
    { body_b64: b64(Buffer.concat([Buffer.from('{"id":"work_'), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('","type":"work","data":{"type":"session","id":"sesn_x"}}')])) },
    { body: '{"id":"work_a\\u0000b","type":"work","data":{"type":"session","id":"sesn_x"}}' },
    { body_b64: b64(Buffer.from('{"id":"work_nul","type":"work",\0"data":{}}')) },
    { body: '{"id":"work_z","type":"work","data":{"type":"session","id":"sesn_none"},"secret":"!!!not base64!!!"}' },
    { body: '{"id": 12, "data": "nope"}' },
    { body: 'null trailing garbage' },
  ];
  await cp.faults({
    raw: [
      ...pollRaw.map((r) => ({ route: 'work.poll', credential: 'env', status: 200, headers: { 'content-type': 'application/json' }, ...r })),
      // Then a poll answer that never ends.
      { route: 'work.poll', credential: 'env', status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"work_', hang: true },
    ],
  });
  const hangAt = await until(async () => (await cp.report()).faults_fired.find((f) => f.kind === 'raw' && f.detail?.hang), 60_000);
  note(`the poll hangs (${hangAt ? 'fired' : 'not fired'})`);

  // ---- results -------------------------------------------------------------
  const evB = await untilTurnEnds(benign, 1, 60_000);
  ok(benignOk(evB, 'b'), 'the benign session is served next to the hostile ones', toolCalls(evB ?? []).map((c) => c.text));

  const badRep = await until(async () => {
    const rep = await cp.report();
    const it = itemsOf(rep, badSession);
    return it.length && it.every((w) => w.state === 'stopped') ? rep : null;
  }, 30_000);
  ok(badRep, 'a session answer of deeply nested JSON: the item is given up and stopped', runner.log().slice(-1500));
  ok(/cannot read the session/.test(runner.log()), 'with a clear error in the log', { fired: badRep?.faults_fired.map((f) => `${f.kind} ${f.route}`), log: runner.log().split('\n').filter((l) => l.includes(badSession)).slice(0, 10) });

  const evS = await untilTurnEnds(sse, 1, 60_000);
  const sseCalls = toolCalls(evS ?? []);
  ok(sseCalls.length === 2 && sseCalls.every((c, i) => c.results.length === 1 && c.text === `s${i + 1}`), 'huge SSE line and malformed events: the session still completes, each call answered once', sseCalls.map((c) => c.text));
  const rep1 = await cp.report();
  const injected = rep1.faults_fired.filter((f) => f.kind === 'sse_inject');
  ok(injected.length === 2, `both stream injections fired (${injected.length})`);
  ok(!/injected/.test(JSON.stringify(rep1.sessions[sse].events.filter((e) => e.type === 'user.tool_result'))), 'no injected (unparsable) tool call was run');

  const evI = await untilTurnEnds(inputs, 1, 60_000);
  const iCalls = toolCalls(evI ?? []);
  ok(iCalls.length === wrong.length && iCalls.every((c) => c.results.length === 1 && c.text.length > 0), `wrong input types: each of ${wrong.length} calls answered once with a message`,
    iCalls.map((c) => `${c.name} ${JSON.stringify(c.input)} -> ${c.is_error ? 'error' : 'ok'}: ${c.text.slice(0, 80)}`));
  ok(iCalls.filter((c, i) => JSON.stringify(wrong[i][1]) === '{}' || Array.isArray(wrong[i][1])).every((c) => c.is_error), 'missing or non-object inputs are errors', iCalls.map((c) => c.text.slice(0, 80)));
  ok(iCalls.at(-1)?.text === 'still-alive', 'the toolset still works afterwards');

  const evG = await untilTurnEnds(gig, 1, 120_000);
  const gCalls = toolCalls(evG ?? []);
  const g = gCalls[0];
  const gStart = Date.parse(evG?.find((e) => e.type === 'agent.tool_use')?.processed_at ?? 0);
  const gEnd = Date.parse(g?.results[0]?.processed_at ?? 0);
  note(`1 GiB of output answered in ${gEnd - gStart} ms with ${g?.text.length} characters; runner RSS ${before.rss} kB before, peak ${peak} kB`);
  ok(g && g.results.length === 1 && g.text.startsWith('y\ny\n') && g.text.includes(' lines truncated] First 32 MiB of output saved to: ') && g.text.length <= 30000 + 300,
    '1 GiB of output: one bounded result, its head and the first 32 MiB saved', { len: g?.text.length, head: g?.text.slice(0, 40), tail: g?.text.slice(-200) });
  ok(gEnd - gStart < 90_000, `... within ${gEnd - gStart} ms`);
  // Under AddressSanitizer freed memory waits in a quarantine of up to 256 MiB first.
  const asan = /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${runner.pid}/maps`, 'utf8'));
  const limit = (asan ? 320 : 64) * 1024;
  ok(peak - before.rss < limit, `... and the runner's RSS grew by ${peak - before.rss} kB at most (< ${limit / 1024} MiB${asan ? ', ASan build' : ''})`);
  ok(gCalls[1]?.text === 'after', 'the shell works after it');

  const evN = await untilTurnEnds(names, 1, 60_000);
  const nCalls = toolCalls(evN ?? []);
  const nWrites = nCalls.slice(0, odd.length);
  ok(nWrites.length === odd.length && nWrites.every((c) => !c.is_error && c.results.length === 1), 'files with newlines and control characters are written', nWrites.map((c) => c.text));
  const globText = nCalls[odd.length + 1]?.text ?? '';
  ok(odd.every((f) => globText.includes(f)) && /bad\ufffd\ufffd\.txt/.test(globText), 'glob lists them (invalid UTF-8 as U+FFFD), in valid JSON', globText);
  const grepText = nCalls[odd.length + 2]?.text ?? '';
  ok(odd.every((f) => grepText.includes(`${f}:1:needle`)), 'grep finds them', grepText);
  ok(nCalls.slice(odd.length + 3, 2 * odd.length + 3).every((c) => c.text === 'needle\n'), 'read reads them back', nCalls.map((c) => c.text.slice(0, 40)));
  const rep2 = await cp.report();
  ok(!rep2.mistake_counts.invalid_event, 'every result the runner sent was valid', rep2.mistake_counts);

  // ---- the poll that never ended --------------------------------------------
  const hangFired = Date.parse(hangAt?.at ?? 0);
  const next = await until(async () => (await cp.report()).requests.log.find((l) => l.route === 'work.poll' && l.worker === 'hostile' && Date.parse(l.at) > hangFired + 1000 && l.status === 200), 60_000);
  ok(next, `after a poll answer that never ends, the runner gives up and polls again (${next ? Date.parse(next.at) - hangFired : '?'} ms)`);
  const rawFired = (await cp.report()).faults_fired.filter((f) => f.kind === 'raw' && f.route === 'work.poll').length;
  ok(rawFired === pollRaw.length + 1, `every garbage poll answer was consumed (${rawFired})`);
  const late = await newSession(env, benignScript('l'));
  await say(client, late, 'go');
  ok(benignOk(await untilTurnEnds(late, 1, 30_000), 'l'), 'a session created afterwards is served');
  ok(runner.alive(), 'the runner is still running', runner.log().slice(-2000));
} finally {
  clearInterval(sampler);
  await cp.clearFaults();
  const r = runner ? await runner.stop() : { code: null };
  ok(r.code === 0, `the runner exits 0 on SIGTERM (${r.ms} ms)`, { r, log: runner?.log().slice(-2000) });
  const left = await untilNoTracked(TMP, 5000);
  ok(left.length === 0, 'no tracked process left', left);
}

// ---- a hostile network ---------------------------------------------------------
// Every knob of the control plane at once, against one runner: a work secret
// whose token would inject a header and whose base URL is another origin, a
// tool result refused with 403, an event stream that drips, a stop reset
// mid-body, polls answered 429 with Retry-After, work ids that are dot
// segments, a tool use past the runner's event cap.  Then the invariants: nothing sent to the other origin, no header
// injected, no item held past its end, no call left unanswered, no spin,
// memory bounded.
{
  const { env: env2, key: key2 } = await environment(client, 'hostile-net');
  const other = createServer((sock) => {
    otherHits++;
    sock.destroy();
  });
  let otherHits = 0;
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
  const otherOrigin = `http://127.0.0.1:${other.address().port}`;
  const script = (tag) => ({ turns: [{ tool_calls: [1, 2].map((i) => ({ name: 'bash', input: { command: `echo ${tag}${i}` } })), message: `${tag} done` }] });
  const forged = await newSession(env2, script('f'));
  const refused = await newSession(env2, script('r'));
  const drip = await newSession(env2, script('d'));
  const plain = await newSession(env2, script('p'));
  // A call whose event is past the runner's 8 MiB cap, then an ordinary one: read
  // on the stream (big), and in the history (bigOld, whose turn starts before the runner).
  const bigScript = { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo never' }, pad_bytes: 9 * MiB }, { name: 'bash', input: { command: 'echo b2' } }], message: 'big done' }] };
  const big = await newSession(env2, bigScript);
  const bigOld = await newSession(env2, bigScript);
  const all = [forged, refused, drip, plain, big, bigOld];
  await cp.faults({
    secret_token: { session_id: forged, token: 'sk-ant-req-x\r\nX-Injected: yes', api_base_url: otherOrigin },
    errors: [{ route: 'events.send', status: 403, count: 1, session_id: refused, credential: 'token' }],
    sse_drip: { session_id: drip, interval_ms: 500 },
    raw: [
      { route: 'work.stop', credential: 'token', status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"work_', reset: true },
      ...['..', '.', ''].map((id) => ({
        route: 'work.poll', credential: 'env', status: 200, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, type: 'work', data: { type: 'session', id: '..' }, environment_id: env2.id }),
      })),
    ],
  });
  for (const sid of all.filter((x) => x !== big)) await say(client, sid, 'go');
  const t1 = Date.now();
  const r3 = startRunner({ envId: env2.id, key: key2, workerId: 'hostile-net', baseDir: join(TMP, 'base-net'), extra: ['--capacity', '8'] });
  let rss0 = NaN;
  let rssPeak = 0;
  const sampler2 = setInterval(() => {
    const st = status(r3.pid);
    if (Number.isNaN(rss0)) rss0 = st.rss;
    if (st.rss > rssPeak) rssPeak = st.rss;
  }, 100);
  try {
    // Retry-After between polls: armed once the sessions are claimed.
    await until(async () => (await cp.report()).work.filter((w) => all.includes(w.session_id) && w.state !== 'queued').length === all.length, 20_000);
    await cp.faults({ errors: [{ route: 'work.poll', status: 429, count: 3, retry_after: 3, credential: 'env' }] });
    // The oversized tool use comes while the runner reads the stream (the history holding it
    // stays past the cap: the runner reads on without that page).
    await until(async () => (await cp.report()).requests.log.some((l) => l.route === 'events.stream' && l.path.includes(big)) || /sesn[^ ]* msg="event stream open"/.test(r3.log().split('\n').filter((l) => l.includes(big)).join('\n')), 20_000);
    await say(client, big, 'go');

    // A forged secret: the item is given up, not served with another credential.
    const forgedRep = await until(async () => {
      const rep = await cp.report();
      return itemsOf(rep, forged).length > 0 && itemsOf(rep, forged).every((w) => w.state === 'stopped') ? rep : null;
    }, 30_000);
    ok(forgedRep, 'a secret whose token would inject a header: the item is given up and stopped', itemsOf(await cp.report(), forged).map((w) => w.state));
    const forgedReads = (forgedRep?.requests.log ?? []).filter((l) => l.path.includes(forged) && (l.credential === 'env' || l.credential === 'token'));
    ok(forgedRep && forgedReads.length === 0, '... nothing of its session is read or answered', forgedReads.map((l) => l.route));
    ok(/sessions token holds a control character, which no header may carry: the item is given up/.test(r3.log()), '... with the reason in the log');

    const refusedRep = await until(async () => {
      const rep = await cp.report();
      return itemsOf(rep, refused).every((w) => w.state === 'stopped') ? rep : null;
    }, 30_000);
    ok(refusedRep, 'a tool result refused with 403: the item is given up and stopped', itemsOf(await cp.report(), refused).map((w) => w.state));
    ok(/refused our events with HTTP 403, giving the item up/.test(r3.log()), '... with the refusal in the log');

    const evD = await untilTurnEnds(drip, 1, 60_000);
    ok(toolCalls(evD ?? []).map((c) => c.text).join() === 'd1,d2', 'a stream that drips bytes but never an event: reconnected, the session completes', r3.log().split('\n').filter((l) => l.includes(drip)).slice(-8));
    ok(/no whole message in \d+ ms/.test(r3.log()), '... after a read deadline, logged');

    for (const [sid, where] of [[big, 'on the stream'], [bigOld, 'in the history']]) {
      const evB = await untilTurnEnds(sid, 1, 60_000);
      const bCalls = toolCalls(evB ?? []);
      ok(bCalls.length === 2 && bCalls[0].results.length === 1 && bCalls[0].is_error && /too large for the runner to read/.test(bCalls[0].text) && bCalls[1].text === 'b2',
        `a call whose event is past the cap, read ${where}: answered with an error, not run, and the session goes on`, bCalls.map((c) => `${c.is_error}: ${c.text}`));
    }
    ok(/skipped an event agent.tool_use larger than/.test(r3.log()), '... the event skipped on the stream, logged');
    ok(/an event agent.tool_use of the history is larger than/.test(r3.log()), '... and in the history, logged');

    const evP = await untilTurnEnds(plain, 1, 30_000);
    ok(toolCalls(evP ?? []).map((c) => c.text).join() === 'p1,p2', 'a session next to them is served');

    const rep = await until(async () => {
      const x = await cp.report();
      return all.every((sid) => itemsOf(x, sid).every((w) => w.state === 'stopped')) ? x : null;
    }, 30_000);
    ok(rep, 'every item is stopped (a stop reset mid-body is retried)', all.map((sid) => itemsOf(rep ?? { work: [] }, sid).map((w) => w.state)));
    const fired = (await cp.report()).faults_fired;
    ok(fired.some((f) => f.kind === 'raw' && f.route === 'work.stop' && f.detail?.reset), 'the stop reset mid-body fired');
    ok(all.every((sid) => itemsOf(rep ?? { work: [] }, sid).every((w) => w.handouts.length === 1)), 'each item was handed out once: none held past its lease and delivered again',
      all.map((sid) => itemsOf(rep ?? { work: [] }, sid).map((w) => w.handouts.length)));

    // Retry-After: the poll after the third 429 waits for it.
    const polls = (await until(async () => {
      const l = (await cp.report()).requests.log.filter((x) => x.route === 'work.poll' && x.worker === 'hostile-net');
      const i = l.findIndex((x, k) => x.status === 429 && l.slice(0, k).filter((y) => y.status === 429).length === 2);
      return i >= 0 && l[i + 1] ? { third: l[i], next: l[i + 1] } : null;
    }, 30_000)) ?? {};
    const gap = polls.next ? Date.parse(polls.next.at) - Date.parse(polls.third.at) - polls.third.ms : NaN;
    ok(gap >= 2500, `after a 429 with Retry-After: 3 the poller waits ${gap} ms before polling again`);

    const log2 = (await cp.report()).requests.log;
    ok(fired.filter((f) => f.kind === 'raw' && f.route === 'work.poll' && Date.parse(f.at) >= t1).length === 3, 'the work ids "..", "." and "" were handed out');
    ok(!log2.some((l) => l.route === 'unknown'), 'no request left its path segment (no unknown route)', log2.filter((l) => l.route === 'unknown').map((l) => `${l.method} ${l.path}`));

    // The invariants.
    ok(otherHits === 0, `nothing was sent to another origin (${otherHits} connections)`);
    const repEnd = await cp.report();
    ok(!repEnd.mistake_counts.header_injected, 'no header was injected', repEnd.mistakes.filter((m) => m.kind === 'header_injected'));
    const unanswered = all.filter((sid) => sid !== refused && sid !== forged).flatMap((sid) => toolCalls(repEnd.sessions[sid].events).filter((c) => c.results.length !== 1).map((c) => `${sid} ${c.input.command}`));
    ok(unanswered.length === 0, 'every call (but the refused one and the given-up one) was answered exactly once', unanswered);
    const mine = repEnd.requests.log.filter((l) => l.worker === 'hostile-net' || l.path.includes(env2.id));
    const rate = mine.length / ((Date.now() - t1) / 1000);
    ok(rate < 20, `no spin: ${mine.length} requests in ${((Date.now() - t1) / 1000).toFixed(0)} s (${rate.toFixed(1)}/s)`, repEnd.requests.by_worker['hostile-net']);
    const asan = /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${r3.pid}/maps`, 'utf8'));
    ok(rssPeak - rss0 < (asan ? 320 : 64) * 1024, `memory bounded: RSS from ${rss0} kB to a peak of ${rssPeak} kB`);
  } finally {
    clearInterval(sampler2);
    await cp.clearFaults();
    other.close();
    const r = await r3.stop();
    ok(r.code === 0, 'the hostile-network runner exits 0 on SIGTERM', { r, log: r3.log().slice(-2000) });
  }
}

// ---- a full disk ---------------------------------------------------------------
// The session directories on a 4 MiB tmpfs (root only); a session fills it.
const small = join(TMP, 'small');
mkdirSync(small, { recursive: true });
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', small], { stdio: 'ignore' });
    mounted = true;
  }
} catch {}
if (!mounted) {
  ok(true, 'full disk # SKIP needs root and a mountable tmpfs');
} else {
  const r2 = startRunner({ envId: env.id, key, workerId: 'disk', baseDir: small, extra: ['--capacity', '2'] });
  try {
    const calm = await newSession(env, benignScript('d'));
    await say(client, calm, 'go');
    await sleep(1500); // its directory exists before the disk fills
    const filler = await newSession(env, {
      turns: [{
        tool_calls: [
          { name: 'bash', input: { command: 'dd if=/dev/zero of=fill bs=64k count=200 2>&1 | grep -o "No space left on device"; df -k . | tail -n 1' } },
          { name: 'write', input: { file_path: 'more.txt', content: 'z'.repeat(256 * 1024) } },
          { name: 'edit', input: { file_path: 'fill', old_string: 'a', new_string: 'b' } },
          { name: 'bash', input: { command: 'rm -f fill; echo freed' } },
          { name: 'write', input: { file_path: 'after.txt', content: 'ok' } },
        ],
        message: 'disk done',
      }],
    });
    await say(client, filler, 'go');
    const evF = await untilTurnEnds(filler, 1, 60_000);
    const f = toolCalls(evF ?? []);
    ok(f[0]?.results.length === 1 && /No space left on device/.test(f[0].text), 'filling the disk: the shell reports ENOSPC', f[0]?.text);
    ok(f[1]?.is_error && f[1].text === 'write: more.txt: no space left on device', 'write on a full disk: a clear error', f[1]?.text);
    ok(f[2]?.results.length === 1, 'edit on a full disk: answered', f[2]?.text);
    ok(f[3]?.text === 'freed' && f[4]?.text === 'wrote 2 bytes to after.txt', 'after freeing space the session goes on', f.slice(3).map((c) => c.text));
    ok(benignOk(await untilTurnEnds(calm, 1, 60_000), 'd'), 'the other session on the same disk is served');
    const gone = await until(async () => {
      const rep = await cp.report();
      return [calm, filler].every((s) => itemsOf(rep, s).every((w) => w.state === 'stopped')) && readdirSync(small).length === 0;
    }, 20_000);
    ok(gone, 'both items stopped and their directories removed', readdirSync(small));
  } finally {
    const r = await r2.stop();
    ok(r.code === 0, 'that runner exits 0 on SIGTERM', { r, log: r2.log().slice(-2000) });
    try {
      execFileSync('umount', [small], { stdio: 'ignore' });
    } catch {}
  }
}
done();
