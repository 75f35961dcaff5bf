// The command executor: the runner hands each claimed item to a program with
// the `poll --on-work` contract.
//  1. The official SDK's EnvironmentWorker.handleItem() as the program, with
//     --command-lease=program, completes a tool session; the runner sends no
//     heartbeat and leaves the final stop to the program.
//  2. A shell program with the runner keeping the lease: the variables and
//     the work JSON on stdin, no environment key, force stop after its exit.
//  3. The runner keeps the lease and loses it: the program's tree is killed
//     and the item is not stopped.
//  4. The handleItem() program is killed mid-session: the runner force-stops
//     the item and nothing it started is left running.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  apiClient, cp, done, environment, ok, say, startRunner, TMP, toolCalls, trackedProcs, untilGone, untilNoTracked,
  untilTracked, untilTurnEnds, untilWork, textOf, until,
} from './lib.mjs';

const client = apiClient();
const NODE = process.env.SDK_NODE ?? process.execPath;
const ON_WORK = fileURLToPath(new URL('../sdk/on-work.mjs', import.meta.url));
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

async function handleItemSession() {
  const name = 'cmd-handleitem';
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const runner = startRunner({
    envId: env.id, key, workerId: name, maxIdleSec: 60,
    extra: ['--executor=command', `--command=${q(NODE)} ${q(ON_WORK)}`, '--command-lease=program'],
  });
  try {
    await say(client, session.id, "What's 2 + 2?");
    const events = await untilTurnEnds(session.id, 1, 30_000);
    ok(events, `${name}: the turn ends`, runner.log().slice(-3000));
    const calls = toolCalls(events ?? []);
    ok(calls.length === 1 && calls[0].text === '4' && calls[0].results.length === 1, `${name}: handleItem() ran bash once: "4"`, calls);
    const answer = textOf(events?.findLast((e) => e.type === 'agent.message')?.content);
    ok(answer === '2 + 2 = 4', `${name}: answer "2 + 2 = 4"`, answer);
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', `${name}: the program force-stopped the item after its idle time`, w?.[0].history);
    const exited = await until(() => /the command exited with status 0/.test(runner.log()), 5000);
    ok(exited, `${name}: the program exited 0`, runner.log().slice(-2000));
    ok(/on-work: work \S+ session \S+ secret-on-stdin true secret-matches true environment-key unset/.test(runner.log()),
      `${name}: the program got the ids, the secret as ANTHROPIC_WORK_SECRET and on stdin, no environment key`, runner.log().match(/on-work:.*/)?.[0]);
    ok(!/\bheartbeat\b.*(sent|failed|lease)/i.test(runner.log().split('\n').filter((l) => /component=lease|lease:/.test(l)).join('\n')),
      `${name}: the runner itself ran no lease`);
    const rep = await cp.report();
    ok(Object.keys(rep.mistake_counts).length === 0, `${name}: no protocol mistakes (one heartbeater)`, rep.mistakes);
    const stops = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === name);
    ok(stops.length === 1, `${name}: one stop request (the program's), none from the runner`, stops);
  } finally {
    await runner.stop();
  }
  ok((await untilNoTracked(TMP, 3000)).length === 0, `${name}: nothing left running`);
}

async function shellProgram() {
  const name = 'cmd-shell';
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { external: true });
  const out = join(TMP, `cmd-shell-${Date.now()}`);
  const runner = startRunner({
    envId: env.id, key, workerId: name,
    extra: ['--executor=command', `--command=cat > ${q(out)}.json; env > ${q(out)}.env; echo to-stdout; echo to-stderr >&2; sleep 1`],
  });
  try {
    await say(client, session.id, 'hello');
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', `${name}: the runner force-stops the item when the program exits`, w?.[0].history);
    const item = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    const vars = Object.fromEntries(readFileSync(`${out}.env`, 'utf8').split('\n').filter(Boolean).map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]));
    ok(item.id === w?.[0].id && item.data?.id === session.id && typeof item.secret === 'string', `${name}: the work JSON with its secret on stdin`, Object.keys(item));
    ok(vars.ANTHROPIC_WORK_ID === item.id && vars.ANTHROPIC_SESSION_ID === session.id && vars.ANTHROPIC_ENVIRONMENT_ID === env.id &&
      vars.ANTHROPIC_BASE_URL === process.env.CP_URL && vars.ANTHROPIC_WORK_SECRET === item.secret,
    `${name}: ANTHROPIC_WORK_ID, _SESSION_ID, _ENVIRONMENT_ID, _BASE_URL, _WORK_SECRET`, Object.keys(vars).filter((k) => k.startsWith('ANTHROPIC_')));
    ok(!('ANTHROPIC_ENVIRONMENT_KEY' in vars) && !Object.values(vars).includes(key), `${name}: no environment key`);
    ok(/stdout: to-stdout/.test(runner.log()) && /stderr: to-stderr/.test(runner.log()), `${name}: the program's output is logged`);
    const rep = await cp.report();
    const beats = rep.requests.log.filter((l) => l.route === 'work.heartbeat' && l.worker === name && l.status === 200);
    ok(beats.length >= 1, `${name}: the runner kept the lease (${beats.length} heartbeats)`);
  } finally {
    await runner.stop();
  }
}

async function leaseLost() {
  const name = 'cmd-lease-lost';
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { external: true });
  await cp.faults({ lease_ttl_sec: 4 });
  const runner = startRunner({ envId: env.id, key, workerId: name, extra: ['--executor=command', '--command=sleep 300 & sleep 301'] });
  try {
    await say(client, session.id, 'hello');
    const p = await untilTracked(/^sleep 301$/, runner.workdir, 15_000);
    ok(p, `${name}: the program runs`, runner.log().slice(-2000));
    await untilWork(session.id, (w) => w[0]?.state === 'active', 5000);
    await cp.faults({ heartbeat_412: { session_id: session.id } });
    ok(p && (await untilGone(p.pid, 6000)) !== null, `${name}: the program is killed when the lease is lost`, runner.log().slice(-2000));
    const same = await until(() => trackedProcs(runner.workdir).filter((x) => x.id === p?.id).length === 0, 3000);
    ok(same, `${name}: its whole tree (the item may meanwhile be served again)`, trackedProcs(runner.workdir));
    const rep = await cp.report();
    const stops = rep.requests.log.filter((l) => l.route === 'work.stop' && l.worker === name);
    ok(stops.length === 0, `${name}: the item is not stopped`, stops);
  } finally {
    await runner.stop();
    await cp.clearFaults();
  }
}

async function killed() {
  const name = 'cmd-killed';
  const { env, key } = await environment(client, name);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'sleep 120' } }], message: 'slept' }] });
  const runner = startRunner({
    envId: env.id, key, workerId: name, maxIdleSec: 60,
    extra: ['--executor=command', `--command=ONWORK_SLEEPER=1 exec ${q(NODE)} ${q(ON_WORK)}`, '--command-lease=program'],
  });
  try {
    await say(client, session.id, 'sleep');
    const tool = await untilTracked(/^sleep 120$/, runner.workdir, 20_000);
    ok(tool, `${name}: the program runs the tool`, runner.log().slice(-3000));
    const prog = trackedProcs(runner.workdir).find((p) => p.cmd.includes('on-work.mjs'));
    ok(prog, `${name}: the program is found`, trackedProcs(runner.workdir));
    if (prog) process.kill(prog.pid, 'SIGKILL');
    const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
    ok(w?.[0].history.at(-1)?.reason === 'stop_force', `${name}: the runner force-stops the item`, w?.[0].history);
    ok(/the command was killed by signal 9/.test(runner.log()), `${name}: the log says the program was killed`);
    const left = await untilNoTracked(runner.workdir, 5000);
    ok(left.length === 0, `${name}: nothing is left running (tool, detached sleeper)`, left);
  } finally {
    await runner.stop();
  }
}

await handleItemSession();
await shellProgram();
await leaseLost();
await killed();
done();
