// The control plane: state, routing, credential checks and the request
// pipeline (beta-header check, fault injection, handler, report).
import { ApiError, BETA, newId, notFound, readJson, sendError, sendJson } from './http.mjs';
import { Credentials, forbidden, unauthenticated } from './auth.mjs';
import { Faults } from './faults.mjs';
import { Report } from './report.mjs';
import { WorkQueue, workRoutes } from './work.mjs';
import { sessionRoutes } from './sessions.mjs';
import { environmentRoutes } from './environments.mjs';
import { adminRoutes } from './admin.mjs';
import { DEFAULT_SCRIPT } from './agent.mjs';
import { Skills, skillRoutes } from './skills.mjs';
import { MEMORY_BETA, MemoryStores, memoryRoutes } from './memory.mjs';
import { MessagesApi, messagesRoutes } from './messages.mjs';

// How long after an item's stop its sessions token may still arrive from a
// request sent before the stop (see requireSessionCred).
const IN_FLIGHT_GRACE_MS = 250;

function compile(pattern) {
  const src = pattern.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)');
  return new RegExp(`^${src}$`);
}

export class ControlPlane {
  /**
   * @param opts {apiKeys, leaseTtlSec, keepaliveMs, strictBeta, verbose, defaultScript, inferenceKeys}
   */
  constructor(opts) {
    this.opts = opts;
    this.baseUrl = null; // set once listening; goes into work secrets
    this.report = new Report();
    this.faults = new Faults(this.report);
    this.creds = new Credentials(opts.apiKeys);
    this.environments = new Map();
    this.sessions = new Map(); // live (not deleted)
    this.everySession = new Map(); // including deleted, for the report
    this.defaultScript = opts.defaultScript ?? DEFAULT_SCRIPT;
    this.work = new WorkQueue(this);
    this.skills = new Skills();
    this.memoryStores = new MemoryStores();
    this.messages = new MessagesApi(this, { keys: opts.inferenceKeys ?? [] });
    this.routes = [...environmentRoutes(this), ...workRoutes(this), ...sessionRoutes(this), ...adminRoutes(this), ...messagesRoutes(this), ...skillRoutes(this), ...memoryRoutes(this)].map(
      ([method, pattern, name, handler]) => ({ method, re: compile(pattern), name, handler }),
    );
  }

  close() {
    this.work.close();
  }

  environment(id) {
    const e = this.environments.get(id);
    if (!e) throw new ApiError(404, `environment ${id} not found`, { details: { error_code: 'environment_not_found' } });
    return e;
  }

  addSession(s) {
    this.sessions.set(s.id, s);
    this.everySession.set(s.id, s);
  }

  session(id) {
    const s = this.sessions.get(id);
    if (!s) throw notFound(`session ${id}`);
    return s;
  }

  // --- credential checks (see auth.mjs for the classes) ---

  #refuse(ctx, need) {
    const kind = ctx.cred.kind;
    if (kind === 'none' || kind === 'unknown') {
      this.report.mistake(`${kind === 'none' ? 'missing' : 'unknown'}_credential`, ctx.route, {});
      throw unauthenticated(ctx.cred);
    }
    this.report.mistake('wrong_credential', ctx.route, { credential: kind, need });
    throw forbidden(`this call requires ${need}`);
  }

  requireApi(ctx) {
    if (ctx.cred.kind !== 'api') this.#refuse(ctx, 'an API key');
    return ctx.cred;
  }

  requireEnvKey(ctx, envId, { allowApi = false } = {}) {
    const c = ctx.cred;
    if ((c.kind === 'env' && c.envId === envId) || (allowApi && c.kind === 'api')) return c;
    return this.#refuse(ctx, `the environment key of ${envId}`);
  }

  /** Ack, heartbeat, stop: the environment key or this item's sessions token (docs/protocol.md §1). */
  requireItemCred(ctx, item) {
    const c = ctx.cred;
    ctx.worker ??= item._.worker;
    if ((c.kind === 'env' && c.envId === item.environment_id) || (c.kind === 'token' && c.workId === item.id)) return c;
    return this.#refuse(ctx, `the environment key or the sessions token of ${item.id}`);
  }

  /** Session calls: API key, the environment key, or the token of a not-yet-stopped item of this session. */
  requireSessionCred(ctx, s) {
    const c = ctx.cred;
    if (c.kind === 'api' || (c.kind === 'env' && c.envId === s.obj.environment_id)) return c;
    if (c.kind === 'token') {
      const item = this.work.items.get(c.workId);
      if (item?.data.id === s.id) {
        if (item.state !== 'stopped') return c;
        // A request the runner sent before its stop can reach us after it (another
        // connection): refused all the same, a mistake only past that window.
        if (Date.now() - Date.parse(item.stopped_at) > IN_FLIGHT_GRACE_MS) this.report.mistake('expired_sessions_token', ctx.route, { work_id: item.id });
        throw new ApiError(401, `sessions token of ${item.id} expired: the work item is stopped`);
      }
    }
    return this.#refuse(ctx, `a credential for session ${s.id}`);
  }

  // --- request pipeline ---

  #match(method, path) {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.re.exec(path);
      if (m) {
        const params = {};
        for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
        return { ...r, params };
      }
    }
    return null;
  }

  async handle(req, res) {
    res.requestId = newId('req');
    const startedMs = Date.now();
    const url = new URL(req.url, 'http://127.0.0.1');
    const match = this.#match(req.method, url.pathname);
    let bodyPromise;
    const ctx = {
      req,
      res,
      route: match?.name ?? 'unknown',
      params: match?.params ?? {},
      query: url.searchParams,
      cred: this.creds.identify(req),
      worker: req.headers['anthropic-worker-id'] || null,
      body: () => (bodyPromise ??= readJson(req)),
    };
    if (ctx.cred.kind === 'token') ctx.worker = ctx.cred.worker;
    // The header a forged sessions token (the secret_token knob) tries to inject.
    if (req.headers['x-injected'] !== undefined) this.report.mistake('header_injected', ctx.route, { path: url.pathname });
    this.report.opened(ctx.route);
    res.on('close', () => {
      this.report.request({
        route: ctx.route,
        method: req.method,
        path: url.pathname,
        status: res.statusCode,
        worker: ctx.worker,
        retryCount: Number(req.headers['x-stainless-retry-count'] ?? 0),
        version: req.headers['anthropic-version'] ?? null,
        startedMs,
        credential: ctx.cred.kind,
        http: req.httpVersion,
      });
      if (this.opts.verbose) console.error(`${req.method} ${req.url} -> ${res.statusCode} (${ctx.route}, ${ctx.cred.kind})`);
    });
    try {
      if (!match) throw notFound(`route ${req.method} ${url.pathname}`);
      // The Messages API (messages.mjs) is not a managed-agents call: no beta header is expected.
      if (url.pathname.startsWith('/v1/') && !ctx.route.startsWith('messages.')) {
        const betas = String(req.headers['anthropic-beta'] ?? '').split(',').map((s) => s.trim());
        // The skills calls carry no beta header; the memory ones theirs or the sessions one.
        const skip = ctx.route.startsWith('skills.') || (ctx.route.startsWith('memories.') && betas.includes(MEMORY_BETA));
        if (!skip && !betas.includes(BETA)) {
          this.report.mistake('missing_beta_header', ctx.route, { path: url.pathname });
          if (this.opts.strictBeta) throw new ApiError(400, `anthropic-beta: ${BETA} is required`);
        }
        await this.faults.before(ctx.route, ctx.params.id, ctx.cred.kind);
        if (this.faults.sendRaw(ctx.route, ctx.params.id, ctx.cred.kind, res)) return;
        if (this.faults.hold(ctx.route, ctx.params.id, ctx.cred.kind, res)) return;
      }
      const out = await match.handler(ctx);
      if (out !== undefined) sendJson(res, 200, out);
    } catch (e) {
      if (res.headersSent) return void res.destroy();
      if (!(e instanceof ApiError)) console.error(e);
      sendError(res, e instanceof ApiError ? e : new ApiError(500, 'internal error'));
    }
  }
}
