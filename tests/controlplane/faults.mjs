// Fault knobs: injected error statuses, added latency, SSE drops, forced
// heartbeat 412s, server-side stop requests, a lease-TTL override, and
// hostile answers: raw response bodies (or responses that never end, or
// that are reset mid-body) for a route, raw bytes written into an event
// stream, streams that drip bytes but never a whole event, and work secrets
// whose sessions token is a given string, and requests held unanswered.
// Route names are those of the router (e.g. "work.heartbeat", "events.send");
// a knob's `route` may be a name, a prefix ending in ".*", or "*"; an
// optional `credential` (api, env, token) limits it to callers of that class.
import { ApiError, badRequest, sleep } from './http.mjs';

const matches = (pattern, route) =>
  pattern === '*' || pattern === route || (pattern.endsWith('.*') && route.startsWith(pattern.slice(0, -1)));

function nonNegativeInt(v, name, dflt) {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 0) throw badRequest(`${name}: must be a non-negative integer`);
  return v;
}

export class Faults {
  constructor(report) {
    this.report = report;
    this.clear();
  }

  clear() {
    this.errors = []; // {route, status, count, retry_after?, retry_after_ms?, should_retry?}
    this.latency = []; // {route, ms, count|null}
    this.sseDrops = []; // {after_events, count, mode: "end"|"destroy", session_id?}
    this.heartbeat412 = []; // {work_id?, session_id?, count}
    this.stopRequests = []; // {work_id?, session_id?} armed until the item is active
    this.leaseTtlSec = null;
    this.raw = []; // {route, status, headers, body: Buffer, count, hang, credential?, session_id?}
    this.sseInjects = []; // {bytes: Buffer, count, close, session_id?}
    this.sseDrips = []; // {count, interval_ms, session_id?}
    this.secretTokens = []; // {token, count, session_id?}
    this.holds = []; // {route, count, credential?, session_id?}
  }

  /** Merges a knob document (see README.md) into the current knobs. */
  add(doc) {
    if (doc === null || typeof doc !== 'object') throw badRequest('faults: expected a JSON object');
    for (const e of doc.errors ?? []) {
      if (typeof e.route !== 'string') throw badRequest('errors[].route: required');
      if (!Number.isInteger(e.status) || e.status < 400 || e.status > 599) {
        throw badRequest('errors[].status: must be 400-599');
      }
      this.errors.push({ ...e, count: nonNegativeInt(e.count, 'errors[].count', 1) });
    }
    for (const l of doc.latency ?? []) {
      if (typeof l.route !== 'string' || !Number.isInteger(l.ms)) throw badRequest('latency[]: route and ms required');
      this.latency.push({ route: l.route, ms: l.ms, count: l.count ?? null, credential: l.credential });
    }
    if (doc.sse_drop) {
      const d = doc.sse_drop;
      this.sseDrops.push({
        after_events: nonNegativeInt(d.after_events, 'sse_drop.after_events', 1),
        count: nonNegativeInt(d.count, 'sse_drop.count', 1),
        mode: d.mode === 'destroy' ? 'destroy' : 'end',
        session_id: d.session_id,
      });
    }
    if (doc.heartbeat_412) {
      const h = doc.heartbeat_412;
      this.heartbeat412.push({ work_id: h.work_id, session_id: h.session_id, count: nonNegativeInt(h.count, 'heartbeat_412.count', 1) });
    }
    for (const r of doc.raw ?? []) {
      if (typeof r.route !== 'string') throw badRequest('raw[].route: required');
      const status = r.status ?? 200;
      if (!Number.isInteger(status) || status < 100 || status > 599) throw badRequest('raw[].status: must be 100-599');
      this.raw.push({
        route: r.route, status, headers: r.headers ?? {}, body: rawBytes(r, 'raw[]'), count: nonNegativeInt(r.count, 'raw[].count', 1),
        hang: !!r.hang, reset: !!r.reset, credential: r.credential, session_id: r.session_id,
      });
    }
    for (const d of [doc.sse_drip ?? []].flat()) {
      this.sseDrips.push({ count: nonNegativeInt(d.count, 'sse_drip.count', 1), interval_ms: nonNegativeInt(d.interval_ms, 'sse_drip.interval_ms', 1000), session_id: d.session_id });
    }
    for (const t of [doc.secret_token ?? []].flat()) {
      if (typeof t.token !== 'string') throw badRequest('secret_token.token: required');
      this.secretTokens.push({ token: t.token, api_base_url: t.api_base_url, count: nonNegativeInt(t.count, 'secret_token.count', 1), session_id: t.session_id });
    }
    for (const j of [doc.sse_inject ?? []].flat()) {
      this.sseInjects.push({ bytes: rawBytes(j, 'sse_inject'), count: nonNegativeInt(j.count, 'sse_inject.count', 1), close: !!j.close, session_id: j.session_id });
    }
    for (const h of [doc.hold ?? []].flat()) {
      if (typeof h.route !== 'string') throw badRequest('hold.route: required');
      this.holds.push({ route: h.route, count: nonNegativeInt(h.count, 'hold.count', 1), credential: h.credential, session_id: h.session_id });
    }
    if (doc.lease_ttl_sec !== undefined) {
      this.leaseTtlSec = doc.lease_ttl_sec === null ? null : nonNegativeInt(doc.lease_ttl_sec, 'lease_ttl_sec');
    }
  }

  /** Applied before a route's handler: may sleep, may throw an injected error. */
  async before(route, sessionId, credential) {
    const applies = (k) => matches(k.route, route) && (!k.credential || k.credential === credential);
    const lat = this.latency.find((l) => applies(l) && l.count !== 0);
    if (lat) {
      if (lat.count !== null) lat.count--;
      this.report.fault('latency', route, { ms: lat.ms });
      await sleep(lat.ms);
    }
    const e = this.errors.find((x) => applies(x) && x.count > 0 && (!x.session_id || x.session_id === sessionId));
    if (!e) return;
    e.count--;
    this.report.fault('error', route, { status: e.status });
    const headers = {};
    if (e.retry_after !== undefined) headers['retry-after'] = String(e.retry_after);
    if (e.retry_after_ms !== undefined) headers['retry-after-ms'] = String(e.retry_after_ms);
    if (e.should_retry !== undefined) headers['x-should-retry'] = String(e.should_retry);
    throw new ApiError(e.status, `injected fault (${e.status}) on ${route}`, { headers });
  }

  /**
   * Answers the request with a matching `raw` knob (consumes one): the given
   * status, headers and bytes, or with `hang` the status, headers and bytes
   * and then nothing more, the response left open until the client gives up,
   * or with `reset` the status, headers and bytes and then a reset connection
   * (the request itself is not processed).  Returns true if it answered.
   */
  sendRaw(route, sessionId, credential, res) {
    const r = this.raw.find(
      (x) => matches(x.route, route) && x.count > 0 && (!x.credential || x.credential === credential) && (!x.session_id || x.session_id === sessionId),
    );
    if (!r) return false;
    r.count--;
    this.report.fault('raw', route, { status: r.status, bytes: r.body.length, hang: r.hang, reset: r.reset, session_id: sessionId });
    const headers = { 'request-id': res.requestId, ...r.headers };
    // A reset answer promises more than it sends.
    const length = r.reset ? r.body.length + 1024 : r.body.length;
    if (!r.hang && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = length;
    res.writeHead(r.status, headers);
    if (r.reset) {
      res.write(r.body, () => res.destroy());
    } else if (r.hang) {
      res.write(r.body);
      res.socket?.setTimeout(0);
    } else {
      res.end(r.body);
    }
    return true;
  }

  /**
   * Holds the request with a matching `hold` knob (consumes one): it is not
   * processed and never answered; the connection stays open until the
   * client gives up or goes away (a post the server never received, as the
   * client sees it).  Returns true if it held it.
   */
  hold(route, sessionId, credential, res) {
    const h = this.holds.find(
      (x) => matches(x.route, route) && x.count > 0 && (!x.credential || x.credential === credential) && (!x.session_id || x.session_id === sessionId),
    );
    if (!h) return false;
    h.count--;
    this.report.fault('hold', route, { session_id: sessionId });
    res.socket?.setTimeout(0);
    return true;
  }

  /** The raw bytes to write first into a new stream of `sessionId`, or null (consumes one). */
  takeSseInject(sessionId) {
    const j = this.sseInjects.find((x) => x.count > 0 && (!x.session_id || x.session_id === sessionId));
    if (!j) return null;
    j.count--;
    return j;
  }

  /** The drip rule for a new stream of `sessionId`, or null (consumes one). */
  takeSseDrip(sessionId) {
    const d = this.sseDrips.find((x) => x.count > 0 && (!x.session_id || x.session_id === sessionId));
    if (!d) return null;
    d.count--;
    return d;
  }

  /** {token, api_base_url?} to put into the next secret handed out for `sessionId`, or null (consumes one). */
  takeSecretToken(sessionId) {
    const t = this.secretTokens.find((x) => x.count > 0 && (!x.session_id || x.session_id === sessionId));
    if (!t) return null;
    t.count--;
    this.report.fault('secret_token', 'work.poll', { session_id: sessionId });
    return t;
  }

  /** True if this heartbeat must be answered with 412 (consumes one). */
  take412(item) {
    const h = this.heartbeat412.find(
      (x) => x.count > 0 && (!x.work_id || x.work_id === item.id) && (!x.session_id || x.session_id === item.data.id),
    );
    if (!h) return false;
    h.count--;
    this.report.fault('heartbeat_412', 'work.heartbeat', { work_id: item.id });
    return true;
  }

  /** The drop rule for a new stream of `sessionId`, or null (consumes one). */
  takeSseDrop(sessionId) {
    const d = this.sseDrops.find((x) => x.count > 0 && (!x.session_id || x.session_id === sessionId));
    if (!d) return null;
    d.count--;
    return { after: d.after_events, mode: d.mode };
  }

  toJSON() {
    return {
      errors: this.errors,
      latency: this.latency,
      sse_drops: this.sseDrops,
      heartbeat_412: this.heartbeat412,
      stop_requests: this.stopRequests,
      lease_ttl_sec: this.leaseTtlSec,
      raw: this.raw.map(({ body, ...r }) => ({ ...r, bytes: body.length })),
      sse_injects: this.sseInjects.map(({ bytes, ...j }) => ({ ...j, bytes: bytes.length })),
      sse_drips: this.sseDrips,
      secret_tokens: this.secretTokens.map(({ token, ...t }) => ({ ...t, bytes: token.length })),
    };
  }
}

const RAW_MAX = 64 * 1024 * 1024;

/**
 * The bytes of a raw knob: `body` (UTF-8 text) or `body_b64`, or
 * `repeat: {prefix?, unit, times, suffix?}` (each part text, or `*_b64`) for
 * large or deeply nested documents without a large admin request.
 */
function rawBytes(k, what) {
  const part = (o, name) => (o[`${name}_b64`] !== undefined ? Buffer.from(o[`${name}_b64`], 'base64') : Buffer.from(o[name] ?? '', 'utf8'));
  let buf;
  if (k.repeat) {
    const times = nonNegativeInt(k.repeat.times, `${what}.repeat.times`, 1);
    const unit = part(k.repeat, 'unit');
    if (unit.length * times > RAW_MAX) throw badRequest(`${what}.repeat: at most ${RAW_MAX} bytes`);
    const body = unit.length ? Buffer.alloc(unit.length * times, unit) : Buffer.alloc(0);
    buf = Buffer.concat([part(k.repeat, 'prefix'), body, part(k.repeat, 'suffix')]);
  } else {
    buf = part(k, 'body');
  }
  return buf;
}

/** Parses the `--fail ROUTE:STATUS[:COUNT[:RETRY_AFTER]]` flag. */
export function parseFailFlag(s) {
  const [route, status, count, retryAfter] = s.split(':');
  const e = { route, status: Number(status), count: count ? Number(count) : 1 };
  if (retryAfter) e.retry_after = Number(retryAfter);
  return e;
}
