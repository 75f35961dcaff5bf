// The C runner serves the default "What's 2 + 2?" session end to end:
// result, answer, force stop, no protocol mistakes, exit 0 on SIGTERM,
// nothing left running, per-session directories removed (or kept with
// --keep-session-dirs), and no credential in its log or in a tool's environment.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiClient, cp, done, environment, issuedTokens, leakedSecrets, ok, say, startRunner, textOf, TMP, toolCalls,
  until, untilNoTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const tryJson = (l) => {
  try {
    return JSON.parse(l);
  } catch {
    return null;
  }
};
const logLines = (runner) => runner.log().split('\n').map(tryJson).filter(Boolean);

async function serveOne(label, { keep }) {
  const { env, key } = await environment(client, `basic-${label}`);
  const baseDir = join(TMP, `base-${label}`);
  mkdirSync(baseDir, { recursive: true });
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  if (keep) {
    // The default call plus one that shows the tool environment.
    await cp.script(session.id, {
      turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo $((2+2))' } }, { name: 'bash', input: { command: 'env; pwd' } }], message: '2 + 2 = {{result.0}}' }],
    });
  }
  const runner = startRunner({ envId: env.id, key, baseDir, workerId: `basic-${label}`, extra: keep ? ['--keep-session-dirs', '--log-format', 'json'] : [] });
  let exit;
  try {
    await say(client, session.id, "What's 2 + 2?");
    const events = await untilTurnEnds(session.id, 1, 20_000);
    ok(events, `${label}: the turn ends`, runner.log().slice(-3000));
    const calls = toolCalls(events ?? []);
    ok(calls[0]?.text === '4' && calls[0]?.is_error === false && calls[0].results.length === 1, `${label}: bash result "4", exactly once`, calls[0]);
    const answer = textOf(events?.findLast((e) => e.type === 'agent.message')?.content);
    ok(answer === '2 + 2 = 4', `${label}: answer "2 + 2 = 4"`, answer);

    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
    const hist = w?.[0].history ?? [];
    ok(hist.at(-1)?.reason === 'stop_force', `${label}: the item ends stopped by the runner's force stop after --max-idle-sec`, hist);
    const rep = await cp.report();
    const stops = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === `basic-${label}`);
    ok(stops.length === 1 && stops[0].status === 200, `${label}: one stop request, 200`, stops);
    const versions = [...new Set(rep.requests.log.filter((l) => l.worker === `basic-${label}`).map((l) => l.version))];
    ok(versions.length === 1 && versions[0] === '2026-10-21', `${label}: every request carries anthropic-version 2026-10-21, as the SDK sends it`, versions);
    ok(Object.keys(rep.mistake_counts).length === 0, `${label}: no protocol mistakes`, rep.mistakes);

    const started = runner.log().match(/session started in '([^']+)'/)?.[1] ?? logLines(runner).map((l) => l.msg?.match(/^session started in '([^']+)'/)?.[1]).find(Boolean);
    ok(started && started.startsWith(`${baseDir}/${session.id}`), `${label}: the session ran in its own directory under --base-dir`, started ?? runner.log().slice(-2000));
    if (keep) {
      const pwd = calls[1]?.text.split('\n').at(-1);
      ok(pwd === started, `${label}: bash runs in the session directory`, { pwd, started });
      const leaks = leakedSecrets(calls[1]?.text ?? '', [key, ...issuedTokens(rep)]);
      ok(calls[1] && !calls[1].is_error && leaks.length === 0, `${label}: no credential in a tool's environment`, leaks);
      ok(!/^ANTHROPIC_/m.test(calls[1]?.text ?? ''), `${label}: no ANTHROPIC_* variable in a tool's environment`);
      ok(started && existsSync(started), `${label}: --keep-session-dirs keeps the directory`, readdirSync(baseDir));
    } else {
      // Removed after the stop is answered (and any post-session hook), so
      // shortly after the control plane records the item stopped.
      const gone = started && (await until(() => !existsSync(started) && readdirSync(baseDir).length === 0, 5000));
      ok(gone, `${label}: the session directory is removed`, readdirSync(baseDir));
    }
  } finally {
    exit = await runner.stop();
  }
  ok(exit.code === 0 && exit.sig === null, `${label}: runner exits 0 on SIGTERM (${exit.ms} ms)`, { exit, log: runner.log().slice(-2000) });
  const left = await untilNoTracked(TMP, 3000);
  ok(left.length === 0, `${label}: no process with the tracking variable is left`, left);

  const rep = await cp.report();
  const tokens = issuedTokens(rep).filter((t) => rep.work.some((w) => w.environment_id === env.id && w.handouts.some((h) => h.sessions_token === t)));
  ok(tokens.length >= 1, `${label}: the report shows the sessions token(s) handed to the runner`, tokens.length);
  const leaks = leakedSecrets(runner.log(), [key, ...tokens]);
  ok(leaks.length === 0 && runner.log().length > 0, `${label}: neither the environment key nor a sessions token is in the runner's log`, leaks);
  ok(!runner.log().includes(key.slice(12)), `${label}: not even the environment key's tail is in the log`);
  if (keep) {
    const bad = runner.log().split('\n').filter((l) => l && !((j) => j && typeof j.msg === 'string' && j.level)(tryJson(l)));
    ok(bad.length === 0, `${label}: --log-format json: every log line is a JSON object with level and msg`, bad.slice(0, 3));
  }
}

await serveOne('default', { keep: false });
await serveOne('keep', { keep: true });
done();
