// Helpers of the benchmark driver: the instrumented control plane, runners
// (this one and the SDK worker) as child processes, /proc sampling, stats.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export { sleep };
export const TOP = fileURLToPath(new URL('..', import.meta.url));
export const API_KEY = 'sk-ant-api03-local-test-key';
export const BETA = 'managed-agents-2026-04-01';
export const now = () => performance.timeOrigin + performance.now();
const CLK_TCK = 100; // USER_HZ on Linux

const children = new Set();
function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}
/** SIGKILL every child still running (exit paths, crashes). */
export function killChildren() {
  for (const p of children) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

/**
 * Polls fn() every `every` ms until it returns a truthy value (returned) or
 * `ms` pass (null).  Throws as soon as one of `runners` has exited: a wait on
 * a runner that is gone would only run into its deadline.
 */
async function until(fn, ms, every = 50, runners = []) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const r of runners) r.check();
    const v = await fn();
    if (v) return v;
    await sleep(every);
  }
  for (const r of runners) r.check();
  return null;
}
export { until };

/** Sleeps `ms`, but throws as soon as one of `runners` has exited. */
export async function sleepWatching(ms, runners) {
  await until(() => false, ms, Math.min(ms, 250), runners);
}

/** Stops a child: SIGTERM, SIGKILL after `graceMs`. */
export async function stopProc(proc, graceMs = 10_000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** Starts bench/cp.mjs; returns {url, proc, api(method, path, body), summary(env), stop()}. */
export async function startControlPlane({ node, tmp, leaseTtlSec = 60, logName = 'cp', tls = null }) {
  const portFile = join(tmp, `${logName}.port`);
  rmSync(portFile, { force: true });
  const log = openSync(join(tmp, `${logName}.log`), 'a');
  const tlsArgs = tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : [];
  const proc = track(spawn(node, [join(TOP, 'bench/cp.mjs'), '--port-file', portFile, '--lease-ttl-sec', String(leaseTtlSec), ...tlsArgs],
    { stdio: ['ignore', log, log] }));
  const ports = await until(() => existsSync(portFile) && readFileSync(portFile, 'utf8').trim(), 10_000);
  if (!ports) throw new Error('the control plane did not start');
  const [port, tlsPort] = ports.split(' ');
  const url = `http://127.0.0.1:${port}`;
  const api = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'anthropic-beta': BETA },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  return {
    url,
    // What runners are given: HTTPS (HTTP/2) when started with a certificate.
    runnerUrl: tlsPort ? `https://127.0.0.1:${tlsPort}` : url,
    proc,
    pid: proc.pid,
    api,
    summary: (env) => api('GET', `/_bench/summary${env ? `?env=${env}` : ''}`),
    answered: async (env) => (await api('GET', `/_bench/answered?env=${env}`)).answered,
    stop: () => stopProc(proc, 3000),
  };
}

/** A self-signed certificate for 127.0.0.1 in `dir`: {cert, key} paths. */
export function makeCertificate(dir) {
  const cert = join(dir, 'cp-cert.pem');
  const key = join(dir, 'cp-key.pem');
  if (!existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=environment-runner bench', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  }
  return { cert, key };
}

/** A self-hosted environment and a key file holding its environment key. */
export async function environment(cp, tmp, name) {
  const env = await cp.api('POST', '/v1/environments', { name, config: { type: 'self_hosted' } });
  const { key } = await cp.api('POST', `/_test/environments/${env.id}/keys`);
  const keyFile = join(tmp, `key-${env.id}`);
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return { id: env.id, keyFile };
}

/** Creates a session of `envId` whose first user message is already in (so its agent starts at once). */
export function createSession(cp, envId, messages = 1) {
  const initial = Array.from({ length: messages }, (_, i) => ({ type: 'user.message', content: [{ type: 'text', text: `go ${i}` }] }));
  return cp.api('POST', '/v1/sessions', { agent: 'agent_bench', environment_id: envId, initial_events: initial });
}

/**
 * Starts a runner: kind 'c' (this build's `orchestrator`) or 'sdk'
 * (tests/sdk/sdk-worker.mjs), under `wrap` (a command prefix such as a
 * profiler) if given.  Returns {proc, pid, workerId, check(), stop()}.
 */
export function startRunner(cfg, { kind, env, cpUrl, tmp, workerId, workdir, baseDir, capacity = 1, maxIdleSec = 1, backend = 'none', logLevel = 'warning', extraEnv, extra = [], wrap = [] }) {
  const log = openSync(join(tmp, `${workerId}.log`), 'a');
  let args;
  let bin;
  if (kind === 'c') {
    bin = cfg.runner;
    args = ['orchestrator', '--environment-id', env.id, '--service-key-file', env.keyFile, '--api-url', cpUrl,
      '--sandbox-backend', backend, '--plugin-dir', cfg.pluginDir, '--max-idle-sec', String(maxIdleSec),
      '--worker-id', workerId, '--capacity', String(capacity), '--log-level', logLevel,
      // Its item records with the run's other files, not in the host's state directory.
      '--state-dir', join(tmp, `${workerId}.state`)];
    if (workdir) {
      mkdirSync(workdir, { recursive: true });
      args.push('--workdir', workdir);
    } else {
      mkdirSync(baseDir, { recursive: true });
      args.push('--base-dir', baseDir);
    }
    args.push(...extra);
  } else {
    bin = cfg.node;
    mkdirSync(workdir, { recursive: true });
    args = [join(TOP, 'tests/sdk/sdk-worker.mjs'), '--environment-id', env.id, '--service-key-file', env.keyFile, '--api-url', cpUrl,
      '--workdir', workdir, '--max-idle-sec', String(maxIdleSec), '--worker-id', workerId];
  }
  if (wrap.length) {
    args = [...wrap.slice(1), bin, ...args];
    bin = wrap[0];
  }
  const logFile = join(tmp, `${workerId}.log`);
  const proc = track(spawn(bin, args, { stdio: ['ignore', log, log], env: extraEnv ? { ...process.env, ...extraEnv } : process.env }));
  let stopping = false;
  return {
    proc,
    pid: proc.pid,
    workerId,
    kind,
    // Throws when the runner exited before stop(), with the last line of its log.
    check() {
      if (stopping || (proc.exitCode === null && proc.signalCode === null)) return;
      let last = '';
      try {
        last = readFileSync(logFile, 'utf8').trim().split('\n').pop().slice(0, 300);
      } catch {}
      const how = proc.signalCode ? `signal ${proc.signalCode}` : `status ${proc.exitCode}`;
      throw new Error(`runner ${workerId} exited (${how})${last ? `: ${last}` : ''}`);
    },
    /** The last warning or error the runner logged, or ''. */
    lastComplaint() {
      try {
        return readFileSync(logFile, 'utf8').trim().split('\n').findLast((l) => /level=(warning|error)/.test(l))?.slice(0, 300) ?? '';
      } catch {
        return '';
      }
    },
    stop: (grace) => {
      stopping = true;
      return stopProc(proc, grace);
    },
  };
}

/** Resident set (kB) and CPU seconds (user + system, and each apart; own threads only) of a process; null once gone. */
export function procStat(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(f[11]) / CLK_TCK;
    const sys = Number(f[12]) / CLK_TCK;
    return { rss_kb: rss, hwm_kb: hwm, cpu_s: user + sys, user_s: user, sys_s: sys };
  } catch {
    return null;
  }
}

/** Open file descriptors of a process; null once gone. */
export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Proportional and private (unique) resident memory, kB, from smaps_rollup; null once gone. */
export function memDetail(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const f = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
    // Anonymous (heap, stacks) is the process's own; the rest of RSS is file-backed, mostly shared
    // library code, which counts as private or shared depending on what else runs on the machine.
    return { rss_kb: f('Rss'), pss_kb: f('Pss'), anon_kb: f('Anonymous'), file_kb: f('Rss') - f('Anonymous'),
      private_kb: f('Private_Clean') + f('Private_Dirty'), shared_clean_kb: f('Shared_Clean') };
  } catch {
    return null;
  }
}

/** The same summed over several processes. */
export function procStats(pids) {
  let rss = 0;
  let hwm = 0;
  let cpu = 0;
  let n = 0;
  for (const pid of pids) {
    const s = procStat(pid);
    if (!s) continue;
    rss += s.rss_kb;
    hwm += s.hwm_kb;
    cpu += s.cpu_s;
    n++;
  }
  return { rss_kb: rss, hwm_kb: hwm, cpu_s: cpu, alive: n };
}

/** Samples procStats(pids) every `everyMs` until stop() is called; returns {stop(): samples}. */
export function sampler(pids, everyMs = 1000) {
  const samples = [];
  const t0 = now();
  const take = () => samples.push({ t: (now() - t0) / 1000, ...procStats(pids) });
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export function quantile(xs, q) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[idx];
}

/** {n, median, p95, min, max, mean} of a list of numbers. */
export function stats(xs) {
  if (!xs.length) return { n: 0, median: null, p95: null, min: null, max: null, mean: null };
  // No Math.min(...xs): a closed-loop run has too many samples for an argument list.
  const s = Float64Array.from(xs).sort();
  let sum = 0;
  for (const x of s) sum += x;
  const q = (f) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(f * s.length) - 1))];
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0], max: s[s.length - 1], mean: sum / s.length };
}

/** The largest of a list (null when empty), for lists of any length. */
export const maxOf = (xs) => (xs.length ? xs.reduce((a, b) => (b > a ? b : a), -Infinity) : null);

export const round = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
