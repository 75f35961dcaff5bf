// --capacity 4 with four sessions queued, each with a 2 s call: all four run
// at the same time in one runner and complete.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiClient, cp, done, environment, ok, queueSleepers, startRunner, textOf, toolCalls, TMP, trackedProcs, until, untilNoTracked,
  untilTurnEnds,
} from './lib.mjs';

const client = apiClient();
const N = 4;
const { env, key } = await environment(client, 'capacity');
const sessions = await queueSleepers(client, env.id, N, 2);
const t0 = Date.now();
const baseDir = join(TMP, 'capacity-base');
const runner = startRunner({ envId: env.id, key, baseDir, workerId: 'capacity', extra: ['--capacity', String(N)] });
try {
  // All four sleeps alive at once, under four different tracking ids.
  const together = await until(() => {
    const sl = trackedProcs(baseDir).filter((p) => p.cmd === 'sleep 2');
    return new Set(sl.map((p) => p.id)).size === N && new Set(sl.map((p) => p.cwd)).size === N ? sl : null;
  }, 10_000);
  ok(together, `${N} tool calls run at the same time, each with its own tracking id and session directory`, trackedProcs(baseDir));
  const all = await Promise.all(sessions.map((s) => untilTurnEnds(s.id, 1, 20_000)));
  const elapsed = Date.now() - t0;
  ok(all.every(Boolean), `all ${N} sessions complete (${elapsed} ms)`, runner.log().slice(-3000));
  ok(elapsed < 2000 * 2 + 2500, `in less time than two calls in a row would take (${elapsed} ms)`);
  all.forEach((evs, i) => {
    const c = toolCalls(evs ?? [])[0];
    ok(c?.text === `s${i}` && c.results.length === 1 && textOf(evs.findLast((e) => e.type === 'agent.message')?.content) === `got s${i}`, `session ${i}: result and answer`, c);
  });
  // Overlap from the event log: every call started before any call ended.
  const spans = all.map((evs) => {
    const use = evs.find((e) => e.type === 'agent.tool_use');
    const res = evs.find((e) => e.type === 'user.tool_result');
    return [Date.parse(use.processed_at), Date.parse(res.processed_at)];
  });
  const lastStart = Math.max(...spans.map((s) => s[0]));
  const firstEnd = Math.min(...spans.map((s) => s[1]));
  ok(lastStart < firstEnd, `the four calls overlap in time (the last started ${firstEnd - lastStart} ms before the first result)`, spans);
  // Work histories: all four items active at once.
  const rep = await cp.report();
  const items = rep.work.filter((w) => w.environment_id === env.id);
  const activeAt = items.map((w) => Date.parse(w.history.find((h) => h.to === 'active')?.at));
  const firstLeft = Math.min(...items.map((w) => Date.parse(w.history.find((h) => h.from === 'active')?.at ?? 'x') || Infinity));
  ok(items.length === N && Math.max(...activeAt) < firstLeft, 'all four items were active at the same time', items.map((w) => w.history));
  const stopped = await until(async () => (await cp.report()).work.filter((w) => w.environment_id === env.id && w.state === 'stopped').length === N, 10_000);
  ok(stopped, 'all four items end stopped');
  ok(Object.keys(rep.mistake_counts).length === 0, 'no protocol mistakes', rep.mistakes);
  ok(await until(() => readdirSync(baseDir).length === 0, 3000), 'the four session directories are removed', readdirSync(baseDir));
} finally {
  const r = await runner.stop();
  ok(r.code === 0, 'runner exits 0 on SIGTERM', { r, log: runner.log().slice(-2000) });
  const left = await untilNoTracked(baseDir, 3000);
  ok(left.length === 0, 'no tracked process left', left);
}
done();
