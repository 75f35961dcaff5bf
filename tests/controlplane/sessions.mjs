// Sessions, their event logs, event validation, the SSE stream, and the
// session routes.
import { ApiError, badRequest, newId, notFound, nowIso, paginate } from './http.mjs';
import { ScriptedAgent } from './agent.mjs';
import { memoryResource } from './memory.mjs';

/** Event types the holder of a sessions token may append besides user.* (see README.md, ingress). */
const INGRESS_TYPES = new Set([
  'agent.message',
  'agent.thinking',
  'agent.tool_use',
  'agent.tool_result',
  'agent.custom_tool_use',
  'session.status_running',
  'session.status_idle',
  'session.status_rescheduled',
  'session.status_terminated',
  'session.error',
]);
const USER_TYPES = new Set([
  'user.message',
  'user.interrupt',
  'user.tool_confirmation',
  'user.tool_result',
  'user.custom_tool_result',
  'user.define_outcome',
]);
const STATUS_OF = {
  'session.status_running': 'running',
  'session.status_idle': 'idle',
  'session.status_rescheduled': 'rescheduling',
  'session.status_terminated': 'terminated',
};
const TERMINAL = new Set(['session.status_terminated', 'session.deleted']);

export class Session {
  constructor(plane, obj, script) {
    this.plane = plane;
    this.obj = obj;
    this.events = [];
    this.streams = new Set(); // pump functions of open SSE streams
    this.calls = new Map(); // tool use id -> { event, answered, confirmation, custom }
    this.setScript(script);
  }

  get id() {
    return this.obj.id;
  }

  setScript(script) {
    this.agent?.stop();
    this.script = script;
    this.agent = script.external ? null : new ScriptedAgent(this, script);
  }

  /** Appends one event (assigning id and processed_at) and notifies streams and the agent. */
  append(params, { fromAgent = false } = {}) {
    const ev = { ...params, id: newId('sevt'), processed_at: nowIso() };
    this.events.push(ev);
    if (STATUS_OF[ev.type]) this.obj.status = STATUS_OF[ev.type];
    this.obj.updated_at = ev.processed_at;
    if (ev.type === 'agent.tool_use' || ev.type === 'agent.custom_tool_use') {
      this.calls.set(ev.id, { event: ev, answered: false, confirmation: null, custom: ev.type === 'agent.custom_tool_use' });
    } else if (ev.type === 'user.tool_result') {
      this.calls.get(ev.tool_use_id).answered = true;
    } else if (ev.type === 'user.custom_tool_result') {
      this.calls.get(ev.custom_tool_use_id).answered = true;
    } else if (ev.type === 'user.tool_confirmation') {
      this.calls.get(ev.tool_use_id).confirmation = ev.result;
    } else if (ev.type === 'agent.tool_result') {
      const call = this.calls.get(ev.tool_use_id);
      if (call) call.closed = true;
    }
    for (const pump of [...this.streams]) pump();
    if (!fromAgent) this.agent?.onEvent(ev);
    return ev;
  }

  /**
   * Checks one client-sent event against the log; returns a mistake kind and
   * message, or null when valid.
   */
  check(ev, pendingResults) {
    if (ev === null || typeof ev !== 'object' || typeof ev.type !== 'string') return ['invalid_event', 'events[]: type required'];
    switch (ev.type) {
      case 'user.message':
        if (!Array.isArray(ev.content) || ev.content.length === 0) return ['invalid_event', 'user.message: content must be a non-empty array'];
        return null;
      case 'user.tool_result':
      case 'user.custom_tool_result': {
        const custom = ev.type === 'user.custom_tool_result';
        const id = custom ? ev.custom_tool_use_id : ev.tool_use_id;
        const call = this.calls.get(id);
        if (typeof id !== 'string' || !call || call.custom !== custom) {
          return ['tool_result_unknown_tool_use', `${ev.type}: ${JSON.stringify(id)} is not a ${custom ? 'custom ' : ''}tool use of this session`];
        }
        if (call.answered || pendingResults.has(id)) return ['tool_result_duplicate', `${ev.type}: ${id} already has a result`];
        // A call the session closed itself (interrupt) still takes the runner's late result.
        if (call.closed) {
          pendingResults.add(id);
          return null;
        }
        const perm = call.event.evaluated_permission;
        if (perm === 'deny' || call.confirmation === 'deny') return ['tool_result_for_denied', `${ev.type}: ${id} was denied`];
        if (perm === 'ask' && call.confirmation !== 'allow') {
          return ['tool_result_before_confirmation', `${ev.type}: ${id} awaits a user.tool_confirmation`];
        }
        if (ev.content !== undefined && !Array.isArray(ev.content)) return ['invalid_event', `${ev.type}: content must be an array`];
        pendingResults.add(id);
        return null;
      }
      case 'user.tool_confirmation': {
        const call = this.calls.get(ev.tool_use_id);
        if (!call || call.custom) return ['confirmation_unknown_tool_use', `user.tool_confirmation: unknown tool_use_id ${JSON.stringify(ev.tool_use_id)}`];
        if (ev.result !== 'allow' && ev.result !== 'deny') return ['invalid_event', 'user.tool_confirmation: result must be allow or deny'];
        if (call.confirmation !== null) return ['confirmation_duplicate', `user.tool_confirmation: ${ev.tool_use_id} already confirmed`];
        return null;
      }
      default:
        return USER_TYPES.has(ev.type) || INGRESS_TYPES.has(ev.type) ? null : ['invalid_event', `unsupported event type ${ev.type}`];
    }
  }

  /** Streams new events as SSE until the session ends, the client leaves, or a drop fault fires. */
  openStream(res) {
    const plane = this.plane;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      // HTTP/2 has no connection header (res.stream is its stream).
      ...(res.stream ? {} : { connection: 'keep-alive' }),
      'request-id': res.requestId,
    });
    res.flushHeaders();
    const drip = plane.faults.takeSseDrip(this.id);
    if (drip) {
      // Bytes, but never a whole event (not even a keep-alive), until the client leaves.
      plane.report.fault('sse_drip', 'events.stream', { session_id: this.id, interval_ms: drip.interval_ms });
      const timer = setInterval(() => res.write('x'), drip.interval_ms);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const inject = plane.faults.takeSseInject(this.id);
    if (inject) {
      plane.report.fault('sse_inject', 'events.stream', { session_id: this.id, bytes: inject.bytes.length, close: inject.close });
      res.write(inject.bytes);
      if (inject.close) return void res.end();
    }
    // A drop rule is taken by the first event a stream carries, so that streams
    // which end without one (a session at rest) do not use the rule up.
    const st = { cursor: this.events.length, sent: 0, drop: undefined, waiting: false, closed: false };
    const finish = (mode) => {
      if (st.closed) return;
      st.closed = true;
      clearInterval(keepalive);
      this.streams.delete(pump);
      if (mode === 'destroy') res.destroy();
      else res.end();
    };
    // Writes follow the socket's pace ('drain'), so a slow reader only delays events, never loses them.
    const pump = () => {
      while (!st.closed && !st.waiting && st.cursor < this.events.length) {
        const ev = this.events[st.cursor++];
        if (st.drop === undefined) st.drop = plane.faults.takeSseDrop(this.id);
        const ok = res.write(`event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
        st.sent++;
        if (TERMINAL.has(ev.type)) return finish('end');
        if (st.drop && st.sent >= st.drop.after) {
          plane.report.fault('sse_drop', 'events.stream', { session_id: this.id, after_events: st.sent, mode: st.drop.mode });
          return finish(st.drop.mode);
        }
        if (!ok) {
          st.waiting = true;
          res.once('drain', () => {
            st.waiting = false;
            pump();
          });
        }
      }
    };
    const keepalive = setInterval(() => {
      if (!st.waiting) res.write('event: ping\ndata: {"type":"ping"}\n\n');
    }, plane.opts.keepaliveMs);
    res.on('close', () => finish('end'));
    this.streams.add(pump);
  }
}

function buildAgent(spec) {
  const ref = typeof spec === 'string' ? { id: spec } : spec;
  if (!ref || typeof ref.id !== 'string') throw badRequest('agent: an agent id or {type, id} object is required');
  return {
    id: ref.id,
    type: 'agent',
    name: ref.name ?? 'local-test-agent',
    description: null,
    system: ref.system ?? null,
    version: ref.version ?? 1,
    model: typeof ref.model === 'string' ? { id: ref.model } : (ref.model ?? { id: 'claude-sonnet-4-5' }),
    execution_identity: null,
    mcp_servers: ref.mcp_servers ?? [],
    multiagent: ref.multiagent ?? null,
    tools: ref.tools ?? [
      { type: 'agent_toolset_20260401', configs: [], default_config: { enabled: true, permission_policy: { type: 'always_allow' } } },
    ],
    skills: ref.skills ?? [],
  };
}

export function sessionRoutes(plane) {
  const session = (ctx) => plane.session(ctx.params.id);
  return [
    ['POST', '/v1/sessions', 'sessions.create', async (ctx) => {
      plane.requireApi(ctx);
      const body = (await ctx.body()) ?? {};
      if (typeof body.environment_id !== 'string') throw badRequest('environment_id: required');
      const env = plane.environment(body.environment_id);
      if (env.archived_at) {
        throw badRequest(`environment ${env.id} is archived`, { error_code: 'environment_archived' });
      }
      let resources = body.resources ?? [];
      if (!Array.isArray(resources) || resources.some((r) => r?.type !== 'memory_store')) {
        throw badRequest('resources: self-hosted sessions accept only memory_store resources');
      }
      resources = resources.map((r) => memoryResource(plane, r));
      const now = nowIso();
      const obj = {
        id: newId('sesn'),
        type: 'session',
        agent: buildAgent(body.agent),
        archived_at: null,
        budget: body.budget ?? null,
        created_at: now,
        updated_at: now,
        environment_id: env.id,
        metadata: body.metadata ?? {},
        outcome_evaluations: [],
        resources,
        stats: { active_seconds: 0, duration_seconds: 0 },
        status: 'idle',
        title: body.title ?? null,
        usage: { input_tokens: 0, output_tokens: 0 },
        vault_ids: body.vault_ids ?? [],
      };
      const s = new Session(plane, obj, plane.defaultScript);
      plane.addSession(s);
      if (env.config.type === 'self_hosted') plane.work.enqueue(env.id, obj.id, 'session_created');
      for (const ev of body.initial_events ?? []) {
        const bad = s.check(ev, new Set());
        if (bad) throw badRequest(bad[1]);
        s.append(ev);
      }
      return obj;
    }],
    ['GET', '/v1/sessions', 'sessions.list', (ctx) => {
      plane.requireApi(ctx);
      const q = ctx.query;
      const statuses = q.getAll('statuses[]');
      let all = [...plane.sessions.values()].map((s) => s.obj);
      if (q.get('include_archived') !== 'true') all = all.filter((s) => !s.archived_at);
      if (statuses.length) all = all.filter((s) => statuses.includes(s.status));
      if (q.get('agent_id')) all = all.filter((s) => s.agent.id === q.get('agent_id'));
      if (q.get('order') !== 'asc') all.reverse();
      return paginate(all, q);
    }],
    ['GET', '/v1/sessions/{id}', 'sessions.retrieve', (ctx) => {
      const s = session(ctx);
      plane.requireSessionCred(ctx, s);
      return s.obj;
    }],
    ['POST', '/v1/sessions/{id}', 'sessions.update', async (ctx) => {
      plane.requireApi(ctx);
      const s = session(ctx);
      const body = (await ctx.body()) ?? {};
      if (body.title !== undefined) s.obj.title = body.title;
      for (const [k, v] of Object.entries(body.metadata ?? {})) {
        if (v === null) delete s.obj.metadata[k];
        else s.obj.metadata[k] = String(v);
      }
      s.obj.updated_at = nowIso();
      return s.obj;
    }],
    ['POST', '/v1/sessions/{id}/archive', 'sessions.archive', (ctx) => {
      plane.requireApi(ctx);
      const s = session(ctx);
      if (!s.obj.archived_at) {
        s.obj.archived_at = nowIso();
        s.agent?.stop();
        s.append({ type: 'session.status_terminated' }, { fromAgent: true });
      }
      return s.obj;
    }],
    ['DELETE', '/v1/sessions/{id}', 'sessions.delete', (ctx) => {
      plane.requireApi(ctx);
      const s = session(ctx);
      s.agent?.stop();
      s.append({ type: 'session.deleted' }, { fromAgent: true });
      s.deleted = true;
      plane.sessions.delete(s.id);
      return { id: s.id, type: 'session_deleted' };
    }],
    ['GET', '/v1/sessions/{id}/events', 'events.list', (ctx) => {
      const s = session(ctx);
      plane.requireSessionCred(ctx, s);
      const types = ctx.query.getAll('types[]');
      let all = types.length ? s.events.filter((e) => types.includes(e.type)) : s.events;
      if (ctx.query.get('order') === 'desc') all = [...all].reverse();
      const { data, next_page } = paginate(all, ctx.query);
      return { data, next_page };
    }],
    ['POST', '/v1/sessions/{id}/events', 'events.send', async (ctx) => {
      const s = session(ctx);
      const cred = plane.requireSessionCred(ctx, s);
      const body = await ctx.body();
      if (!body || !Array.isArray(body.events) || body.events.length === 0) throw badRequest('events: a non-empty array is required');
      if (s.obj.archived_at) throw badRequest(`session ${s.id} is archived`);
      const pending = new Set();
      for (const ev of body.events) {
        if (INGRESS_TYPES.has(ev?.type) && cred.kind !== 'token') {
          plane.report.mistake('ingress_requires_sessions_token', ctx.route, { session_id: s.id, type: ev.type, credential: cred.kind });
          throw new ApiError(403, `${ev.type}: only the holder of the work item's sessions token may send agent-side events`);
        }
        const bad = s.check(ev, pending);
        if (bad) {
          plane.report.mistake(bad[0], ctx.route, { session_id: s.id, event: ev });
          throw badRequest(bad[1]);
        }
      }
      const data = body.events.map((ev) => s.append(ev));
      // docs/protocol.md §2: a new message to a session nobody serves enqueues a new work item.
      if (body.events.some((e) => e.type === 'user.message') && !plane.work.liveFor(s.id)) {
        const env = plane.environments.get(s.obj.environment_id);
        if (env?.config.type === 'self_hosted') plane.work.enqueue(env.id, s.id, 'user_message');
      }
      return { data };
    }],
    ['GET', '/v1/sessions/{id}/events/stream', 'events.stream', (ctx) => {
      const s = session(ctx);
      plane.requireSessionCred(ctx, s);
      s.openStream(ctx.res);
      return undefined;
    }],
  ];
}
