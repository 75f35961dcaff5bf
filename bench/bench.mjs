#!/usr/bin/env node
// Benchmark driver: this runner and the SDK's reference worker against the
// local control plane, on this machine, in one run.  Started by bench/run.sh,
// which sets the environment:
//
//   BENCH_OUT      results folder (results.json is written there)
//   BENCH_TMP      scratch folder (logs, workdirs, the grep tree)
//   ER_RUNNER      the environment-runner binary
//   ER_PLUGIN_DIR  its plugins (sandbox-bubblewrap.so is used when present)
//   BENCH_LAUNCH   the sandbox launch harness (bench/launch.c, built)
//   BENCH_LANDLOCK_HELPER  the landlock backend's er-sandbox-landlock, built
//   QUICK=1        a smoke-sized run; BENCH_ONLY=a,b restricts the benchmarks
//                  (footprint, claim, roundtrip, scale, launch)
//   BENCH_PROFILE  perf, callgrind or syscalls: profile this runner over each scale
//                  window (bench/profile.mjs)
//
// Every wait is bounded and ends as soon as a runner it waits on exits; a
// benchmark that fails records its error and the run goes on with the next
// one.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  createSession, environment, fdCount, makeCertificate, maxOf, memDetail, now, procStat, procStats, round, sampler, sleepWatching, startControlPlane, startRunner, stats, TOP, until,
} from './lib.mjs';
import { profileWrap, startProfile } from './profile.mjs';

const QUICK = process.env.QUICK === '1';
const OUT = process.env.BENCH_OUT;
const TMP = process.env.BENCH_TMP;
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const cfg = {
  node: process.execPath,
  runner: process.env.ER_RUNNER,
  pluginDir: process.env.ER_PLUGIN_DIR,
  launch: process.env.BENCH_LAUNCH,
};
if (!OUT || !TMP || !cfg.runner || !cfg.pluginDir) {
  console.error('bench.mjs: run it through bench/run.sh (BENCH_OUT, BENCH_TMP, ER_RUNNER, ER_PLUGIN_DIR)');
  process.exit(64);
}
mkdirSync(OUT, { recursive: true });
mkdirSync(TMP, { recursive: true });

const P = QUICK
  ? { footprintSec: 10, claimSamples: 5, rt: { bash: 30, read: 30, grep: 8 }, rtWarmup: 3, scaleNs: [10, 100], sdkNs: [10], satNs: [10], satSdkNs: [], bigNs: [], scaleThinkMs: 1000, bigThinkMs: 5000, scaleWindowSec: 8, launchRuns: 50, launchPairs: 10 }
  : { footprintSec: 60, claimSamples: 25, rt: { bash: 200, read: 200, grep: 40 }, rtWarmup: 5, scaleNs: [10, 100, 1000], sdkNs: [10, 100], satNs: [10, 100], satSdkNs: [10], bigNs: [5000], scaleThinkMs: 1000, bigThinkMs: 5000, scaleWindowSec: 40, launchRuns: 300, launchPairs: 60 };
if (process.env.BENCH_SCALE_NS !== undefined) P.scaleNs = process.env.BENCH_SCALE_NS.split(',').filter(Boolean).map(Number);
if (process.env.BENCH_SAT_NS !== undefined) P.satNs = process.env.BENCH_SAT_NS.split(',').filter(Boolean).map(Number);
if (process.env.BENCH_SAT_SDK_NS !== undefined) P.satSdkNs = process.env.BENCH_SAT_SDK_NS.split(',').filter(Boolean).map(Number);
if (process.env.BENCH_SDK_NS !== undefined) P.sdkNs = process.env.BENCH_SDK_NS.split(',').filter(Boolean).map(Number);
if (process.env.BENCH_BIG_NS !== undefined) P.bigNs = process.env.BENCH_BIG_NS.split(',').filter(Boolean).map(Number);
const PROFILE = process.env.BENCH_PROFILE || null;
const bubblewrap = existsSync(join(cfg.pluginDir, 'sandbox-bubblewrap.so'));
const firejail = existsSync(join(cfg.pluginDir, 'sandbox-firejail.so'));
const landlockHelper = process.env.BENCH_LANDLOCK_HELPER;
const landlock = existsSync(join(cfg.pluginDir, 'sandbox-landlock.so')) && !!landlockHelper && existsSync(landlockHelper);

const results = {
  started_at: new Date().toISOString(),
  commit: process.env.BENCH_COMMIT ?? null,
  quick: QUICK,
  machine: machineInfo(),
  params: P,
  backends: { none: true, bubblewrap, landlock, firejail },
  benchmarks: {},
  notes: [],
};
const save = () => writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
const say = (msg) => console.error(`bench: ${msg}`);
let seq = 0;
const uid = (p) => `${p}-${++seq}`;

function machineInfo() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  let os = null;
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {}
  return {
    os,
    kernel: sh('uname', ['-r']),
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    mem_gib: round(totalmem() / 2 ** 30, 1),
    mem_free_gib: round(freemem() / 2 ** 30, 1),
    loadavg_start: loadavg().map((x) => round(x, 2)),
    node: process.version,
    runner_version: sh(cfg.runner, ['--version']),
    bwrap: sh('bwrap', ['--version']),
    nofile: sh('sh', ['-c', 'ulimit -n']),
  };
}

async function withPlane(opts, fn) {
  const cp = await startControlPlane({ node: cfg.node, tmp: TMP, logName: uid('cp'), ...opts });
  try {
    return await fn(cp);
  } finally {
    await cp.stop();
  }
}

// ---- 1. footprint: idle runners ------------------------------------------

async function footprint() {
  return withPlane({}, async (cp) => {
    const runners = [];
    for (const kind of ['c', 'sdk']) {
      const env = await environment(cp, TMP, `fp-${kind}`);
      const workerId = uid(`fp-${kind}`);
      runners.push(startRunner(cfg, { kind, env, cpUrl: cp.url, tmp: TMP, workerId, workdir: join(TMP, workerId) }));
    }
    await sleepWatching(5000, runners); // start-up is not idle
    const polls = async () => {
      const s = await cp.summary();
      return runners.map((r) => s.by_worker[r.workerId]?.['work.poll'] ?? 0);
    };
    const p0 = await polls();
    const c0 = runners.map((r) => procStat(r.pid));
    const t0 = now();
    const samplers = runners.map((r) => sampler([r.pid], 1000));
    await sleepWatching(P.footprintSec * 1000, runners);
    const series = samplers.map((s) => s.stop());
    const detail = runners.map((r) => memDetail(r.pid));
    const secs = (now() - t0) / 1000;
    const p1 = await polls();
    const c1 = runners.map((r) => procStat(r.pid));
    // The rate from the polls' own start times: a count over the window is
    // off by one poll either way, as the window starts and ends mid-poll.
    const log = (await cp.api('GET', '/_test/report')).requests.log;
    const rate = runners.map((r) => {
      const at = log.filter((e) => e.route === 'work.poll' && e.worker === r.workerId).map((e) => Date.parse(e.at))
        .filter((t) => t >= t0 && t <= t0 + secs * 1000);
      return at.length > 1 ? ((at.length - 1) / (at[at.length - 1] - at[0])) * 60_000 : null;
    });
    const out = {};
    runners.forEach((r, i) => {
      const rss = series[i].map((x) => x.rss_kb);
      out[r.kind] = {
        seconds: round(secs, 1),
        rss_kb: stats(rss),
        hwm_kb: c1[i]?.hwm_kb,
        smaps: detail[i],
        cpu_s: round(c1[i].cpu_s - c0[i].cpu_s, 3),
        polls: p1[i] - p0[i],
        polls_per_min: round(rate[i] ?? ((p1[i] - p0[i]) / secs) * 60, 1),
        series: series[i].map((x) => ({ t: round(x.t, 1), rss_kb: x.rss_kb, cpu_s: x.cpu_s })),
      };
    });
    await Promise.all(runners.map((r) => r.stop()));
    return out;
  });
}

// ---- 2. claim latency ----------------------------------------------------

// Bash prints when it began the command: $EPOCHREALTIME is read without a
// fork (a `date` would add its own fork and exec: 4-5 ms on a slow VM).
const CLAIM_SCRIPT = { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo $EPOCHREALTIME' } }], message: 'ok' }] };

// The first look at the result waits until the claim is likely over: a look
// at once reaches the control plane in the middle of the claim it measures,
// its ack or heartbeat queued behind the summary.  (The figure comes from the
// two stamps, not from when the result is seen.)
const CLAIM_FIRST_LOOK_MS = 100;

async function claimOne(cp, env, r) {
  const t0 = now();
  const s = await createSession(cp, env.id);
  await sleepWatching(CLAIM_FIRST_LOOK_MS, [r]);
  let created = null;
  const call = await until(async () => {
    const sum = await cp.summary(env.id);
    created = sum.sessions[s.id]?.created ?? null;
    return sum.sessions[s.id]?.calls[0]?.result ? sum.sessions[s.id].calls[0] : null;
  }, 30_000, 100, [r]);
  if (!call) return { error: 'no tool result within 30 s' };
  const started = Number(call.text.trim()) * 1000; // seconds → ms since the epoch
  if (!Number.isFinite(started) || created === null) return { error: `no start time in '${call.text.slice(0, 80)}'` };
  // Next sample only once the runner has released the item (it is idle again).
  const w = await until(async () => (await cp.summary(env.id)).work.find((x) => x.session_id === s.id && x.state === 'stopped'), 30_000, 100, [r]);
  const handout = w ? Date.parse(w.handouts[0].at) - t0 : null;
  return { ms: started - created, post_ms: started - t0, handout_ms: handout };
}

async function claimLatency() {
  return withPlane({}, async (cp) => {
    await cp.api('POST', '/_test/default-script', CLAIM_SCRIPT);
    const out = {};
    // Both runners at once, each in its own environment: the samples are dominated by
    // the runners' poll timing, not by CPU, so running them side by side halves the time.
    await Promise.all(['c', 'sdk'].map(async (kind) => {
      const env = await environment(cp, TMP, `claim-${kind}`);
      const workerId = uid(`claim-${kind}`);
      const r = startRunner(cfg, { kind, env, cpUrl: cp.url, tmp: TMP, workerId, workdir: join(TMP, workerId), maxIdleSec: 1 });
      await sleepWatching(3000, [r]);
      const samples = [];
      const fromPost = [];
      const handouts = [];
      const errors = [];
      for (let i = 0; i < P.claimSamples; i++) {
        // A random phase against the runner's poll cycle.
        await sleepWatching(500 + Math.random() * 3500, [r]);
        const x = await claimOne(cp, env, r);
        if (x.error) errors.push(x.error);
        else {
          samples.push(x.ms);
          fromPost.push(x.post_ms);
          handouts.push(x.handout_ms);
        }
      }
      await r.stop();
      out[kind] = { ...stats(samples), samples: samples.map((x) => round(x, 1)), from_post: stats(fromPost), handout_ms: handouts, errors };
    }));
    // The floor under both: a claim ends with the session's shell starting
    // and running its first command, and bash's own start is part of it.
    if (cfg.launch && existsSync(cfg.launch)) {
      out.bash_start = harness('bash', 'fork + exec + wait of /bin/bash --noprofile --norc -c true', ['--', '/bin/bash', '--noprofile', '--norc', '-c', 'true']);
    }
    return out;
  });
}

// ---- 3. tool round trip --------------------------------------------------

function grepTree() {
  const dir = join(TMP, 'rt-workdir');
  const tree = join(dir, 'tree');
  if (!existsSync(join(tree, '.done'))) {
    mkdirSync(tree, { recursive: true });
    for (let d = 0; d < 100; d++) {
      const sub = join(tree, `d${String(d).padStart(3, '0')}`);
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 100; f++) {
        const n = d * 100 + f;
        // One file in 1000 holds the needle.
        const body = `file ${n}\nsome text line\n${n % 1000 === 7 ? 'needle_bench here\n' : ''}more text ${n}\n`;
        writeFileSync(join(sub, `f${String(f).padStart(3, '0')}.txt`), body);
      }
    }
    writeFileSync(join(dir, 'small.txt'), 'a small file\nof three\nlines\n');
    writeFileSync(join(tree, '.done'), '');
  }
  return dir;
}

function rtScript() {
  const turn = (n, call) => ({ tool_calls: Array.from({ length: n }, () => call), message: 'done' });
  return {
    turns: [
      turn(P.rt.bash, { name: 'bash', input: { command: 'true' } }),
      turn(P.rt.read, { name: 'read', input: { file_path: 'small.txt' } }),
      turn(P.rt.grep, { name: 'grep', input: { pattern: 'needle_bench', path: 'tree' } }),
    ],
  };
}

async function roundTripOne(kind, backend) {
  const workdir = grepTree();
  return withPlane({}, async (cp) => {
    await cp.api('POST', '/_test/default-script', rtScript());
    const env = await environment(cp, TMP, `rt-${kind}-${backend}`);
    const workerId = uid(`rt-${kind}-${backend}`);
    // A root runner's sandbox user must own the --workdir it is given (the tree is only read).
    if (kind === 'c' && backend !== 'none' && process.getuid?.() === 0) sandboxOwns(workdir);
    const r = startRunner(cfg, { kind, env, cpUrl: cp.url, tmp: TMP, workerId, workdir, backend, maxIdleSec: 30, extra: sandboxUserArgs(kind) });
    try {
      const s = await createSession(cp, env.id, 3);
      const total = P.rt.bash + P.rt.read + P.rt.grep;
      const done = await until(async () => {
        const sum = await cp.summary(env.id);
        const calls = sum.sessions[s.id]?.calls ?? [];
        return calls.length === total && calls.every((c) => c.result) ? calls : null;
      }, 300_000, 500, [r]);
      if (!done) throw new Error(`${kind}/${backend}: the calls did not all complete within 300 s`);
      await cp.api('POST', `/v1/sessions/${s.id}/archive`);
      const out = {};
      for (const tool of ['bash', 'read', 'grep']) {
        const calls = done.filter((c) => c.name === tool);
        const errs = calls.filter((c) => c.is_error);
        const rtts = calls.slice(P.rtWarmup).map((c) => c.result - c.use);
        out[tool] = { ...stats(rtts), first_ms: round(calls[0].result - calls[0].use, 2), errors: errs.length, sample_error: errs[0]?.text };
        if (errs.length) results.notes.push(`round trip ${kind}/${backend} ${tool}: ${errs.length} of ${calls.length} calls failed, e.g. ${JSON.stringify(errs[0].text)}`);
        out[tool].samples = rtts.map((x) => round(x, 3));
      }
      return out;
    } finally {
      await r.stop();
    }
  });
}

async function roundTrip() {
  const out = {};
  let backends = ['none', ...(bubblewrap ? ['bubblewrap'] : [])];
  if (!bubblewrap) results.notes.push('tool round trip under bubblewrap skipped: sandbox-bubblewrap.so is not built');
  if (process.env.BENCH_BACKENDS) backends = backends.filter((b) => process.env.BENCH_BACKENDS.split(',').includes(b));
  for (const backend of backends) {
    out[`c/${backend}`] = await roundTripOne('c', backend);
    say(`round trip c/${backend} done`);
  }
  out['sdk/none'] = await roundTripOne('sdk', 'none');
  say('round trip sdk/none done');
  return out;
}

// ---- 4. scale ------------------------------------------------------------

const SCALE_TTL_SEC = 10;
// Thousands of sessions: the lease the local control plane grants by
// default, so that the ramp's claims do not crowd out heartbeats.
const BIG_TTL_SEC = 60;
const SCALE_CALLS = 20_000; // one long turn: more than any window can use

// Open files one session holds in the runner: its shell's three pipes and,
// over HTTP/1.1, its event stream's connection (over HTTP/2 the streams
// share a few); its record's log while a call runs.  Plus the runner's own.
const FDS_PER_SESSION = { http1: 4.2, http2: 3.2 };
const FDS_BASE = 100;

// The big runs speak HTTPS with HTTP/2 to the control plane, as runners do
// to the API; the others plain HTTP/1.1, as in earlier rounds.
async function scaleOne(kind, n, thinkMs, { big = false } = {}) {
  const nofile = Number(results.machine.nofile);
  const need = Math.ceil(FDS_BASE + n * FDS_PER_SESSION[big ? 'http2' : 'http1']);
  if (kind === 'c' && nofile && need > nofile) {
    throw new Error(`${n} sessions need about ${need} open files, but the limit is ${nofile} ` +
      '(raise the hard limit: LimitNOFILE=, or run as root where the container allows it)');
  }
  const ttlSec = big ? BIG_TTL_SEC : SCALE_TTL_SEC;
  const tls = big ? makeCertificate(TMP) : null;
  return withPlane({ leaseTtlSec: ttlSec, tls }, async (cp) => {
    await cp.api('POST', '/_test/default-script', {
      turns: [{ tool_calls: Array.from({ length: SCALE_CALLS }, () => ({ name: 'bash', input: { command: 'true' }, ...(thinkMs ? { delay_ms: thinkMs } : {}) })), message: 'done' }],
    });
    const env = await environment(cp, TMP, `scale-${kind}-${n}`);
    const runners = [];
    const t0 = now();
    if (kind === 'c') {
      const workerId = uid(`scale-c-${n}`);
      runners.push(startRunner(cfg, { kind, env, cpUrl: cp.runnerUrl, tmp: TMP, workerId, baseDir: join(TMP, workerId), capacity: n, maxIdleSec: 60,
        extra: tls ? ['--ca-file', tls.cert] : [], wrap: profileWrap(PROFILE, TMP) }));
    } else {
      for (let i = 0; i < n; i++) {
        const workerId = uid(`scale-sdk-${n}`);
        runners.push(startRunner(cfg, { kind, env, cpUrl: cp.url, tmp: TMP, workerId, workdir: join(TMP, workerId), maxIdleSec: 60 }));
      }
    }
    const pids = runners.map((r) => r.pid);
    try {
      const sessions = [];
      for (let i = 0; i < n; i += 50) {
        for (const r of runners) r.check();
        const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => createSession(cp, env.id)));
        sessions.push(...batch.map((s) => s.id));
      }
      // Ramp: every session has had a tool call answered.  A ramp that
      // stalls (a runner short of open files claims no more) fails after a
      // minute, with what the runner said.
      const rampLimit = 60_000 + n * 250;
      let answered = 0;
      let progress = { answered: 0, at: now() };
      const ramped = await until(async () => {
        answered = await cp.answered(env.id);
        if (answered > progress.answered) progress = { answered, at: now() };
        else if (now() - progress.at > 60_000) {
          throw new Error(`${kind} ${n}: the ramp stalled at ${answered} of ${n} sessions with a tool result; the runner's last complaint: ${runners[0].lastComplaint() || 'none'}`);
        }
        return answered === n;
      }, rampLimit, 500, runners);
      const rampSec = (now() - t0) / 1000;
      if (!ramped) throw new Error(`${kind} ${n}: ${answered} of ${n} sessions had a tool result within ${rampLimit / 1000} s`);
      const cpu0 = procStats(pids);
      const cp0 = procStat(cp.pid);
      const w0 = now();
      const smp = sampler(pids, 1000);
      const cpSmp = sampler([cp.pid], 1000);
      const prof = PROFILE && kind === 'c' ? startProfile(PROFILE, runners[0].pid, { out: OUT, tmp: TMP, name: `${n}-think${thinkMs}` }) : null;
      await sleepWatching(P.scaleWindowSec * 1000, runners);
      const profile = prof ? await prof.stop() : null;
      const series = smp.stop();
      const cpSeries = cpSmp.stop();
      const w1 = now();
      const cpu1 = procStats(pids);
      const cp1 = procStat(cp.pid);
      const fds = kind === 'c' ? fdCount(pids[0]) : null;
      const sum = await cp.summary(env.id);
      const secs = (w1 - w0) / 1000;
      let inWindow = 0;
      const rtts = [];
      for (const id of sessions) {
        for (const c of sum.sessions[id]?.calls ?? []) {
          if (c.result && c.result >= w0 && c.result < w1) {
            inWindow++;
            rtts.push(c.result - c.use);
          }
        }
      }
      // Heartbeat punctuality: the gap between consecutive heartbeats of a work item
      // against the interval the runner is meant to keep (TTL / 2).
      const interval = (ttlSec * 1000) / 2;
      const late = [];
      let expired = 0;
      for (const w of sum.work) {
        const ts = w.heartbeat_times.map((x) => Date.parse(x));
        for (let i = 1; i < ts.length; i++) late.push(ts[i] - ts[i - 1] - interval);
        expired += w.history.filter((h) => h.reason === 'lease_expired').length;
      }
      profile?.perCall?.(inWindow);
      const rss = series.map((x) => x.rss_kb);
      return {
        n,
        think_ms: thinkMs,
        processes: runners.length,
        ramp_sec: round(rampSec, 1),
        window_sec: round(secs, 1),
        rss_kb: stats(rss),
        rss_max_kb: maxOf(rss),
        hwm_kb: cpu1.hwm_kb,
        alive_at_end: cpu1.alive,
        fds,
        cpu_s: round(cpu1.cpu_s - cpu0.cpu_s, 2),
        cpu_pct: round(((cpu1.cpu_s - cpu0.cpu_s) / secs) * 100, 1),
        cp_cpu_pct: round(((cp1.cpu_s - cp0.cpu_s) / secs) * 100, 1),
        cp_rss_max_kb: maxOf(cpSeries.map((x) => x.rss_kb)),
        calls: inWindow,
        calls_per_s: round(inWindow / secs, 1),
        rtt_ms: stats(rtts),
        heartbeats: late.length,
        heartbeat_interval_ms: interval,
        lateness_ms: stats(late),
        lease_expired: expired,
        mistakes: sum.mistake_counts,
        ...(profile ? { profile: { tool: PROFILE, file: profile.file.slice(OUT.length + 1), ir: profile.ir ?? null, ir_per_call: profile.ir ? Math.round(profile.ir / inWindow) : null } } : {}),
        series: series.map((x) => ({ t: round(x.t, 1), rss_kb: x.rss_kb, cpu_s: round(x.cpu_s, 2) })),
      };
    } finally {
      await Promise.all(runners.map((r) => r.stop(20_000)));
    }
  });
}

async function scale() {
  const think = P.scaleThinkMs;
  const out = { think_ms: think, big_think_ms: P.bigThinkMs, c: {}, big: { c: {} }, sdk: {}, saturation: { c: {}, sdk: {} } };
  const run = async (slot, kind, n, thinkMs, opts) => {
    if (kind === 'sdk') {
      // The SDK worker serves one session per process: ~100-150 MB each.
      const needGiB = (n * 160) / 1024 + 2;
      if (freemem() / 2 ** 30 < needGiB) {
        slot[n] = { n, skipped: `needs about ${round(needGiB, 1)} GiB free, ${round(freemem() / 2 ** 30, 1)} GiB available` };
        return;
      }
    }
    try {
      slot[n] = await scaleOne(kind, n, thinkMs, opts);
    } catch (e) {
      slot[n] = { n, error: String(e.message ?? e) };
    }
    say(`scale ${kind} ${n} (think ${thinkMs} ms) done`);
  };
  for (const n of P.scaleNs) await run(out.c, 'c', n, think);
  // Thousands of sessions at a longer think time: the runner's own cost per
  // session, at a call rate the local control plane still keeps up with.
  for (const n of P.bigNs) await run(out.big.c, 'c', n, P.bigThinkMs, { big: true });
  for (const n of P.sdkNs) await run(out.sdk, 'sdk', n, think);
  // Closed loop (no think time): the most tool calls per second this machine sustains.
  for (const n of P.satNs) await run(out.saturation.c, 'c', n, 0);
  for (const n of P.satSdkNs) await run(out.saturation.sdk, 'sdk', n, 0);
  return out;
}

// ---- 5. sandbox launch ---------------------------------------------------

// Through the runner: the bash tool keeps one shell per session, so a call
// with `restart` starts a new shell through the sandbox backend; its round
// trip minus a warm call's is what the backend adds to a launch.
async function launchThroughRunner(kind, backend) {
  const pairs = P.launchPairs;
  const calls = [];
  for (let i = 0; i < pairs; i++) calls.push({ name: 'bash', input: { command: 'true' } }, { name: 'bash', input: { command: 'true', restart: true } });
  for (let i = 0; i < pairs; i++) calls.push({ name: 'bash', input: { command: 'true' } });
  return withPlane({}, async (cp) => {
    await cp.api('POST', '/_test/default-script', { turns: [{ tool_calls: calls, message: 'ok' }] });
    const env = await environment(cp, TMP, `launch-${kind}-${backend}`);
    const workerId = uid(`launch-${kind}-${backend}`);
    // A root runner refuses a --workdir its sandbox user does not own; under --base-dir it makes the session's directory.
    const dir = kind === 'c' && backend !== 'none' ? { baseDir: join(TMP, workerId) } : { workdir: join(TMP, workerId) };
    const r = startRunner(cfg, { kind, env, cpUrl: cp.url, tmp: TMP, workerId, ...dir, backend, maxIdleSec: 30,
      extra: [...sandboxUserArgs(kind), ...(backend === 'landlock' ? ['--plugin-option', `landlock.helper=${landlockHelper}`] : [])] });
    try {
      const s = await createSession(cp, env.id);
      const done = await until(async () => {
        const c = (await cp.summary(env.id)).sessions[s.id]?.calls ?? [];
        return c.length === calls.length && c.every((x) => x.result) ? c : null;
      }, 120_000, 250, [r]);
      if (!done) throw new Error(`${kind}/${backend}: the calls did not complete within 120 s`);
      const rtt = (c) => c.result - c.use;
      // Skip the first pair (the session's first shell also pays for its start-up).
      const cold = done.slice(2, 2 * pairs).filter((c, i) => i % 2 === 1);
      const warm = done.slice(2 * pairs + P.rtWarmup);
      const bad = cold.concat(warm).filter((c) => c.is_error);
      if (bad.length) throw new Error(`${kind}/${backend}: ${bad.length} calls failed: ${bad[0].text}`);
      const cs = stats(cold.map(rtt));
      const ws = stats(warm.map(rtt));
      return { cold_ms: cs, warm_ms: ws, added_ms: round(cs.median - ws.median, 3), cold_samples: cold.map((c) => round(rtt(c), 3)) };
    } finally {
      await r.stop();
    }
  });
}

/** chown -R `dir` to the uid a root runner's sandbox runs as (BENCH_SANDBOX_USER, else nobody). */
function sandboxOwns(dir) {
  const who = process.env.BENCH_SANDBOX_USER || 'nobody';
  execFileSync('chown', ['-R', `${who}:`, dir]);
}

function sandboxUserArgs(kind) {
  return kind === 'c' && process.env.BENCH_SANDBOX_USER ? ['--sandbox-user', process.env.BENCH_SANDBOX_USER] : [];
}

// The bwrap command line the bubblewrap backend builds, recorded by a
// wrapper in front of bwrap (with the uid and gid it runs as).
async function captureBwrapArgv() {
  const dir = join(TMP, 'capture');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o1777);
  const wrapper = join(dir, 'bwrap-capture');
  const script = ['#!/bin/sh', `{ printf '%s\\0' "$(id -u)" "$(id -g)" "$@"; } > ${dir}/argv.$$`, 'exec /usr/bin/bwrap "$@"', ''];
  writeFileSync(wrapper, script.join('\n'), { mode: 0o755 });
  return withPlane({}, async (cp) => {
    await cp.api('POST', '/_test/default-script', { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'true' } }], message: 'ok' }] });
    const env = await environment(cp, TMP, 'capture');
    const workerId = uid('capture');
    const r = startRunner(cfg, { kind: 'c', env, cpUrl: cp.url, tmp: TMP, workerId, baseDir: join(TMP, workerId), backend: 'bubblewrap', maxIdleSec: 1,
      extra: ['--plugin-option', `bubblewrap.bwrap=${wrapper}`, '--keep-session-dirs', ...sandboxUserArgs('c')] });
    try {
      const s = await createSession(cp, env.id);
      const ok = await until(async () => (await cp.summary(env.id)).sessions[s.id]?.calls[0]?.result, 30_000, 200, [r]);
      if (!ok) throw new Error('capture: no tool result within 30 s');
    } finally {
      await r.stop();
    }
    // The backend also runs bwrap at start-up (--help, a probe): keep the session's command.
    const files = readdirSync(dir).filter((f) => f.startsWith('argv.') && readFileSync(join(dir, f), 'latin1').includes('\0--chdir\0'));
    if (!files.length) throw new Error('capture: the wrapper recorded no session command');
    return join(dir, files[0]);
  });
}

function harness(label, desc, args) {
  const r = spawnSync(cfg.launch, ['--runs', String(P.launchRuns), '--warmup', '10', ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return { desc, error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 500) };
  const lines = r.stdout.trim().split('\n');
  const argv = lines.find((l) => l.startsWith('# argv '))?.slice(7);
  const ms = lines.filter((l) => /^\d/.test(l)).map((x) => Number(x) / 1000);
  return { desc, argv, ...stats(ms), samples: ms.map((x) => round(x, 3)) };
}

async function launch() {
  const out = { runner: {}, bare: {} };
  const backends = [['c', 'none'], ...(bubblewrap ? [['c', 'bubblewrap']] : []), ...(landlock ? [['c', 'landlock']] : [])];
  if (!bubblewrap) results.notes.push('sandbox launch: the bubblewrap backend is not built; measured none only');
  if (!landlock) results.notes.push('sandbox launch: the landlock backend is not built here');
  if (firejail && process.env.BENCH_SANDBOX_USER) backends.push(['c', 'firejail']);
  else if (firejail) results.notes.push('sandbox launch: firejail skipped (it refuses system users: set BENCH_SANDBOX_USER to a user with a uid in 1000-60000)');
  backends.push(['sdk', 'none']);
  for (const [kind, backend] of backends) {
    try {
      out.runner[`${kind}/${backend}`] = await launchThroughRunner(kind, backend);
    } catch (e) {
      out.runner[`${kind}/${backend}`] = { error: String(e.message ?? e) };
    }
    say(`launch ${kind}/${backend} done`);
  }
  // A new shell under landlock against none, through the runner (cold medians).
  const ll = out.runner['c/landlock'];
  const none = out.runner['c/none'];
  if (ll?.cold_ms && none?.cold_ms) out.landlock_vs_none = round(ll.cold_ms.median / none.cold_ms.median, 3);
  if (!cfg.launch || !existsSync(cfg.launch)) throw new Error('the launch harness is not built');
  out.bare.exec = harness('exec', 'fork + exec of /bin/bash -c true', ['--', '/bin/bash', '-c', 'true']);
  if (bubblewrap && existsSync('/usr/bin/bwrap')) {
    try {
      const file = await captureBwrapArgv();
      out.bare.bwrap = harness('bwrap', "fork + exec of bwrap with the backend's flags (its seccomp program left out), as its uid, running /bin/bash -c true", ['--replay', file]);
    } catch (e) {
      out.bare.bwrap = { error: String(e.message ?? e) };
    }
  }
  // A new shell under bubblewrap against bare bwrap: by the cold call's
  // median (a tool call's round trip included) and by cold − warm (the shell alone).
  const bw = out.runner['c/bubblewrap'];
  if (bw?.cold_ms && out.bare.bwrap?.median) {
    out.bwrap_vs_bare = { cold: round(bw.cold_ms.median / out.bare.bwrap.median, 3), added: round(bw.added_ms / out.bare.bwrap.median, 3) };
  }
  return out;
}

// ---- main ----------------------------------------------------------------

const BENCHES = [
  ['footprint', footprint],
  ['claim', claimLatency],
  ['roundtrip', roundTrip],
  ['launch', launch],
  ['scale', scale],
];
const t0 = now();
for (const [name, fn] of BENCHES) {
  if (ONLY && !ONLY.has(name)) continue;
  say(`${name}...`);
  const b0 = now();
  try {
    results.benchmarks[name] = await fn();
  } catch (e) {
    results.benchmarks[name] = { error: String(e.stack ?? e) };
    say(`${name} failed: ${e.message ?? e}`);
  }
  results.benchmarks[name].seconds = round((now() - b0) / 1000, 1);
  save();
}
results.finished_at = new Date().toISOString();
results.seconds = round((now() - t0) / 1000, 1);
results.machine.loadavg_end = loadavg().map((x) => round(x, 2));
save();
say(`done in ${results.seconds} s`);
