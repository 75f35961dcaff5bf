// A session served by an executor plugin built against ABI 1.2: by default
// the fixture tests/fixtures/executor-calls.c, else $ER_CHECK_EXECUTOR (a
// plugin built the same way out of the tree, with $ER_CHECK_NAME its name),
// in the sandbox of $ER_TEST_SANDBOX.  A call it serves is answered; a call
// it cannot start is answered as an error in the plugin's own words
// (tool_call_err); its log lines carry the session's work_id and session_id
// (session_log).  With the fixture tests/fixtures/sandbox-sessions.c as the
// sandbox, also its per-session state: session_start and session_end run
// once for the session, and wrap() finds the state of the session a
// command belongs to (a bash call of the toolset prints it).
import { join } from 'node:path';
import {
  apiClient, cp, done, environment, eventsOf, ok, SANDBOX, say, startRunner, toolCalls, until, untilTurnEnds,
} from './lib.mjs';

const client = apiClient();
const executor = process.env.ER_CHECK_EXECUTOR || join(process.env.ER_FIXTURE_DIR, 'executor-calls.so');
const name = process.env.ER_CHECK_NAME || 'calls';
const { env, key } = await environment(client, 'plugin-session');
const runner = startRunner({ envId: env.id, key, extra: ['--executor', executor] });
try {
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'echo', input: { say: 'hi' } }, { name: 'nothere', input: {} }], message: 'done' }] });
  await say(client, session.id, 'go');
  ok(await untilTurnEnds(session.id, 1, 20_000), `${name}: the turn ends`, runner.log().slice(-2000));
  const calls = toolCalls(await eventsOf(session.id));
  ok(calls[0] && !calls[0].is_error && calls[0].text.startsWith('echo: ') && calls[0].text.includes('"say"'),
    `${name}: a call the executor serves is answered`, calls[0]);
  ok(calls[1]?.is_error && calls[1].text.startsWith('Error: nothere: ') && calls[1].text.includes('is down'),
    `${name}: a call it cannot start is answered in its own words`, calls[1]);
  const line = runner.log().split('\n').find((l) => l.includes('serving the session'));
  ok(line && line.includes(`component=${name}`) && line.includes(`session_id=${session.id}`) && /work_id=\S+/.test(line),
    `${name}: its log line carries the session's work_id and session_id`, line);
  if (SANDBOX.endsWith('/sandbox-sessions.so')) {
    const mark = `fixture: sandbox-session-${session.id}`;
    const ended = await until(() => runner.log().includes(`${mark} ended`), 15_000);
    const count = (s) => runner.log().split(s).length - 1;
    ok(ended && count(`${mark} started`) === 1 && count(`${mark} ended`) === 1,
      'sandbox: session_start and session_end ran once each for the session', runner.log().slice(-2000));
  }
} finally {
  await runner.stop();
}

if (SANDBOX.endsWith('/sandbox-sessions.so')) {
  const { env: env2, key: key2 } = await environment(client, 'plugin-session-toolset');
  const toolset = startRunner({ envId: env2.id, key: key2 });
  try {
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env2.id });
    await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo "$ER_FIXTURE_SANDBOX_SESSION"' } }], message: 'done' }] });
    await say(client, session.id, 'go');
    ok(await untilTurnEnds(session.id, 1, 20_000), 'sandbox: the toolset turn ends', toolset.log().slice(-2000));
    const calls = toolCalls(await eventsOf(session.id));
    ok(calls[0]?.text === `sandbox-session-${session.id}`, "sandbox: wrap() gets the state of the command's session", calls[0]);
  } finally {
    await toolset.stop();
  }
}
done();
