// Hostile input: from the control plane (oversized and deeply nested JSON,
// invalid UTF-8 and NULs, huge SSE lines, malformed events, a response that
// never ends) and from sessions (tool inputs of every wrong type, 1 GB of
// output, file names with newlines and control characters, a full disk).
// Each gets a clear error or a bounded result, and the runner keeps serving
// a benign session running next to the hostile ones.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
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
