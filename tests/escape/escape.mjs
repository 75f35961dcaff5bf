// Sandbox escape attempts through the real runner: a session whose bash
// tool runs er-escape-attempt (attempt.c) once per escape, inside the
// backend named by $ER_TEST_SANDBOX, then the verdicts are decided on the
// host (checksums of host files, banners carrying a nonce, files that
// appear, processes that survive).  Under an isolating backend every
// attempt must fail; under `none` the check reports which succeed, as
// diagnostics, since `none` is no isolation.
//
// Environment: ER_TEST_SANDBOX (backend), ER_TEST_SANDBOX_ARGS (extra runner
// flags), ER_ESCAPE_ATTEMPT (the built attempt program), ER_ESCAPE_USER (run
// the runner as this unprivileged user instead of root), ER_ESCAPE_NETWORK
// (also run the allowlist attempts: "allowlist").
import { copyFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  API_KEY, CP_URL, apiClient, cp, done, environment, ok, say, startRunner, toolCalls, TMP, SANDBOX, until, untilTurnEnds, untilWork,
} from '../runner/lib.mjs';
import { zip } from '../runner/archives.mjs';

const client = apiClient();
const isolating = SANDBOX !== 'none';
// The backend that must serve: SANDBOX, or the one the default should
// choose where the runner chooses ($ER_ESCAPE_BACKEND; the pod harness).
const BACKEND = process.env.ER_ESCAPE_BACKEND || SANDBOX;
const nonce = Math.random().toString(36).slice(2, 12);
const runAs = process.env.ER_ESCAPE_USER || null;
const attemptBin = process.env.ER_ESCAPE_ATTEMPT;
const maxProcs = 64;
const label = `${BACKEND}${BACKEND !== SANDBOX ? ` (${SANDBOX})` : ''}${runAs ? ` as ${runAs}` : ''}${process.env.ER_ESCAPE_NETWORK === 'allowlist' ? ' (allowlist)' : ''}`;

function fnv1a(buf) {
  let h = 2166136261;
  for (const b of buf) {
    h ^= b;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function idsOf(user) {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user ${user}`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

// Host services the sandbox must not reach; each answers with a banner.
function serve(listenArgs) {
  return new Promise((resolve) => {
    const srv = createServer((c) => c.end(`HOST-${nonce}\n`));
    srv.listen(...listenArgs, () => resolve(srv));
  });
}

const dir = join(TMP, `escape-${nonce}`);
const workdir = join(dir, 'work');
mkdirSync(workdir, { recursive: true });
chmodSync(dir, 0o711);
// The runner's own credentials and secrets, as a real deployment has them.
const keyFile = join(dir, 'service.key');
// The items' records, where a deployment keeps them: outside /tmp, which every backend makes private.
const stateDir = `/var/tmp/er-escape-state-${nonce}`;
const recordCanary = join(stateDir, 'record-canary');
process.env.ANTHROPIC_API_KEY = `sk-ant-canary-${nonce}`;
process.env.ER_ESCAPE_CANARY_TOKEN = `canary-token-${nonce}`;
const secrets = [process.env.ANTHROPIC_API_KEY, process.env.ER_ESCAPE_CANARY_TOKEN];

const unixHost = join(dir, 'host.sock');
const unixWork = join(workdir, 'visible.sock'); // a socket the sandbox can see: only seccomp stops it
const tcpSrv = await serve([0, '127.0.0.1']);
const tcpPort = tcpSrv.address().port;
const unixSrv = await serve([unixHost]);
const unixWorkSrv = await serve([unixWork]);
chmodSync(unixHost, 0o777);
chmodSync(unixWork, 0o777);

const { env, key } = await environment(client, `escape-${SANDBOX}`);
writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
mkdirSync(stateDir, { mode: 0o700 });
writeFileSync(recordCanary, `record-${nonce}\n`, { mode: 0o600 });
secrets.push(key);
copyFileSync(attemptBin, join(workdir, 'attempt'));
chmodSync(join(workdir, 'attempt'), 0o755);
let runnerIds = null;
if (runAs) {
  runnerIds = idsOf(runAs);
  for (const p of [dir, keyFile, workdir, join(workdir, 'attempt'), stateDir, recordCanary]) chownSync(p, runnerIds.uid, runnerIds.gid);
}

const outsideTmp = join(dir, `outside-${nonce}`);
const outsideEtc = `/etc/er-escape-${nonce}`;
const marker = `er-escape-daemon-${nonce}`;
const pid1Flag = join(workdir, `pid1-flag-${nonce}`);
const A = './attempt';

const extraAllowlist = [];
const attempts = [
  { name: 'shadow', cmd: `${A} read shadow /etc/shadow`, escaped: (r) => hostSum('/etc/shadow', r) },
  { name: 'keyfile', cmd: `${A} read keyfile ${keyFile}`, escaped: (r) => hostSum(keyFile, r) },
  { name: 'records', cmd: `${A} read records ${recordCanary}`, escaped: (r) => hostSum(recordCanary, r) },
  { name: 'write-etc', cmd: `${A} write write-etc ${outsideEtc}`, escaped: () => existsSync(outsideEtc) },
  { name: 'write-outside', cmd: `${A} write write-outside ${outsideTmp}`, escaped: () => existsSync(outsideTmp) },
  { name: 'unix-host', cmd: `${A} unix unix-host ${unixHost}`, escaped: (r) => r.includes(`HOST-${nonce}`) },
  { name: 'unix-visible', cmd: `${A} unix unix-visible ${unixWork}`, escaped: (r) => r.includes(`HOST-${nonce}`) },
  { name: 'tcp-loopback', cmd: `${A} tcp tcp-loopback ${tcpPort}`, escaped: (r) => r.includes(`HOST-${nonce}`) },
  // Into the runner's terminal (none is reachable: setsid, pipes), or the
  // mechanism itself on a pty the sandbox makes; firejail cannot filter
  // ioctl arguments, so for it only the runner's terminal counts.
  {
    name: 'tiocsti', cmd: `${A} tiocsti tiocsti`, escaped: (r) => r.startsWith('ok'),
    weaker: { firejail: { escaped: (r) => /^ok (runner|controlling)/.test(r), why: 'TIOCSTI into a pty of its own is not refused (no seccomp ioctl filter in firejail)' } },
  },
  { name: 'ptrace', cmd: `${A} ptrace ptrace RUNNER_PID`, escaped: (r) => r.startsWith('ok') },
  { name: 'environ', cmd: `${A} environ environ RUNNER_PID`, escaped: (r, ctx) => sumMatches(ctx.environSum, r) },
  { name: 'signal', cmd: `${A} signal signal RUNNER_PID`, escaped: (r) => r.startsWith('ok') },
  // Without a pid namespace the host's processes are listed, command lines included.
  {
    name: 'proc-cmdline', cmd: `${A} read proc-cmdline /proc/RUNNER_PID/cmdline`, escaped: (r, ctx) => sumMatches(ctx.cmdlineSum, r),
    weaker: { landlock: { escaped: () => false, why: 'the runner\'s command line is readable in /proc (no pid namespace)' } },
  },
  { name: 'env-secrets', cmd: `${A} env env-secrets`, escaped: (r, ctx) => ctx.envLeaks.length > 0 },
  { name: 'nproc', cmd: `${A} nproc nproc ${maxProcs + 16}`, escaped: (r) => Number(r.split(' ')[1]) >= maxProcs + 16 },
  { name: 'daemon', cmd: `${A} daemon daemon ${marker}`, escaped: (r, ctx) => ctx.daemons.length > 0 },
  // Every process of the sandbox, its pid 1 included where it has a pid
  // namespace, runs under a seccomp filter: seen from the host while the
  // attempt waits (an unfiltered pid 1 is a way out: its memory is writable
  // through /proc/1/mem).
  {
    name: 'seccomp-pid1', cmd: `${A} wait seccomp-pid1 ${pid1Flag}`,
    escaped: (r, ctx) => !ctx.pid1?.length || (ctx.pid1[0].ns && !ctx.pid1.some((p) => p.ns === '1')) || ctx.pid1.some((p) => p.seccomp !== '2'),
    weaker: { firejail: { escaped: (r, ctx) => !ctx.pid1?.length || ctx.pid1.some((p) => p.seccomp !== '2' && p.memUid === ctx.pid1[0].memUid), why: 'pid 1 is firejail itself, unfiltered but not dumpable: the sandbox cannot reach its memory' } },
  },
];
// With the allow-list network: only allowed.test on the test's port is
// reachable, through the runner's proxy.  The other names are pinned to
// addresses the proxy must refuse (the IPv4 loopback in IPv6 forms, an
// address of this host, reached through a wildcard entry; a listener on
// every address answers there) or listed without the port asked for.
const allowlist = process.env.ER_ESCAPE_NETWORK === 'allowlist';
const viaProxy = (r) => /^ok 200 /.test(r) && r.includes(`HOST-${nonce}`);
const refusedByPolicy = (r) => viaProxy(r) || !/^ok 403 /.test(r);
const anySrv = allowlist ? await serve([0, '0.0.0.0']) : null;
const ownAddr = Object.values(networkInterfaces()).flat().find((i) => i.family === 'IPv4' && !i.internal)?.address;
if (allowlist) {
  const port = tcpPort;
  const pins = ['allowed.test=127.0.0.1', 'denied.test=127.0.0.1', 'port443.test=127.0.0.1', 'mapped.test=::ffff:127.0.0.1',
    'compat.test=::127.0.0.1', 'nat64.test=64:ff9b::7f00:1', 'sixto4.test=2002:7f00:1::1'];
  const domains = [`allowed.test:${port}`, 'port443.test', `mapped.test:${port}`, `compat.test:${port}`, `nat64.test:${port}`,
    `sixto4.test:${port}`, `*.wild.test:${anySrv.address().port}`];
  if (ownAddr) pins.push(`own.wild.test=${ownAddr}`);
  extraAllowlist.push('--capacity=2', `--sandbox-allowed-domains=${domains.join(',')}`, `--plugin-option=bubblewrap.proxy_hosts=${pins.join(',')}`);
  attempts.push(
    { name: 'proxy-denied-name', cmd: `${A} proxy proxy-denied-name denied.test ${port}`, escaped: viaProxy },
    { name: 'proxy-ip-literal', cmd: `${A} proxy proxy-ip-literal 127.0.0.1 ${port}`, escaped: viaProxy },
    { name: 'proxy-port', cmd: `${A} proxy proxy-port port443.test ${port}`, escaped: refusedByPolicy },
    { name: 'proxy-v4-mapped', cmd: `${A} proxy proxy-v4-mapped mapped.test ${port}`, escaped: refusedByPolicy },
    { name: 'proxy-v4-compatible', cmd: `${A} proxy proxy-v4-compatible compat.test ${port}`, escaped: refusedByPolicy },
    { name: 'proxy-nat64', cmd: `${A} proxy proxy-nat64 nat64.test ${port}`, escaped: refusedByPolicy },
    { name: 'proxy-6to4', cmd: `${A} proxy proxy-6to4 sixto4.test ${port}`, escaped: refusedByPolicy },
  );
  if (ownAddr) attempts.push({ name: 'proxy-host-own-address', cmd: `${A} proxy proxy-host-own-address own.wild.test ${anySrv.address().port}`, escaped: refusedByPolicy });
  else console.log('# no non-loopback IPv4 address here: the host-own-address attempt is not run');
}

// ok <bytes> <sum> equal to the host file's content?
function hostSum(path, r) {
  try {
    return sumMatches(fnv1a(readFileSync(path)), r);
  } catch {
    return false;
  }
}

function sumMatches(sum, r) {
  const m = /^ok (\d+) ([0-9a-f]{8})/.exec(r);
  return !!m && m[1] !== '0' && m[2] === sum;
}

// The process running `attempt wait` with `flag`, then its ancestors up to
// the runner (or, in a pid namespace of its own, up to its pid 1), each with
// its seccomp mode (2: filtered) and whether its memory is reachable.
function sandboxChain(flag, runnerPid) {
  const status = (pid) => readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (st, key) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(st)?.[1].trim() ?? '';
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0');
      if (argv[1] !== 'wait' || argv[3] !== flag) continue;
      const chain = [];
      const depth = field(status(p), 'NSpid').split(/\s+/).length;
      for (let pid = p; pid !== '0' && pid !== String(runnerPid);) {
        const st = status(pid);
        const ns = field(st, 'NSpid').split(/\s+/);
        if (ns.length < depth) break;
        // /proc/PID/mem belongs to root when the process is not dumpable.
        chain.push({ pid, ns: depth > 1 ? ns.at(-1) : null, name: field(st, 'Name'), memUid: statSync(`/proc/${pid}/mem`).uid, seccomp: field(st, 'Seccomp') });
        pid = field(st, 'PPid');
      }
      return chain;
    } catch {}
  }
  return null;
}

async function watchPid1() {
  for (let i = 0; i < 600; i++) {
    const chain = sandboxChain(pid1Flag, runner.pid);
    if (chain) {
      ctx.pid1 = chain;
      writeFileSync(pid1Flag, '');
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// One session opens more connections to the proxy than its share and
// sends nothing on them; meanwhile another session's request goes through,
// and the proxy ends every held connection (refused past the share, or a
// request head that never came).
async function proxyFairness() {
  const holding = join(workdir, `holding-${nonce}`);
  const hog = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(hog.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: `cd ${workdir} && ${A} hold proxy-hold 300 ${holding} 2>&1` } }], message: 'done' }] });
  await say(client, hog.id, 'take the proxy');
  const held = await until(() => existsSync(holding), 30_000);
  ok(held, `${label}: one session holds 300 connections to the proxy`, runner.log().slice(-2000));
  const other = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(other.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: `cd ${workdir} && ${A} proxy proxy-fair allowed.test ${tcpPort} 2>&1` } }], message: 'done' }] });
  await say(client, other.id, 'use the proxy');
  const fair = toolCalls((await untilTurnEnds(other.id, 1, 30_000)) ?? [])[0]?.text ?? '';
  ok(viaProxy(fair.replace('RESULT proxy-fair ', '')), `${label}: another session still gets through the proxy meanwhile`, fair);
  const hogText = toolCalls((await untilTurnEnds(hog.id, 1, 90_000)) ?? [])[0]?.text ?? '';
  const m = /RESULT proxy-hold ok (\d+) (\d+)/.exec(hogText);
  ok(m && m[1] === '300' && m[2] === m[1], `${label}: the proxy ends every held connection (past the share, or no request head)`, hogText);
  ok(/request head for \?:\? timed out/.test(runner.log()) && /session \S+ has \d+ connections open: refusing more/.test(runner.log()),
    `${label}: the runner's log shows the share and the head deadline at work`);
}

// The runner installs and removes a session's skills as itself, in the
// session's directory: a `skills` link planted by an earlier session, and
// the folders swapped for links while the session runs, must not lead it
// outside.  Judged by a bait folder on the host named like the skill.
async function skillsPlanted() {
  const bait = join(dir, `skills-bait-${nonce}`);
  mkdirSync(join(bait, 'bait-skill'), { recursive: true });
  writeFileSync(join(bait, 'bait-skill', 'keep.txt'), 'keep\n');
  const res = await fetch(`${CP_URL}/_test/skills?name=bait-skill`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/octet-stream' },
    body: zip([{ name: 'bait-skill/SKILL.md', data: 'bait\n' }]),
  });
  const skill = await res.json();
  const run = async (agent, command) => {
    const sess = await client.beta.sessions.create({ agent, environment_id: env.id });
    await cp.script(sess.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: `cd ${workdir} && ${command} 2>&1` } }], message: 'done' }] });
    await say(client, sess.id, 'skills');
    const text = toolCalls((await untilTurnEnds(sess.id, 1, 30_000)) ?? [])[0]?.text;
    await untilWork(sess.id, (x) => x[0]?.state === 'stopped', 20_000);
    return text;
  };
  const planted = await run('agent_local', `rm -rf skills && ln -s ${bait} skills && ls -ld skills`);
  const swapped = await run({ id: 'agent_skills_bait', skills: [{ skill_id: skill.skill_id, version: 'latest' }] },
    `ls skills/bait-skill && mv skills skills.old && ln -s ${bait} skills && echo swapped`);
  // The session's directory goes (or, a fixed --workdir, its skills) after the stop.
  await until(() => !existsSync(join(workdir, 'skills.old', 'bait-skill')), 5000);
  const left = existsSync(join(bait, 'bait-skill')) ? readdirSync(join(bait, 'bait-skill')).sort().join(',') : 'gone';
  results['skills-link'] = left === 'keep.txt' ? `ok held (${(swapped ?? '').split('\n')[0]})` : `escaped: the bait folder holds ${left}`;
  ctx.skillsPlanted = planted;
  rmSync(join(workdir, 'skills.old'), { recursive: true, force: true });
  rmSync(join(workdir, 'skills'), { recursive: true, force: true });
}

// grep checks a path, then searches it: a directory swapped for a link to
// a folder outside the workdir in between must not be followed (the
// runner's doing, so it must hold under `none` too).
async function grepRace() {
  const bait = join(dir, `grep-bait-${nonce}`);
  mkdirSync(bait, { recursive: true });
  chmodSync(bait, 0o755);
  writeFileSync(join(bait, 'bait.txt'), `GREP-BAIT-${nonce}\n`, { mode: 0o644 });
  const sess = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const greps = Array.from({ length: 150 }, () => ({ name: 'grep', input: { pattern: 'GREP-BAIT', path: 'race/d' } }));
  const setup = `cd ${workdir} && rm -rf race && mkdir -p race/d && echo plain > race/d/plain.txt && ln -s ${bait} race/l && ` +
    `{ ${A} swap grep-race race/d race/l 20 >race.out 2>&1 & } && echo swapping`;
  await cp.script(sess.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: setup } }, ...greps], message: 'done' }] });
  await say(client, sess.id, 'grep');
  const texts = toolCalls((await untilTurnEnds(sess.id, 1, 60_000)) ?? []).map((c) => c.text ?? '');
  await untilWork(sess.id, (x) => x[0]?.state === 'stopped', 20_000);
  const leaked = texts.filter((t) => t.includes(`GREP-BAIT-${nonce}`)).length;
  results['grep-race'] = texts.length < 151 ? `no result: ${texts.length} of 151 calls answered`
    : leaked ? `escaped: ${leaked} of 150 greps read the bait` : `ok held (150 greps during the swaps: ${texts[0].split('\n')[0]})`;
  rmSync(join(workdir, 'race'), { recursive: true, force: true });
  rmSync(join(workdir, 'race.out'), { force: true });
}

function daemonsLeft() {
  const found = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(marker)) found.push(Number(p));
    } catch {}
  }
  return found;
}

const extra = [`--sandbox-max-procs=${maxProcs}`, ...extraAllowlist];
const runner = startRunner({ envId: env.id, key, workdir, keyFile, stateDir, workerId: `escape-${nonce}`, extra, uid: runnerIds?.uid, gid: runnerIds?.gid });
let results = {};
let ctx = {};
let stopped = null;
try {
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const probes = allowlist ? [{ name: 'proxy-allowed', cmd: `${A} proxy proxy-allowed allowed.test ${tcpPort}` }] : [];
  const calls = [...attempts, ...probes].map((a) => ({ name: 'bash', input: { command: `cd ${workdir} && ${a.cmd.replace('RUNNER_PID', String(runner.pid))} 2>&1` } }));
  await cp.script(session.id, { turns: [{ tool_calls: calls, message: 'done' }] });
  const watching = watchPid1();
  await say(client, session.id, 'try to escape');
  const events = await untilTurnEnds(session.id, 1, 60_000);
  await watching;
  ok(events, `${label}: the session runs every attempt`, runner.log().slice(-3000));
  const tc = toolCalls(events ?? []);
  const texts = tc.map((c) => c.text ?? '');
  const started = (runner.log().match(/sandbox: (\S+), the strongest/) ?? runner.log().match(/sandbox (\S+) \S+ \(/))?.[1];
  ok(started === BACKEND, `${label}: the runner uses the ${BACKEND} backend`, started);
  for (const [i, a] of attempts.entries()) {
    const line = texts[i]?.split('\n').find((l) => l.startsWith(`RESULT ${a.name} `));
    results[a.name] = line ? line.slice(`RESULT ${a.name} `.length) : `no result: ${texts[i]?.slice(0, 200)}`;
  }
  if (allowlist) {
    const line = texts[attempts.length]?.split('\n').find((l) => l.startsWith('RESULT proxy-allowed ')) ?? texts[attempts.length];
    ok(viaProxy(line?.replace('RESULT proxy-allowed ', '') ?? ''), `${label}: an allowed domain is reachable through the proxy`, line);
  }
  const envText = texts[attempts.findIndex((a) => a.name === 'env-secrets')] ?? '';
  ctx.envLeaks = [
    ...secrets.filter((s) => envText.includes(s)).map((s) => `value ${s.slice(0, 10)}...`),
    ...envText.split('\n').filter((l) => /^ENV (ANTHROPIC_|ER_|[A-Z_]*(KEY|TOKEN|SECRET|PASSWORD)[A-Z_]*=)/.test(l)).map((l) => l.slice(4).split('=')[0]),
  ];
  // The runner's environment as it is now (it holds the canaries).
  ctx.environSum = fnv1a(readFileSync(`/proc/${runner.pid}/environ`));
  ctx.cmdlineSum = fnv1a(readFileSync(`/proc/${runner.pid}/cmdline`));
  // The session ends (--max-idle-sec) and the runner kills what it started.
  await untilWork(session.id, (x) => x[0]?.state === 'stopped', 20_000);
  if (allowlist) await proxyFairness();
  await skillsPlanted();
  await grepRace();
  await new Promise((r) => setTimeout(r, 1500));
  ctx.daemons = daemonsLeft();
} finally {
  stopped = await runner.stop();
}
for (const pid of ctx.daemons ?? []) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

// Judged outside the attempts' session (skillsPlanted(), grepRace()).
// The runner's own doing: it must hold under `none` too.
attempts.push({ name: 'skills-link', cmd: null, escaped: (r) => !r.startsWith('ok'), runner: true });
attempts.push({ name: 'grep-race', cmd: null, escaped: (r) => !r.startsWith('ok'), runner: true });
const escaped = [];
for (const a of attempts) {
  const r = results[a.name] ?? 'not run';
  const weaker = a.weaker?.[BACKEND];
  let e;
  try {
    e = !!(weaker ?? a).escaped(r, ctx);
  } catch {
    e = false;
  }
  if (weaker && a.escaped(r, ctx)) console.log(`# ${label}: weaker than bubblewrap: ${weaker.why}`);
  const ran = !r.startsWith('no result') && r !== 'not run';
  if (e) escaped.push(a.name);
  if (isolating || a.runner) {
    ok(ran && !e, `${label}: ${a.name} blocked (${r.slice(0, 80)})`, { result: r, leaks: a.name === 'env-secrets' ? ctx.envLeaks : undefined, daemons: a.name === 'daemon' ? ctx.daemons : undefined, chain: a.name === 'seccomp-pid1' ? ctx.pid1 : undefined });
  } else {
    ok(ran, `${label}: ${a.name} attempted: ${e ? 'ESCAPES (none is no isolation)' : 'blocked anyway'} (${r.slice(0, 60)})`, r);
  }
}
if (!isolating) console.log(`# none: ${escaped.length} of ${attempts.length} attempts escape: ${escaped.join(', ')}`);
rmSync(outsideTmp, { force: true });
rmSync(outsideEtc, { force: true });
rmSync(stateDir, { recursive: true, force: true });
tcpSrv.close();
anySrv?.close();
unixSrv.close();
unixWorkSrv.close();
ok(!runner.log().includes(key), `${label}: the service key is not in the runner's log`);
ok(stopped?.code === 0, `${label}: SIGTERM ends the runner with status 0`, { stopped, log: runner.log().slice(-1500) });
done();
