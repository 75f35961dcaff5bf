#!/usr/bin/env node
// Renders a results folder: results.json → results.md (Markdown tables),
// CSV files of the raw samples, and plots.gp (run by bench/run.sh through
// gnuplot to make the PNG plots).
//
//   node bench/report.mjs RESULTS_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: report.mjs RESULTS_DIR');
  process.exit(64);
}
const R = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
const B = R.benchmarks;
const md = [];
const put = (s = '') => md.push(s);

// ---- formatting ----------------------------------------------------------

const num = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const ms = (x) => (x === null || x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mb = (kb) => (kb === null || kb === undefined ? '–' : (kb / 1024).toFixed(1));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×` : '–');
const ok = (cond) => (cond === null || cond === undefined ? '–' : cond ? 'met' : 'missed');
function table(head, rows) {
  put(`| ${head.join(' | ')} |`);
  put(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) put(`| ${r.join(' | ')} |`);
  put();
}
const failed = (x) => !x || x.error || x.skipped;
const why = (x) => (x ? (x.error ? `failed: ${String(x.error).split('\n')[0]}` : x.skipped ? `skipped: ${x.skipped}` : '') : 'not run');

// ---- header --------------------------------------------------------------

const m = R.machine;
put(`# Benchmarks: environment-runner and the SDK worker`);
put();
put(`Run ${R.started_at.slice(0, 16).replace('T', ' ')} UTC${R.quick ? ' (QUICK mode: smoke-sized, not for citing)' : ''}, ${num(R.seconds / 60, 1)} min` +
  `${R.commit ? `, commit \`${R.commit}\`` : ''}.`);
put();
put(`Machine: ${m.os}, kernel ${m.kernel}, ${m.cores} × ${m.cpu}, ${m.mem_gib} GiB RAM; ` +
  `load average ${m.loadavg_start?.join(' / ')} at the start and ${m.loadavg_end?.join(' / ') ?? '–'} at the end (1 / 5 / 15 min); ` +
  `Node ${m.node}; ${m.runner_version ?? 'environment-runner'}; ${m.bwrap ?? 'no bwrap'}; open-file limit ${m.nofile}.`);
put();
put('Everything ran on this machine over loopback: the local control plane (`tests/controlplane`, with `bench/cp.mjs` timing each event), ' +
  'this runner (`orchestrator`, default flags unless stated) and the SDK\'s `EnvironmentWorker` (`tests/sdk/sdk-worker.mjs`). ' +
  'Median and p95 are nearest-rank over the samples; "SDK ÷ ours" is the SDK worker\'s figure divided by ours.');
put();
for (const n of R.notes ?? []) put(`- Note: ${n}`);
if (R.notes?.length) put();

// ---- summary -------------------------------------------------------------

const fp = B.footprint ?? {};
const cl = B.claim ?? {};
const rt = B.roundtrip ?? {};
const sc = B.scale ?? {};
const la = B.launch ?? {};
const big = sc.c ? Object.values(sc.c).filter((x) => !failed(x)).sort((a, b) => b.n - a.n)[0] : null;
const rtNone = rt['c/none'];
const bareExec = la.bare?.exec;

put('## Summary against the targets');
put();
const sumRows = [];
if (!failed(fp) && fp.c) {
  sumRows.push(['Idle resident memory (median over the idle window; anonymous part)', `${mb(fp.c.rss_kb.median)} MB (${mb(fp.c.smaps?.anon_kb)} MB)`,
    `${mb(fp.sdk?.rss_kb.median)} MB (${mb(fp.sdk?.smaps?.anon_kb)} MB)`, ratio(fp.sdk?.rss_kb.median, fp.c.rss_kb.median), '< 5 MB', ok(fp.c.rss_kb.median < 5 * 1024)]);
  sumRows.push(['Polls per minute, idle', num(fp.c.polls_per_min), num(fp.sdk?.polls_per_min), ratio(fp.sdk?.polls_per_min, fp.c.polls_per_min), '≤ 60 per process', ok(fp.c.polls_per_min <= 60)]);
}
if (!failed(cl) && cl.c) {
  sumRows.push(['Claim latency, median (p95)', `${ms(cl.c.median)} (${ms(cl.c.p95)}) ms`, `${ms(cl.sdk?.median)} (${ms(cl.sdk?.p95)}) ms`, ratio(cl.sdk?.median, cl.c.median), 'median ≤ 10 ms', ok(cl.c.median <= 10)]);
}
if (rtNone && !failed(rtNone) && bareExec && !failed(bareExec)) {
  sumRows.push(['`bash true` round trip vs a bare exec of `bash -c true`', `${ms(rtNone.bash.median)} ms (exec ${ms(bareExec.median)} ms)`, `${ms(rt['sdk/none']?.bash?.median)} ms`,
    ratio(rt['sdk/none']?.bash?.median, rtNone.bash.median), 'within 2 ms of the exec', ok(rtNone.bash.median - bareExec.median <= 2)]);
}
if (la.bwrap_vs_bare) {
  sumRows.push(['A new shell under bubblewrap ÷ a bare bwrap, same flags: the shell alone (cold − warm), and with the cold call\'s round trip',
    `${num(la.bwrap_vs_bare.added, 2)}× (${num(la.bwrap_vs_bare.cold, 2)}×)`, '–', '–', '≤ 1.25×', ok(la.bwrap_vs_bare.added <= 1.25)]);
}
if (big) {
  const ttl = big.heartbeat_interval_ms * 2;
  sumRows.push([`${big.n} sessions in one process: resident memory (max)`, `${mb(big.rss_max_kb)} MB`, '–', '–', '< 200 MB', ok(big.rss_max_kb < 200 * 1024)]);
  sumRows.push([`${big.n} sessions: latest heartbeat vs the ${ttl / 1000} s TTL`, `+${ms(big.lateness_ms.max)} ms`, '–', '–', `< TTL/10 = ${ttl / 10} ms`, ok(big.lateness_ms.max < ttl / 10)]);
}
const at = (n) => (sc.c?.[n] && !failed(sc.c[n]) ? sc.c[n] : null);
if (at(100) && at(1000)) {
  const growth = at(1000).cpu_pct / (10 * at(100).cpu_pct);
  sumRows.push(['Runner CPU, 1000 sessions ÷ ten times 100 sessions (linear = 1)', `${num(growth, 2)} (${num(at(1000).cpu_pct)} % ÷ 10 × ${num(at(100).cpu_pct)} %)`, '–', '–', '≤ 1.5', ok(growth <= 1.5)]);
  sumRows.push(['Runner CPU, 1000 sessions × 1 call/s', `${num(at(1000).cpu_pct)} % of a core`, '–', '–', '≤ 15 %', ok(at(1000).cpu_pct <= 15)]);
}
for (const x of Object.values(sc.big?.c ?? {}).filter((v) => !failed(v))) {
  const ttl = x.heartbeat_interval_ms * 2;
  sumRows.push([`${x.n} sessions in one process: resident memory (max)`, `${mb(x.rss_max_kb)} MB`, '–', '–', '< 300 MB', ok(x.rss_max_kb < 300 * 1024)]);
  sumRows.push([`${x.n} sessions: latest heartbeat vs the ${ttl / 1000} s TTL`, `+${ms(x.lateness_ms.max)} ms`, '–', '–', `< TTL/10 = ${ttl / 10} ms`, ok(x.lateness_ms.max < ttl / 10)]);
}
table(['Measure', 'ours', 'SDK worker', 'SDK ÷ ours', 'Target', ''], sumRows);

// ---- 1. footprint --------------------------------------------------------

put('## 1. Footprint of an idle runner');
put();
if (failed(fp) || !fp.c) put(`Footprint: ${why(fp)}`);
else {
  put(`One runner of each kind, started, left 5 s, then watched for ${num(fp.c.seconds, 0)} s with no work queued (RSS sampled every second from \`/proc\`; CPU is user + system time of the process over the window; polls a minute from the start times the control plane logged for the polls that began in the window, first to last).`);
  put();
  table(['', 'RSS median', 'RSS max', 'peak RSS (VmHWM)', 'of which anonymous', 'of which file-backed', 'CPU s in the window', 'polls / min'],
    ['c', 'sdk'].filter((k) => fp[k]).map((k) => [k === 'c' ? 'ours' : 'SDK worker', `${mb(fp[k].rss_kb.median)} MB`, `${mb(fp[k].rss_kb.max)} MB`, `${mb(fp[k].hwm_kb)} MB`,
      `${mb(fp[k].smaps?.anon_kb)} MB`, `${mb(fp[k].smaps?.file_kb)} MB`, num(fp[k].cpu_s, 2), num(fp[k].polls_per_min)]));
  put('Anonymous memory (heap, stacks) is the process\'s own; file-backed pages are mostly the code of the executable and its shared libraries ' +
    '(for ours: libcurl and what Debian\'s libcurl links: OpenSSL\'s libcrypto, GnuTLS, LDAP, Kerberos...), which count in RSS although the page ' +
    'cache holds them once for every process that maps them (`/proc/PID/smaps_rollup` at the end of the window).');
  put();
}

// ---- 2. claim ------------------------------------------------------------

put('## 2. Claim latency');
put();
if (failed(cl) || !cl.c) put(`Claim latency: ${why(cl)}`);
else {
  put('From the session\'s creation (the control plane\'s clock as it queues the work item) to the moment bash begins the first tool call ' +
    '(the call is `echo $EPOCHREALTIME`, bash\'s clock read without a fork; same machine clock). Each runner is idle, capacity 1, default poll timing, ' +
    'in its own environment; the next session is created 0.5–4 s (uniform) after the previous one was released, so it lands at a random ' +
    'phase of the poll cycle. Both hold each poll open for `block_ms=999`; the SDK worker then sleeps 1–3 s after an empty poll, so a session ' +
    'that arrives during the sleep waits for the next poll (a bimodal distribution), while this runner polls again at once (at most once a ' +
    'second), so one poll is always in flight. The last column counts from the moment the driver sends its `POST /v1/sessions` instead, ' +
    'which adds its own request\'s way to the control plane.');
  put();
  table(['', 'n', 'median', 'p95', 'min', 'max', 'mean', 'errors', 'median (p95) from the POST'],
    ['c', 'sdk'].filter((k) => cl[k]).map((k) => [k === 'c' ? 'ours' : 'SDK worker', cl[k].n, `${ms(cl[k].median)} ms`, `${ms(cl[k].p95)} ms`, `${ms(cl[k].min)} ms`, `${ms(cl[k].max)} ms`, `${ms(cl[k].mean)} ms`, cl[k].errors?.length ?? 0,
      cl[k].from_post ? `${ms(cl[k].from_post.median)} (${ms(cl[k].from_post.p95)}) ms` : '–']));
  const fast = (k) => cl[k].samples.filter((x) => x < 100).length;
  put(`Within 100 ms (a poll was in flight): ours ${fast('c')}/${cl.c.n}, SDK ${cl.sdk ? `${fast('sdk')}/${cl.sdk.n}` : '–'}. Plot: \`claim.png\` (CDF).`);
  put();
  const bs = cl.bash_start;
  if (bs?.median) put(`Part of every claim is the session's shell starting after the session is read: bash's own start here (${bs.desc}, ${bs.n} runs) takes ${ms(bs.median)} ms median, ${ms(bs.p95)} ms p95.`);
  else if (bs?.error) put(`Bash's own start could not be timed: ${bs.error}`);
  if (bs) put();
}

// ---- 3. round trip -------------------------------------------------------

put('## 3. Tool round trip');
put();
if (failed(rt) || !rtNone) put(`Tool round trip: ${why(rt)}`);
else {
  put('From the control plane appending `agent.tool_use` (the event goes out on the session\'s stream) to it receiving the `user.tool_result`, ' +
    `one session, calls one after another; the first ${R.params.rtWarmup} calls of each tool are left out (the first \`bash\` call starts the session's shell). ` +
    '`read` of a 3-line file; `grep` of a pattern found in 10 of 10,000 files (100 directories × 100 files). Bare exec is `fork`+`exec`+`wait` of `/bin/bash -c true` (section 5).');
  put();
  const rows = [];
  for (const [key, v] of Object.entries(rt)) {
    if (key === 'seconds' || !v || typeof v !== 'object') continue;
    if (v.error) {
      rows.push([key, v.error.split('\n')[0], '', '', '', '']);
      continue;
    }
    for (const tool of ['bash', 'read', 'grep']) {
      const t = v[tool];
      const sdk = rt['sdk/none']?.[tool];
      rows.push([`${key.replace(/^c\//, 'ours/').replace(/^sdk\//, 'SDK/')}`, tool === 'bash' ? '`bash true`' : tool === 'read' ? '`read` small file' : '`grep` 10k files',
        t.n, `${ms(t.median)} ms`, `${ms(t.p95)} ms`, key.startsWith('sdk') ? '–' : ratio(sdk?.median, t.median), t.errors ? `${t.errors} errors` : '']);
    }
  }
  table(['runner/sandbox', 'tool', 'n', 'median', 'p95', 'SDK ÷ ours (median)', ''], rows);
}

// ---- 4. scale ------------------------------------------------------------

put('## 4. Scale');
put();
if (failed(sc) || !sc.c) put(`Scale: ${why(sc)}`);
else {
  put(`Each session's agent calls \`bash true\` in a loop${sc.think_ms ? `, waiting ${sc.think_ms} ms before each call (an agent's think time)` : ''}; ` +
    'ours serves all N sessions in one process (`--capacity N`), the SDK worker serves one session per process, so N processes. ' +
    'Lease TTL 10 s, so both heartbeat every 5 s. Figures are over a window that starts once every session has had a tool call answered ' +
    '(the ramp). RSS and CPU are the runner process(es) only — not the shells they run, not the control plane. Lateness is the gap between two ' +
    'consecutive heartbeats of a work item, as the control plane received them, minus the 5 s interval.');
  put();
  // Memory per session: above the idle process (section 1), for one process; per process for N.
  const idle = (k) => fp?.[k]?.rss_kb?.median;
  const perSession = (x) => (x.processes > 1 ? `${num(x.rss_max_kb / x.processes / 1024, 1)} MB (per process)`
    : idle('c') ? `${num((x.rss_max_kb - idle('c')) / x.n, 0)} kB` : '–');
  const rowsOf = (obj, label) => Object.values(obj ?? {}).map((x) => failed(x)
    ? [label, x.n, why(x), '', '', '', '', '', '', '']
    : [label, x.n, `${num(x.ramp_sec)} s`, `${mb(x.rss_max_kb)} MB`, perSession(x), `${num(x.cpu_pct)} %`, `${num(x.cp_cpu_pct)} %`,
      num(x.calls_per_s), `${ms(x.rtt_ms.median)} / ${ms(x.rtt_ms.p95)} ms`, `+${ms(x.lateness_ms.median)} / +${ms(x.lateness_ms.max)} ms${x.lease_expired ? `, ${x.lease_expired} leases lost` : ''}`]);
  const head = ['runner', 'sessions', 'ramp', 'RSS max', 'RSS per session (above idle)', 'runner CPU', 'control plane CPU', 'tool calls/s', 'round trip median / p95', 'heartbeat lateness median / max'];
  table(head, [...rowsOf(sc.c, 'ours'), ...rowsOf(sc.sdk, 'SDK worker')]);
  if (sc.saturation && (Object.keys(sc.saturation.c ?? {}).length || Object.keys(sc.saturation.sdk ?? {}).length)) {
    put('Closed loop (no think time: each session calls again as soon as its result is in), to find the most tool calls per second the machine sustains:');
    put();
    table(head, [...rowsOf(sc.saturation.c, 'ours'), ...rowsOf(sc.saturation.sdk, 'SDK worker')]);
  }
  if (Object.keys(sc.big?.c ?? {}).length) {
    put(`Thousands of sessions in one process, waiting ${sc.big_think_ms} ms before each call (fewer calls per session, so that the local control plane keeps up; the point is the runner's own cost per session). The runner speaks HTTPS with HTTP/2 to the control plane, as to the API, so that its sessions' event streams share connections; the lease TTL is the control plane's default, 60 s:`);
    put();
    table(head, rowsOf(sc.big.c, 'ours'));
  }
  const profiled = [...Object.values(sc.c), ...Object.values(sc.big?.c ?? {})].filter((x) => x.profile);
  if (profiled.length) {
    put(`Profiles of ours over each window (\`BENCH_PROFILE=${profiled[0].profile.tool}\`): ${profiled.map((x) => `${x.n} sessions \`${x.profile.file}\`` +
      (x.profile.ir_per_call ? ` (${num(x.profile.ir_per_call / 1000, 0)} k instructions per tool call)` : '')).join(', ')}.`);
    put();
  }
}

// ---- 5. launch -----------------------------------------------------------

put('## 5. Sandbox launch');
put();
if (failed(la) || !la.runner) put(`Sandbox launch: ${why(la)}`);
else {
  put('Through the runner: the `bash` tool keeps one shell per session, so a `bash true` call with `restart` starts a new shell ' +
    'through the sandbox backend. "cold" is that call\'s round trip, "warm" a call in a running shell; their difference is what starting ' +
    'the sandboxed shell costs through the runner. Bare: a small C harness (`bench/launch.c`) timing `fork`+`exec`+`wait` of the same command, ' +
    'without the runner; for bwrap it replays the exact command line the bubblewrap backend built (recorded by a wrapper in front of bwrap), ' +
    'as the same unprivileged uid, with only the seccomp program left out.');
  put();
  const rows = [];
  for (const [k, v] of Object.entries(la.runner)) {
    if (failed(v)) rows.push([`${k} through the runner`, why(v), '', '', '']);
    else rows.push([`${k.replace(/^c\//, 'ours/').replace(/^sdk\//, 'SDK/')} through the runner`, `${ms(v.cold_ms.median)} ms`, `${ms(v.cold_ms.p95)} ms`, `${ms(v.warm_ms.median)} ms`, `${ms(v.added_ms)} ms`]);
  }
  for (const [k, v] of Object.entries(la.bare ?? {})) {
    if (failed(v)) rows.push([`bare ${k}`, why(v), '', '', '']);
    else rows.push([`bare ${k === 'exec' ? 'exec of `bash -c true`' : 'bwrap, same flags, `bash -c true`'}`, `${ms(v.median)} ms`, `${ms(v.p95)} ms`, '', '']);
  }
  table(['', 'cold median', 'cold p95', 'warm median', 'cold − warm'], rows);
  if (la.bwrap_vs_bare !== undefined) {
    put();
    put(`A new shell under bubblewrap takes ${la.bwrap_vs_bare.added}× the time of a bare bwrap with the same flags (cold − warm: the shell alone), ` +
      `${la.bwrap_vs_bare.cold}× counting the cold call's whole round trip (cold median); the aim is 1.25× at most.`);
  }
  if (la.landlock_vs_none !== undefined) {
    put();
    put(`A new shell under landlock takes ${la.landlock_vs_none}× the time it takes under none (cold medians; the aim is 1.5× at most: ` +
      'landlock pays one more exec, of its helper, and no namespace).');
  }
}

put('## Files');
put();
put('`results.json` (everything, with every sample), `*.csv` (the samples behind each plot), `claim.png`, `roundtrip.png`, `footprint.png`, `scale.png`, `launch.png`.');
writeFileSync(join(dir, 'results.md'), `${md.join('\n')}\n`);

// ---- CSV and gnuplot -----------------------------------------------------

const csv = (name, head, rows) => writeFileSync(join(dir, name), `${[head.join(','), ...rows.map((r) => r.join(','))].join('\n')}\n`);
const plots = [];
const png = (name, w = 900, h = 500) => `reset\nset terminal pngcairo noenhanced size ${w},${h} font ",10"\nset output "${name}"\n`;

if (!failed(cl) && cl.c) {
  const cdf = (xs) => [...xs].sort((a, b) => a - b).map((x, i, s) => [x, (i + 1) / s.length]);
  for (const k of ['c', 'sdk']) if (cl[k]) csv(`claim-${k}.csv`, ['ms', 'fraction'], cdf(cl[k].samples));
  plots.push(`${png('claim.png')}set title "Claim latency: session created -> first tool call starts (idle runner, capacity 1)"
set xlabel "ms (log scale)"; set ylabel "fraction of sessions"; set logscale x; set grid; set key bottom right
set datafile separator ","
plot "claim-c.csv" skip 1 using 1:2 with steps lw 2 title "ours", ${cl.sdk ? '"claim-sdk.csv" skip 1 using 1:2 with steps lw 2 title "SDK worker"' : '1/0 notitle'}
unset logscale; unset title`);
}
if (!failed(rt) && rtNone) {
  const keys = Object.keys(rt).filter((k) => rt[k] && typeof rt[k] === 'object' && !rt[k].error);
  csv('roundtrip.csv', ['tool', ...keys.flatMap((k) => [`${k} median`, `${k} p95`])],
    ['bash', 'read', 'grep'].map((t) => [t, ...keys.flatMap((k) => [rt[k][t]?.median ?? '', rt[k][t]?.p95 ?? ''])]));
  csv('roundtrip-samples.csv', ['runner', 'tool', 'ms'], keys.flatMap((k) => ['bash', 'read', 'grep'].flatMap((t) => (rt[k][t]?.samples ?? []).map((x) => [k, t, x]))));
  plots.push(`${png('roundtrip.png')}set title "Tool round trip, median (agent.tool_use emitted -> user.tool_result received)"
set ylabel "ms (log scale)"; set logscale y; set grid ytics; set style data histograms; set style histogram cluster gap 1
set style fill solid 0.8 border -1; set boxwidth 0.9; set key top left; set datafile separator ","
plot ${keys.map((k, i) => `"roundtrip.csv" skip 1 using ${2 + 2 * i}:xtic(1) title "${k.replace(/^c\//, 'ours/').replace(/^sdk\//, 'SDK/')}"`).join(', ')}
unset logscale; unset title; set style data lines; set style fill empty; unset boxwidth`);
}
if (!failed(fp) && fp.c) {
  for (const k of ['c', 'sdk']) if (fp[k]) csv(`footprint-${k}.csv`, ['t_s', 'rss_mb', 'cpu_s'], fp[k].series.map((x) => [x.t, (x.rss_kb / 1024).toFixed(2), x.cpu_s]));
  plots.push(`${png('footprint.png')}set title "Idle runner: resident memory"
set xlabel "s"; set ylabel "MB (log scale)"; set logscale y; set grid; set key center right; set datafile separator ","
plot "footprint-c.csv" skip 1 using 1:2 with linespoints lw 2 title "ours", ${fp.sdk ? '"footprint-sdk.csv" skip 1 using 1:2 with linespoints lw 2 title "SDK worker"' : '1/0 notitle'}
unset logscale; unset title`);
}
if (!failed(sc) && sc.c) {
  const rowsOf = (obj) => Object.values(obj ?? {}).filter((x) => !failed(x)).sort((a, b) => a.n - b.n)
    .map((x) => [x.n, (x.rss_max_kb / 1024).toFixed(1), x.cpu_pct, x.calls_per_s, x.lateness_ms.max, x.cp_cpu_pct]);
  const head = ['sessions', 'rss_mb', 'cpu_pct', 'calls_per_s', 'max_lateness_ms', 'cp_cpu_pct'];
  csv('scale-c.csv', head, rowsOf(sc.c));
  csv('scale-sdk.csv', head, rowsOf(sc.sdk));
  const hasSdk = rowsOf(sc.sdk).length > 0;
  const two = (col) => `plot "scale-c.csv" skip 1 using 1:${col} with linespoints lw 2 pt 7 title "ours (1 process)"${hasSdk ? `, "scale-sdk.csv" skip 1 using 1:${col} with linespoints lw 2 pt 5 title "SDK worker (N processes)"` : ''}`;
  plots.push(`${png('scale.png', 1100, 800)}set multiplot layout 2,2 title "Scale: N concurrent sessions, ${sc.think_ms} ms think time per tool call"
set datafile separator ","; set grid; set logscale x; set xlabel "sessions (log scale)"; set key top left
set title "Resident memory, runner process(es)"; set ylabel "MB (log scale)"; set logscale y
${two(2)}
unset logscale y; set title "Runner CPU"; set ylabel "% of one core"
${two(3)}
set title "Tool calls answered per second"; set ylabel "calls/s"
${two(4)}
set title "Latest heartbeat past the 5 s interval (TTL/10 = 1000 ms)"; set ylabel "ms"
${two(5)}
unset multiplot; unset logscale; unset title; unset ylabel`);
}
if (!failed(la) && la.runner) {
  const rows = [];
  if (la.bare?.exec && !failed(la.bare.exec)) rows.push(['"bare exec"', la.bare.exec.median]);
  if (la.bare?.bwrap && !failed(la.bare.bwrap)) rows.push(['"bare bwrap"', la.bare.bwrap.median]);
  for (const [k, v] of Object.entries(la.runner)) if (!failed(v)) rows.push([`"${k.replace(/^c\//, 'ours/').replace(/^sdk\//, 'SDK/')} cold"`, v.cold_ms.median]);
  csv('launch.csv', ['what', 'median_ms'], rows);
  plots.push(`${png('launch.png')}set title "Starting bash true: bare, and a new shell through the runner (median)"
set ylabel "ms"; set grid ytics; set style fill solid 0.8 border -1; set boxwidth 0.6; set yrange [0:*]; set datafile separator ","
plot "launch.csv" skip 1 using 0:2:xtic(1) with boxes notitle, "" skip 1 using 0:2:(sprintf("%.1f", $2)) with labels offset 0,1 notitle
unset title`);
}
writeFileSync(join(dir, 'plots.gp'), `${plots.join('\n\n')}\n`);
