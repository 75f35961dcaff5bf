// The status listener: /healthz, /readyz and /metrics answer as documented,
// and the metrics match what this check provoked (sessions, tool calls by
// tool and outcome, a poll error, a heartbeat failure, queue figures from
// the work stats endpoint); no id or credential in any label. Then the
// service key: a 401 on poll re-reads the key file once and goes on;
// SIGHUP reopens the log file and reads a rotated key; a key that stays
// refused ends the runner with 77.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiClient, cp, done, environment, freePort, getStatus, issuedTokens, metric, ok, parseMetrics, say, startRunner, TMP,
  toolCalls, until, untilTurnEnds, untilWork,
} from './lib.mjs';

const client = apiClient();
const { env, key } = await environment(client, 'status');
const port = await freePort();
const logFile = join(TMP, 'status-runner.log');
// Each poll error the runner sees takes three failed attempts (the SDK's
// two retries); heartbeats are not retried by the client (the lease
// retries them itself), so each failed beat counts.
await cp.faults({ errors: [{ route: 'work.poll', status: 503, count: 3, credential: 'env' }] });
const runner = startRunner({ envId: env.id, key, baseDir: join(TMP, 'status-base'), workerId: 'status',
  extra: ['--health-port', String(port), '--capacity', '1', '--log-file', logFile] });
const scrape = async () => parseMetrics((await getStatus(port, '/metrics')).text);

try {
  const up = await until(async () => {
    try {
      return (await getStatus(port, '/readyz')).status === 200;
    } catch {
      return false;
    }
  }, 10_000);
  ok(up, 'the listener answers and /readyz turns 200 once a poll succeeded', runner.log().slice(-2000));
  const h = await getStatus(port, '/healthz');
  const hj = h.json ?? {};
  ok(h.status === 200 && h.type.startsWith('application/json') && hj.status === 'ok' && hj.worker_id === 'status' &&
    hj.active_sessions === 0 && hj.capacity === 1 && hj.draining === false && typeof hj.last_poll_age_ms === 'number' &&
    !Number.isNaN(Date.parse(hj.last_poll_at)), '/healthz: 200 with status, worker_id, active_sessions, capacity, last_poll_at, last_poll_age_ms, draining', h);
  const m0 = await scrape();
  ok(metric(m0, 'er_poll_errors_total', { kind: 'server' }) === 1, 'the poll answered 503 three times counts as one server poll error', m0.samples.er_poll_errors_total);
  ok(m0.meta.er_tool_call_duration_seconds?.type === 'histogram' && m0.meta.er_polls_total?.type === 'counter' &&
    metric(m0, 'er_build_info')?.valueOf() === 1, 'metadata: TYPE lines, build info');
  ok((await getStatus(port, '/nope')).status === 404, 'an unknown path is 404');
  const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST', body: 'x' });
  ok(post.status === 405 && post.headers.get('allow') === 'GET', 'POST is 405 with Allow: GET');
  const big = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { 'x-big': 'y'.repeat(8000) } }).then((r) => r.status, () => 'closed');
  ok(big === 431 || big === 'closed', `a request head past 4 KiB is refused (${big})`);

  // One session with a slow bash call and a failing read; two more queue behind it.
  await cp.faults({ errors: [{ route: 'work.heartbeat', status: 503, count: 3 }] });
  const s1 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(s1.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 6; echo slept' } }, { name: 'read', input: { file_path: '/nonexistent/x' } }], message: 'ok' }] });
  await say(client, s1.id, 'go');
  ok(await until(async () => (await getStatus(port, '/healthz')).json?.active_sessions === 1, 10_000), 'healthz counts the active session');
  const s2 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const s3 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await say(client, s2.id, 'two');
  await say(client, s3.id, 'three');
  const busy = await getStatus(port, '/readyz');
  ok(busy.status === 200 && busy.json.ready === true, 'readyz: 200 while every slot is busy (no poll is due)', busy);
  // The stats endpoint is read at most every 5 s, on scrape.
  const mq = await until(async () => {
    const x = await scrape();
    return metric(x, 'er_work_queue_depth') >= 1 ? x : null;
  }, 12_000) ?? await scrape();
  ok(metric(mq, 'er_work_queue_depth') >= 1 && metric(mq, 'er_work_queue_oldest_age_seconds') > 0,
    `queue depth ${metric(mq, 'er_work_queue_depth')} and oldest age ${metric(mq, 'er_work_queue_oldest_age_seconds')} s from the work stats endpoint`,
    Object.keys(mq.samples).filter((k) => k.includes('queue')));

  for (const s of [s1, s2, s3]) ok(await untilTurnEnds(s.id, 1, 30_000), `session ${[s1, s2, s3].indexOf(s) + 1} is served`);
  for (const s of [s1, s2, s3]) await untilWork(s.id, (w) => w[0]?.state === 'stopped', 15_000);
  const calls = toolCalls((await cp.report()).sessions[s1.id].events);
  ok(calls[1]?.is_error === true, 'the read of a missing file is an error result', calls[1]);
  await until(async () => metric(await scrape(), 'er_sessions_active') === 0, 5000);
  const m = await scrape();
  const want = {
    er_sessions_started_total: 3, er_sessions_completed_total: 3, er_sessions_failed_total: 0, er_sessions_active: 0,
    er_claims_total: 3, er_acks_total: 3, er_heartbeat_failures_total: 3, er_leases_lost_total: 0,
  };
  for (const [name, v] of Object.entries(want)) ok(metric(m, name) === v, `${name} = ${v} (got ${metric(m, name)})`);
  ok(metric(m, 'er_tool_calls_total', { tool: 'bash', outcome: 'ok' }) === 3, 'tool calls: bash ok = 3', m.samples.er_tool_calls_total);
  ok(metric(m, 'er_tool_calls_total', { tool: 'read', outcome: 'error' }) === 1, 'tool calls: read error = 1');
  ok(metric(m, 'er_tool_call_duration_seconds_count', { tool: 'bash' }) === 3 && metric(m, 'er_tool_call_duration_seconds_sum', { tool: 'bash' }) >= 6 &&
    metric(m, 'er_tool_call_duration_seconds_bucket', { tool: 'bash', le: '+Inf' }) === 3 &&
    metric(m, 'er_tool_call_duration_seconds_bucket', { tool: 'bash', le: '1' }) === 2,
  'bash durations: count 3, sum >= 6 s, two under 1 s', m.samples.er_tool_call_duration_seconds_bucket?.filter((x) => x.labels.tool === 'bash'));
  ok(metric(m, 'er_heartbeats_total') >= 2 && metric(m, 'er_events_sent_total') >= 4 && metric(m, 'er_watchdog_fired_total', { watchdog: 'idle' }) === 3,
    'heartbeats, events sent (>= 4 results) and three idle releases counted',
    { hb: metric(m, 'er_heartbeats_total'), sent: metric(m, 'er_events_sent_total'), idle: m.samples.er_watchdog_fired_total });
  ok(metric(m, 'er_polls_total') >= metric(m, 'er_polls_empty_total') + 3, 'polls >= empty polls + claims');
  const text = (await getStatus(port, '/metrics')).text;
  const secrets = [key, ...issuedTokens(await cp.report()), env.id, s1.id, s2.id, s3.id];
  ok(secrets.every((x) => !text.includes(x)), 'no key, token, environment or session id in /metrics');
  const labels = new Set(Object.values(m.samples).flat().flatMap((x) => Object.keys(x.labels)));
  ok([...labels].every((l) => ['version', 'abi', 'kind', 'watchdog', 'hook', 'outcome', 'tool', 'le'].includes(l)), `only fixed label names: ${[...labels]}`);

  // A 401 on poll: the key file is read again and polling goes on.
  await cp.faults({ errors: [{ route: 'work.poll', status: 401, count: 1, credential: 'env' }] });
  ok(await until(() => /reading the service key file again/.test(readFileSync(logFile, 'utf8')), 10_000), 'a 401 on poll re-reads the key file');
  const polls = metric(await scrape(), 'er_polls_total');
  ok(await until(async () => metric(await scrape(), 'er_polls_total') > polls + 1, 10_000) && runner.alive(), 'polling goes on with the key re-read');

  // SIGHUP: the log file is reopened (after rotation) and a new key is used.
  renameSync(logFile, `${logFile}.1`);
  const key2 = await cp.envKey(env.id);
  writeFileSync(runner.keyFile, `${key2}\n`, { mode: 0o600 });
  runner.proc.kill('SIGHUP');
  ok(await until(() => existsSync(logFile) && /read a new service key/.test(readFileSync(logFile, 'utf8')), 5000), 'SIGHUP reopens the log file and reads the new key');
  const s4 = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await say(client, s4.id, 'four');
  ok(await untilTurnEnds(s4.id, 1, 20_000), 'a session is served after the rotation');
  ok(!readFileSync(logFile, 'utf8').includes(key2) && !readFileSync(`${logFile}.1`, 'utf8').includes(key), 'neither key in the log');

  // A key that stays refused: one re-read, then exit 77.
  writeFileSync(runner.keyFile, 'sk-ant-oat01-not-a-key-000000000000\n', { mode: 0o600 });
  runner.proc.kill('SIGHUP');
  const r = await Promise.race([runner.exited, sleep(15_000).then(() => null)]);
  ok(r?.code === 77, `a refused key ends the runner with 77 after one re-read (${r?.code})`, readFileSync(logFile, 'utf8').slice(-1500));
} finally {
  await runner.stop();
}
done();
