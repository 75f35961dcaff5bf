// The runner SIGKILLed while a slow call runs: a second runner reclaims the
// item once the lease expires and finishes the session. No call answered
// before the kill runs again (each call appends to a log in the shared
// --workdir); only the call in flight may; every call gets exactly one result.
// The background job the call in flight left running (no sandbox ends it) is
// killed by the second runner as it starts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiClient, cp, done, environment, eventsOf, gone, ok, say, startRunner, TMP, toolCalls, trackedProcs, until,
  untilNoTracked, untilTracked, untilTurnEnds, untilWork,
} from './lib.mjs';

/**
 * Whether `runner` logged that it killed what a gone runner left.  Every
 * runner starting on this host empties the cgroups of any runner that is
 * gone, so that one another check starts at the same moment may come
 * first: when the leftovers were gone before `runner` started, it has
 * nothing to say.
 */
async function saysItKilled(runner, sweptFirst, desc) {
  if (sweptFirst) {
    ok(true, `${desc} # SKIP another runner on this host swept them first`);
    return;
  }
  ok(await until(() => /killed \d+ process(es)? left running by a runner that is gone/.test(runner.log()), 5000), desc, runner.log().slice(0, 2000));
}

const client = apiClient();
const TTL = 3;
await cp.faults({ lease_ttl_sec: TTL });
const { env, key } = await environment(client, 'sigkill');
const workdir = join(TMP, 'shared-wd');
const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
const step = (i) => ({ name: 'bash', input: { command: `echo c${i} >> calls.log; echo r${i}` } });
await cp.script(session.id, {
  turns: [{
    tool_calls: [step(0), step(1), { name: 'bash', input: { command: 'echo c2-start >> calls.log; sleep 30 >/dev/null 2>&1 & sleep 3; echo c2-end >> calls.log; echo r2' } }, step(3), step(4)],
    message: '{{result.0}}{{result.1}}{{result.2}}{{result.3}}{{result.4}}',
  }],
});

const a = startRunner({ envId: env.id, key, workdir, workerId: 'first' });
let b;
try {
  await say(client, session.id, 'go');
  const slow = await untilTracked(/^sleep 3$/, workdir, 15_000);
  ok(slow, 'the slow call runs under the first runner', a.log().slice(-2000));
  const before = toolCalls(await eventsOf(session.id));
  ok(before.length === 3 && before[0].results.length === 1 && before[1].results.length === 1 && before[2].results.length === 0,
    'at the kill: two calls answered, the third in flight', before.map((c) => c.results.length));
  const killedAt = Date.now();
  const k = await a.kill('SIGKILL');
  ok(k.sig === 'SIGKILL', 'first runner SIGKILLed');
  const orphans = trackedProcs(workdir).filter((p) => p.id === slow?.id);
  ok(orphans.some((p) => p.cmd === 'sleep 30'), 'the call in flight left a background job running', orphans);

  const sweptFirst = orphans.every((p) => gone(p.pid));
  b = startRunner({ envId: env.id, key, workdir, workerId: 'second' });
  ok(await until(() => orphans.every((p) => gone(p.pid)), 5000), 'the second runner kills what the first left running as it starts',
    orphans.filter((p) => !gone(p.pid)));
  // The line follows the kill: wait for it rather than race it.
  await saysItKilled(b, sweptFirst, '... and says so');
  const events = await untilTurnEnds(session.id, 1, 25_000);
  ok(events, 'the second runner finishes the session', b.log().slice(-3000));
  const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 10_000);
  const item = w?.[0];
  const hist = item?.history.map((h) => `${h.to}:${h.reason}`);
  ok(item?.handouts.map((h) => h.worker).join(',') === 'first,second', 'handed out to the first, then to the second runner', item?.handouts.map((h) => h.worker));
  ok(item?.history.some((h) => h.reason === 'lease_expired' && h.to === 'queued'), 'the item went back to queued when the lease expired', hist);
  const reclaimed = item && Date.parse(item.handouts[1].at) - killedAt;
  ok(reclaimed >= (TTL - 1) * 1000 && reclaimed < (TTL + 4) * 1000, `reclaimed ${reclaimed} ms after the kill (lease ${TTL} s)`);
  ok(hist?.at(-1) === 'stopped:stop_force', 'the second runner force-stops the item at the end', hist);

  const calls = toolCalls(events ?? []);
  ok(calls.length === 5 && calls.every((c) => c.results.length === 1), 'each of the 5 calls has exactly one result', calls.map((c) => c.results.length));
  ok(calls.map((c) => c.text).join('') === 'r0r1r2r3r4', 'results are right', calls.map((c) => c.text));
  const lines = readFileSync(join(workdir, 'calls.log'), 'utf8').trim().split('\n');
  const count = (l) => lines.filter((x) => x === l).length;
  ok(count('c0') === 1 && count('c1') === 1, 'calls answered before the kill did not run again', lines);
  ok(count('c2-start') >= 1 && count('c2-start') <= 2, `the in-flight call ran ${count('c2-start')} time(s)`, lines);
  ok(count('c3') === 1 && count('c4') === 1, 'later calls ran once', lines);
  const rep = await cp.report();
  ok(!rep.mistake_counts.tool_result_duplicate, 'no duplicate results', rep.mistake_counts);
  const answer = events?.findLast((e) => e.type === 'agent.message');
  ok(answer?.content?.[0]?.text === 'r0r1r2r3r4', 'final message');
} finally {
  a.kill();
  const r = b ? await b.stop() : null;
  ok(r?.code === 0, 'second runner exits 0 on SIGTERM', { r, log: b?.log().slice(-2000) });
  const left = await untilNoTracked(TMP, 5000);
  ok(left.length === 0, 'no tracked process left', left);
}

// The same under --base-dir: the next runner on that directory kills what
// the killed one left in its session directory, then removes the directory.
{
  const baseDir = join(TMP, 'shared-base');
  const s2 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(s2.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 30 >/dev/null 2>&1 & sleep 20; echo late' } }], message: 'done' }] });
  const a2 = startRunner({ envId: env.id, key, baseDir, workerId: 'first-base' });
  let b2;
  try {
    await say(client, s2.id, 'go');
    const bg = await untilTracked(/^sleep 30$/, baseDir, 15_000);
    ok(bg, 'a background job runs in a session directory under --base-dir', a2.log().slice(-2000));
    await a2.kill('SIGKILL');
    const sweptFirst = bg && gone(bg.pid);
    b2 = startRunner({ envId: env.id, key, baseDir, workerId: 'second-base' });
    ok(await until(() => bg && gone(bg.pid), 5000), 'the next runner on that --base-dir kills it as it starts');
    ok(await until(() => /removed 1 session directory left by a runner that is gone/.test(b2.log()), 5000),
      '... and removes the stale session directory', b2.log().slice(0, 2000));
    await saysItKilled(b2, sweptFirst, '... and says it killed the job');
  } finally {
    a2.kill();
    const r = b2 ? await b2.stop() : null;
    ok(r?.code === 0, 'that runner exits 0 on SIGTERM', { r, log: b2?.log().slice(-2000) });
    const left = await untilNoTracked(TMP, 5000);
    ok(left.length === 0, 'no tracked process left', left);
  }
}

// A background job that clears its environment and leaves the session's
// directory carries nothing that names its session: the session's cgroup
// still holds it, and the next runner empties the cgroups of one that is gone.
{
  // An environment of its own: an item of the sessions above may be queued again.
  const { env: env3, key: key3 } = await environment(client, 'sigkill-cgroup');
  const s3 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env3.id });
  await cp.script(s3.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: '(cd / && exec env -i sleep 33) >/dev/null 2>&1 & sleep 20; echo late' } }], message: 'done' }] });
  const baseDir = join(TMP, 'cgroup-base');
  const a3 = startRunner({ envId: env3.id, key: key3, baseDir, workerId: 'first-cgroup' });
  let b3;
  try {
    const cgroups = await until(() => /kept in a cgroup per session, under '/.test(a3.log()), 5000);
    if (!cgroups) {
      console.log('# skip: no cgroup can be made here, the job is found by its tracking id only');
    } else {
      await say(client, s3.id, 'go');
      const job = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
        try { return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\x0033\x00'; } catch { return false; }
      });
      const pid = await until(job, 15_000);
      ok(pid, 'a background job without environment runs outside the session directory', a3.log().slice(-2000));
      await a3.kill('SIGKILL');
      b3 = startRunner({ envId: env3.id, key: key3, baseDir, workerId: 'second-cgroup' });
      // Every runner's start empties the cgroups of runners that are gone:
      // with checks running side by side, another one's start may come first.
      ok(await until(() => pid && gone(Number(pid)), 5000), 'the next runner to start kills it, by its cgroup');
      ok(await until(() => /serving environment/.test(b3.log()), 10_000), 'the next runner starts', b3.log().slice(0, 2000));
      const said = /killed \d+ process(es)? left running by a runner that is gone/.test(b3.log());
      console.log(`# the kill was ${said ? "this runner's" : "another runner's, started meanwhile"}`);
    }
  } finally {
    const r = await (b3 ?? a3).stop();
    ok(r.code === 0, 'the last runner exits 0 on SIGTERM', { r, log: (b3 ?? a3).log().slice(-2000) });
    a3.kill();
  }
}
done();
