// The scripted agent: plays a session's script turn by turn against the
// session's event log. See README.md for the script format.
import { badRequest, sleep } from './http.mjs';

export const DEFAULT_SCRIPT = {
  loop: true,
  turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo $((2+2))' } }], message: '2 + 2 = 4' }],
};

const PERMISSIONS = new Set(['allow', 'ask', 'deny']);

export function validateScript(s) {
  if (s === null || typeof s !== 'object') throw badRequest('script: expected a JSON object');
  if (s.external === true) return s;
  if (!Array.isArray(s.turns)) throw badRequest('script.turns: expected an array');
  for (const [t, turn] of s.turns.entries()) {
    if (turn.message !== undefined && typeof turn.message !== 'string') throw badRequest(`turns[${t}].message: expected a string`);
    for (const [c, call] of (turn.tool_calls ?? []).entries()) {
      if (typeof call.name !== 'string' || call.input === null || typeof call.input !== 'object') {
        throw badRequest(`turns[${t}].tool_calls[${c}]: name (string) and input (object) required`);
      }
      if (call.awaited !== undefined && typeof call.awaited !== 'boolean') throw badRequest(`turns[${t}].tool_calls[${c}].awaited: expected a boolean`);
      if (call.thread !== undefined && (typeof call.thread !== 'string' || !call.thread)) throw badRequest(`turns[${t}].tool_calls[${c}].thread: expected a session thread id`);
      if (call.end_thread !== undefined && (typeof call.end_thread !== 'boolean' || call.thread === undefined)) {
        throw badRequest(`turns[${t}].tool_calls[${c}].end_thread: a boolean, with thread`);
      }
      const p = call.evaluated_permission;
      if (p !== undefined && p !== null && !PERMISSIONS.has(p)) {
        throw badRequest(`turns[${t}].tool_calls[${c}].evaluated_permission: allow, ask, deny or null`);
      }
    }
  }
  return s;
}

class Interrupted extends Error {}

const textOf = (content) =>
  (Array.isArray(content) ? content : [])
    .map((b) => (b?.type === 'text' ? b.text : JSON.stringify(b)))
    .join('\n');

/** `{{user}}`, `{{result.N}}`, `{{is_error.N}}` of the current turn. */
function render(template, user, results) {
  return template.replace(/\{\{\s*(user|result\.(\d+)|is_error\.(\d+))\s*\}\}/g, (_, all, r, e) => {
    if (all === 'user') return user;
    if (r !== undefined) return results[Number(r)]?.text ?? '';
    return String(results[Number(e)]?.is_error ?? false);
  });
}

export class ScriptedAgent {
  /** @param session the Session (sessions.mjs) whose log this agent reads and appends to. */
  constructor(session, script) {
    this.session = session;
    this.script = script;
    this.turnIndex = 0;
    this.inbox = []; // user.message events not yet answered
    this.busy = false;
    this.waiters = new Set();
    this.stopped = false;
  }

  /** Called for every event a client appended to the session. */
  onEvent(ev) {
    if (this.stopped) return;
    if (ev.type === 'user.message') {
      this.inbox.push(ev);
      if (!this.busy) this.#drain();
    } else if (ev.type === 'user.interrupt') {
      this.inbox.length = 0;
      // The calls the turn waited on are answered by the session itself, so a runner stops them.
      for (const call of this.session.calls.values()) {
        if (call.answered || call.closed || call.event.evaluated_permission === 'deny' || call.confirmation === 'deny') continue;
        this.session.append(
          { type: 'agent.tool_result', tool_use_id: call.event.id, is_error: true, content: [{ type: 'text', text: 'interrupted by the user' }] },
          { fromAgent: true },
        );
      }
      for (const w of this.waiters) w.reject(new Interrupted());
    } else {
      for (const w of [...this.waiters]) if (w.pred(ev)) w.resolve(ev);
    }
  }

  /** Archive/delete: stop without emitting anything. */
  stop() {
    this.stopped = true;
    for (const w of this.waiters) w.reject(new Interrupted());
  }

  async #drain() {
    this.busy = true;
    try {
      while (this.inbox.length && !this.stopped) {
        const msg = this.inbox.shift();
        try {
          await this.#turn(msg, this.#nextTurn());
        } catch (e) {
          if (!(e instanceof Interrupted)) console.error(`agent ${this.session.id}: ${e.stack}`);
          else if (!this.stopped) this.#emit({ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null });
        }
      }
    } finally {
      this.busy = false;
    }
  }

  #nextTurn() {
    const turns = this.script.turns;
    if (this.turnIndex < turns.length) return turns[this.turnIndex++];
    if (this.script.loop && turns.length) return turns[this.turnIndex++ % turns.length];
    return { tool_calls: [], message: '(end of script)' };
  }

  #emit(ev) {
    if (this.stopped) throw new Interrupted();
    return this.session.append(ev, { fromAgent: true });
  }

  /** Resolves with the first event (already logged at index `from` or later, or future) matching `pred`. */
  #waitFor(pred, from) {
    const evs = this.session.events;
    for (let i = from; i < evs.length; i++) if (pred(evs[i])) return Promise.resolve(evs[i]);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (ev) => (this.waiters.delete(w), resolve(ev)),
        reject: (err) => (this.waiters.delete(w), reject(err)),
      };
      this.waiters.add(w);
    });
  }

  async #turn(msg, turn) {
    const user = textOf(msg.content);
    const results = [];
    this.#emit({ type: 'session.status_running' });
    for (const call of turn.tool_calls ?? []) {
      if (call.delay_ms) await sleep(call.delay_ms);
      const permission = call.evaluated_permission === undefined ? 'allow' : call.evaluated_permission;
      // pad_bytes: an input made that much larger (an event past a client's cap).
      const input = call.pad_bytes ? { ...call.input, pad: 'x'.repeat(call.pad_bytes) } : call.input;
      const use = { type: 'agent.tool_use', name: call.name, input };
      if (permission !== null) use.evaluated_permission = permission;
      // A subagent's call: its thread runs, and the call names it.
      const thread = call.thread;
      if (thread) {
        this.#emit({ type: 'session.thread_status_running', session_thread_id: thread });
        use.session_thread_id = thread;
      }
      const tu = this.#emit(use);
      // Its confirmation and result can only come after it: search from there, not from the
      // turn's start (a turn of n calls would scan O(n^2) events).
      const at = this.session.events.lastIndexOf(tu);
      if (permission === 'deny') {
        results.push({ text: '(denied)', is_error: true });
        continue;
      }
      if (call.awaited === false) {
        results.push({ text: '(not awaited)', is_error: false });
        continue;
      }
      const waiting = { stop_reason: { type: 'requires_action', event_ids: [tu.id] }, stop_details: null };
      const idle = () =>
        this.#emit(thread ? { type: 'session.thread_status_idle', session_thread_id: thread, ...waiting } : { type: 'session.status_idle', ...waiting });
      if (permission === 'ask') {
        idle();
        const c = await this.#waitFor((e) => e.type === 'user.tool_confirmation' && e.tool_use_id === tu.id, at);
        this.#emit({ type: 'session.status_running' });
        if (c.result !== 'allow') {
          results.push({ text: `(denied${c.deny_message ? `: ${c.deny_message}` : ''})`, is_error: true });
          continue;
        }
      }
      idle();
      const r = await this.#waitFor((e) => e.type === 'user.tool_result' && e.tool_use_id === tu.id, at);
      results.push({ text: textOf(r.content), is_error: r.is_error === true });
      if (!thread) this.#emit({ type: 'session.status_running' });
      else if (call.end_thread) this.#emit({ type: 'session.thread_status_terminated', session_thread_id: thread });
      else this.#emit({ type: 'session.thread_status_running', session_thread_id: thread });
    }
    const text = render(turn.message ?? '', user, results);
    this.#emit({ type: 'agent.message', content: [{ type: 'text', text }] });
    this.#emit({ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null });
  }
}
