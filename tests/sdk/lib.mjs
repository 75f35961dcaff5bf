// Shared helpers of the SDK checks: TAP output, the control plane's admin
// API, SDK clients with the three credential classes, the SDK worker process.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';

export const CP_URL = process.env.CP_URL;
const TMP = process.env.CP_TMP;
export const API_KEY = process.env.CP_API_KEY ?? 'sk-ant-api03-local-test-key';
const HERE = fileURLToPath(new URL('.', import.meta.url));

let n = 0;
let failed = 0;
/** One TAP line; `diag` is printed as comments when the check fails. */
export function ok(cond, desc, diag) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${desc}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${desc}`);
    if (diag !== undefined) {
      for (const line of JSON.stringify(diag, null, 1).split('\n').slice(0, 40)) console.log(`# ${line}`);
    }
  }
  return !!cond;
}
/**
 * Ends the check with its status.  Exits rather than waiting for the event
 * loop to drain: a lost race's timer or an idle keep-alive connection would
 * otherwise hold the check open for as long as they last.
 */
export function done() {
  process.exit(failed ? 1 : 0);
}

/** SDK client with the API key (admin calls); `opts` may override anything. */
export function apiClient(opts = {}) {
  return new Anthropic({ baseURL: CP_URL, apiKey: API_KEY, ...opts });
}
/** SDK client whose Bearer is `token` (environment key or sessions token). */
export function tokenClient(token, opts = {}) {
  return new Anthropic({ baseURL: CP_URL, apiKey: null, authToken: token, ...opts });
}

async function admin(method, path, body) {
  const res = await fetch(`${CP_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
export const cp = {
  envKey: async (envId) => (await admin('POST', `/_test/environments/${envId}/keys`)).key,
  script: (sessionId, script) => admin('POST', `/_test/sessions/${sessionId}/script`, script),
  faults: (doc) => admin('POST', '/_test/faults', doc),
  clearFaults: () => admin('DELETE', '/_test/faults'),
  report: () => admin('GET', '/_test/report'),
};

/** A self-hosted environment and one environment key for it. */
export async function environment(client, name = 'sdk-check') {
  const env = await client.beta.environments.create({ name, config: { type: 'self_hosted' } });
  return { env, key: await cp.envKey(env.id) };
}

/** Polls `fn` every 100 ms until it returns a truthy value; null after `ms`. */
export async function until(fn, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await sleep(100);
  }
  return null;
}

/** Starts tests/sdk/sdk-worker.mjs; returns {proc, stop(), exited, log()}. */
export function startWorker({ envId, key, workdir, maxIdleSec = 1, workerId, extra = [] }) {
  const dir = workdir ?? join(TMP, `wd-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  const keyFile = join(TMP, `key-${envId}`);
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  const args = [join(HERE, 'sdk-worker.mjs'), '--environment-id', envId, '--service-key-file', keyFile, '--api-url', CP_URL,
    '--workdir', dir, '--max-idle-sec', String(maxIdleSec), '--max-runtime-sec', '90', ...extra];
  if (workerId) args.push('--worker-id', workerId);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  return {
    proc,
    workdir: dir,
    exited,
    log: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Sends a user message with the API-key client. */
export function say(client, sessionId, text) {
  return client.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });
}

/** The session's events as the report shows them. */
export async function eventsOf(sessionId) {
  return (await cp.report()).sessions[sessionId]?.events ?? [];
}

/** Waits for the n-th `session.status_idle` with end_turn; returns the event log or null. */
export async function untilTurnEnds(sessionId, nth = 1, ms = 20_000) {
  return until(async () => {
    const evs = await eventsOf(sessionId);
    const ends = evs.filter((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'end_turn');
    return ends.length >= nth ? evs : null;
  }, ms);
}

export const textOf = (content) => (content ?? []).map((b) => b.text ?? '').join('');

/** Pairs every agent.tool_use with its user.tool_result(s) from an event log. */
export function toolCalls(events) {
  return events
    .filter((e) => e.type === 'agent.tool_use')
    .map((u) => {
      const results = events.filter((e) => e.type === 'user.tool_result' && e.tool_use_id === u.id);
      return { name: u.name, input: u.input, permission: u.evaluated_permission, results, text: textOf(results[0]?.content), is_error: results[0]?.is_error };
    });
}

export function workOf(report, sessionId) {
  return report.work.filter((w) => w.session_id === sessionId);
}
