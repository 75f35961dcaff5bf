// The runner as a Kubernetes pod with the restricted security settings runs
// it (tests/pod/runner.sh: uid 10001, no capability, no_new_privs, a
// read-only root file system, new namespaces refused, the key as a Secret
// volume, root-owned 0440 with the fsGroup): bubblewrap cannot run and says
// why, landlock is chosen by default and serves a session.
import { readFileSync } from 'node:fs';
import { apiClient, cp, done, environment, ok, say, startRunner, toolCalls, until, untilTurnEnds } from '../runner/lib.mjs';

const client = apiClient();
const { env, key } = await environment(client, 'pod');
const runner = startRunner({ envId: env.id, key, workerId: 'pod' });
try {
  const chosen = await until(() => /sandbox: landlock, the strongest that runs here \(not bubblewrap: /.test(runner.log()), 10_000);
  ok(chosen, 'pod: landlock is chosen by default', runner.log().slice(-3000));
  const why = runner.log().match(/not bubblewrap: ([^\n]*)/)?.[1] ?? '';
  ok(/namespace/i.test(why), 'pod: the log says bubblewrap cannot make its namespaces', why);
  const status = readFileSync(`/proc/${runner.pid}/status`, 'utf8');
  const field = (name) => status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '';
  ok(field('Uid').split(/\s+/).every((u) => u === '10001') && /^0+$/.test(field('CapEff')) && /^0+$/.test(field('CapPrm')) &&
    /^0+$/.test(field('CapBnd')) && field('NoNewPrivs') === '1' && field('Seccomp') === '2',
  'pod: the runner runs as uid 10001 with no capability, no_new_privs and a seccomp filter', status);
  const root = readFileSync(`/proc/${runner.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  ok(/ ro[, ]/.test(root ?? ''), 'pod: its root file system is read-only', root);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'id -u; echo x > f && cat f' } }], message: 'done' }] });
  await say(client, session.id, 'go');
  const events = await untilTurnEnds(session.id, 1, 30_000);
  const text = toolCalls(events ?? [])[0]?.text ?? '';
  ok(text === '10001\nx', 'pod: a session runs its commands under landlock as the pod\'s user', text);
} finally {
  await runner.stop();
}
done();
