#!/usr/bin/env node
// The local control plane (tests/controlplane) with what the benchmarks need
// on top: a sub-millisecond clock on every appended event and a compact
// summary endpoint, so that a run with 1000 sessions does not have to ship
// every event through /_test/report.
//
//   node bench/cp.mjs --port-file FILE [--lease-ttl-sec N] [--keepalive-ms N]
//                     [--tls-cert FILE --tls-key FILE]
//
// It listens on plain HTTP/1.1, and with a certificate on HTTPS too (HTTP/2
// first, as the API): the port file holds "PORT" or "PORT TLS_PORT".
//
// GET /_bench/answered?env=ENV: how many sessions have had a tool result.
// GET /_bench/summary?env=ENV (API key): per session, its creation time
// and each tool call's name, emission time of agent.tool_use and arrival
// time of its user.tool_result (epoch milliseconds, fractional); per work item, its
// heartbeat arrival times and history; poll counts per worker.
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createListener } from '../tests/controlplane/listen.mjs';
import { ControlPlane } from '../tests/controlplane/plane.mjs';
import { Session } from '../tests/controlplane/sessions.mjs';
import { sendJson } from '../tests/controlplane/http.mjs';

const API_KEY = 'sk-ant-api03-local-test-key';
const hrnow = () => performance.timeOrigin + performance.now();

// Time every event as it is appended (taken before the append, so that an
// agent.tool_use is stamped before the stream write that carries it).
const append = Session.prototype.append;
Session.prototype.append = function (params, opts) {
  const t = hrnow();
  const ev = append.call(this, params, opts);
  (this.benchTimes ??= new Map()).set(ev.id, t);
  if (ev.type === 'user.tool_result') this.benchAnswered = true;
  return ev;
};

function summary(plane, envId) {
  const sessions = {};
  for (const s of plane.everySession.values()) {
    if (envId && s.obj.environment_id !== envId) continue;
    const times = s.benchTimes ?? new Map();
    const calls = [];
    const byId = new Map();
    for (const ev of s.events) {
      if (ev.type === 'agent.tool_use') {
        const c = { name: ev.name, use: times.get(ev.id) ?? null, result: null, is_error: null };
        byId.set(ev.id, c);
        calls.push(c);
      } else if (ev.type === 'user.tool_result') {
        const c = byId.get(ev.tool_use_id);
        if (c && c.result === null) {
          c.result = times.get(ev.id) ?? null;
          c.is_error = ev.is_error === true;
          c.text = (ev.content ?? []).map((b) => b.text ?? '').join('').slice(0, 200);
        }
      }
    }
    // When it was created, to the sub-millisecond: its first event (the
    // initial user message) is appended as its work item is queued.
    const created = s.events.length ? (times.get(s.events[0].id) ?? null) : null;
    sessions[s.id] = { status: s.obj.status, created_at: s.obj.created_at, created, events: s.events.length, calls };
  }
  const work = plane.work.reportView().filter((w) => !envId || w.environment_id === envId);
  const r = plane.report.toJSON();
  return {
    now: hrnow(),
    sessions,
    work: work.map(({ handouts, ...w }) => ({ ...w, handouts: handouts.map((h) => ({ at: h.at, worker: h.worker })) })),
    by_worker: r.requests.by_worker,
    by_route: r.requests.by_route,
    mistake_counts: r.mistake_counts,
  };
}

const { values: a } = parseArgs({
  options: {
    'port-file': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'lease-ttl-sec': { type: 'string', default: '60' },
    'keepalive-ms': { type: 'string', default: '10000' },
  },
});
const plane = new ControlPlane({
  apiKeys: [API_KEY],
  leaseTtlSec: Number(a['lease-ttl-sec']),
  keepaliveMs: Number(a['keepalive-ms']),
  strictBeta: false,
  verbose: false,
});
// How many sessions of `envId` have had a tool result: the ramp's probe,
// which must not walk every event of thousands of sessions each time.
function answered(plane, envId) {
  let n = 0;
  for (const s of plane.everySession.values()) n += s.obj.environment_id === envId && s.benchAnswered === true;
  return { answered: n };
}

function handle(req, res) {
  if (req.url.startsWith('/_bench/')) {
    res.requestId = 'req_bench';
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.headers.authorization !== `Bearer ${API_KEY}`) return sendJson(res, 401, { error: 'api key required' });
    if (url.pathname === '/_bench/answered') return sendJson(res, 200, answered(plane, url.searchParams.get('env')));
    return sendJson(res, 200, summary(plane, url.searchParams.get('env')));
  }
  return plane.handle(req, res);
}

// Plain HTTP/1.1 always (the benchmark's own calls, and runners on http://);
// with a certificate also HTTPS, HTTP/2 first, for runners on https://.
const listeners = [createListener(handle)];
if (a['tls-cert']) listeners.push(createListener(handle, { tlsCert: a['tls-cert'], tlsKey: a['tls-key'] }));
const ports = await Promise.all(listeners.map(({ server }) => {
  // Many concurrent streams and polls: no per-socket timeouts from node:http.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.maxConnections = 100_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}));
const last = listeners.length - 1;
plane.baseUrl = `${listeners[last].scheme}://127.0.0.1:${ports[last]}`;
if (a['port-file']) {
  writeFileSync(`${a['port-file']}.tmp`, `${ports.join(' ')}\n`);
  renameSync(`${a['port-file']}.tmp`, a['port-file']);
}
const shutdown = () => {
  plane.close();
  for (const l of listeners) l.closeAll();
  Promise.all(listeners.map(({ server }) => new Promise((r) => server.close(r)))).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
