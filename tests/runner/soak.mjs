// Soak under faults: many sessions served by the C runner while the control
// plane injects 5xx and 429 answers (with retry-after), stalls, dropped
// event streams (ended and reset), forced heartbeat 412s and stop requests,
// and the runner is upgraded in place (SIGUSR2), SIGKILLed and replaced by
// another worker, and SIGKILLed and started again as the same worker (which
// takes its items back from their records).  Afterwards every
// transcript is checked: each tool call has exactly one result and the right
// one, no call ran more than once per claim of its item (it runs again only
// when the claim ended while it ran: runner killed, lease lost, item
// stopped; a call a restarted runner takes back is answered, not run again;
// a side-effect file counts the runs), every work item ends
// stopped, no process is left, and the runner's file descriptors are back
// to their warm-up count.
//
// Bounded for CI (about 75 s).  Longer runs by hand, in a build directory:
//   make check TESTS=tests/integration/runner-soak.sh SOAK_SESSIONS=300 SOAK_SECONDS=900 SDK_CHECK_TIMEOUT=1500
// (SOAK_CAPACITY sets the runner's --capacity, SOAK_SEED the schedule.)
import { appendFileSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, ok, say, startRunner, TMP, toolCalls, trackedProcs, untilNoTracked, until,
} from './lib.mjs';

const SESSIONS = Number(process.env.SOAK_SESSIONS ?? 40);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 75); // the fault phase
const CAPACITY = Number(process.env.SOAK_CAPACITY ?? 6);
const TTL = 4; // lease seconds: a killed runner's items come back quickly
// The runner's fds may exceed the warm-up count by this much at the end:
// libcurl keeps idle keep-alive connections to the control plane in its
// connection cache (one per transfer that ran concurrently, up to
// CURLMOPT_MAXCONNECTS), and after a busy phase more of them may be cached
// than after the quiet warm-up.  A leak grows with the number of sessions
// (each one opens a workdir fd, pipes, a shell, sockets), so it would far
// exceed this.
const FD_SLACK = CAPACITY + 4;

let seed = Number(process.env.SOAK_SEED ?? 0x5eed);
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const t0 = Date.now();
const note = (msg) => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}`);

const client = apiClient();
const workdir = join(TMP, 'soak-wd');
const EFFECTS = join(TMP, 'effects.log');
writeFileSync(EFFECTS, '');

function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}
function fdList(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return `${fd}:${readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
      } catch {
        return `${fd}:?`;
      }
    });
  } catch {
    return [];
  }
}

// Each session: six calls, bash calls leave one line per run in EFFECTS.
function script(k) {
  const eff = (i) => `echo s${k}c${i} >> ${EFFECTS}`;
  const calls = [
    { name: 'bash', input: { command: `${eff(0)}; echo r0` }, want: 'r0' },
    { name: 'write', input: { file_path: `f${k}.txt`, content: `content-${k}` }, want: `wrote ${`content-${k}`.length} bytes to f${k}.txt` },
    { name: 'bash', input: { command: `${eff(2)}; sleep 0.${2 + (k % 5)}; echo r2` }, want: 'r2' },
    { name: 'read', input: { file_path: `f${k}.txt` }, want: `content-${k}` },
    { name: 'bash', input: { command: `${eff(4)}; sleep 1; echo r4` }, want: 'r4' },
    { name: 'bash', input: { command: `${eff(5)}; seq 1 2000 | tail -n 1` }, want: '2000' },
  ];
  return {
    calls,
    doc: {
      turns: [
        { tool_calls: calls.map(({ name, input }) => ({ name, input })), message: 'done' },
        { tool_calls: [], message: 'resumed' },
      ],
      loop: false,
    },
  };
}

await cp.faults({ lease_ttl_sec: TTL });
const { env, key } = await environment(client, 'soak');
const runnerOpts = (workerId, stateDir) => ({
  envId: env.id, key, workdir, workerId, stateDir, maxIdleSec: 1,
  extra: ['--capacity', String(CAPACITY), '--log-level', 'info', '--drain-wait-sec', '5'],
});
let runner = startRunner(runnerOpts('soak-a'));
const runners = [runner];
const sessions = []; // {k, id, calls, said, resumes}

const turnEnds = (evs) => evs.filter((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'end_turn').length;

try {
  // ---- warm-up: two sessions, then count the idle runner's fds ----------
  const warm = [];
  for (let i = 0; i < 2; i++) {
    const s = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await say(client, s.id, 'warm up');
    warm.push(s.id);
  }
  const warmed = await until(async () => {
    const rep = await cp.report();
    const items = rep.work.filter((w) => warm.includes(w.session_id));
    return items.length === 2 && items.every((w) => w.state === 'stopped') && warm.every((id) => turnEnds(rep.sessions[id].events) >= 1);
  }, 30_000);
  ok(warmed, 'warm-up: two sessions served and stopped', runner.log().slice(-3000));
  await sleep(1500); // session teardown after the final stop's answer
  const baseline = fdCount(runner.pid);
  const baselineList = fdList(runner.pid);
  note(`warm-up done, runner fds: ${baseline}`);

  // ---- the sessions -----------------------------------------------------
  for (let k = 0; k < SESSIONS; k++) {
    const s = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    const { calls, doc } = script(k);
    await cp.script(s.id, doc);
    sessions.push({ k, id: s.id, calls, said: 0, resumes: 0 });
  }
  const byId = new Map(sessions.map((s) => [s.id, s]));
  const start = Date.now();
  const at = (frac) => start + frac * SECONDS * 1000;

  // The schedule: messages spread over most of the phase; fault waves.
  const schedule = [];
  sessions.forEach((s, i) => schedule.push({ t: at((0.85 * i) / SESSIONS), run: async () => { await say(client, s.id, 'go'); s.said++; } }));
  const wave = (label) => async () => {
    note(`fault wave ${label}`);
    await cp.faults({
      errors: [
        { route: 'work.poll', status: 503, count: 3, retry_after: 1, credential: 'env' },
        { route: 'work.poll', status: 429, count: 2, retry_after_ms: 400, credential: 'env' },
        { route: 'work.ack', status: 500, count: 2, credential: 'env' },
        { route: 'work.heartbeat', status: 503, count: 4, retry_after_ms: 200 },
        { route: 'work.stop', status: 502, count: 2 },
        { route: 'sessions.retrieve', status: 429, count: 3, retry_after: 1, credential: 'token' },
        { route: 'events.stream', status: 503, count: 4, credential: 'token' },
        { route: 'events.list', status: 500, count: 4, credential: 'token' },
        { route: 'events.send', status: 429, count: 6, retry_after: 1, credential: 'token' },
        { route: 'events.send', status: 503, count: 4, credential: 'token' },
      ],
      latency: [
        { route: 'events.send', ms: 700, count: 10, credential: 'token' },
        { route: 'work.heartbeat', ms: 1200, count: 6 },
        { route: 'events.list', ms: 900, count: 6, credential: 'token' },
        { route: 'work.poll', ms: 500, count: 4, credential: 'env' },
      ],
      // A drop is taken by the next streams to carry an event; the clean end
      // fires at the first, so that it is not lost to a stream whose session
      // ends after one or two events.
      sse_drop: { after_events: 1, count: 6, mode: 'end' },
    });
    await cp.faults({ sse_drop: { after_events: 3, count: 6, mode: 'destroy' } });
  };
  // Waves and strikes scale with the length of the run (2 waves, 5 forced
  // 412s and 4 stop requests in the CI run).
  const spread = (n, from, to) => Array.from({ length: n }, (_, i) => from + ((to - from) * i) / Math.max(1, n - 1));
  spread(Math.max(2, Math.round(SECONDS / 37)), 0.05, 0.55 + 0.3 * (SECONDS > 75)).forEach((f, i) => schedule.push({ t: at(f), run: wave(String(i + 1)) }));
  // Forced 412s and stop requests on sessions running a call right now
  // (else on any active one; retried for a few seconds if none is).
  const activeSessions = async () => {
    const rep = await cp.report();
    const act = rep.work.filter((w) => w.state === 'active' && byId.has(w.session_id)).map((w) => w.session_id);
    const busy = act.filter((sid) => toolCalls(rep.sessions[sid].events).some((c) => c.results.length === 0));
    return busy.length ? busy : act;
  };
  const strike = (kind, tries = 10) => async () => {
    const act = await activeSessions();
    if (!act.length) {
      if (tries > 0) schedule.push({ t: Date.now() + 700, run: strike(kind, tries - 1) });
      else note(`${kind}: no active session`);
      return;
    }
    const sid = act[Math.floor(rnd() * act.length)];
    note(`${kind} on session ${byId.get(sid).k}`);
    if (kind === 'heartbeat_412') await cp.faults({ heartbeat_412: { session_id: sid, count: 1 } });
    else await cp.faults({ stop_request: { session_id: sid } });
  };
  for (const f of spread(Math.max(5, Math.round(SECONDS / 15)), 0.15, 0.85)) schedule.push({ t: at(f), run: strike('heartbeat_412') });
  for (const f of spread(Math.max(4, Math.round(SECONDS / 19)), 0.2, 0.8)) schedule.push({ t: at(f), run: strike('stop_request') });
  // The runner killed mid-run and replaced.
  const busyCount = async () => {
    const rep = await cp.report();
    return rep.work.filter((w) => w.state === 'active' && byId.has(w.session_id) &&
      toolCalls(rep.sessions[w.session_id].events).some((c) => c.results.length === 0)).length;
  };
  const kill = (tries) => async () => {
    const busy = await busyCount();
    // Best with several calls in flight; waits up to ~10 s for that.
    if (busy < Math.min(3, CAPACITY) && tries > 0) {
      schedule.push({ t: Date.now() + 300, run: kill(tries - 1) });
      return;
    }
    {
      const act = busy;
      note(`SIGKILL runner a (${act} sessions with a call in flight)`);
      await runner.kill('SIGKILL');
      runner = startRunner(runnerOpts('soak-b'));
      runners.push(runner);
    }
  };
  schedule.push({ t: at(0.4), run: kill(30) });
  // Upgraded in place while calls run: the same process re-executes its
  // binary and takes its items back.
  let upgraded = null;
  const upgrade = (tries) => async () => {
    if ((await busyCount()) < 1 && tries > 0) {
      schedule.push({ t: Date.now() + 300, run: upgrade(tries - 1) });
      return;
    }
    note(`SIGUSR2 runner ${runners.length === 1 ? 'a' : 'b'}: upgrade in place`);
    upgraded = runner;
    process.kill(runner.pid, 'SIGUSR2');
  };
  schedule.push({ t: at(0.2), run: upgrade(30) });
  // The upgrade closes every stream, those armed with a drop before it
  // reached its events included: faults are armed again after it.
  schedule.push({ t: at(0.3), run: wave('after the upgrade') });
  // SIGKILLed and started again as the same worker, on the same state.
  let restarted = null;
  const restart = (tries) => async () => {
    const busy = await busyCount();
    // Best with a bash call running in the runner itself, not only waiting.
    const running = trackedProcs(workdir).some((p) => /^sleep /.test(p.cmd));
    if ((busy < Math.min(2, CAPACITY) || !running) && tries > 0) {
      schedule.push({ t: Date.now() + 300, run: restart(tries - 1) });
      return;
    }
    note(`SIGKILL runner b (${busy} sessions with a call in flight), then the same worker again`);
    const { stateDir } = runner;
    await runner.kill('SIGKILL');
    runner = startRunner(runnerOpts('soak-b', stateDir));
    runners.push(runner);
    restarted = runner;
  };
  schedule.push({ t: at(0.65), run: restart(30) });
  schedule.sort((a, b) => a.t - b.t);

  // Run the schedule while resuming sessions whose item was stopped
  // mid-turn (a stop request ends the item; a new message brings it back).
  const deadline = start + SECONDS * 1000 + 90_000;
  let finished = false;
  let rep;
  while (Date.now() < deadline) {
    schedule.sort((a, b) => a.t - b.t);
    while (schedule.length && schedule[0].t <= Date.now()) await schedule.shift().run();
    rep = await cp.report();
    let pending = 0;
    for (const s of sessions) {
      const evs = rep.sessions[s.id].events;
      const items = rep.work.filter((w) => w.session_id === s.id);
      const live = items.some((w) => w.state !== 'stopped');
      const calls = toolCalls(evs);
      const open = calls.some((c) => c.results.length === 0);
      const complete = s.said > 0 && !open && turnEnds(evs) >= s.said && calls.length === s.calls.length;
      if (!complete || live) pending++;
      if (s.said > 0 && !live && items.length && (open || turnEnds(evs) < s.said) && s.resumes < 5) {
        note(`resuming session ${s.k} (its item was stopped mid-turn)`);
        s.resumes++;
        await say(client, s.id, 'resume');
        s.said++;
      }
    }
    if (!schedule.length && pending === 0) {
      finished = true;
      break;
    }
    await sleep(1000);
  }
  note(`soak phase over after ${((Date.now() - start) / 1000).toFixed(1)} s`);
  ok(finished, `all ${SESSIONS} sessions complete and every item stopped`, runner.log().slice(-4000));
  rep = await cp.report();

  // ---- transcripts -------------------------------------------------------
  const effects = readFileSync(EFFECTS, 'utf8').split('\n').filter(Boolean);
  const runs = new Map();
  for (const l of effects) runs.set(l, (runs.get(l) ?? 0) + 1);

  // Every claim of a session's items: from its hand-out to the item's next
  // return to the queue or stop.
  const claimsOf = (sid) => rep.work.filter((w) => w.session_id === sid).flatMap((w) => w.handouts.map((h) => {
    const t0 = Date.parse(h.at);
    const end = w.history.find((x) => Date.parse(x.at) > t0 && (x.to === 'queued' || x.to === 'stopped'));
    return { from: t0, to: end ? Date.parse(end.at) : Infinity };
  }));
  const textOf = (r) => (r?.content ?? []).map((b) => b.text ?? '').join('');
  // A call its claim stopped while it ran is answered as SDK 1.17 does.
  const wasDisrupted = (r) => {
    const text = textOf(r);
    return !!r?.is_error && (/^tool '\w+' was stopped, and may have already done some or all of its work$/.test(text) ||
      /^tool '\w+' was interrupted: the runner restarted while it ran, and it may have already done some or all of its work; it was not run again$/.test(text));
  };
  const problems = { noResult: [], dupResult: [], wrong: [], ranTwice: [], ranTwiceInFlight: [], notRun: [], extraCalls: [] };
  let totalCalls = 0;
  let interrupted = 0;
  for (const s of sessions) {
    const evs = rep.sessions[s.id].events;
    const itemIds = new Set(rep.work.filter((w) => w.session_id === s.id).map((w) => w.id));
    const uses = evs.filter((e) => e.type === 'agent.tool_use');
    const results = evs.filter((e) => e.type === 'user.tool_result');
    if (uses.length !== s.calls.length) problems.extraCalls.push({ k: s.k, uses: uses.length });
    uses.forEach((u, i) => {
      totalCalls++;
      const rs = results.filter((r) => r.tool_use_id === u.id);
      const tag = `s${s.k}c${i}`;
      if (rs.length === 0) return problems.noResult.push(tag);
      if (rs.length > 1) problems.dupResult.push(tag);
      const text = textOf(rs[0]);
      const disrupted = wasDisrupted(rs[0]);
      // A write stopped before it ran leaves no file for the read after it.
      const write = uses[s.calls.findIndex((c) => c.name === 'write')];
      const writeLost = s.calls[i]?.name === 'read' && text === `read: f${s.k}.txt: no such file or directory` &&
        wasDisrupted(results.find((r) => r.tool_use_id === write?.id));
      if (disrupted || writeLost) interrupted++;
      else if (text !== s.calls[i]?.want || rs[0].is_error) {
        // With what the session's other calls answered, and when, to tell a cause.
        const answers = uses.map((x, j) => {
          const r = results.find((y) => y.tool_use_id === x.id);
          return `c${j} ${r?.processed_at ?? '-'} ${r?.is_error ? 'error ' : ''}${textOf(r).slice(0, 80)}`;
        });
        problems.wrong.push({ tag, text: text.slice(0, 200), is_error: rs[0].is_error, answers, claims: claimsOf(s.id) });
      }
      if (s.calls[i]?.name !== 'bash') return;
      const n = runs.get(tag) ?? 0;
      const from = Date.parse(u.processed_at);
      const to = Date.parse(rs[0].processed_at);
      // A call runs at most once per claim of its session's item: a claim
      // that ends while it runs (runner killed, lease lost, item stopped)
      // kills it without a result, and the next claim runs it again.
      const claims = claimsOf(s.id).filter((c) => c.from <= to + 50 && c.to >= from - 50).length;
      if (n === 0 && !disrupted) problems.notRun.push(tag);
      if (n > Math.max(1, claims)) {
        const items = rep.work.filter((w) => w.session_id === s.id).map((w) => ({
          handouts: w.handouts.map((h) => `${h.at} ${h.worker}`), history: w.history.map((h) => `${h.at} ${h.from}->${h.to} ${h.reason}`),
        }));
        problems.ranTwice.push({ tag, n, use_at: u.processed_at, result_at: rs[0].processed_at, items, faults: rep.faults_fired.filter((f) => itemIds.has(f.detail?.work_id)).map((f) => `${f.at} ${f.kind}`) });
      }
      else if (n >= 2) problems.ranTwiceInFlight.push(tag);
    });
  }
  note(`${totalCalls} calls, ${interrupted} answered as stopped or interrupted by a restart (or a read after such a write), ${problems.ranTwiceInFlight.length} call(s) ran again after their claim ended mid-call`);
  ok(problems.noResult.length === 0, `no tool result lost (${totalCalls} calls)`, problems.noResult);
  ok(problems.dupResult.length === 0, 'no tool call answered twice', problems.dupResult);
  ok(!rep.mistake_counts.tool_result_duplicate && !rep.mistake_counts.tool_result_unknown_tool_use, 'the control plane saw no duplicate or unknown tool result', rep.mistake_counts);
  ok(problems.extraCalls.length === 0, 'every session made exactly its scripted calls', problems.extraCalls);
  ok(problems.wrong.length === 0, 'every result is the right one, or an interruption notice', problems.wrong.slice(0, 10));
  ok(problems.notRun.length === 0, 'every successfully answered bash call ran', problems.notRun);
  ok(problems.ranTwice.length === 0, 'no call ran more than once per claim (a re-run only after its claim ended mid-call: kill, lost lease, stop)', problems.ranTwice);
  const kinds = Object.fromEntries(['error', 'latency', 'sse_drop', 'heartbeat_412', 'stop_request'].map((k) => [k, rep.faults_fired.filter((f) => f.kind === k).length]));
  note(`faults fired: ${JSON.stringify(kinds)}; mistakes: ${JSON.stringify(rep.mistake_counts)}`);
  const modes = new Set(rep.faults_fired.filter((f) => f.kind === 'sse_drop').map((f) => f.detail?.mode));
  ok(kinds.error >= 20 && kinds.latency >= 10 && modes.has('end') && modes.has('destroy') && kinds.heartbeat_412 >= 1 && kinds.stop_request >= 1,
    'every kind of fault fired (5xx/429, stalls, both SSE drops, 412, stop)', { kinds, modes: [...modes] });
  const withRetryAfter = rep.requests.log.filter((l) => l.status === 429).length;
  ok(withRetryAfter >= 3, `429s with retry-after were answered (${withRetryAfter})`);

  // ---- work items ----------------------------------------------------------
  const ours = rep.work.filter((w) => byId.has(w.session_id));
  const notStopped = ours.filter((w) => w.state !== 'stopped').map((w) => ({ id: w.id, state: w.state, history: w.history }));
  ok(notStopped.length === 0, `every work item ends stopped (${ours.length} items)`, notStopped);
  const reserved = ours.filter((w) => w.handouts.length > 1).length;
  const byB = ours.filter((w) => w.handouts.some((h) => h.worker === 'soak-b')).length;
  note(`${reserved} item(s) handed out more than once; ${byB} served by the replacement runner`);
  ok(byB > 0, 'the replacement runner took over work');
  ok(upgraded && /re-executing/.test(upgraded.log()) && /upgrade.*every item is in its record/.test(upgraded.log()),
    'the upgrade wave re-executed the runner in place', upgraded?.log().split('\n').filter((l) => /upgrade/.test(l)).slice(-10));
  const takenBack = (r) => (r?.log().match(/taken back after the runner restarted/g) ?? []).length;
  note(`items taken back: ${takenBack(upgraded)} by the upgraded runner, ${takenBack(restarted)} by the restarted one`);
  ok(restarted && takenBack(restarted) >= 1, 'the runner started again as the same worker took its items back', restarted?.log().slice(0, 3000));
  ok(rep.mistake_counts.stop_on_stopped === undefined || rep.mistake_counts.stop_on_stopped <= 3, 'few stops of stopped items', rep.mistake_counts);

  // ---- processes and descriptors ------------------------------------------
  await sleep(1500);
  const end = fdCount(runner.pid);
  const endList = fdList(runner.pid);
  note(`replacement runner fds at the end: ${end} (warm-up baseline ${baseline}, slack ${FD_SLACK})`);
  if (baseline === null || end === null) ok(true, 'no fd leaked # SKIP /proc/<pid>/fd of the runner is not readable here');
  else ok(end <= baseline + FD_SLACK, `no fd leaked: ${end} at the end vs ${baseline} after warm-up (+${FD_SLACK} slack)`, { baselineList, endList });
  const left = await untilNoTracked(TMP, 5000);
  ok(left.length === 0, 'no tracked process left while the runner idles', left);
} finally {
  const r = await runner.stop(15_000);
  ok(r.code === 0 && r.sig === null, `the replacement runner exits 0 on SIGTERM (${r.ms} ms)`, { r, log: runner.log().slice(-2000) });
  for (const x of runners) x.kill();
  const left = await untilNoTracked(TMP, 5000);
  ok(left.length === 0, 'no tracked process left after the runners exit', left);
  try {
    appendFileSync(join(TMP, 'runner-a.log'), runners[0].log());
  } catch {}
}
done();
