// Memory stores (docs/protocol.md §12), differential: the same session with a
// read-write store and a read-only one, served once by the SDK's worker and
// once by the C runner (--memory-sync-sec 5 for both). Before the turn a
// memory is changed on the server; the agent then creates, edits and
// deletes files in the mounted folder, edits the changed memory locally
// (the server wins), and tries to write into the read-only store. Every
// tool result must be byte-identical, both control-plane stores must end
// with the same memories, and both runners must remove the folders.
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  API_KEY, CP_URL, apiClient, cp, done, environment, ok, say, startRunner, startWorker, TMP, toolCalls, until,
  untilNoTracked, untilTurnEnds, untilWork,
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
const dump = (id) => admin('GET', `/_test/memory_stores/${id}`);

// The control plane's conflict answers, as the SDK sees them.
{
  const store = await admin('POST', '/_test/memory_stores', { name: 'shapes', memories: [{ path: '/x.md', content: 'x' }] });
  const [m] = (await dump(store.id)).memories;
  const noRetry = { maxRetries: 0 };
  const err = async (p) => p.then(() => null, (e) => e);
  const e1 = await err(client.beta.memoryStores.memories.update(m.id, {
    memory_store_id: store.id, content: 'y', precondition: { type: 'content_sha256', content_sha256: '0'.repeat(64) },
  }, noRetry));
  ok(e1?.status === 409 && e1.error?.error?.type === 'memory_precondition_failed_error', 'update with a stale content_sha256: 409 memory_precondition_failed_error', e1?.error);
  const e2 = await err(client.beta.memoryStores.memories.delete(m.id, { memory_store_id: store.id, expected_content_sha256: '0'.repeat(64) }, noRetry));
  ok(e2?.status === 409 && e2.error?.error?.type === 'memory_precondition_failed_error', 'delete with a stale expected_content_sha256: 409', e2?.error);
  const e3 = await err(client.beta.memoryStores.memories.create(store.id, { path: '/x.md/y', content: 'z' }, noRetry));
  ok(e3?.status === 409 && e3.error?.error?.type === 'memory_path_conflict_error' && e3.error.error.conflicting_path === '/x.md',
    'create under an existing memory: 409 memory_path_conflict_error with conflicting_path', e3?.error);
  const same = await client.beta.memoryStores.memories.update(m.id, {
    memory_store_id: store.id, content: 'x', precondition: { type: 'content_sha256', content_sha256: '0'.repeat(64) },
  });
  ok(same.content === null && same.path === '/x.md', 'an update to the same content succeeds despite the precondition (basic view)');
  const page = await client.beta.memoryStores.memories.list(store.id, { view: 'full', limit: 50, path_prefix: '/', depth: 1 });
  ok(page.data.length === 1 && page.data[0].content === 'x', 'list with view/limit/path_prefix/depth');
}

const MEMORIES = [
  { path: '/a.md', content: 'alpha\n' },
  { path: '/keep.md', content: 'keep\n' },
  { path: '/del.md', content: 'delete me\n' },
  { path: '/conflict.md', content: 'v1\n' },
  { path: '/dir/deep.md', content: 'deep\n' },
];
const B = (command, extra = {}) => ({ name: 'bash', input: { command }, ...extra });
const calls = [
  B('(cd memory && find . | LC_ALL=C sort && cat notes/.anthropic-memory-store; echo; cat notes/conflict.md ref/ro.md)'),
  { name: 'write', input: { file_path: 'memory/notes/new.md', content: 'brand new\n' } },
  { name: 'write', input: { file_path: 'memory/notes/sub/dir/n2.md', content: 'nested new\n' } },
  { name: 'edit', input: { file_path: 'memory/notes/a.md', old_string: 'alpha', new_string: 'ALPHA' } },
  B('rm memory/notes/del.md'),
  { name: 'edit', input: { file_path: 'memory/notes/conflict.md', old_string: 'v1', new_string: 'v1-local' } },
  { name: 'write', input: { file_path: 'memory/ref/ro.md', content: 'overwrite\n' } },
  { name: 'edit', input: { file_path: 'memory/ref/ro.md', old_string: 'read', new_string: 'write' } },
  { name: 'read', input: { file_path: 'memory/ref/ro.md' } },
  { name: 'read', input: { file_path: '<WD>/memory/notes/keep.md' } },
  { name: 'write', input: { file_path: '../outside-memory.txt', content: 'x' } },
  B('echo local > memory/ref/local-only.txt; echo ok'),
  // A sync is due after this call (5 s since the download), and the C
  // runner's timer fires meanwhile: the server's version of conflict.md
  // comes down, the new and edited files go up.
  B('true', { delay_ms: 5500 }),
  B('(cd memory/notes && find . -type f | LC_ALL=C sort && cat conflict.md a.md)', { delay_ms: 1500 }),
];

async function serve(kind) {
  const { env, key } = await environment(client, `memory-${kind}`);
  const notes = await admin('POST', '/_test/memory_stores', { name: 'notes', memories: MEMORIES });
  const ref = await admin('POST', '/_test/memory_stores', { name: 'ref', memories: [{ path: '/ro.md', content: 'read only\n' }] });
  const wd = join(tmp, `memory-${kind}`, 'wd');
  mkdirSync(wd, { recursive: true });
  const session = await client.beta.sessions.create({
    agent: 'agent_memory',
    environment_id: env.id,
    resources: [
      { type: 'memory_store', memory_store_id: notes.id },
      { type: 'memory_store', memory_store_id: ref.id, access: 'read_only' },
    ],
  });
  const subst = (v) => JSON.parse(JSON.stringify(v).replaceAll('<WD>', wd));
  await cp.script(session.id, { turns: [{ tool_calls: calls.map(subst), message: 'done' }] });
  const opts = { envId: env.id, key, workdir: wd, maxIdleSec: 1, workerId: `memory-${kind}`, extra: ['--memory-sync-sec', '5'] };
  const proc = kind === 'sdk' ? startWorker(opts) : startRunner(opts);
  return { kind, wd, session, proc, notes, ref, env };
}

const runs = await Promise.all([serve('sdk'), serve('c')]);
const results = {};
try {
  // Once both stores are downloaded, the server's copy of conflict.md changes.
  for (const r of runs) {
    const listed = await until(async () => {
      const log = (await cp.report()).requests.log;
      const got = (id) => log.some((e) => e.route === 'memories.list' && e.status === 200 && e.path.includes(id));
      return got(r.notes.id) && got(r.ref.id);
    }, 20_000);
    ok(listed, `${r.kind}: both stores downloaded before the turn`, listed ? undefined : r.proc.log().slice(-3000));
    const m = (await dump(r.notes.id)).memories.find((x) => x.path === '/conflict.md');
    await client.beta.memoryStores.memories.update(m.id, { memory_store_id: r.notes.id, content: 'v2-server\n' });
    await say(client, r.session.id, 'work with memory');
  }
  for (const r of runs) {
    const events = await untilTurnEnds(r.session.id, 1, 60_000);
    ok(events, `${r.kind}: the session's turn ends`, events ? undefined : r.proc.log().slice(-3000));
    results[r.kind] = toolCalls(events ?? []).map((c) => ({
      is_error: c.is_error,
      text: c.text.replaceAll(r.wd, '<WD>').replaceAll(r.notes.id, '<NOTES>').replaceAll(r.ref.id, '<REF>'),
    }));
  }
  const diffs = calls.map((c, i) => [i, results.sdk?.[i], results.c?.[i]])
    .filter(([, s, c]) => !s || !c || s.is_error !== c.is_error || s.text !== c.text);
  ok(diffs.length === 0 && results.c?.length === calls.length, `all ${calls.length} tool results byte-identical`, diffs);
  const text = (i) => results.c?.[i]?.text ?? '';
  ok(text(0).includes('./notes/.anthropic-memory-store') && text(0).includes('./notes/dir/deep.md') && text(0).includes('./ref/ro.md'),
    'the stores are mounted at <workdir>/memory/<name> with the marker', text(0));
  ok(text(0).includes('version 1\n<NOTES>\nv1\n'),
    'the marker holds "version 1\\n<store id>"', text(0));
  ok(results.c?.[6]?.is_error && text(6) === 'write: memory/ref/ro.md is inside read-only directory <WD>/memory/ref',
    'write into a read-only store is refused with the SDK\'s message', text(6));
  ok(results.c?.[7]?.is_error && text(7) === 'edit: memory/ref/ro.md is inside read-only directory <WD>/memory/ref',
    'edit into a read-only store is refused with the SDK\'s message', text(7));
  ok(!results.c?.[9]?.is_error, 'an absolute path inside a store is readable', text(9));
  ok(text(10) === 'write: path "../outside-memory.txt" is outside the session\'s working directory and its other permitted directories',
    'outside paths name the other permitted directories', text(10));
  ok(text(13).includes('v2-server') && text(13).includes('ALPHA'), 'the mid-session sync pulled the server\'s version of the conflict', text(13));
  // A store that cannot be mounted (something already sits at its mount
  // path) fails the item: no tool runs, the item is stopped, the folder is
  // left as found.
  for (const r of runs) {
    const existing = join(tmp, `memory-${r.kind}-existing`);
    mkdirSync(existing, { recursive: true });
    writeFileSync(join(existing, 'leftover.md'), 'left\n');
    const s2 = await client.beta.sessions.create({
      agent: 'agent_memory',
      environment_id: r.env.id,
      resources: [{ type: 'memory_store', memory_store_id: r.notes.id, mount_path: existing }],
    });
    await cp.script(s2.id, { turns: [{ tool_calls: [B('echo ran')], message: 'done' }] });
    await say(client, s2.id, 'go');
    const w = await untilWork(s2.id, (w) => w.length > 0 && w.every((x) => x.state === 'stopped'), 30_000);
    const evs = (await cp.report()).sessions[s2.id]?.events ?? [];
    ok(w && !evs.some((e) => e.type === 'user.tool_result') && readdirSync(existing).join(',') === 'leftover.md',
      `${r.kind}: an unmountable store fails the item, no tool runs, the folder stays as found`,
      { work: w, types: evs.map((e) => e.type) });
  }
} finally {
  // The teardown syncs for the last time, then stops the item.
  for (const r of runs) {
    const w = await untilWork(r.session.id, (w) => w.length > 0 && w.every((x) => x.state === 'stopped'), 60_000);
    ok(w, `${r.kind}: the work item is stopped after the final sync`);
  }
  const exits = await Promise.all(runs.map((r) => r.proc.stop()));
  ok(exits.every((e) => e.code === 0), 'SDK worker and C runner exit 0', exits);
}

const view = (d) => d.memories.map((m) => `${m.path}=${JSON.stringify(m.content)}`).join('\n');
const finals = {};
for (const r of runs) finals[r.kind] = { notes: view(await dump(r.notes.id)), ref: view(await dump(r.ref.id)) };
ok(finals.sdk.notes === finals.c.notes && finals.sdk.ref === finals.c.ref, 'both control-plane stores end with the same memories', finals);
ok(finals.c.notes === ['/a.md="ALPHA\\n"', '/conflict.md="v2-server\\n"', '/dir/deep.md="deep\\n"', '/keep.md="keep\\n"',
  '/new.md="brand new\\n"', '/sub/dir/n2.md="nested new\\n"'].join('\n'),
  'created, edited and deleted memories reached the server; the server won the conflict', finals.c.notes);
ok(finals.c.ref === '/ro.md="read only\\n"', 'the read-only store is unchanged', finals.c.ref);
for (const r of runs) {
  const left = existsSync(join(r.wd, 'memory')) ? readdirSync(join(r.wd, 'memory')) : [];
  ok(left.length === 0, `${r.kind}: the store folders are removed at the end`, left);
}
const [sdkTop, cTop] = runs.map((r) => readdirSync(r.wd).sort().join(','));
ok(sdkTop === cTop, 'the workdirs hold the same entries afterwards', { sdk: sdkTop, c: cTop });
const left = await untilNoTracked(tmp, 3000);
ok(left.length === 0, 'no tracked process left', left);
done();
