// The per-environment work queue: items, leases, the state machine of
// docs/protocol.md §2, and the work routes.
import { ApiError, badRequest, intParam, newId, notFound, nowIso, paginate } from './http.mjs';

const LIVE = new Set(['queued', 'starting', 'active', 'stopping']);
const POLL_TICK_MS = 20;
const WORKERS_WINDOW_MS = 30_000;

export class WorkQueue {
  constructor(plane) {
    this.plane = plane;
    this.items = new Map();
    this.pollers = new Map(); // env id -> Map(worker id -> last poll ms)
    this.queueChanged = new Set(); // wakes the polls held open when an item is queued
    this.sweeper = setInterval(() => this.sweep(), 100);
    this.sweeper.unref();
  }

  close() {
    clearInterval(this.sweeper);
  }

  get leaseTtlSec() {
    return this.plane.faults.leaseTtlSec ?? this.plane.opts.leaseTtlSec;
  }

  /** A session's item, or with `sessionId` null a health check (data without a session). */
  enqueue(envId, sessionId, reason) {
    const now = Date.now();
    const item = {
      id: newId('work'),
      type: 'work',
      environment_id: envId,
      data: sessionId === null ? { type: 'healthcheck' } : { type: 'session', id: sessionId },
      state: 'queued',
      created_at: nowIso(now),
      acknowledged_at: null,
      started_at: null,
      latest_heartbeat_at: null,
      stop_requested_at: null,
      stopped_at: null,
      metadata: {},
      secret: null,
    };
    // Bookkeeping that is not part of the wire object.
    Object.defineProperty(item, '_', {
      enumerable: false,
      value: { handedOutMs: null, worker: null, lastHeartbeat: null, leaseUntilMs: null, history: [], handouts: [], heartbeats: 0, heartbeatTimes: [] },
    });
    item._.history.push({ at: nowIso(now), from: null, to: 'queued', reason });
    this.items.set(item.id, item);
    this.#wakePolls();
    return item;
  }

  #wakePolls() {
    for (const wake of this.queueChanged) wake();
  }

  /** Resolves after `ms`, or sooner when an item is queued. */
  #untilQueued(ms) {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.queueChanged.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.queueChanged.add(wake);
    });
  }

  transition(item, to, reason) {
    const now = Date.now();
    item._.history.push({ at: nowIso(now), from: item.state, to, reason });
    item.state = to;
    if (to === 'queued') {
      Object.assign(item._, { handedOutMs: null, lastHeartbeat: null, leaseUntilMs: null });
      item.latest_heartbeat_at = null;
      this.#wakePolls();
    }
    if (to === 'stopped') {
      item.stopped_at = nowIso(now);
      item._.leaseUntilMs = null;
    }
  }

  /** The session's item that is not yet stopped, if any. */
  liveFor(sessionId) {
    for (const item of this.items.values()) if (item.data.id === sessionId && LIVE.has(item.state)) return item;
    return null;
  }

  get(envId, workId) {
    const item = this.items.get(workId);
    if (!item || item.environment_id !== envId) throw notFound(`work item ${workId}`);
    return item;
  }

  /** Expired leases: starting/active go back to the queue, stopping ends. */
  sweep() {
    const now = Date.now();
    for (const item of this.items.values()) {
      if (item._.leaseUntilMs === null || item._.leaseUntilMs > now) continue;
      if (item.state === 'starting' || item.state === 'active') this.transition(item, 'queued', 'lease_expired');
      else if (item.state === 'stopping') this.transition(item, 'stopped', 'lease_expired');
    }
  }

  #pick(envId, reclaimMs) {
    const now = Date.now();
    let best = null;
    for (const item of this.items.values()) {
      if (item.environment_id !== envId || item.state !== 'queued') continue;
      if (item._.handedOutMs !== null && now - item._.handedOutMs < reclaimMs) continue;
      if (!best || item.created_at < best.created_at) best = item;
    }
    return best;
  }

  async poll(ctx, envId) {
    const q = ctx.query;
    const blockMs = intParam(q, 'block_ms', 1, 999) ?? 0;
    const reclaimMs = intParam(q, 'reclaim_older_than_ms', 0, 86_400_000) ?? 5000;
    const worker = ctx.req.headers['anthropic-worker-id'] || null;
    ctx.worker = worker;
    if (worker) {
      if (!this.pollers.has(envId)) this.pollers.set(envId, new Map());
      this.pollers.get(envId).set(worker, Date.now());
    }
    const deadline = Date.now() + blockMs;
    let item = this.#pick(envId, reclaimMs);
    // Woken as soon as an item is queued; the tick is for items that become
    // pickable by age (reclaim_older_than_ms).
    while (!item && Date.now() < deadline && !ctx.req.destroyed) {
      await this.#untilQueued(Math.min(POLL_TICK_MS, deadline - Date.now()));
      item = this.#pick(envId, reclaimMs);
    }
    if (!item) return null;
    const now = Date.now();
    const token = this.plane.creds.issueSessionsToken(item.id, worker);
    item._.handedOutMs = now;
    item._.worker = worker;
    const forged = this.plane.faults.takeSecretToken(item.data.id);
    const secret = Buffer.from(
      JSON.stringify({ sessions_token: forged?.token ?? token, api_base_url: forged?.api_base_url ?? this.plane.baseUrl }),
    ).toString('base64url');
    // Token and secret are in the report so that tests can check no client logs them.
    item._.handouts.push({ at: nowIso(now), worker, sessions_token: token, secret });
    return { ...item, secret };
  }

  ack(ctx, item) {
    if (item.state === 'stopping' || item.state === 'stopped') {
      this.plane.report.mistake('ack_conflict', ctx.route, { work_id: item.id, state: item.state });
      throw conflict(`work item ${item.id} is ${item.state}`);
    }
    if (item.state === 'queued') {
      item.acknowledged_at = nowIso();
      this.transition(item, 'starting', 'ack');
      // The lease starts at the ack: an acked item that is never heartbeated returns to the queue.
      item._.leaseUntilMs = Date.now() + this.leaseTtlSec * 1000;
    }
    return item;
  }

  heartbeat(ctx, item) {
    const expected = ctx.query.get('expected_last_heartbeat');
    const desired = ctx.query.get('desired_ttl_seconds');
    const ttl = desired ? Math.max(1, Math.min(3600, Math.floor(Number(desired)) || this.leaseTtlSec)) : this.leaseTtlSec;
    item._.heartbeats++;
    item._.heartbeatTimes.push(nowIso());
    if (item.state === 'stopping' || item.state === 'stopped') {
      // lease_extended: false is the stop signal the SDK reads (since 1.16 it ignores `state`).
      return { type: 'work_heartbeat', last_heartbeat: item._.lastHeartbeat ?? '', lease_extended: false, state: item.state, ttl_seconds: ttl };
    }
    if (this.plane.faults.take412(item)) {
      this.transition(item, 'queued', 'forced_412');
      throw preconditionFailed(item, expected, ttl);
    }
    const actual = item._.lastHeartbeat ?? 'NO_HEARTBEAT';
    if (item.state === 'queued' || expected !== actual) {
      this.plane.report.mistake(item.state === 'queued' ? 'heartbeat_lease_lost' : 'heartbeat_wrong_expected', ctx.route, {
        work_id: item.id,
        expected,
        actual,
        state: item.state,
      });
      throw preconditionFailed(item, expected, ttl);
    }
    const now = Date.now();
    let stamp = nowIso(now);
    // Each heartbeat gets a distinct value even within one millisecond.
    if (stamp <= (item._.lastHeartbeat ?? '')) stamp = nowIso(Date.parse(item._.lastHeartbeat) + 1);
    item._.lastHeartbeat = stamp;
    item.latest_heartbeat_at = stamp;
    item._.leaseUntilMs = now + ttl * 1000;
    if (item.state === 'starting') {
      item.started_at = stamp;
      this.transition(item, 'active', 'first_heartbeat');
    }
    this.#applyArmedStop(item);
    return { type: 'work_heartbeat', last_heartbeat: stamp, lease_extended: true, state: item.state, ttl_seconds: ttl };
  }

  #applyArmedStop(item) {
    const reqs = this.plane.faults.stopRequests;
    const i = reqs.findIndex((r) => r.work_id === item.id || r.session_id === item.data.id);
    if (i < 0 || item.state !== 'active') return;
    reqs.splice(i, 1);
    this.plane.report.fault('stop_request', 'work.heartbeat', { work_id: item.id });
    this.stop(item, false, 'server_stop_request');
  }

  /**
   * A server-side (non-force) stop request: applied now to an active item,
   * otherwise armed until the target's next heartbeat finds it active.
   */
  requestStop({ work_id, session_id }) {
    const item = work_id ? this.items.get(work_id) : this.liveFor(session_id);
    if (item && item.state === 'active') {
      this.plane.report.fault('stop_request', '_test', { work_id: item.id });
      this.stop(item, false, 'server_stop_request');
      return { applied: true, work_id: item.id };
    }
    this.plane.faults.stopRequests.push({ work_id, session_id });
    return { applied: false, armed: true };
  }

  /** docs/protocol.md §2: force → stopped; otherwise active → stopping, other live states → stopped. */
  stop(item, force, reason) {
    if (item.state === 'stopped') return false;
    if (force || item.state === 'queued' || item.state === 'starting') {
      this.transition(item, 'stopped', reason);
    } else if (item.state === 'active') {
      item.stop_requested_at = nowIso();
      this.transition(item, 'stopping', reason);
    }
    return true;
  }

  stats(envId) {
    const now = Date.now();
    let depth = 0;
    let pending = 0;
    let oldest = null;
    for (const item of this.items.values()) {
      if (item.environment_id !== envId || item.state !== 'queued') continue;
      if (item._.handedOutMs !== null && now - item._.handedOutMs < 5000) pending++;
      else depth++;
      if (!oldest || item.created_at < oldest) oldest = item.created_at;
    }
    const seen = [...(this.pollers.get(envId)?.values() ?? [])].filter((t) => now - t < WORKERS_WINDOW_MS);
    return { type: 'work_queue_stats', depth, pending, oldest_queued_at: oldest, workers_polling: seen.length };
  }

  /** Work item histories for the report. */
  reportView() {
    return [...this.items.values()].map((item) => ({
      id: item.id,
      environment_id: item.environment_id,
      session_id: item.data.id,
      state: item.state,
      history: item._.history,
      handouts: item._.handouts,
      heartbeats: item._.heartbeats,
      heartbeat_times: item._.heartbeatTimes,
    }));
  }
}

function conflict(msg) {
  return new ApiError(409, msg, { headers: { 'x-should-retry': 'false' } });
}

function preconditionFailed(item, expected, ttl) {
  return new ApiError(412, `Heartbeat precondition failed: expected ${expected}, actual was ${item._.lastHeartbeat ?? 'NULL'}`, {
    details: {
      error_code: 'heartbeat_precondition_failed',
      error_visibility: 'user_facing',
      current_state: { last_heartbeat: item._.lastHeartbeat, lease_extended: false, state: item.state, ttl_seconds: ttl },
    },
  });
}

export function workRoutes(plane) {
  const q = plane.work;
  const env = (ctx) => plane.environment(ctx.params.env);
  const item = (ctx) => q.get(ctx.params.env, ctx.params.work);
  return [
    ['GET', '/v1/environments/{env}/work/poll', 'work.poll', async (ctx) => {
      plane.requireEnvKey(ctx, env(ctx).id);
      return q.poll(ctx, ctx.params.env);
    }],
    ['GET', '/v1/environments/{env}/work/stats', 'work.stats', (ctx) => {
      plane.requireEnvKey(ctx, env(ctx).id, { allowApi: true });
      return q.stats(ctx.params.env);
    }],
    ['GET', '/v1/environments/{env}/work', 'work.list', (ctx) => {
      plane.requireEnvKey(ctx, env(ctx).id);
      const all = [...q.items.values()].filter((w) => w.environment_id === ctx.params.env);
      const { data, next_page } = paginate(all, ctx.query);
      return { data, next_page };
    }],
    ['POST', '/v1/environments/{env}/work/{work}/ack', 'work.ack', (ctx) => {
      const w = item(ctx);
      plane.requireItemCred(ctx, w);
      return q.ack(ctx, w);
    }],
    ['POST', '/v1/environments/{env}/work/{work}/heartbeat', 'work.heartbeat', (ctx) => {
      const w = item(ctx);
      plane.requireItemCred(ctx, w);
      return q.heartbeat(ctx, w);
    }],
    ['POST', '/v1/environments/{env}/work/{work}/stop', 'work.stop', async (ctx) => {
      const w = item(ctx);
      plane.requireItemCred(ctx, w);
      const body = (await ctx.body()) ?? {};
      if (body.force !== undefined && typeof body.force !== 'boolean') throw badRequest('force: must be a boolean');
      if (!q.stop(w, body.force === true, body.force ? 'stop_force' : 'stop')) {
        plane.report.mistake('stop_on_stopped', ctx.route, { work_id: w.id });
        throw conflict(`work item ${w.id} is already stopped`);
      }
      return w;
    }],
    ['GET', '/v1/environments/{env}/work/{work}', 'work.retrieve', (ctx) => {
      plane.requireApi(ctx);
      return item(ctx);
    }],
    ['POST', '/v1/environments/{env}/work/{work}', 'work.update', async (ctx) => {
      plane.requireApi(ctx);
      const w = item(ctx);
      const body = (await ctx.body()) ?? {};
      for (const [k, v] of Object.entries(body.metadata ?? {})) {
        if (v === null) delete w.metadata[k];
        else w.metadata[k] = String(v);
      }
      return w;
    }],
  ];
}
