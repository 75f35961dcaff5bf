// Skills (docs/protocol.md §12): skill versions and their content archives, as
// the SDK's worker downloads them. Admin: POST /_test/skills uploads an
// archive (any bytes) as a new skill or a new version of one.
import { createHash } from 'node:crypto';
import { ApiError, badRequest, newId, notFound, nowIso } from './http.mjs';

const MAX_ARCHIVE = 64 * 1024 * 1024;

/** The raw request body as a Buffer (capped). */
export async function readRaw(req, max = MAX_ARCHIVE) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > max) throw new ApiError(413, 'request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export class Skills {
  constructor() {
    this.skills = new Map(); // skill_id -> {id, display_title, created_at, versions: [...]}
    this.clock = Date.now() * 1000;
  }

  /** Adds a version (a new skill unless `skillId` names one); returns the version object. */
  add({ skillId, name, description = '', archive }) {
    let skill = skillId ? this.skills.get(skillId) : undefined;
    if (skillId && !skill) throw notFound(`skill ${skillId}`);
    if (!skill) {
      skill = { id: newId('skill'), display_title: name, created_at: nowIso(), versions: [] };
      this.skills.set(skill.id, skill);
    }
    // Version ids are microsecond timestamps, as the API's are; always increasing.
    this.clock = Math.max(this.clock + 1, Date.now() * 1000);
    const version = {
      type: 'skill_version',
      id: String(this.clock),
      skill_id: skill.id,
      name,
      description,
      created_at: nowIso(),
    };
    skill.versions.push({ version, archive, sha256: createHash('sha256').update(archive).digest('hex') });
    return version;
  }

  /** The stored version for `version` (an id or `latest`). */
  find(skillId, version) {
    const skill = this.skills.get(skillId);
    if (!skill) throw notFound(`skill ${skillId}`);
    const v = version === 'latest' ? skill.versions.at(-1) : skill.versions.find((x) => x.version.id === version);
    if (!v) throw notFound(`version ${version} of skill ${skillId}`);
    return v;
  }
}

export function skillRoutes(plane) {
  // Any caller that could fetch a session: the API key, an environment key or a live sessions token.
  const anyCred = (ctx) => {
    const c = ctx.cred;
    if (c.kind === 'api' || c.kind === 'env') return;
    if (c.kind === 'token') {
      const item = plane.work.items.get(c.workId);
      if (item && item.state !== 'stopped') return;
    }
    plane.requireApi(ctx);
  };
  return [
    ['GET', '/v1/skills/{id}/versions/{version}', 'skills.versions.retrieve', (ctx) => {
      anyCred(ctx);
      return plane.skills.find(ctx.params.id, ctx.params.version).version;
    }],
    ['GET', '/v1/skills/{id}/versions/{version}/content', 'skills.versions.content', (ctx) => {
      anyCred(ctx);
      const v = plane.skills.find(ctx.params.id, ctx.params.version);
      ctx.res.writeHead(200, {
        'content-type': 'application/zip',
        'content-length': v.archive.length,
        'request-id': ctx.res.requestId,
      });
      ctx.res.end(v.archive);
      return undefined;
    }],
    // Admin: the body is the archive; name (required), description and skill_id (add a version) in the query.
    ['POST', '/_test/skills', '_test.skills', async (ctx) => {
      plane.requireApi(ctx);
      const name = ctx.query.get('name');
      if (!name) throw badRequest('name: required (query parameter)');
      const archive = await readRaw(ctx.req);
      return plane.skills.add({
        skillId: ctx.query.get('skill_id') || undefined,
        name,
        description: ctx.query.get('description') ?? '',
        archive,
      });
    }],
  ];
}
