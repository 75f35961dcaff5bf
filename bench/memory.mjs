#!/usr/bin/env node
// Memory-store benchmark: does one session's memory folder holding 100,000
// files disturb the other sessions of the same runner?  Started by
// bench/memory.sh, which sets the environment:
//
//   BENCH_OUT      results folder (results.json and results.md go there)
//   BENCH_TMP      scratch folder (logs, workdirs, the memory folder)
//   ER_RUNNER      the environment-runner binary
//   ER_PLUGIN_DIR  its plugins
//   BENCH_MEMORY_FILES   files written into the folder (99898)
//   BENCH_MEMORY_WINDOW  seconds each window lasts (40)
//
// One runner (capacity 2, --memory-sync-sec 5, leases of 10 s, so a
// heartbeat every 5 s) serves two sessions: A has a read-only memory store
// (so that its files are synced, hashed and compared, but never uploaded)
// and runs one long command; B has no memory and runs `true` every 200 ms.
// The first window measures B with A's folder nearly empty; then 100,000
// entries (1 kB files in 100 folders) are written into A's folder and the second
// window measures B again, over several of A's syncs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  environment, maxOf, now, procStat, round, sleepWatching, startControlPlane, startRunner, stats, until,
} from './lib.mjs';

const OUT = process.env.BENCH_OUT;
const TMP = process.env.BENCH_TMP;
// 99,898 files in 100 folders, the marker and one memory: the 100,000
// entries a sync walks at most.
const FILES = Number(process.env.BENCH_MEMORY_FILES ?? 99898);
const WINDOW_SEC = Number(process.env.BENCH_MEMORY_WINDOW ?? 40);
const cfg = { node: process.execPath, runner: process.env.ER_RUNNER, pluginDir: process.env.ER_PLUGIN_DIR };
if (!OUT || !TMP || !cfg.runner || !cfg.pluginDir) {
  console.error('memory.mjs: run it through bench/memory.sh (BENCH_OUT, BENCH_TMP, ER_RUNNER, ER_PLUGIN_DIR)');
  process.exit(64);
}
const say = (msg) => console.error(`bench memory: ${msg}`);
const LEASE_TTL_SEC = 10;
const SYNC_SEC = 5;
const B_THINK_MS = 200;

const results = { started_at: new Date().toISOString(), commit: process.env.BENCH_COMMIT ?? null, files: FILES, window_sec: WINDOW_SEC,
  lease_ttl_sec: LEASE_TTL_SEC, memory_sync_sec: SYNC_SEC, think_ms: B_THINK_MS, windows: {} };

// Written by the driver, 200 at a time, without blocking its own loop.
async function writeFiles(root) {
  const perDir = Math.ceil(FILES / 100);
  const body = 'x'.repeat(1000);
  for (let d = 0; d * perDir < FILES; d++) mkdirSync(join(root, `d${String(d).padStart(3, '0')}`));
  for (let i = 0; i < FILES; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, FILES - i) }, (_, k) => {
      const n = i + k;
      return writeFile(join(root, `d${String(Math.floor(n / perDir)).padStart(3, '0')}`, `note-${n}.md`), `# note ${n}\n${body}\n`);
    }));
  }
}

// B's tool calls answered and its heartbeats received within [w0, w1).
function measure(sum, sessionB, w0, w1) {
  const rtts = [];
  for (const c of sum.sessions[sessionB]?.calls ?? []) {
    if (c.result && c.result >= w0 && c.result < w1) rtts.push(c.result - c.use);
  }
  const item = sum.work.find((w) => w.session_id === sessionB);
  const beats = (item?.heartbeat_times ?? []).map((x) => Date.parse(x)).filter((t) => t >= w0 - 10_000 && t < w1);
  const gaps = [];
  for (let i = 1; i < beats.length; i++) if (beats[i] >= w0) gaps.push(beats[i] - beats[i - 1]);
  // A window that ends long after the last heartbeat counts that silence too.
  if (beats.length) gaps.push(w1 - beats[beats.length - 1]);
  const expired = (item?.history ?? []).filter((h) => h.reason === 'lease_expired').length;
  return { calls: rtts.length, calls_per_s: round(rtts.length / ((w1 - w0) / 1000), 1), rtt_ms: stats(rtts),
    heartbeats: gaps.length - (beats.length ? 1 : 0), heartbeat_gap_max_ms: round(maxOf(gaps), 0), lease_expired: expired };
}

const cp = await startControlPlane({ node: cfg.node, tmp: TMP, leaseTtlSec: LEASE_TTL_SEC, logName: 'cp-memory' });
let runner = null;
try {
  const store = await cp.api('POST', '/_test/memory_stores', { name: 'big', memories: [{ path: '/seed.md', content: 'seed\n' }] });
  const env = await environment(cp, TMP, 'memory-bench');
  const mount = join(TMP, 'memory-a');
  await cp.api('POST', '/_test/default-script', { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 3600' } }], message: 'done' }] });
  const a = await cp.api('POST', '/v1/sessions', { agent: 'agent_bench', environment_id: env.id,
    resources: [{ type: 'memory_store', memory_store_id: store.id, access: 'read_only', mount_path: mount }],
    initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
  await cp.api('POST', '/_test/default-script', { turns: [{ tool_calls: Array.from({ length: 5000 }, () => ({ name: 'bash', input: { command: 'true' }, delay_ms: B_THINK_MS })), message: 'done' }] });
  const b = await cp.api('POST', '/v1/sessions', { agent: 'agent_bench', environment_id: env.id,
    initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
  runner = startRunner(cfg, { kind: 'c', env, cpUrl: cp.url, tmp: TMP, workerId: 'memory-bench', baseDir: join(TMP, 'sessions'), capacity: 2, maxIdleSec: 600,
    extra: ['--memory-sync-sec', String(SYNC_SEC)] });
  const started = await until(async () => {
    const sum = await cp.summary(env.id);
    return sum.sessions[b.id]?.calls.some((c) => c.result) && sum.sessions[a.id]?.calls.length > 0;
  }, 60_000, 250, [runner]);
  if (!started) throw new Error('the two sessions did not start within 60 s');
  say(`both sessions run; A's memory folder is ${mount}`);

  const windowOf = async (name) => {
    const lists0 = (await cp.summary(env.id)).by_route['memories.list'] ?? 0;
    const cpu0 = procStat(runner.pid);
    const w0 = now();
    await sleepWatching(WINDOW_SEC * 1000, [runner]);
    const w1 = now();
    const cpu1 = procStat(runner.pid);
    const sum = await cp.summary(env.id);
    const m = measure(sum, b.id, w0, w1);
    m.runner_cpu_pct = round(((cpu1.cpu_s - cpu0.cpu_s) / ((w1 - w0) / 1000)) * 100, 1);
    // A's store is listed once by each sync that walked its folder to the end.
    m.a_syncs = (sum.by_route['memories.list'] ?? 0) - lists0;
    results.windows[name] = m;
    say(`${name}: ${JSON.stringify(m)}`);
  };
  await windowOf('small');
  const t0 = now();
  await writeFiles(mount);
  results.write_sec = round((now() - t0) / 1000, 1);
  say(`wrote ${FILES} files in ${results.write_sec} s`);
  await windowOf('big');
} catch (e) {
  results.error = String(e?.stack ?? e);
  say(results.error);
} finally {
  if (runner) await runner.stop(20_000);
  await cp.stop();
}

const md = [];
md.push(`# Memory benchmark (${results.started_at}${results.commit ? `, ${results.commit}` : ''})`, '');
md.push(`Session B's tool calls (\`true\` every ${B_THINK_MS} ms) and heartbeats (every ${LEASE_TTL_SEC / 2} s) on the runner`);
md.push(`that also serves session A, whose read-only memory folder is synced every ${SYNC_SEC} s; ${WINDOW_SEC} s windows.`, '');
md.push('| A\'s folder | B calls/s | B round trip median / p95 / max (ms) | B heartbeats | longest heartbeat gap (ms) | leases expired | runner CPU | A\'s syncs |');
md.push('|---|---|---|---|---|---|---|---|');
for (const [name, w] of Object.entries(results.windows)) {
  const label = name === 'small' ? '1 memory' : `${FILES.toLocaleString('en')} files`;
  md.push(`| ${label} | ${w.calls_per_s} | ${round(w.rtt_ms.median, 1)} / ${round(w.rtt_ms.p95, 1)} / ${round(w.rtt_ms.max, 1)} | ${w.heartbeats} | ${w.heartbeat_gap_max_ms} | ${w.lease_expired} | ${w.runner_cpu_pct}% | ${w.a_syncs} |`);
}
if (results.error) md.push('', `Error: ${results.error.split('\n')[0]}`);
writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
writeFileSync(join(OUT, 'results.md'), `${md.join('\n')}\n`);
console.log(md.join('\n'));
process.exit(results.error ? 1 : 0);
