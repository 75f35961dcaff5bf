// A scripted Messages API (`POST /v1/messages`, streaming and not), so that
// the Claude Code CLI runs offline against the local control plane
// (messagesRoutes() below: the requests the CLI sends and what it expects).
//
// A request is a main-loop request when it offers tools. Its answer:
//  - the last message carries tool_result blocks: the text
//    `The command printed: <results>`, end_turn;
//  - else the first rule whose `match` occurs in the last user message's text
//    answers (`text` alone: that text, end_turn; `tool`: {name, input}, or
//    `command`: a Bash call), a tool call ending with stop_reason tool_use;
//  - else a Bash call of `echo 2+2=$((2+2))`.
// Other requests (titles, summaries) get `Fake reply.`. Rules, a delay and a
// forced failure status are set with POST /_test/messages.
import { ApiError, newId } from './http.mjs';

const MODELS = ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1'];
const DEFAULT_COMMAND = 'echo 2+2=$((2+2))';

export class MessagesApi {
  constructor(plane, { keys = [] } = {}) {
    this.plane = plane;
    this.keys = new Set(keys); // inference keys, besides the API keys
    this.config = { rules: [], delay_ms: 0, fail_status: 0 };
    this.log = [];
  }

  configure(body) {
    const c = body ?? {};
    if (c.rules !== undefined && !Array.isArray(c.rules)) throw new ApiError(400, 'rules: expected an array');
    this.config = { rules: c.rules ?? [], delay_ms: Number(c.delay_ms ?? 0), fail_status: Number(c.fail_status ?? 0) };
    if (Array.isArray(c.keys)) for (const k of c.keys) this.keys.add(String(k));
    return this.config;
  }

  /** Which key a request carried: 'inference', 'api', 'unknown' or 'none' (never the key itself). */
  keyClass(req) {
    let key = req.headers['x-api-key'];
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!key && m) key = m[1].trim();
    if (!key) return 'none';
    if (this.keys.has(key)) return 'inference';
    if (this.plane.creds.apiKeys.has(key)) return 'api';
    return 'unknown';
  }

  authorize(ctx) {
    const kind = this.keyClass(ctx.req);
    if (kind === 'none' || kind === 'unknown') throw new ApiError(401, kind === 'none' ? 'missing credentials' : 'invalid x-api-key');
    return kind;
  }

  reply(body) {
    const tools = Array.isArray(body.tools) ? body.tools : [];
    if (tools.length === 0) return { blocks: [{ type: 'text', text: 'Fake reply.' }], stop: 'end_turn' };
    const msgs = Array.isArray(body.messages) ? body.messages : [];
    const last = msgs.at(-1);
    const blocks = Array.isArray(last?.content) ? last.content : [];
    const results = blocks.filter((b) => b?.type === 'tool_result');
    // After an interrupt the CLI sends the cut-off call's result with the next message.
    const asked = blocks.some((b) => b?.type === 'text' && !/^\s*(<system-reminder>|\[Request interrupted)/.test(b.text ?? ''));
    if (last?.role === 'user' && results.length && !asked) {
      const text = results
        .map((r) => (typeof r.content === 'string' ? r.content : (r.content ?? []).map((c) => c.text ?? '').join('\n')))
        .join('\n')
        .split('<system-reminder>')[0] // the CLI appends reminders to results
        .trim();
      return { blocks: [{ type: 'text', text: `The command printed: ${text}` }], stop: 'end_turn' };
    }
    const said = lastUserText(msgs);
    const rule = this.config.rules.find((r) => typeof r.match === 'string' && said.includes(r.match));
    if (rule && rule.text !== undefined && !rule.tool && !rule.command) {
      return { blocks: [{ type: 'text', text: String(rule.text) }], stop: 'end_turn' };
    }
    const tool = rule?.tool ?? { name: 'Bash', input: { command: rule?.command ?? DEFAULT_COMMAND, description: 'Run a command' } };
    if (!tools.some((t) => t.name === tool.name)) {
      return { blocks: [{ type: 'text', text: `No ${tool.name} tool offered; answer: 4` }], stop: 'end_turn' };
    }
    return {
      blocks: [
        { type: 'text', text: rule?.text ?? 'I will run a command.' },
        { type: 'tool_use', id: newId('toolu_fake'), name: tool.name, input: tool.input ?? {} },
      ],
      stop: 'tool_use',
    };
  }

  record(ctx, body, kind, reply, status) {
    this.log.push({
      at: new Date().toISOString(),
      path: new URL(ctx.req.url, 'http://x').pathname,
      status,
      key: kind,
      header_names: Object.keys(ctx.req.headers).sort(),
      model: body?.model ?? null,
      stream: !!body?.stream,
      tools: (body?.tools ?? []).map((t) => t.name),
      roles: (body?.messages ?? []).map((m) => m.role),
      texts: messageTexts(body?.messages ?? []),
      system_length: systemText(body?.system).length,
      system_tail: systemText(body?.system).slice(-300),
      reply: reply ? { stop_reason: reply.stop, blocks: reply.blocks.map((b) => b.type) } : null,
    });
    if (this.log.length > 1000) this.log.splice(0, this.log.length - 1000);
  }

  async create(ctx) {
    const kind = this.authorize(ctx);
    const body = (await ctx.body()) ?? {};
    if (this.config.delay_ms > 0) await new Promise((r) => setTimeout(r, this.config.delay_ms));
    if (this.config.fail_status) {
      this.record(ctx, body, kind, null, this.config.fail_status);
      throw new ApiError(this.config.fail_status, 'fake server: forced failure', { type: 'api_error' });
    }
    const reply = this.reply(body);
    this.record(ctx, body, kind, reply, 200);
    const model = typeof body.model === 'string' ? body.model : 'claude-fake';
    const inTokens = Math.max(1, Math.round(JSON.stringify(body.messages ?? []).length / 4));
    const outTokens = Math.max(1, Math.round(JSON.stringify(reply.blocks).length / 4));
    const id = newId('msg_fake');
    const usage = { input_tokens: inTokens, output_tokens: outTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    if (!body.stream) {
      return { id, type: 'message', role: 'assistant', model, content: reply.blocks, stop_reason: reply.stop, stop_sequence: null, usage };
    }
    const res = ctx.res;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': res.requestId, ...(res.stream ? {} : { connection: 'close' }) });
    const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', {
      type: 'message_start',
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
    });
    send('ping', { type: 'ping' });
    reply.blocks.forEach((b, index) => {
      if (b.type === 'text') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        for (let i = 0; i < b.text.length; i += 12) {
          send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text.slice(i, i + 12) } });
        }
      } else {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
        const json = JSON.stringify(b.input);
        for (let i = 0; i < json.length; i += 16) {
          send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(i, i + 16) } });
        }
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    });
    send('message_delta', { type: 'message_delta', delta: { stop_reason: reply.stop, stop_sequence: null }, usage: { output_tokens: outTokens } });
    send('message_stop', { type: 'message_stop' });
    res.end();
    return undefined;
  }
}

function textOfContent(content) {
  if (typeof content === 'string') return [content];
  return (Array.isArray(content) ? content : []).filter((b) => b?.type === 'text').map((b) => b.text ?? '');
}

function lastUserText(msgs) {
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m?.role !== 'user') continue;
    const texts = textOfContent(m.content);
    if (texts.length) return texts.join('\n');
  }
  return '';
}

function messageTexts(msgs) {
  return msgs.flatMap((m) => textOfContent(m?.content).map((t) => `${m.role}: ${t.length > 400 ? `${t.slice(0, 200)}...${t.slice(-200)}` : t}`));
}

function systemText(system) {
  if (typeof system === 'string') return system;
  return (Array.isArray(system) ? system : []).map((b) => b?.text ?? '').join('\n');
}

function model(id) {
  return { type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' };
}

export function messagesRoutes(plane) {
  const api = plane.messages;
  return [
    ['POST', '/v1/messages', 'messages.create', (ctx) => api.create(ctx)],
    ['POST', '/v1/messages/count_tokens', 'messages.count_tokens', async (ctx) => {
      api.authorize(ctx);
      const body = (await ctx.body()) ?? {};
      return { input_tokens: Math.max(1, Math.round(JSON.stringify(body).length / 4)) };
    }],
    ['GET', '/v1/models', 'messages.models', (ctx) => {
      api.authorize(ctx);
      return { data: MODELS.map(model), has_more: false, first_id: MODELS[0], last_id: MODELS.at(-1) };
    }],
    ['GET', '/v1/models/{id}', 'messages.model', (ctx) => {
      api.authorize(ctx);
      return model(ctx.params.id);
    }],
    ['POST', '/_test/messages', '_test.messages', async (ctx) => {
      plane.requireApi(ctx);
      return { config: api.configure(await ctx.body()) };
    }],
    ['GET', '/_test/messages', '_test.messages', (ctx) => {
      plane.requireApi(ctx);
      return { config: api.config, requests: api.log };
    }],
  ];
}
