// Environment routes: create, retrieve, update, list, archive, delete.
import { badRequest, newId, nowIso, paginate } from './http.mjs';

function checkConfig(config) {
  if (config === undefined || config === null) return { type: 'cloud', networking: { type: 'unrestricted' }, packages: {} };
  if (config.type === 'self_hosted') return { type: 'self_hosted' };
  if (config.type === 'cloud') return config;
  throw badRequest('config.type: must be self_hosted or cloud');
}

function applyMetadata(target, metadata) {
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (v === null || v === '') delete target[k];
    else target[k] = String(v);
  }
}

export function environmentRoutes(plane) {
  const env = (ctx) => plane.environment(ctx.params.id);
  return [
    ['POST', '/v1/environments', 'environments.create', async (ctx) => {
      plane.requireApi(ctx);
      const body = (await ctx.body()) ?? {};
      if (typeof body.name !== 'string' || body.name === '') throw badRequest('name: required');
      const now = nowIso();
      const e = {
        id: newId('env'),
        type: 'environment',
        name: body.name,
        description: body.description ?? null,
        config: checkConfig(body.config),
        metadata: {},
        scope: body.scope ?? 'organization',
        created_at: now,
        updated_at: now,
        archived_at: null,
      };
      applyMetadata(e.metadata, body.metadata);
      plane.environments.set(e.id, e);
      return e;
    }],
    ['GET', '/v1/environments', 'environments.list', (ctx) => {
      plane.requireApi(ctx);
      let all = [...plane.environments.values()];
      if (ctx.query.get('include_archived') !== 'true') all = all.filter((e) => !e.archived_at);
      const { data, next_page } = paginate(all, ctx.query);
      return { data, next_page };
    }],
    ['GET', '/v1/environments/{id}', 'environments.retrieve', (ctx) => {
      plane.requireApi(ctx);
      return env(ctx);
    }],
    ['POST', '/v1/environments/{id}', 'environments.update', async (ctx) => {
      plane.requireApi(ctx);
      const e = env(ctx);
      const body = (await ctx.body()) ?? {};
      if (body.config && body.config.type !== e.config.type) {
        throw badRequest('config.type cannot change', { error_code: 'invalid_config_type_change' });
      }
      if (body.name !== undefined) e.name = body.name;
      if (body.description !== undefined) e.description = body.description;
      if (body.config) e.config = checkConfig(body.config);
      applyMetadata(e.metadata, body.metadata);
      e.updated_at = nowIso();
      return e;
    }],
    ['POST', '/v1/environments/{id}/archive', 'environments.archive', (ctx) => {
      plane.requireApi(ctx);
      const e = env(ctx);
      e.archived_at ??= nowIso();
      return e;
    }],
    ['DELETE', '/v1/environments/{id}', 'environments.delete', (ctx) => {
      plane.requireApi(ctx);
      const e = env(ctx);
      plane.environments.delete(e.id);
      plane.creds.revokeEnvironment(e.id);
      return { id: e.id, type: 'environment_deleted' };
    }],
  ];
}
