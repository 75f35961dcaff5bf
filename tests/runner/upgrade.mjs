// Live upgrade: a new binary is installed over the runner's own path while a
// 30-second bash call runs, and `environment-runner upgrade PID` is run. The
// runner checks the new binary, lets the call finish and its result go out,
// then re-executes into the new binary under the same process id, which takes
// the item back from its record and goes on with the next call. The result
// arrives once, and the lease's heartbeats never lapse. A new binary that
// cannot take over is refused, and the runner serves on as it was.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiClient, cp, done, environment, eventsOf, freePort, getStatus, metric, ok, parseMetrics, RUNNER, SANDBOX, say, startRunner,
  TMP, toolCalls, until, untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const TTL = 6;
await cp.faults({ lease_ttl_sec: TTL });

// The runner runs from its own installed path, which a new version replaces.
const bin = join(TMP, 'install', 'environment-runner');
mkdirSync(join(TMP, 'install'), { recursive: true });
copyFileSync(RUNNER, bin);
spawnSync('chmod', ['755', bin]);
const real = realpathSync(RUNNER);
/** Installs `script` at the runner's path as a package manager does: a new file renamed over the old. */
function install(script) {
  writeFileSync(`${bin}.new`, script, { mode: 0o755 });
  renameSync(`${bin}.new`, bin);
}
// The new version: marks its start in the environment, then is this build.
const NEW_VERSION = `#!/bin/sh\nexport ER_TEST_NEW_BINARY=1\nexec '${real}' "$@"\n`;

const { env, key } = await environment(client, `upgrade-${SANDBOX}`);
const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
await cp.script(session.id, {
  turns: [{
    tool_calls: [
      { name: 'bash', input: { command: 'echo c0 >> calls.log; sleep 30; echo r0' } },
      { name: 'bash', input: { command: 'echo c1 >> calls.log; echo r1' } },
    ],
    message: '{{result.0}}{{result.1}}',
  }],
});
const workdir = join(TMP, `wd-upgrade-${SANDBOX}`);
const port = await freePort();
const runner = startRunner({ envId: env.id, key, workdir, workerId: 'upgrader', bin, extra: ['--health-port', String(port)] });
try {
  ok(readlinkSync(`/proc/${runner.pid}/exe`) === bin || readlinkSync(`/proc/${runner.pid}/exe`) === real,
    'the runner runs its installed binary', readlinkSync(`/proc/${runner.pid}/exe`));
  ok(await until(() => /serving environment/.test(runner.log()), 10_000), 'the runner serves', runner.log());
  if (SANDBOX === 'none') {
    // A new binary that cannot take over: refused, and nothing changes (the rest of this check is served on).
    install('#!/bin/sh\necho "cannot open plugin: built for ABI 9.0" >&2\nexit 69\n');
    process.kill(runner.pid, 'SIGUSR2');
    ok(await until(() => /refused: '.*' cannot take over \(cannot open plugin: built for ABI 9\.0\); the runner goes on/.test(runner.log()), 10_000),
      'a new binary that fails its check is refused, with its reason', runner.log().slice(-2000));
  }
  await say(client, session.id, 'go');
  const slow = await untilTracked(/^sleep 30$/, workdir, 20_000);
  ok(slow, 'the 30-second call runs', runner.log().slice(-2000));
  install(NEW_VERSION);
  const sent = spawnSync(RUNNER, ['upgrade', String(runner.pid)], { encoding: 'utf8' });
  ok(sent.status === 0 && /sent SIGUSR2 to \d+/.test(sent.stdout), '`environment-runner upgrade PID` signals the runner', sent);
  ok(await until(() => /can take over: no new claims nor tool calls; waiting up to \d+ s for 1 running call/.test(runner.log()), 10_000),
    'the new binary passes its check; the runner waits for the running call', runner.log().slice(-3000));
  const mid = toolCalls(await eventsOf(session.id));
  ok(mid.length === 1 && mid[0].results.length === 0, 'the call is not interrupted', mid);
  ok(await until(() => /re-executing/.test(runner.log()), 40_000), 'once it finished, the runner re-executes', runner.log().slice(-3000));
  ok(await until(() => /taken back after the runner restarted/.test(runner.log()), 10_000), 'the new binary takes the item back', runner.log().slice(-3000));
  const environ = readFileSync(`/proc/${runner.pid}/environ`, 'latin1');
  ok(runner.alive() && environ.includes('ER_TEST_NEW_BINARY=1'), 'the same process now runs the new binary');
  const events = await untilTurnEnds(session.id, 1, 30_000);
  ok(events, 'the session goes on and its turn ends', runner.log().slice(-3000));
  const calls = toolCalls(events ?? []);
  ok(calls.length === 2 && calls.every((c) => c.results.length === 1), 'each call has exactly one result', calls.map((c) => c.results.length));
  ok(calls.map((c) => c.text).join(',') === 'r0,r1', 'the results are the calls\' own', calls.map((c) => c.text));
  const lines = readFileSync(join(workdir, 'calls.log'), 'utf8').trim().split('\n');
  ok(lines.join(',') === 'c0,c1', 'no call ran twice', lines);
  const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
  const item = w?.[0];
  ok(item?.handouts.length === 1, 'the item was handed out once', item?.handouts.map((h) => h.worker));
  ok(!item?.history.some((h) => h.reason === 'lease_expired'), 'the lease never lapsed', item?.history);
  const beats = (item?.heartbeat_times ?? []).map((t) => Date.parse(t));
  const gap = Math.max(...beats.slice(1).map((t, i) => t - beats[i]));
  ok(beats.length >= 4 && gap < TTL * 1000, `heartbeats kept their schedule across the upgrade (largest gap ${gap} ms, TTL ${TTL} s)`, item?.heartbeat_times);
  const rep = await cp.report();
  ok(!rep.mistake_counts.tool_result_duplicate && !rep.mistake_counts.heartbeat_wrong_expected, 'no duplicate result, no refused heartbeat',
    rep.mistake_counts);
  const m = parseMetrics((await getStatus(port, '/metrics')).text);
  ok(metric(m, 'er_upgrades_total') === 1 && metric(m, 'er_items_resumed_total') === 1, 'er_upgrades_total and er_items_resumed_total count it',
    [m.samples.er_upgrades_total, m.samples.er_items_resumed_total]);

} finally {
  const r = await runner.stop();
  ok(r.code === 0, 'the runner exits 0 on SIGTERM', { r, log: runner.log().slice(-3000) });
}
done();
