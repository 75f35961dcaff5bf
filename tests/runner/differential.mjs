// Differential: the same scripted session (every toolset tool, success and
// error paths, path-confinement attacks) served once by the SDK's own worker
// and once by the C runner, each in a fresh workdir built the same way. Every
// call's user.tool_result content and is_error must be byte-identical once
// the workdir path is replaced by <WD>; the attacks must be refused by both.
//
// Then the item's lifecycle, both runners side by side again: a call the
// session does not wait on, a running call interrupted, one whose item the
// server asks to stop, one whose session is archived, calls of two session
// threads (one shell each; a terminated thread's is gone). The posted results
// (the stopped call's included), the item's transitions and the stop
// requests must be the same.
import { existsSync, mkdirSync, readFileSync, realpathSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  apiClient, cp, done, environment, eventsOf, ok, say, startRunner, startWorker, TMP, toolCalls, until, untilNoTracked, untilTurnEnds,
  untilWork,
} from './lib.mjs';

const client = apiClient();
// Both runners inherit it; neither may pass it to a tool (bash-env counts ANTHROPIC_* variables).
process.env.ANTHROPIC_PROBE_VARIABLE = 'must-not-reach-tools';
const tmp = realpathSync(TMP);
// Outside every workdir: `../../outside` from TMP/<x>/wd, and the same absolute path for both runs.
const outside = join(tmp, 'outside');
mkdirSync(outside, { recursive: true });
writeFileSync(join(outside, 'secret.txt'), 'outside secret\n');
const OUT = '<OUT>';

function buildTree(root) {
  mkdirSync(root, { recursive: true });
  let t = 1_600_000_000;
  const mk = (rel, content) => {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    utimesSync(p, t, t);
    t += 10;
  };
  mk('notes/a.txt', 'alpha\nbeta\ngamma\n');
  mk('notes/b.md', '# b\n');
  mk('src/main.c', 'int main(void) { return 0; }\n');
  mk('src/deep/leaf.c', 'leaf\n');
  mk('src/deep/leaf.h', '#define LEAF 1\n');
  mk('dup.txt', 'x = 1; x = 2; x = 3;\n');
  mk('uniq.txt', 'hello world\n');
  mk('existing.txt', 'old content\n');
  mk('utf8.txt', 'caf\u00e9 \u{1f600}\n');
  // 300 000 bytes: over the 256 KiB read cap.
  const lines = [];
  for (let i = 0; i < 3000; i++) lines.push(String.fromCharCode(97 + (i % 26)).repeat(99));
  mk('big.txt', lines.join('\n') + '\n');
  mkdirSync(join(root, 'emptydir'));
}

const B = (command, extra = {}) => ['bash', { command, ...extra }];
// [label, tool, input, expectation for the attack checks ('refused') or undefined]
const calls = [
  // bash
  ['bash-echo', ...B('echo hello')],
  ['bash-exit3', ...B('sh -c "exit 3"')],
  ['bash-exit-output', ...B('echo partial; (exit 7)')],
  ['bash-stderr', ...B('echo to-stderr >&2; false')],
  ['bash-empty', ...B('true')],
  ['bash-ansi', ...B("printf '\\033[31mred\\033[0m plain\\n\\n\\n'")],
  ['bash-utf8', ...B("printf 'caf\\303\\251\\n'")],
  ['bash-cd', ...B('mkdir -p sub && cd sub && export FOO=bar')],
  ['bash-persist', ...B('pwd; echo "FOO=$FOO"')],
  ['bash-timeout', ...B('sleep 5; echo never', { timeout_ms: 300 })],
  ['bash-after-timeout', ...B('pwd; echo "FOO=$FOO"')],
  ['bash-set', ...B('cd sub; export FOO=again')],
  ['bash-restart', 'bash', { restart: true }],
  ['bash-after-restart', ...B('pwd; echo "FOO=$FOO"')],
  ['bash-restart-cmd', 'bash', { restart: true, command: 'echo restarted-and-ran' }],
  ['bash-nothing', 'bash', {}],
  ['bash-big', ...B('seq 1 30000')],
  ['bash-big-exact', ...B("head -c 102400 /dev/zero | tr '\\0' x")],
  ['bash-big-err', ...B('seq 1 40000; (exit 2)')],
  ['bash-exit-shell', ...B('exit 4')],
  ['bash-gone', ...B('echo not run')],
  ['bash-fresh', 'bash', { command: 'echo fresh; pwd', restart: true }],
  ['bash-env', ...B('env | grep -c "^ANTHROPIC_" || true')],
  ['bash-symlinks', ...B(`ln -s ${outside} outlink && ln -s ${outside}/secret.txt outfile && ln -s ../.. up && ln -s notes inlink && mkfifo fifo && echo made`)],
  // read
  ['read-whole', 'read', { file_path: 'notes/a.txt' }],
  ['read-range', 'read', { file_path: 'notes/a.txt', view_range: [2, 3] }],
  ['read-range-open', 'read', { file_path: 'notes/a.txt', view_range: [2, 0] }],
  ['read-range-past', 'read', { file_path: 'notes/a.txt', view_range: [7, 9] }],
  ['read-range-bad', 'read', { file_path: 'notes/a.txt', view_range: [1] }],
  ['read-utf8', 'read', { file_path: 'utf8.txt' }],
  ['read-abs-inside', 'read', { file_path: '<WD>/notes/a.txt' }],
  ['read-via-inside-link', 'read', { file_path: 'inlink/a.txt' }],
  ['read-too-big', 'read', { file_path: 'big.txt' }],
  ['read-big-range', 'read', { file_path: 'big.txt', view_range: [2, 4] }],
  ['read-big-range-too-big', 'read', { file_path: 'big.txt', view_range: [1, 0] }],
  ['read-missing', 'read', { file_path: 'missing.txt' }],
  ['read-dir', 'read', { file_path: 'src' }],
  ['read-fifo', 'read', { file_path: 'fifo' }],
  ['read-no-path', 'read', {}],
  ['read-dotdot', 'read', { file_path: '../../etc/passwd' }, 'refused'],
  ['read-dotdot-out', 'read', { file_path: '../../outside/secret.txt' }, 'refused'],
  ['read-abs-out', 'read', { file_path: '/etc/passwd' }, 'refused'],
  ['read-abs-out2', 'read', { file_path: `${OUT}/secret.txt` }, 'refused'],
  ['read-link-dir-out', 'read', { file_path: 'outlink/secret.txt' }, 'refused'],
  ['read-link-file-out', 'read', { file_path: 'outfile' }, 'refused'],
  ['read-link-up', 'read', { file_path: 'up/outside/secret.txt' }, 'refused'],
  // write
  ['write-new', 'write', { file_path: 'new.txt', content: 'h\u00e9llo\n' }],
  ['write-nested', 'write', { file_path: 'n1/n2/n3.txt', content: 'deep\n' }],
  ['write-existing', 'write', { file_path: 'existing.txt', content: 'new content\n' }],
  ['read-written', 'read', { file_path: 'existing.txt' }],
  ['write-modes', ...B('stat -c "%a %n" new.txt n1 n1/n2 n1/n2/n3.txt existing.txt')],
  ['write-no-path', 'write', { content: 'x' }],
  ['write-dir', 'write', { file_path: 'src', content: 'x' }],
  ['write-under-file', 'write', { file_path: 'uniq.txt/x', content: 'x' }],
  ['write-dotdot', 'write', { file_path: '../../outside/evil.txt', content: 'x' }, 'refused'],
  ['write-abs-out', 'write', { file_path: `${OUT}/evil.txt`, content: 'x' }, 'refused'],
  ['write-link-dir-out', 'write', { file_path: 'outlink/evil.txt', content: 'x' }, 'refused'],
  ['write-link-file-out', 'write', { file_path: 'outfile', content: 'x' }, 'refused'],
  ['write-link-up', 'write', { file_path: 'up/outside/evil.txt', content: 'x' }, 'refused'],
  // edit
  ['edit-unique', 'edit', { file_path: 'uniq.txt', old_string: 'world', new_string: 'there' }],
  ['edit-multiple', 'edit', { file_path: 'dup.txt', old_string: 'x =', new_string: 'y =' }],
  ['edit-replace-all', 'edit', { file_path: 'dup.txt', old_string: 'x =', new_string: 'y =', replace_all: true }],
  ['read-edited', 'read', { file_path: 'dup.txt' }],
  ['edit-special', 'edit', { file_path: 'uniq.txt', old_string: 'there', new_string: '$& $1 $$' }],
  ['read-special', 'read', { file_path: 'uniq.txt' }],
  ['edit-not-found', 'edit', { file_path: 'uniq.txt', old_string: 'absent', new_string: 'x' }],
  ['edit-empty-old', 'edit', { file_path: 'uniq.txt', old_string: '', new_string: 'x' }],
  ['edit-missing-file', 'edit', { file_path: 'nope.txt', old_string: 'a', new_string: 'b' }],
  ['edit-dir', 'edit', { file_path: 'src', old_string: 'a', new_string: 'b' }],
  ['edit-too-big', 'edit', { file_path: 'big.txt', old_string: 'a', new_string: 'b' }],
  ['edit-dotdot', 'edit', { file_path: '../../outside/secret.txt', old_string: 'secret', new_string: 'pwned' }, 'refused'],
  ['edit-dotdot-etc', 'edit', { file_path: '../../etc/passwd', old_string: 'zz-not-there', new_string: 'x' }, 'refused'],
  ['edit-abs-out', 'edit', { file_path: `${OUT}/secret.txt`, old_string: 'secret', new_string: 'pwned' }, 'refused'],
  ['edit-link-dir-out', 'edit', { file_path: 'outlink/secret.txt', old_string: 'secret', new_string: 'pwned' }, 'refused'],
  ['edit-link-file-out', 'edit', { file_path: 'outfile', old_string: 'secret', new_string: 'pwned' }, 'refused'],
  // glob
  ['glob-starstar', 'glob', { pattern: '**/*.c' }],
  ['glob-braces', 'glob', { pattern: '{notes,src}/*.{md,c}' }],
  ['glob-path', 'glob', { pattern: '*.h', path: 'src/deep' }],
  ['glob-none', 'glob', { pattern: '**/*.nothing' }],
  ['glob-dotdot', 'glob', { pattern: '../*' }],
  ['glob-dotdot-brace', 'glob', { pattern: '{a,..}/x' }],
  ['glob-abs', 'glob', { pattern: '/etc/*' }],
  ['glob-no-pattern', 'glob', {}],
  ['glob-path-missing', 'glob', { pattern: '*', path: 'nope' }],
  ['glob-path-dotdot', 'glob', { pattern: '*', path: '../../outside' }, 'refused'],
  ['glob-path-abs-out', 'glob', { pattern: '*', path: OUT }, 'refused'],
  ['glob-path-link-out', 'glob', { pattern: '*', path: 'outlink' }, 'refused'],
  // grep (ripgrep)
  ['grep-hit', 'grep', { pattern: 'gam+a', path: 'notes' }],
  ['grep-hit-file', 'grep', { pattern: 'main', path: 'src/main.c' }],
  ['grep-none', 'grep', { pattern: 'zzz_absent_zzz' }],
  ['grep-bad-regex', 'grep', { pattern: '(unclosed' }],
  ['grep-no-pattern', 'grep', {}],
  ['grep-missing-path', 'grep', { pattern: 'x', path: 'nope' }],
  ['grep-dotdot', 'grep', { pattern: 'secret', path: '../../outside' }, 'refused'],
  ['grep-abs-out', 'grep', { pattern: 'root', path: '/etc/passwd' }, 'refused'],
  ['grep-link-out', 'grep', { pattern: 'secret', path: 'outlink' }, 'refused'],
  ['grep-link-file-out', 'grep', { pattern: 'secret', path: 'outfile' }, 'refused'],
  // state after everything
  ['final-state', ...B('ls -A | sort; cat notes/a.txt')],
];

const subst = (v, wd) => JSON.parse(JSON.stringify(v).replaceAll('<WD>', wd).replaceAll(OUT, outside));

async function serve(kind) {
  const { env, key } = await environment(client, `diff-${kind}`);
  const wd = join(tmp, `diff-${kind}`, 'wd');
  buildTree(wd);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: calls.map(([, name, input]) => ({ name, input: subst(input, wd) })), message: 'done' }] });
  const opts = { envId: env.id, key, workdir: wd, maxIdleSec: 1, workerId: `diff-${kind}` };
  const proc = kind === 'sdk' ? startWorker(opts) : startRunner(opts);
  await say(client, session.id, 'every tool');
  return { kind, wd, session, proc };
}

const runs = await Promise.all([serve('sdk'), serve('c')]);
try {
  const results = {};
  for (const r of runs) {
    const events = await untilTurnEnds(r.session.id, 1, 60_000);
    ok(events, `${r.kind}: the session's turn ends`, events ? undefined : r.proc.log().slice(-3000));
    const tc = toolCalls(events ?? []);
    ok(tc.length === calls.length && tc.every((c) => c.results.length === 1), `${r.kind}: all ${calls.length} calls answered exactly once`,
      tc.map((c, i) => `${calls[i]?.[0]}: ${c.results.length}`).filter((s) => !s.endsWith(': 1')));
    results[r.kind] = tc.map((c) => ({
      is_error: c.results[0]?.is_error,
      // A long bash output is saved to a file of a random name, in the
      // runner's TMPDIR (a pod's differs from this machine's).
      content: JSON.stringify(c.results[0]?.content ?? null)
        .replaceAll(r.wd, '<WD>')
        .replaceAll(outside, OUT)
        .replace(/\/[^\s\\"]*\/bash-output-[^/]{6}\/[0-9a-f-]{36}\.txt/g, '<TMPDIR>/bash-output-<X>/<uuid>.txt'),
    }));
  }

  // DIFF_DUMP=FILE writes both runs' normalised results there, for a look.
  if (process.env.DIFF_DUMP) writeFileSync(process.env.DIFF_DUMP, JSON.stringify(calls.map(([label], i) => ({ label, sdk: results.sdk?.[i], c: results.c?.[i] })), null, 1));
  // Byte-identical results, call by call.
  const diffs = [];
  calls.forEach(([label], i) => {
    const s = results.sdk?.[i];
    const c = results.c?.[i];
    if (!s || !c || s.is_error !== c.is_error || s.content !== c.content) diffs.push({ call: label, sdk: s, c });
  });
  for (const d of diffs) {
    ok(false, `differs: ${d.call}`, {
      sdk: { is_error: d.sdk?.is_error, content: d.sdk?.content.slice(0, 600) },
      c: { is_error: d.c?.is_error, content: d.c?.content.slice(0, 600) },
    });
  }
  ok(diffs.length === 0, `all ${calls.length} results byte-identical (content and is_error) after normalising the workdir`,
    diffs.map((d) => d.call));

  // Spot checks that the corpus exercises what it claims, on the C runner's results.
  const at = (label) => results.c?.[calls.findIndex((x) => x[0] === label)] ?? {};
  const text = (label) => JSON.parse(at(label).content ?? 'null')?.[0]?.text;
  ok(text('bash-big')?.startsWith('1\n2\n') && text('bash-big').includes(' lines truncated] Full output saved to: '), 'bash output over 30,000 characters keeps the head and names the saved file', text('bash-big')?.slice(-200));
  ok(at('bash-timeout').is_error && text('bash-timeout')?.startsWith('\ncommand timed out after 0.3s\n[The shell is gone. '), 'bash timeout_ms', text('bash-timeout'));
  ok(at('bash-after-timeout').is_error && text('bash-after-timeout')?.startsWith('[This command did not run, because the shell is gone. '), 'bash: the shell is gone after a timeout', text('bash-after-timeout'));
  ok(text('bash-restart') === 'bash session restarted', 'bash restart', text('bash-restart'));
  ok(text('bash-persist') === '<WD>/sub\nFOO=bar', 'bash keeps cwd and environment between calls', text('bash-persist'));
  ok(text('bash-env') === '0', 'bash gets no ANTHROPIC_* variable', text('bash-env'));
  ok(text('grep-hit') === '<WD>/notes/a.txt:3:gamma\n', 'grep through rg finds the line', text('grep-hit'));
  ok(at('grep-bad-regex').is_error && text('grep-bad-regex')?.startsWith('grep: rg failed: '), 'grep bad regex is an rg error', text('grep-bad-regex'));

  // Path-confinement attacks: refused by every file tool in both runs, nothing outside touched.
  const attacks = calls.map(([label, , , exp], i) => ({ label, exp, i })).filter((x) => x.exp === 'refused');
  for (const kind of ['sdk', 'c']) {
    const bad = attacks.filter(({ i }) => {
      const r = results[kind]?.[i];
      return !r || r.is_error !== true || !JSON.parse(r.content)?.[0]?.text.includes("is outside the session's working directory");
    });
    ok(bad.length === 0, `${kind}: all ${attacks.length} confinement attacks refused (read, write, edit, glob, grep)`,
      bad.map(({ label, i }) => ({ label, result: results[kind]?.[i] })));
  }
  ok(readFileSync(join(outside, 'secret.txt'), 'utf8') === 'outside secret\n' && !existsSync(join(outside, 'evil.txt')),
    'nothing outside the workdirs was written');
} finally {
  const exits = await Promise.all(runs.map((r) => r.proc.stop()));
  ok(exits.every((e) => e.code === 0), 'SDK worker and C runner exit 0', exits);
  const left = await untilNoTracked(tmp, 3000);
  ok(left.length === 0, 'no tracked process left', left);
}

// ---- the item's lifecycle -------------------------------------------------

const LONG = 'touch started; sleep 30; echo never';

async function lifecycle(name, toolCallsOf, trigger) {
  const serveOne = async (kind) => {
    const { env, key } = await environment(client, `life-${name}-${kind}`);
    const wd = join(tmp, `life-${name}-${kind}`, 'wd');
    mkdirSync(wd, { recursive: true });
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(session.id, { turns: [{ tool_calls: toolCallsOf, message: 'done' }] });
    const opts = { envId: env.id, key, workdir: wd, maxIdleSec: 1, workerId: `life-${name}-${kind}` };
    const proc = kind === 'sdk' ? startWorker(opts) : startRunner(opts);
    await say(client, session.id, 'go');
    return { kind, wd, session, proc };
  };
  const pair = await Promise.all([serveOne('sdk'), serveOne('c')]);
  const seen = {};
  try {
    for (const r of pair) {
      if (trigger) {
        const started = await until(() => existsSync(join(r.wd, 'started')), 20_000);
        ok(started, `${name}: ${r.kind}: the long call runs`, started ? undefined : r.proc.log().slice(-2000));
        await untilWork(r.session.id, (w) => w[0]?.state === 'active', 5000);
        await trigger(r.session);
      }
    }
    for (const r of pair) {
      const w = await untilWork(r.session.id, (x) => x.length > 0 && x.every((i) => i.state === 'stopped'), 30_000);
      ok(w, `${name}: ${r.kind}: the item ends stopped`, w ? undefined : r.proc.log().slice(-2000));
      const rep = await cp.report();
      seen[r.kind] = {
        results: toolCalls(await eventsOf(r.session.id)).map((c) => c.results.map((x) => `${x.is_error}:${JSON.stringify(x.content)}`)),
        history: (w?.[0]?.history ?? []).map((h) => `${h.to}:${h.reason}`),
        stops: rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === `life-${name}-${r.kind}`).length,
      };
    }
  } finally {
    await Promise.all(pair.map((r) => r.proc.stop()));
  }
  ok(JSON.stringify(seen.sdk) === JSON.stringify(seen.c), `${name}: the same results, transitions and stops under both runners`, seen);
  return seen.c;
}

await cp.faults({ lease_ttl_sec: 4 });
try {
  const notAwaited = await lifecycle('not-awaited', [
    { name: 'bash', input: { command: 'touch ran' }, evaluated_permission: null, awaited: false },
    { name: 'bash', input: { command: 'echo after' } },
  ]);
  ok(notAwaited.results[0]?.length === 0 && notAwaited.results[1]?.length === 1, 'not-awaited: only the awaited call ran', notAwaited);
  const stopped = `true:${JSON.stringify([{ type: 'text', text: "tool 'bash' was stopped, and may have already done some or all of its work" }])}`;
  const interrupted = await lifecycle('interrupt', [{ name: 'bash', input: { command: LONG } }],
    (s) => client.beta.sessions.events.send(s.id, { events: [{ type: 'user.interrupt' }] }));
  ok(interrupted.results[0]?.[0] === stopped, 'interrupt: the stopped call\'s result is posted', interrupted);
  const stopReq = await lifecycle('stop-request', [{ name: 'bash', input: { command: LONG } }],
    (s) => cp.faults({ stop_request: { session_id: s.id } }));
  ok(stopReq.results[0]?.[0] === stopped && stopReq.stops === 1, 'stop-request: the stopped call\'s result is posted, one stop', stopReq);
  await lifecycle('archived', [{ name: 'bash', input: { command: LONG } }], (s) => client.beta.sessions.archive(s.id));
  // One shell per session thread; a thread that terminates loses its shell.
  const threads = await lifecycle('threads', [
    { name: 'bash', input: { command: 'export X=primary; echo "$X"' } },
    { name: 'bash', input: { command: 'echo "[$X]"; export X=sub' }, thread: 'sthr_sub' },
    { name: 'bash', input: { command: 'echo "$X"' } },
    { name: 'bash', input: { command: 'echo "$X"' }, thread: 'sthr_sub', end_thread: true },
    { name: 'bash', input: { command: 'echo "$X"' } },
    { name: 'bash', input: { command: 'echo again' }, thread: 'sthr_sub' },
  ]);
  const text = (r) => (r ? JSON.parse(r.slice(r.indexOf(':') + 1))[0]?.text : undefined);
  ok(text(threads.results[1]?.[0]) === '[]' && text(threads.results[2]?.[0]) === 'primary' && text(threads.results[3]?.[0]) === 'sub',
    'threads: each session thread has a shell of its own', threads);
  ok(/^true:.*did not run, because the shell is gone/.test(threads.results[5]?.[0] ?? ''),
    'threads: the shell of a terminated thread is gone', threads);
} finally {
  await cp.clearFaults();
}
const leftAfter = await untilNoTracked(tmp, 3000);
ok(leftAfter.length === 0, 'no tracked process left after the lifecycle scenarios', leftAfter);
done();
