// The SDK's own worker serves a scripted session that calls every toolset
// tool (bash, read, write, edit, glob, grep), including error paths, one
// `ask` answered allow, one `ask` answered deny and one `deny`; the results
// must be right and each executed call answered exactly once.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, cp, done, environment, ok, say, startWorker, textOf, toolCalls, until, workOf } from './lib.mjs';

const script = {
  write: ['write', { file_path: 'notes/a.txt', content: 'alpha\nbeta\ngamma\n' }],
  read: ['read', { file_path: 'notes/a.txt' }],
  readRange: ['read', { file_path: 'notes/a.txt', view_range: [2, 3] }],
  edit: ['edit', { file_path: 'notes/a.txt', old_string: 'beta', new_string: 'BETA' }],
  editMissing: ['edit', { file_path: 'notes/a.txt', old_string: 'nope', new_string: 'x' }],
  glob: ['glob', { pattern: '**/*.txt' }],
  globDotDot: ['glob', { pattern: '../*' }],
  grep: ['grep', { pattern: 'BETA' }],
  grepNone: ['grep', { pattern: 'zzz_absent' }],
  readOutside: ['read', { file_path: '/etc/hostname' }],
  readMissing: ['read', { file_path: 'missing.txt' }],
  bash: ['bash', { command: 'wc -l < notes/a.txt' }],
  bashExit: ['bash', { command: 'sh -c "exit 3"' }],
  bashKill: ['bash', { command: 'exit 4' }],
  bashGone: ['bash', { command: 'echo not run' }],
  bashFresh: ['bash', { command: 'echo fresh', restart: true }],
  askAllow: ['write', { file_path: 'asked.txt', content: 'approved' }, 'ask'],
  askDeny: ['bash', { command: 'touch ask-denied.txt' }, 'ask'],
  deny: ['bash', { command: 'touch denied.txt' }, 'deny'],
};
const labels = Object.keys(script);
const calls = Object.values(script).map(([name, input, evaluated_permission]) => ({
  name,
  input,
  ...(evaluated_permission && { evaluated_permission }),
}));
const ref = (label) => `{{result.${labels.indexOf(label)}}}`;

const client = apiClient();
const { env, key } = await environment(client, 'tools');
const worker = startWorker({ envId: env.id, key, maxIdleSec: 1, workerId: 'tools-worker' });
try {
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: calls, message: `lines: ${ref('bash')}; asked: ${ref('askAllow')}; ask-denied: ${ref('askDeny')}` }] });

  const stream = await client.beta.sessions.events.stream(session.id, {}, { signal: AbortSignal.timeout(40_000) });
  await say(client, session.id, 'use every tool');
  const seen = [];
  for await (const ev of stream) {
    seen.push(ev);
    if (ev.type === 'agent.tool_use' && ev.evaluated_permission === 'ask') {
      const allow = ev.name === 'write';
      await client.beta.sessions.events.send(session.id, {
        events: [{ type: 'user.tool_confirmation', tool_use_id: ev.id, result: allow ? 'allow' : 'deny', ...(!allow && { deny_message: 'no' }) }],
      });
    }
    if (ev.type === 'session.status_idle' && ev.stop_reason?.type === 'end_turn') break;
  }
  const r = toolCalls(seen);
  const at = (label) => r[labels.indexOf(label)] ?? {};
  const w = worker.workdir;
  ok(r.length === calls.length, `all ${calls.length} tool uses were emitted`, r.length);
  ok(at('write').text === 'wrote 17 bytes to notes/a.txt' && !at('write').is_error, 'write creates a file with parent dirs', at('write'));
  ok(at('read').text === 'alpha\nbeta\ngamma\n', 'read returns the file verbatim', at('read'));
  ok(at('readRange').text === 'beta\ngamma', 'read view_range [2,3]', at('readRange'));
  ok(at('edit').text === 'edited notes/a.txt (1 replacement(s))', 'edit replaces a unique string', at('edit'));
  ok(at('editMissing').is_error && at('editMissing').text === 'edit: old_string not found in notes/a.txt', 'edit error: old_string not found', at('editMissing'));
  ok(!at('glob').is_error && at('glob').text.split('\n').includes(join(w, 'notes/a.txt')), 'glob lists the absolute path', at('glob'));
  ok(at('globDotDot').is_error && at('globDotDot').text === 'glob: ".." is not permitted in the pattern', 'glob error: ".." refused', at('globDotDot'));
  ok(!at('grep').is_error && /notes\/a\.txt:2:BETA$/m.test(at('grep').text), 'grep finds the edited line', at('grep'));
  ok(!at('grepNone').is_error && at('grepNone').text === 'no matches', 'grep without hits: no matches', at('grepNone'));
  ok(at('readOutside').is_error && at('readOutside').text.includes('is outside the session\'s working directory'), 'read outside the workdir refused', at('readOutside'));
  ok(at('readMissing').is_error && at('readMissing').text.includes('no such file or directory'), 'read of a missing file fails', at('readMissing'));
  ok(!at('bash').is_error && at('bash').text === '3', 'bash runs in the workdir', at('bash'));
  ok(at('bashExit').is_error && at('bashExit').text === '(no output)', 'bash non-zero exit with no output is an error "(no output)"', at('bashExit'));
  ok(at('bashKill').is_error && at('bashKill').text.startsWith('(no output)\n[The shell is gone. '), 'bash: exit in the shell itself ends the shell', at('bashKill'));
  ok(at('bashGone').is_error && at('bashGone').text.startsWith('[This command did not run, because the shell is gone. '), 'bash: the next call does not run', at('bashGone'));
  ok(at('bashFresh').text === 'fresh', 'bash: a call with restart gets a fresh shell', at('bashFresh'));
  ok(at('askAllow').results.length === 1 && readFileSync(join(w, 'asked.txt'), 'utf8') === 'approved', 'ask + allow confirmation: executed once', at('askAllow'));
  ok(at('askDeny').results.length === 0 && !existsSync(join(w, 'ask-denied.txt')), 'ask + deny confirmation: not executed, no result', at('askDeny'));
  ok(at('deny').results.length === 0 && !existsSync(join(w, 'denied.txt')), 'deny: not executed, no result', at('deny'));
  ok(readFileSync(join(w, 'notes/a.txt'), 'utf8') === 'alpha\nBETA\ngamma\n', 'the file holds the edit');
  const answer = textOf(seen.find((e) => e.type === 'agent.message')?.content);
  ok(answer === 'lines: 3; asked: wrote 8 bytes to asked.txt; ask-denied: (denied: no)', 'final message echoes tool results', answer);

  const report = await until(async () => {
    const rep = await cp.report();
    return workOf(rep, session.id)[0]?.state === 'stopped' ? rep : null;
  }, 10_000);
  ok(report && Object.keys(report.mistake_counts).length === 0, 'no protocol mistakes (no duplicate results)', report?.mistakes);
  ok(report?.work.find((x) => x.session_id === session.id)?.history.at(-1).reason === 'stop_force', "worker released the item with a force stop after maxIdle");
} finally {
  const r = await worker.stop();
  ok(r.code === 0, 'SDK worker exits 0', { r, log: worker.log().slice(-2000) });
}
done();
