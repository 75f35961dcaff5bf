// Helpers of the C runner's end-to-end checks: everything of tests/sdk/lib.mjs
// plus startRunner() (the `orchestrator` of this build, started like the SDK
// worker) and a scan of /proc for processes a runner started.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cp, say, until } from '../sdk/lib.mjs';

export * from '../sdk/lib.mjs';

export const CP_URL = process.env.CP_URL;
export const TMP = process.env.CP_TMP;
export const RUNNER = process.env.ER_RUNNER;
export const PLUGIN_DIR = process.env.ER_TOP_BUILDDIR ? join(process.env.ER_TOP_BUILDDIR, 'plugins/.libs') : process.env.ER_PLUGIN_PATH;
export const TRACKING_VAR = 'ENVIRONMENT_RUNNER_TRACKING_ID';
/** The sandbox backend runners start with: $ER_TEST_SANDBOX (default none, explicitly;
 * "default": no --sandbox-backend, the runner chooses). */
export const SANDBOX = process.env.ER_TEST_SANDBOX || 'none';
/** Extra runner flags for that backend, space-separated: $ER_TEST_SANDBOX_ARGS. */
const SANDBOX_ARGS = (process.env.ER_TEST_SANDBOX_ARGS || '').split(' ').filter(Boolean);
/** The uid a root runner's sandbox runs as, when the backend isolates: $ER_TEST_SANDBOX_UID or nobody. */
export const SANDBOX_UID = SANDBOX !== 'none' && process.getuid?.() === 0 ? Number(process.env.ER_TEST_SANDBOX_UID || 65534) : null;

const uniq = () => Math.random().toString(36).slice(2, 10);
const running = new Set();

/**
 * Starts `environment-runner orchestrator` against the control plane.
 * With neither `workdir` nor `baseDir`, a fresh `--workdir` is made.
 * `env` adds variables to the runner's environment.
 * `stateDir` (default: a fresh one) is its --state-dir; `bin` the binary (default $ER_RUNNER).
 * Returns {proc, pid, workdir, baseDir, stateDir, keyFile, exited, log(), stop(), kill()}.
 */
export function startRunner({ envId, key, workdir, baseDir, stateDir, maxIdleSec = 1, workerId, extra = [], apiUrl = CP_URL, keyFile, uid, gid, env, bin = RUNNER }) {
  if (!bin) throw new Error('ER_RUNNER is not set');
  if (!keyFile) {
    keyFile = join(TMP, `key-${envId}-${uniq()}`);
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  }
  if (!baseDir && !workdir) workdir = join(TMP, `wd-${uniq()}`);
  if (workdir) mkdirSync(workdir, { recursive: true });
  // A root runner's sandbox user must own a fixed --workdir to write in it.
  if (workdir && SANDBOX_UID !== null) chownSync(workdir, SANDBOX_UID, SANDBOX_UID);
  const args = ['orchestrator', '--environment-id', envId, '--service-key-file', keyFile, '--api-url', apiUrl,
    ...(SANDBOX === 'default' ? [] : [`--sandbox-backend=${SANDBOX}`]), ...SANDBOX_ARGS, '--plugin-dir', PLUGIN_DIR, '--max-idle-sec', String(maxIdleSec), '--log-level', 'debug'];
  if (workdir) args.push('--workdir', workdir);
  else args.push('--base-dir', baseDir);
  if (workerId) args.push('--worker-id', workerId);
  // Each runner keeps its item records apart unless a check restarts one on the same directory.
  if (!extra.some((a) => a.startsWith('--state-dir'))) {
    if (!stateDir) {
      stateDir = join(TMP, `state-${uniq()}`);
      mkdirSync(stateDir, { recursive: true });
      if (uid !== undefined) chownSync(stateDir, uid, gid ?? uid);
    }
    args.push('--state-dir', stateDir);
  }
  // Many runners run at once: no status listener unless a check asks for one.
  if (!extra.some((a) => a.startsWith('--health-port'))) args.push('--health-port', '0');
  args.push(...extra);
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}), ...(uid !== undefined ? { uid, gid } : {}) });
  running.add(proc);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => proc.on('exit', (code, sig) => {
    running.delete(proc);
    // ER_RUNNER_LOG_DIR=DIR keeps each runner's log there (the check's own temporary directory goes away).
    if (process.env.ER_RUNNER_LOG_DIR) writeFileSync(join(process.env.ER_RUNNER_LOG_DIR, `${workerId ?? 'runner'}-${proc.pid}.log`), out);
    r({ code, sig, at: Date.now() });
  }));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    proc,
    pid: proc.pid,
    workdir,
    baseDir,
    stateDir,
    keyFile,
    exited,
    alive,
    log: () => out,
    kill(sig = 'SIGKILL') {
      if (alive()) proc.kill(sig);
      return exited;
    },
    /** SIGTERM, then SIGKILL after `graceMs`; resolves {code, sig, at, ms}. */
    async stop(graceMs = 10_000) {
      const t0 = Date.now();
      if (alive()) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return { ...r, ms: r.at - t0 };
    },
  };
}

/**
 * Queues `n` sessions of `envId`, each told "go" and scripted to run one
 * `sleep SEC; echo sI` and answer "got sI".  Returns the sessions.
 */
export async function queueSleepers(client, envId, n, sec) {
  const sessions = [];
  for (let i = 0; i < n; i++) {
    const s = await client.beta.sessions.create({ agent: 'agent_local', environment_id: envId });
    await cp.script(s.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: `sleep ${sec}; echo s${i}` } }], message: 'got {{result.0}}' }] });
    await say(client, s.id, 'go');
    sessions.push(s);
  }
  return sessions;
}

/** SIGKILLs every runner still running (for `finally` blocks and crashes). */
export function killAll() {
  for (const p of running) p.kill('SIGKILL');
}
process.on('exit', killAll);

/**
 * Processes carrying the runner's tracking variable whose working directory
 * is under `under` (so that other runners on this machine do not count):
 * [{pid, id, cwd, cmd}].
 */
export function trackedProcs(under = TMP) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      const v = env.find((e) => e.startsWith(`${TRACKING_VAR}=`));
      if (!v) continue;
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {}
      if (under && !cwd.startsWith(under)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (/^\d+ \(.*\) Z /.test(stat)) continue; // zombie: already dead
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid: Number(name), id: v.slice(TRACKING_VAR.length + 1), cwd, cmd });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Waits until no tracked process under `under` is left; returns the leftovers (empty on success). */
export async function untilNoTracked(under = TMP, ms = 5000) {
  const ok = await until(() => trackedProcs(under).length === 0, ms);
  return ok ? [] : trackedProcs(under);
}

/** Every sessions token the control plane handed out (from the report's work handouts). */
export function issuedTokens(report) {
  return report.work.flatMap((w) => w.handouts.map((h) => h.sessions_token)).filter(Boolean);
}

/** Secrets that occur in `text`, named but not shown. */
export function leakedSecrets(text, secrets) {
  return secrets.filter((s) => s && text.includes(s)).map((s) => `${s.slice(0, 12)}... (${s.length} chars)`);
}

/** Waits for the session's work item(s) to satisfy `pred`; returns them or null. */
export async function untilWork(sessionId, pred, ms = 15_000) {
  return until(async () => {
    const w = (await cp.report()).work.filter((x) => x.session_id === sessionId);
    return pred(w) ? w : null;
  }, ms);
}

/** True once `pid` has exited (no /proc entry, or a zombie). */
export function gone(pid) {
  try {
    return /^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return true;
  }
}

/** Waits for a tracked process under `under` whose command line matches `re`; returns it or null. */
export function untilTracked(re, under = TMP, ms = 15_000) {
  return until(() => trackedProcs(under).find((p) => re.test(p.cmd)), ms);
}

/** Waits for `pid` to exit; returns the milliseconds it took, or null after `ms`. */
export async function untilGone(pid, ms = 5000) {
  const t0 = Date.now();
  return (await until(() => gone(pid), ms)) ? Date.now() - t0 : null;
}

/** A TCP port that was free a moment ago (for --health-port). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** GET http://127.0.0.1:port/path; resolves {status, type, text, json}. */
export async function getStatus(port, path) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, type: res.headers.get('content-type'), text, json };
}

/**
 * Parses the Prometheus text format into {name: [{labels, value}]} plus
 * meta {name: {type, help}}; throws on a line that is neither.
 */
export function parseMetrics(text) {
  const samples = {};
  const meta = {};
  for (const line of text.split('\n')) {
    if (!line) continue;
    let m = line.match(/^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/);
    if (m) {
      meta[m[2]] ??= {};
      meta[m[2]][m[1].toLowerCase()] = m[3];
      continue;
    }
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) throw new Error(`not a metrics line: ${line}`);
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    (samples[m[1]] ??= []).push({ labels, value: Number(m[3]) });
  }
  return { samples, meta };
}

/** The value of one sample (labels must match exactly those given), or undefined. */
export function metric(parsed, name, labels = {}) {
  return parsed.samples[name]?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
