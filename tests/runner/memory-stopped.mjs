// A memory file that a stopped call moved away is pulled again, not
// deleted on the server (SDK 1.17's restoreMissing), differential: a bash
// call moves a memory out of its store and sleeps; the user interrupts it;
// the session ends and its final sync runs. Under both the SDK's worker and
// the C runner the memory must still be on the server, and the call's
// result must be the SDK's "was stopped" text.
//
// Then a memory written during a turn reaches the server once the session
// goes idle (the worker's flush on idle), long before the periodic sync
// (--memory-sync-sec 300) or the end of the item (--max-idle-sec 30).
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import {
  API_KEY, CP_URL, apiClient, cp, done, environment, eventsOf, ok, say, startRunner, startWorker, TMP, toolCalls, untilNoTracked,
  until, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const tmp = realpathSync(TMP);

async function admin(method, path, body) {
  const res = await fetch(`${CP_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function serve(kind) {
  const { env, key } = await environment(client, `memory-stopped-${kind}`);
  const notes = await admin('POST', '/_test/memory_stores', { name: 'notes', memories: [{ path: '/keep.md', content: 'keep\n' }] });
  const wd = join(tmp, `memory-stopped-${kind}`, 'wd');
  mkdirSync(wd, { recursive: true });
  const session = await client.beta.sessions.create({
    agent: 'agent_memory',
    environment_id: env.id,
    resources: [{ type: 'memory_store', memory_store_id: notes.id }],
  });
  await cp.script(session.id, {
    turns: [{ tool_calls: [{ name: 'bash', input: { command: 'mv memory/notes/keep.md ../moved.md; sleep 30' } }], message: 'done' }],
  });
  const opts = { envId: env.id, key, workdir: wd, maxIdleSec: 1, workerId: `memory-stopped-${kind}`, extra: ['--memory-sync-sec', '5'] };
  const proc = kind === 'sdk' ? startWorker(opts) : startRunner(opts);
  await say(client, session.id, 'go');
  return { kind, wd, session, proc, notes };
}

const runs = await Promise.all([serve('sdk'), serve('c')]);
try {
  for (const r of runs) {
    const moved = await until(() => existsSync(join(r.wd, '..', 'moved.md')), 20_000);
    ok(moved, `${r.kind}: the call runs and has moved the memory away`, moved ? undefined : r.proc.log().slice(-2000));
  }
  for (const r of runs) await client.beta.sessions.events.send(r.session.id, { events: [{ type: 'user.interrupt' }] });
  for (const r of runs) {
    // The SDK posts once the tool returned and the memory was checked.
    const call = await until(async () => {
      const c = toolCalls(await eventsOf(r.session.id))[0];
      return c?.results.length ? c : null;
    }, 30_000);
    ok(call?.is_error && call.text === "tool 'bash' was stopped, and may have already done some or all of its work",
      `${r.kind}: the stopped call's result says so`, call);
    const w = await untilWork(r.session.id, (x) => x.length > 0 && x.every((i) => i.state === 'stopped'), 60_000);
    ok(w, `${r.kind}: the item is stopped after the final sync`, w ? undefined : r.proc.log().slice(-2000));
    const left = (await admin('GET', `/_test/memory_stores/${r.notes.id}`)).memories.map((m) => m.path);
    ok(left.includes('/keep.md'), `${r.kind}: the memory the stopped call moved away is still on the server`, left);
  }
} finally {
  const exits = await Promise.all(runs.map((r) => r.proc.stop()));
  ok(exits.every((e) => e.code === 0), 'SDK worker and C runner exit 0', exits);
}

// Flushed when the session goes idle.
async function serveIdle(kind) {
  const { env, key } = await environment(client, `memory-idle-${kind}`);
  const notes = await admin('POST', '/_test/memory_stores', { name: 'notes', memories: [{ path: '/keep.md', content: 'keep\n' }] });
  const wd = join(tmp, `memory-idle-${kind}`, 'wd');
  mkdirSync(wd, { recursive: true });
  const session = await client.beta.sessions.create({
    agent: 'agent_memory',
    environment_id: env.id,
    resources: [{ type: 'memory_store', memory_store_id: notes.id }],
  });
  await cp.script(session.id, {
    turns: [{ tool_calls: [{ name: 'write', input: { file_path: 'memory/notes/idle.md', content: 'written\n' } }], message: 'done' }],
  });
  const opts = { envId: env.id, key, workdir: wd, maxIdleSec: 30, workerId: `memory-idle-${kind}`, extra: ['--memory-sync-sec', '300'] };
  const proc = kind === 'sdk' ? startWorker(opts) : startRunner(opts);
  await say(client, session.id, 'go');
  return { kind, session, proc, notes };
}

const idleRuns = await Promise.all([serveIdle('sdk'), serveIdle('c')]);
try {
  for (const r of idleRuns) {
    ok(await untilTurnEnds(r.session.id, 1, 20_000), `idle flush: ${r.kind}: the turn ends`, r.proc.log().slice(-2000));
    const up = await until(async () => (await admin('GET', `/_test/memory_stores/${r.notes.id}`)).memories.some((m) => m.path === '/idle.md'), 10_000);
    const w = (await cp.report()).work.find((x) => x.session_id === r.session.id);
    ok(up && w?.state === 'active', `idle flush: ${r.kind}: the new memory is on the server while the item is still served`, { up, state: w?.state });
  }
} finally {
  await Promise.all(idleRuns.map((r) => r.proc.stop()));
}
const left = await untilNoTracked(tmp, 3000);
ok(left.length === 0, 'no tracked process left', left);
done();
