// Memory stores (docs/protocol.md §12): stores of text memories addressed by
// path, with the list/retrieve/create/update/delete endpoints the SDK's
// worker syncs through, their content_sha256 preconditions and the 409
// conflict errors it expects. Admin: POST /_test/memory_stores creates a
// store (optionally with memories), GET /_test/memory_stores/{id} dumps it.
import { createHash } from 'node:crypto';
import { ApiError, badRequest, intParam, newId, notFound, nowIso } from './http.mjs';

export const MEMORY_BETA = 'agent-memory-2026-07-22';
const MAX_CONTENT = 102400;
const MAX_PATH = 1024;
const MAX_SEGMENTS = 20;

const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

/** null when `p` is a valid memory path, else the reason. */
function pathProblem(p) {
  if (typeof p !== 'string' || !p.startsWith('/')) return 'must start with /';
  if (Buffer.byteLength(p) > MAX_PATH) return `must be at most ${MAX_PATH} bytes`;
  const segs = p.slice(1).split('/');
  if (segs.length < 1 || segs.length > MAX_SEGMENTS) return `must have 1 to ${MAX_SEGMENTS} segments`;
  if (segs.some((s) => s === '' || s === '.' || s === '..')) return 'segments cannot be empty, . or ..';
  // Control, format and line/paragraph separator characters.
  if (/[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/u.test(p)) return 'contains control or format characters';
  if (p.normalize('NFC') !== p) return 'must be in Unicode Normalization Form C';
  return null;
}

function conflictPath(path, other) {
  const e = new ApiError(409, `path ${path} conflicts with memory ${other.id} at ${other.path}`, {
    type: 'memory_path_conflict_error',
  });
  e.extra = { conflicting_path: other.path, conflicting_memory_id: other.id };
  return e;
}

const preconditionFailed = () =>
  new ApiError(409, "the memory's current content_sha256 does not match the precondition", {
    type: 'memory_precondition_failed_error',
  });

export class MemoryStores {
  constructor() {
    this.stores = new Map();
  }

  create({ name, description = '', memories = [] }) {
    if (typeof name !== 'string' || !name) throw badRequest('name: required');
    const store = { id: newId('memstore'), type: 'memory_store', name, description, created_at: nowIso(), memories: new Map() };
    this.stores.set(store.id, store);
    for (const m of memories) this.put(store, m.path, m.content ?? '');
    return store;
  }

  store(id) {
    const s = this.stores.get(id);
    if (!s) throw notFound(`memory store ${id}`);
    return s;
  }

  memory(store, id) {
    const m = store.memories.get(id);
    if (!m) throw notFound(`memory ${id}`);
    return m;
  }

  /** The memory at `path` or overlapping it (ancestor or descendant), other than `exceptId`. */
  overlap(store, path, exceptId) {
    for (const m of store.memories.values()) {
      if (m.id === exceptId) continue;
      if (m.path === path || m.path.startsWith(`${path}/`) || path.startsWith(`${m.path}/`)) return m;
    }
    return null;
  }

  checkContent(content) {
    if (typeof content !== 'string') throw badRequest('content: must be a string');
    if (Buffer.byteLength(content) > MAX_CONTENT) {
      throw new ApiError(413, `content: at most ${MAX_CONTENT} bytes`, { type: 'request_too_large' });
    }
  }

  put(store, path, content) {
    const bad = pathProblem(path);
    if (bad) throw badRequest(`path: ${bad}`);
    this.checkContent(content);
    const other = this.overlap(store, path);
    if (other) throw conflictPath(path, other);
    const now = nowIso();
    const m = { id: newId('mem'), path, content, created_at: now, updated_at: now, version: newId('memver') };
    store.memories.set(m.id, m);
    return m;
  }

  view(store, m, full) {
    return {
      type: 'memory',
      id: m.id,
      memory_store_id: store.id,
      path: m.path,
      content: full ? m.content : null,
      content_sha256: sha256(m.content),
      content_size_bytes: Buffer.byteLength(m.content),
      created_at: m.created_at,
      updated_at: m.updated_at,
      memory_version_id: m.version,
    };
  }

  /** Dump for tests: every memory by path, sorted. */
  dump(id) {
    const store = this.store(id);
    const memories = [...store.memories.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((m) => ({ path: m.path, content: m.content, content_sha256: sha256(m.content), id: m.id }));
    return { id: store.id, name: store.name, memories };
  }
}

function viewParam(query, dflt) {
  const v = query.get('view') ?? dflt;
  if (v !== 'basic' && v !== 'full') throw badRequest('view: must be basic or full');
  return v === 'full';
}

export function memoryRoutes(plane) {
  const ms = plane.memoryStores;
  // The API key, or the sessions token of a live item whose session attaches the store.
  const cred = (ctx, storeId) => {
    const c = ctx.cred;
    if (c.kind === 'api') return;
    if (c.kind === 'token') {
      const item = plane.work.items.get(c.workId);
      const s = item && plane.everySession.get(item.data.id);
      if (item && item.state !== 'stopped' && s?.obj.resources.some((r) => r.type === 'memory_store' && r.memory_store_id === storeId)) return;
      if (item && item.state === 'stopped') throw new ApiError(401, `sessions token of ${item.id} expired: the work item is stopped`);
    }
    if (c.kind === 'env') {
      plane.report.mistake('wrong_credential', ctx.route, { credential: 'env', need: 'a sessions token' });
      throw new ApiError(403, 'the memory endpoints do not accept an environment key');
    }
    plane.requireApi(ctx);
  };
  const withStore = (ctx) => {
    cred(ctx, ctx.params.id);
    return ms.store(ctx.params.id);
  };
  return [
    ['GET', '/v1/memory_stores/{id}/memories', 'memories.list', (ctx) => {
      const store = withStore(ctx);
      const q = ctx.query;
      const full = viewParam(q, 'basic');
      const limit = Math.min(intParam(q, 'limit', 1, 1000) ?? 20, full ? 20 : 100);
      const prefix = q.get('path_prefix') ?? '/';
      if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw badRequest('path_prefix: must start and end with /');
      const depth = intParam(q, 'depth', 0, MAX_SEGMENTS) ?? 0;
      const items = [];
      const prefixes = new Set();
      const sorted = [...store.memories.values()].filter((m) => m.path.startsWith(prefix)).sort((a, b) => (a.path < b.path ? -1 : 1));
      for (const m of sorted) {
        const rest = m.path.slice(prefix.length).split('/');
        if (depth > 0 && rest.length > depth) {
          const p = prefix + rest.slice(0, depth).join('/') + '/';
          if (!prefixes.has(p)) {
            prefixes.add(p);
            items.push({ type: 'memory_prefix', path: p });
          }
          continue;
        }
        items.push(ms.view(store, m, full));
      }
      let offset = 0;
      const page = q.get('page');
      if (page) {
        const m = /^o(\d+)$/.exec(Buffer.from(page, 'base64url').toString('utf8'));
        if (!m) throw badRequest('page: invalid cursor');
        offset = Number(m[1]);
      }
      const data = items.slice(offset, offset + limit);
      const end = offset + data.length;
      return { data, next_page: end < items.length ? Buffer.from(`o${end}`).toString('base64url') : null };
    }],
    ['GET', '/v1/memory_stores/{id}/memories/{mid}', 'memories.retrieve', (ctx) => {
      const store = withStore(ctx);
      return ms.view(store, ms.memory(store, ctx.params.mid), viewParam(ctx.query, 'full'));
    }],
    ['POST', '/v1/memory_stores/{id}/memories', 'memories.create', async (ctx) => {
      const store = withStore(ctx);
      const body = (await ctx.body()) ?? {};
      const m = ms.put(store, body.path, body.content ?? '');
      return ms.view(store, m, viewParam(ctx.query, 'basic'));
    }],
    ['POST', '/v1/memory_stores/{id}/memories/{mid}', 'memories.update', async (ctx) => {
      const store = withStore(ctx);
      const m = ms.memory(store, ctx.params.mid);
      const body = (await ctx.body()) ?? {};
      const content = body.content ?? m.content;
      const path = body.path ?? m.path;
      ms.checkContent(content);
      const bad = pathProblem(path);
      if (bad) throw badRequest(`path: ${bad}`);
      const pre = body.precondition;
      if (pre !== undefined && pre !== null) {
        if (pre.type !== 'content_sha256') throw badRequest('precondition.type: must be content_sha256');
        // Exactly the requested content and path already: succeeds anyway.
        if (pre.content_sha256 !== sha256(m.content) && !(content === m.content && path === m.path)) throw preconditionFailed();
      }
      if (path !== m.path) {
        const other = ms.overlap(store, path, m.id);
        if (other) throw conflictPath(path, other);
      }
      if (content !== m.content || path !== m.path) {
        m.content = content;
        m.path = path;
        m.updated_at = nowIso();
        m.version = newId('memver');
      }
      return ms.view(store, m, viewParam(ctx.query, 'basic'));
    }],
    ['DELETE', '/v1/memory_stores/{id}/memories/{mid}', 'memories.delete', (ctx) => {
      const store = withStore(ctx);
      const m = ms.memory(store, ctx.params.mid);
      const expected = ctx.query.get('expected_content_sha256');
      if (expected && expected !== sha256(m.content)) throw preconditionFailed();
      store.memories.delete(m.id);
      return { id: m.id, type: 'memory_deleted' };
    }],
    ['POST', '/_test/memory_stores', '_test.memory_stores', async (ctx) => {
      plane.requireApi(ctx);
      const body = (await ctx.body()) ?? {};
      const store = ms.create(body);
      return { id: store.id, type: 'memory_store', name: store.name, description: store.description, created_at: store.created_at };
    }],
    ['GET', '/_test/memory_stores/{id}', '_test.memory_stores', (ctx) => {
      plane.requireApi(ctx);
      return ms.dump(ctx.params.id);
    }],
  ];
}

/** A session's `memory_store` resource as the API returns it (mount_path: a test extension, else null). */
export function memoryResource(plane, r) {
  if (typeof r.memory_store_id !== 'string') throw badRequest('resources[].memory_store_id: required');
  const store = plane.memoryStores.stores.get(r.memory_store_id);
  if (!store) throw badRequest(`resources[].memory_store_id: unknown memory store ${r.memory_store_id}`);
  if (r.access != null && r.access !== 'read_write' && r.access !== 'read_only') {
    throw badRequest('resources[].access: must be read_write or read_only');
  }
  return {
    id: newId('sesrsc'),
    type: 'memory_store',
    memory_store_id: store.id,
    access: r.access ?? 'read_write',
    name: store.name,
    description: store.description,
    instructions: r.instructions ?? null,
    mount_path: r.mount_path ?? null,
  };
}
