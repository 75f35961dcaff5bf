// The default sandbox backend: the strongest that runs here, never none on
// its own.  bubblewrap is made unusable with a missing bwrap, so that the
// outcome does not depend on this machine; landlock then serves, and the
// log and /healthz say why bubblewrap did not.  With neither, the runner
// refuses to start.  An orchestrator with --on-work runs no command itself
// and probes no sandbox.
import { join } from 'node:path';
import { apiClient, done, environment, freePort, getStatus, ok, say, startRunner, toolCalls, until, untilTurnEnds, cp } from './lib.mjs';

const client = apiClient();
const helper = join(process.env.ER_TOP_BUILDDIR ?? '', 'plugins/sandbox-landlock/er-sandbox-landlock');
const noBwrap = ['--plugin-option', 'bubblewrap.bwrap=/nonexistent/bwrap'];
const withHelper = (path) => ['--plugin-option', `landlock.helper=${path}`];

{
  const { env, key } = await environment(client, 'sandbox-default');
  const port = await freePort();
  const runner = startRunner({ envId: env.id, key, workerId: 'sandbox-default', extra: [...noBwrap, ...withHelper(helper), '--health-port', String(port)] });
  try {
    const chosen = await until(() => /sandbox: landlock, the strongest that runs here \(not bubblewrap: .*bwrap not found/.test(runner.log()), 10_000);
    ok(chosen, 'default: landlock is chosen, and the log says why bubblewrap is not', runner.log().slice(-3000));
    const h = await until(async () => (await getStatus(port, '/healthz').catch(() => null))?.json, 10_000);
    ok(h?.sandbox === 'landlock' && /^bubblewrap: .*bwrap not found/.test(h?.sandbox_reason ?? ''), '/healthz: sandbox landlock, and why not bubblewrap', h);
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo "$TMPDIR"; cat /etc/shadow 2>&1' } }], message: 'done' }] });
    await say(client, session.id, 'go');
    const events = await untilTurnEnds(session.id, 1, 30_000);
    const text = toolCalls(events ?? [])[0]?.text ?? '';
    ok(/\.tmp\n.*Permission denied/s.test(text), 'default: commands run under landlock (TMPDIR beside the session, /etc/shadow refused)', text);
  } finally {
    await runner.stop();
  }
}

{
  const { env, key } = await environment(client, 'sandbox-none-runs');
  const runner = startRunner({ envId: env.id, key, workerId: 'sandbox-none-runs', extra: [...noBwrap, ...withHelper('/nonexistent/helper')] });
  const r = await Promise.race([runner.exited, new Promise((res) => setTimeout(() => res(null), 10_000))]);
  ok(r && r.code !== 0, 'neither backend runs: the runner refuses to start', r);
  ok(/no sandbox backend runs here \(bubblewrap: .*; landlock: .*\); fix: .*--sandbox-backend=none/.test(runner.log()),
    'neither backend runs: the message names both and the explicit way to no isolation', runner.log().slice(-2000));
  ok(!/sandbox none|sandbox: none/.test(runner.log()), 'neither backend runs: never none on its own');
  await runner.stop();
}

{
  const { env, key } = await environment(client, 'sandbox-onwork');
  const port = await freePort();
  const runner = startRunner({ envId: env.id, key, workerId: 'sandbox-onwork', extra: [...noBwrap, ...withHelper('/nonexistent/helper'), '--on-work', 'true', '--health-port', String(port)] });
  try {
    const h = await until(async () => (await getStatus(port, '/healthz').catch(() => null))?.json, 10_000);
    ok(h?.status === 'ok' && h.sandbox === null && /--on-work/.test(h.sandbox_reason ?? ''), '--on-work: the orchestrator serves without probing a sandbox', { h, log: runner.log().slice(-2000) });
    ok(!/create failed|not usable here/.test(runner.log()), '--on-work: no backend was created or probed', runner.log().slice(-2000));
  } finally {
    await runner.stop();
  }
}
done();
