// The three credential classes and who may call what.
//   API key          admin calls (environments, sessions, work retrieve/update)
//   environment key  poll, ack, list, stats; per-item calls as a fallback
//   sessions token   one work item: its heartbeat/stop, its session and events
import { ApiError, randomToken } from './http.mjs';

export class Credentials {
  constructor(apiKeys) {
    this.apiKeys = new Set(apiKeys);
    this.envKeys = new Map(); // key -> environment id
    this.tokens = new Map(); // sessions token -> { workId, worker }
  }

  issueEnvKey(envId) {
    const key = randomToken('sk-ant-oat01-');
    this.envKeys.set(key, envId);
    return key;
  }

  issueSessionsToken(workId, worker) {
    const token = randomToken('sk-ant-req-');
    this.tokens.set(token, { workId, worker });
    return token;
  }

  revokeEnvironment(envId) {
    for (const [k, id] of this.envKeys) if (id === envId) this.envKeys.delete(k);
  }

  /** Classifies the request's credential: `{kind: none|unknown|api|env|token, ...}`. */
  identify(req) {
    let token = req.headers['x-api-key'];
    const auth = req.headers.authorization;
    if (!token && auth) {
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      token = m ? m[1].trim() : undefined;
    }
    if (!token) return { kind: 'none' };
    if (this.apiKeys.has(token)) return { kind: 'api' };
    if (this.envKeys.has(token)) return { kind: 'env', envId: this.envKeys.get(token) };
    const t = this.tokens.get(token);
    if (t) return { kind: 'token', workId: t.workId, worker: t.worker };
    return { kind: 'unknown' };
  }
}

/** Thrown for a credential that is valid but of the wrong class or scope. */
export function forbidden(msg) {
  return new ApiError(403, msg);
}

export function unauthenticated(cred) {
  return new ApiError(401, cred.kind === 'none' ? 'missing credentials' : 'invalid credentials');
}
