// Secret hygiene while sessions run: the environment key and every sessions
// token the control plane issued must appear in no log line (stderr and
// --log-file, at debug level), in no argv or environment of the runner or of
// any process it started (/proc/<pid>/cmdline and environ of everything
// carrying the tracking variable), in no tool's view of its environment,
// and in no /metrics answer (when this build serves one).  The key file is
// refused when group- or world-readable.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, issuedTokens, leakedSecrets, ok, RUNNER, say, startRunner, TMP, toolCalls,
  TRACKING_VAR, trackedProcs, until, untilNoTracked, untilTurnEnds,
} from './lib.mjs';

const client = apiClient();
const SESSIONS = 3;

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// Everything /proc shows of a process: argv and environment.
function procText(pid) {
  let t = '';
  for (const f of ['cmdline', 'environ']) {
    try {
      t += readFileSync(`/proc/${pid}/${f}`, 'latin1').split('\0').join('\n') + '\n';
    } catch {}
  }
  return t;
}

const { env, key } = await environment(client, 'secrets');
const help = spawnSync(RUNNER, ['orchestrator', '--help'], { encoding: 'utf8' }).stdout ?? '';
const hasMetrics = /--health-port/.test(help);
const extra = ['--capacity', String(SESSIONS), '--log-level', 'debug', '--log-file', join(TMP, 'runner.log')];
let metricsUrl = null;
if (hasMetrics) {
  const port = await freePort();
  extra.push('--health-port', String(port));
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
}
const runner = startRunner({ envId: env.id, key, workerId: 'secrets', extra, baseDir: join(TMP, 'base') });
const captured = []; // {what, text}
const seenPids = new Set();
let exit;
try {
  const ids = [];
  for (let i = 0; i < SESSIONS; i++) {
    const s = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(s.id, {
      turns: [{
        tool_calls: [
          { name: 'bash', input: { command: 'env; tr "\\0" "\\n" </proc/self/environ; tr "\\0" " " </proc/$PPID/cmdline' } },
          { name: 'bash', input: { command: 'sleep 3 & sleep 3; echo slept' } },
          { name: 'bash', input: { command: 'echo "$0 $*"; cat /proc/self/cmdline | tr "\\0" " "' } },
        ],
        message: 'done',
      }],
    });
    await say(client, s.id, 'go');
    ids.push(s.id);
  }
  // While the sleeps run: every process of ours, and the runner itself.
  const sampled = await until(() => trackedProcs(TMP).some((p) => /sleep 3/.test(p.cmd)), 20_000);
  ok(sampled, 'tool processes are running', runner.log().slice(-2000));
  for (let round = 0; round < 5; round++) {
    for (const p of trackedProcs(TMP)) {
      seenPids.add(p.pid);
      captured.push({ what: `/proc/${p.pid} (${p.cmd.slice(0, 40)})`, text: procText(p.pid) });
    }
    captured.push({ what: `/proc/${runner.pid} (the runner)`, text: procText(runner.pid) });
    if (metricsUrl) {
      try {
        captured.push({ what: 'GET /metrics', text: await (await fetch(metricsUrl)).text() });
      } catch (e) {
        captured.push({ what: 'GET /metrics (failed)', text: String(e) });
      }
    }
    await sleep(400);
  }
  ok(seenPids.size >= SESSIONS, `sampled argv and environment of ${seenPids.size} processes carrying ${TRACKING_VAR}`);

  for (const id of ids) {
    const events = await untilTurnEnds(id, 1, 30_000);
    const calls = toolCalls(events ?? []);
    ok(calls.length === 3 && calls.every((c) => c.results.length === 1 && !c.is_error), `session ${id.slice(-6)}: every call answered`, calls.map((c) => c.text.slice(0, 300)));
    for (const c of calls) captured.push({ what: `tool result (${c.input.command.slice(0, 30)})`, text: c.text });
  }
  if (metricsUrl) {
    const m = await fetch(metricsUrl).then((r) => r.text(), (e) => String(e));
    captured.push({ what: 'GET /metrics (end)', text: m });
    ok(/\S/.test(m), 'the metrics endpoint answered');
  }
} finally {
  exit = await runner.stop();
}
ok(exit.code === 0, 'the runner exits 0 on SIGTERM', exit);
captured.push({ what: 'runner stderr/stdout', text: runner.log() });
captured.push({ what: '--log-file', text: readFileSync(join(TMP, 'runner.log'), 'utf8') });

const rep = await cp.report();
const tokens = issuedTokens(rep);
const secrets = [key, ...tokens];
// The work secret (base64 of the token) counts too: it carries the token.
const workSecrets = rep.work.flatMap((w) => w.handouts.map((h) => h.secret)).filter(Boolean);
ok(tokens.length >= SESSIONS, `${tokens.length} sessions tokens issued`);
const logText = captured.find((c) => c.what === '--log-file').text;
ok(/level=debug/.test(logText) && logText.split('\n').length > 20, `the log was captured at debug level (${logText.split('\n').length} lines)`);
for (const kind of ['runner stderr/stdout', '--log-file', '/proc', 'tool result', 'GET /metrics']) {
  const parts = captured.filter((c) => c.what.startsWith(kind));
  if (!parts.length) {
    ok(true, `no secret in ${kind} # SKIP not served by this build`);
    continue;
  }
  const leaks = parts.flatMap((c) => leakedSecrets(c.text, [...secrets, ...workSecrets]).map((l) => `${c.what}: ${l}`));
  ok(leaks.length === 0, `no key, token or work secret in ${kind} (${parts.length} captures)`, leaks);
}
const toolEnv = captured.filter((c) => c.what.startsWith('tool result')).map((c) => c.text).join('\n');
ok(!/^ANTHROPIC_/m.test(toolEnv) && toolEnv.includes(`${TRACKING_VAR}=`), 'tools see the tracking variable and no ANTHROPIC_* variable');
const left = await untilNoTracked(TMP, 3000);
ok(left.length === 0, 'no tracked process left', left);

// A key file readable by the group is refused before anything is sent.
const loose = join(TMP, 'loose-key');
writeFileSync(loose, `${key}\n`, { mode: 0o600 });
chmodSync(loose, 0o640);
const r = startRunner({ envId: env.id, key, keyFile: loose, workerId: 'loose' });
const lr = await Promise.race([r.exited, sleep(5000).then(() => null)]);
if (!lr) await r.kill();
ok(lr && lr.code !== 0 && /chmod 600/.test(r.log()) && !r.log().includes(key), 'a group-readable key file is refused, with the fix and without the key', { lr, log: r.log().slice(-600) });
const polls = (await cp.report()).requests.log.filter((l) => l.worker === 'loose');
ok(polls.length === 0, 'nothing was sent with it');
done();
