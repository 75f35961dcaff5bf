// HTTP plumbing shared by all routes: ids, timestamps, JSON and error
// responses in the API's envelope, body reading, cursor pagination.
import { randomBytes } from 'node:crypto';

export const BETA = 'managed-agents-2026-04-01';
const MAX_BODY = 8 * 1024 * 1024;

export const nowIso = (ms = Date.now()) => new Date(ms).toISOString();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function newId(prefix) {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

export function randomToken(prefix) {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

const STATUS_TYPES = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  412: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

/** An error that becomes the API's error envelope. */
export class ApiError extends Error {
  constructor(status, message, { type, details, headers } = {}) {
    super(message);
    this.status = status;
    this.type = type ?? STATUS_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    this.details = details;
    this.headers = headers ?? {};
  }
}

export const badRequest = (msg, details) => new ApiError(400, msg, { details });
export const notFound = (what) => new ApiError(404, `${what} not found`);

export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': res.requestId,
    ...headers,
  });
  res.end(text);
}

export function sendError(res, err) {
  const error = { type: err.type, message: err.message };
  if (err.details) error.details = err.details;
  // Members some error types carry beside the message (memory_path_conflict_error).
  if (err.extra) Object.assign(error, err.extra);
  sendJson(res, err.status, { type: 'error', error, request_id: res.requestId }, err.headers);
}

/** Reads a JSON body; an absent body is `undefined`. */
export async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY) throw new ApiError(413, 'request body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('request body is not valid JSON');
  }
}

/** Integer query parameter within [min, max]; `undefined` when absent. */
export function intParam(query, name, min, max) {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw badRequest(`${name}: must be an integer between ${min} and ${max}`);
  }
  return n;
}

/**
 * PageCursor over an in-memory array: `limit` and an opaque `page` cursor in,
 * `{data, next_page}` out, with `next_page: null` on the last page (the SDK
 * keeps following any non-empty cursor, even after an empty page).
 */
export function paginate(items, query, { defaultLimit = 20, maxLimit = 1000 } = {}) {
  const limit = intParam(query, 'limit', 1, maxLimit) ?? defaultLimit;
  let offset = 0;
  const page = query.get('page');
  if (page) {
    const m = /^o(\d+)$/.exec(Buffer.from(page, 'base64url').toString('utf8'));
    if (!m) throw badRequest('page: invalid cursor');
    offset = Number(m[1]);
  }
  const data = items.slice(offset, offset + limit);
  const end = offset + data.length;
  const next_page = end < items.length ? Buffer.from(`o${end}`).toString('base64url') : null;
  const prev_page = offset > 0 ? Buffer.from(`o${Math.max(0, offset - limit)}`).toString('base64url') : null;
  return { data, next_page, prev_page };
}
