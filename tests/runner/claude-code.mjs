// The claude-code executor with the real Claude Code CLI (tests/claude-code,
// `npm install --prefix tests/claude-code`), offline against the control
// plane's scripted Messages API:
//  - "What's 2 + 2?" yields a bash call and the answer, published as events
//    that the official SDK's sessions.events.stream reads back;
//  - a second message continues the same conversation (the Messages API sees
//    the first turn), and the agent's `env` shows no key of any kind;
//  - the key is not in the CLI's environment or argv either; the session's
//    agent gives the model and the system prompt;
//  - after the runner released the session, a new message is served by a new
//    CLI that is given the earlier turns;
//  - permission prompts become agent.tool_use "ask" events answered by
//    user.tool_confirmation;
//  - user.interrupt ends the running turn, and the session goes on;
//  - a crashed CLI ends the session with session.error and a force stop;
//  - a CLI that fails at once (a stand-in, run without the real CLI too):
//    the session.error carries the cause, its last line on stderr;
//  - nothing is left running and the CLI's state directory is removed.
// The sandbox is ER_TEST_SANDBOX (default: bubblewrap when it works here,
// else none).
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  API_KEY, apiClient, CP_URL, cp, done, environment, issuedTokens, leakedSecrets, ok, PLUGIN_DIR, say, startRunner, TMP,
  textOf, trackedProcs, until, untilNoTracked, untilTracked, untilWork,
} from './lib.mjs';

export const INFERENCE_KEY = 'sk-ant-api03-inference-test-key-0123456789';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const PREFIX = join(HERE, '../claude-code/node_modules/@anthropic-ai');

function findCli() {
  if (process.env.ER_TEST_CLAUDE) return process.env.ER_TEST_CLAUDE;
  if (!existsSync(PREFIX)) return null;
  const pkg = readdirSync(PREFIX).find((d) => /^claude-code-linux-/.test(d) && existsSync(join(PREFIX, d, 'claude')));
  return pkg ? join(PREFIX, pkg, 'claude') : null;
}

function pickSandbox() {
  if (process.env.ER_TEST_SANDBOX) return { name: process.env.ER_TEST_SANDBOX, note: 'from ER_TEST_SANDBOX' };
  if (!existsSync(join(PLUGIN_DIR, 'sandbox-bubblewrap.so'))) return { name: 'none', note: 'no bubblewrap plugin in this build' };
  const r = spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', '--share-net', 'true'], { timeout: 10_000 });
  if (r.status !== 0) return { name: 'none', note: `bwrap does not work here: ${String(r.stderr).trim().slice(0, 200)}` };
  return { name: 'bubblewrap', note: 'bwrap works here' };
}

const client = apiClient();
const keyFile = join(TMP, 'inference-key');
writeFileSync(keyFile, `${INFERENCE_KEY}\n`, { mode: 0o600 });

// A CLI that cannot start (say, it cannot read its prompt file): the session
// learns why, not only that the agent's process exited.
async function failingCli() {
  const name = 'cc-fails';
  const { env, key } = await environment(client, name);
  const fake = join(TMP, 'failing-claude');
  writeFileSync(fake, "#!/bin/sh\necho 'starting' >&2\necho \"EACCES: permission denied, open 'system-prompt.txt'\" >&2\nexit 1\n");
  chmodSync(fake, 0o755);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { external: true });
  const runner = startRunner({
    envId: env.id, key, baseDir: join(TMP, `base-${name}`), workerId: name, maxIdleSec: 3,
    extra: ['--executor=claude-code', `--exec-path=${fake}`, `--inference-url=${CP_URL}`, `--inference-key-file=${keyFile}`, '--sandbox-backend=none'],
  });
  try {
    await say(client, session.id, 'Hello');
    const err = await until(async () => (await cp.report()).sessions[session.id]?.events.find((e) => e.type === 'session.error'), 20_000);
    ok(err?.error?.message === "the agent process (Claude Code CLI) exited with status 1: EACCES: permission denied, open 'system-prompt.txt'",
      `${name}: the session.error carries the cause`, err ?? runner.log().slice(-2000));
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 20_000);
    ok(w, `${name}: the item is stopped`, w);
  } finally {
    await runner.stop();
  }
}
await failingCli();

const CLI = findCli();
if (!CLI) {
  console.log('# SKIP: the Claude Code CLI is not installed (npm install --prefix tests/claude-code failed or was not run)');
  ok(true, '# SKIP Claude Code CLI not installed');
  done();
}
const sandbox = pickSandbox();
console.log(`# sandbox: ${sandbox.name} (${sandbox.note})`);

async function messages() {
  const res = await fetch(`${CP_URL}/_test/messages`, { headers: { 'x-api-key': API_KEY } });
  return (await res.json()).requests;
}
async function setMessages(config) {
  const res = await fetch(`${CP_URL}/_test/messages`, {
    method: 'POST',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  if (!res.ok) throw new Error(`POST /_test/messages: ${res.status}`);
}

/** Reads the session's events with the official SDK, in the background. */
function follow(sessionId) {
  const seen = [];
  const ac = new AbortController();
  const task = (async () => {
    for (;;) {
      try {
        const stream = await client.beta.sessions.events.stream(sessionId, {}, { signal: ac.signal });
        for await (const ev of stream) seen.push(ev);
      } catch (e) {
        if (ac.signal.aborted) return;
      }
      if (ac.signal.aborted) return;
    }
  })();
  return {
    seen,
    idles: () => seen.filter((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'end_turn').length,
    async close() {
      ac.abort();
      await task;
    },
  };
}

// Under bubblewrap the CLI needs its install directory and the inference URL
// (127.0.0.1 here, so the host's network).
const sandboxFlags = sandbox.name === 'bubblewrap' ? [`--sandbox-read-only=${join(CLI, '..')}`, '--sandbox-network=host'] : [];

function runnerFor(name, { env, key, baseDir, extra = [] }) {
  return startRunner({
    envId: env.id, key, baseDir, workerId: name, maxIdleSec: 3,
    extra: ['--executor=claude-code', `--exec-path=${CLI}`, `--inference-url=${CP_URL}`, `--inference-key-file=${keyFile}`,
      `--sandbox-backend=${sandbox.name}`, ...sandboxFlags, ...extra],
  });
}

const turnEvents = (seen, from) => seen.slice(from);

async function conversation() {
  const name = 'cc-main';
  const { env, key } = await environment(client, name);
  const baseDir = join(TMP, `base-${name}`);
  mkdirSync(baseDir, { recursive: true });
  const session = await client.beta.sessions.create({
    agent: { type: 'agent_with_overrides', id: 'agent_local', model: 'claude-sonnet-4-5', system: 'Be brief. MARKER-SYSTEM-PROMPT' },
    environment_id: env.id,
  });
  await cp.script(session.id, { external: true });
  await setMessages({ rules: [{ match: 'Run env', command: 'env' }] });
  const runner = runnerFor(name, { env, key, baseDir, extra: ['--plugin-option', 'claude-code.allowed-tools=Bash'] });
  const events = follow(session.id);
  try {
    await say(client, session.id, "What's 2 + 2?");
    ok(await until(() => events.idles() >= 1, 60_000), `${name}: the first turn ends (session.status_idle end_turn)`, runner.log().slice(-4000));
    const t1 = turnEvents(events.seen, 0);
    const types = t1.map((e) => e.type);
    const use = t1.find((e) => e.type === 'agent.tool_use');
    const result = t1.find((e) => e.type === 'agent.tool_result');
    ok(types.indexOf('session.status_running') >= 0 && types.indexOf('session.status_running') < types.indexOf('agent.tool_use'),
      `${name}: session.status_running when the turn starts`, types);
    ok(use?.name === 'bash' && /echo 2\+2/.test(use?.input?.command ?? '') && use?.evaluated_permission === 'allow', `${name}: an agent.tool_use of bash`, use);
    ok(result?.tool_use_id === use?.id && textOf(result?.content).trim() === '2+2=4' && result?.is_error === false,
      `${name}: its agent.tool_result "2+2=4", tied to the tool use's id`, result);
    const answer = t1.filter((e) => e.type === 'agent.message').map((e) => textOf(e.content)).join('\n');
    ok(answer.includes('The command printed: 2+2=4'), `${name}: the answer as agent.message`, answer);
    const reqs1 = await messages();
    ok(reqs1.length >= 2 && reqs1.every((r) => r.key === 'inference' && r.model === 'claude-sonnet-4-5'),
      `${name}: the Messages API got the inference key and the agent's model`, reqs1.map((r) => ({ key: r.key, model: r.model })));
    ok(reqs1.some((r) => r.system_tail.includes('MARKER-SYSTEM-PROMPT')), `${name}: the agent's system prompt reaches the model`, reqs1.map((r) => r.system_tail.slice(-80)));

    const cli = trackedProcs(TMP).find((p) => p.cmd.includes('stream-json'));
    ok(cli, `${name}: the CLI is running`, trackedProcs(TMP));
    if (cli) {
      const environ = readFileSync(`/proc/${cli.pid}/environ`, 'latin1');
      ok(!environ.includes(INFERENCE_KEY) && !cli.cmd.includes(INFERENCE_KEY) && /CLAUDE_CODE_API_KEY_FILE_DESCRIPTOR=\d+/.test(environ),
        `${name}: the key is on a descriptor, not in the CLI's environment or argv`);
      ok(/CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1/.test(environ) && /HOME=[^\0]*\/sesn_[^\0/]*\/\.claude-code-[^\0/]*\/home\0/.test(environ),
        `${name}: nonessential traffic off, HOME in the session's state directory`, environ.split('\0').filter((v) => /^(HOME|TMPDIR|CLAUDE_)/.test(v)));
    }

    const before = events.seen.length;
    const nreq = reqs1.length;
    await say(client, session.id, 'Run env please');
    ok(await until(() => events.idles() >= 2, 60_000), `${name}: the second turn ends`, runner.log().slice(-3000));
    const t2 = turnEvents(events.seen, before);
    const envOut = textOf(t2.find((e) => e.type === 'agent.tool_result')?.content);
    const reqs2 = (await messages()).slice(nreq);
    ok(reqs2[0]?.texts.some((t) => t.includes("What's 2 + 2?")) && reqs2[0]?.texts.some((t) => t.includes('The command printed: 2+2=4')),
      `${name}: the second turn continues the conversation (the model sees the first turn)`, reqs2[0]?.texts);
    ok(/^PATH=/m.test(envOut), `${name}: the agent ran env`, envOut.slice(0, 300));
    const rep = await cp.report();
    const leaks = leakedSecrets(envOut, [INFERENCE_KEY, key, API_KEY, ...issuedTokens(rep)]);
    ok(leaks.length === 0 && !/^ANTHROPIC_API_KEY=/m.test(envOut) && !/^ANTHROPIC_AUTH_TOKEN=/m.test(envOut),
      `${name}: the agent's commands see no key (inference key, environment key, sessions token)`, leaks);
    ok(Object.keys(rep.mistake_counts).length === 0, `${name}: no protocol mistakes`, rep.mistakes);

    // The runner releases the session (max idle 3 s); the next message is a
    // new work item and a new CLI, which is given the earlier turns.
    const w1 = await untilWork(session.id, (w) => w.length === 1 && w[0].state === 'stopped', 15_000);
    ok(w1?.[0].history.at(-1)?.reason === 'stop_force', `${name}: released after the idle time with a force stop`, w1?.[0].history);
    const n3 = (await messages()).length;
    await say(client, session.id, "What's 2 + 2 again?");
    ok(await until(() => events.idles() >= 3, 60_000), `${name}: a new item serves the third message`, runner.log().slice(-3000));
    const reqs3 = (await messages()).slice(n3);
    ok(reqs3[0]?.texts.some((t) => t.includes('The runner restarted this conversation') && t.includes("What's 2 + 2?") && t.includes('Run env please')),
      `${name}: the new CLI is given the earlier turns`, reqs3[0]?.texts);
    const w2 = await untilWork(session.id, (w) => w.length === 2 && w.every((x) => x.state === 'stopped'), 15_000);
    ok(w2, `${name}: both items end stopped`, (await cp.report()).work.filter((w) => w.session_id === session.id));
  } finally {
    await events.close();
    const exit = await runner.stop();
    ok(exit.code === 0, `${name}: the runner exits 0`, { exit, log: runner.log().slice(-1500) });
  }
  ok((await untilNoTracked(TMP, 5000)).length === 0, `${name}: nothing left running`, trackedProcs(TMP));
  ok(await until(() => readdirSync(baseDir).length === 0, 5000), `${name}: the work and state directories are removed`, readdirSync(baseDir));
  ok(leakedSecrets(runner.log(), [INFERENCE_KEY, key]).length === 0, `${name}: no key in the runner's log`);
}

async function permissionPrompt() {
  const name = 'cc-ask';
  const { env, key } = await environment(client, name);
  const baseDir = join(TMP, `base-${name}`);
  mkdirSync(baseDir, { recursive: true });
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { external: true });
  await setMessages({ rules: [{ match: 'Make a file', command: 'touch created.txt && echo made' }, { match: 'Another file', command: 'touch other.txt && echo made too' }] });
  const runner = runnerFor(name, { env, key, baseDir, extra: ['--plugin-option', 'claude-code.permission-prompt-tool=stdio', '--keep-session-dirs'] });
  const events = follow(session.id);
  try {
    await say(client, session.id, 'Make a file');
    const ask = await until(() => events.seen.find((e) => e.type === 'agent.tool_use' && e.evaluated_permission === 'ask'), 60_000);
    ok(ask?.name === 'bash' && ask.input?.command?.includes('touch created.txt'), `${name}: the prompt is an agent.tool_use with evaluated_permission "ask"`, ask ?? runner.log().slice(-3000));
    const idle = await until(() => events.seen.find((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'requires_action'), 10_000);
    ok(idle?.stop_reason.event_ids?.[0] === ask?.id, `${name}: session.status_idle requires_action names it`, idle);
    await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.tool_confirmation', tool_use_id: ask.id, result: 'allow' }] });
    ok(await until(() => events.idles() >= 1, 60_000), `${name}: the turn ends after the confirmation`, runner.log().slice(-3000));
    const res = events.seen.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === ask?.id);
    ok(textOf(res?.content).trim() === 'made' && res?.is_error === false, `${name}: allowed: the command ran`, res);

    await say(client, session.id, 'Another file');
    const ask2 = await until(() => events.seen.find((e) => e.type === 'agent.tool_use' && e.evaluated_permission === 'ask' && e.id !== ask?.id), 60_000);
    await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.tool_confirmation', tool_use_id: ask2.id, result: 'deny', deny_message: 'not today' }] });
    ok(await until(() => events.idles() >= 2, 60_000), `${name}: the second turn ends after a deny`, runner.log().slice(-3000));
    const res2 = events.seen.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === ask2?.id);
    ok(res2?.is_error === true && textOf(res2?.content).includes('not today'), `${name}: denied: an error result with the message`, res2);
    const dir = runner.log().match(/session started in '([^']+)'/)?.[1];
    ok(dir && existsSync(join(dir, 'created.txt')) && !existsSync(join(dir, 'other.txt')), `${name}: only the allowed command ran`, dir && readdirSync(dir));
  } finally {
    await events.close();
    await runner.stop();
  }
}

async function interrupt() {
  const name = 'cc-interrupt';
  const { env, key } = await environment(client, name);
  const baseDir = join(TMP, `base-${name}`);
  mkdirSync(baseDir, { recursive: true });
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { external: true });
  await setMessages({ rules: [{ match: 'Wait', command: 'timeout 90 tail -f /dev/null' }] });
  const runner = runnerFor(name, { env, key, baseDir, extra: ['--plugin-option', 'claude-code.allowed-tools=Bash'] });
  const events = follow(session.id);
  try {
    await say(client, session.id, 'Wait for it');
    const tail = await untilTracked(/^tail -f \/dev\/null$/, TMP, 60_000);
    ok(tail, `${name}: a long command runs`, runner.log().slice(-2000));
    const t0 = Date.now();
    await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.interrupt' }] });
    ok(await until(() => events.idles() >= 1, 15_000), `${name}: user.interrupt ends the turn (${Date.now() - t0} ms)`, runner.log().slice(-2000));
    ok(!events.seen.some((e) => e.type === 'session.error'), `${name}: an interrupt is no error`);
    ok(tail && (await until(() => !trackedProcs(TMP).some((p) => p.pid === tail.pid), 10_000)), `${name}: the command is stopped`);
    await say(client, session.id, "What's 2 + 2?");
    ok(await until(() => events.idles() >= 2, 60_000), `${name}: the next message is answered`, runner.log().slice(-2000));
    const last = events.seen.filter((e) => e.type === 'agent.message').map((e) => textOf(e.content)).join('\n');
    ok(last.includes('The command printed: 2+2=4'), `${name}: with the answer`, last);
  } finally {
    await events.close();
    await runner.stop();
  }
}

async function crash() {
  const name = 'cc-crash';
  const { env, key } = await environment(client, name);
  const baseDir = join(TMP, `base-${name}`);
  mkdirSync(baseDir, { recursive: true });
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { external: true });
  await setMessages({ rules: [{ match: 'Sleep', command: 'timeout 120 tail -f /dev/null' }] });
  const runner = runnerFor(name, { env, key, baseDir, extra: ['--plugin-option', 'claude-code.allowed-tools=Bash'] });
  const events = follow(session.id);
  try {
    await say(client, session.id, 'Sleep a while');
    const sleeper = await untilTracked(/^tail -f \/dev\/null$/, TMP, 60_000);
    const cli = trackedProcs(TMP).find((p) => p.cmd.includes('stream-json'));
    ok(sleeper && cli, `${name}: the CLI runs a long command`, trackedProcs(TMP));
    if (cli) process.kill(cli.pid, 'SIGKILL');
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 20_000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', `${name}: the item is force-stopped`, w?.[0].history);
    const err = await until(() => events.seen.find((e) => e.type === 'session.error'), 5000);
    ok(err?.error?.message?.includes('killed by signal 9'), `${name}: the session gets a session.error`, err);
    ok(/level=error component=claude-code msg="session.error: the Claude Code CLI was killed by signal 9/.test(runner.log()), `${name}: the log says so`,
      runner.log().split('\n').filter((l) => /claude-code/.test(l)).slice(-5));
    ok((await untilNoTracked(TMP, 5000)).length === 0, `${name}: its command is killed too`, trackedProcs(TMP));
    ok(await until(() => readdirSync(baseDir).length === 0, 5000), `${name}: directories removed`, readdirSync(baseDir));
  } finally {
    await events.close();
    await runner.stop();
  }
}

await conversation();
await permissionPrompt();
await interrupt();
await crash();
done();
