// Two sessions at once under one runner (--capacity 2, --base-dir): while
// the first runs, the second tries to reach its directory and the base
// directory.  Judged on the host: the bait's checksum, a planted file, the
// first's directory name in a listing.  Then two sessions of the command
// executor with command.secret=file: each program reads its own work secret
// through ANTHROPIC_WORK_SECRET_FILE, and neither finds the other's among
// the files it can open (judged against the secrets the control plane
// handed out).  Then --sandbox-max-disk-mb: one session writes past the
// bound in files each smaller than it and is stopped with a session.error,
// while the other, under it, finishes its turn.  Under an isolating backend
// every attempt must fail; under `none` the check reports which succeed, and
// the disk bound, the runner's own, holds there too.
//
// Environment: as escape.mjs (ER_TEST_SANDBOX, ER_TEST_SANDBOX_ARGS,
// ER_ESCAPE_ATTEMPT, ER_ESCAPE_USER), plus ER_ESCAPE_BASE=outside for a
// --base-dir outside /tmp and /var (in the build directory).
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  apiClient, cp, done, environment, eventsOf, ok, say, startRunner, toolCalls, TMP, SANDBOX, untilTurnEnds, untilWork, until,
} from '../runner/lib.mjs';

const client = apiClient();
const nonce = Math.random().toString(36).slice(2, 12);
const runAs = process.env.ER_ESCAPE_USER || null;
const outside = process.env.ER_ESCAPE_BASE === 'outside';
const isolating = SANDBOX !== 'none';
const attempt = process.env.ER_ESCAPE_ATTEMPT;
const label = `${SANDBOX}${runAs ? ` as ${runAs}` : ''}, two sessions, --base-dir ${outside ? 'outside' : 'under'} /tmp`;

function fnv1a(buf) {
  let h = 2166136261;
  for (const b of buf) {
    h ^= b;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function idsOf(user) {
  const f = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`)).split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

const baseDir = outside ? join(process.env.ER_TOP_BUILDDIR, `escape-base-${nonce}`) : join(TMP, `base-${nonce}`);
mkdirSync(baseDir, { recursive: true });
chmodSync(baseDir, 0o711);
const runnerIds = runAs ? idsOf(runAs) : null;
if (runnerIds) chownSync(baseDir, runnerIds.uid, runnerIds.gid);

const { env, key } = await environment(client, `escape-sessions-${SANDBOX}`);
const keyFile = join(TMP, `key-${nonce}`);
writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
if (runnerIds) chownSync(keyFile, runnerIds.uid, runnerIds.gid);
const bait = `bait-${nonce}\n`;
const flag = `flag-${nonce}`;
const ATT = attempt;
const runner = startRunner({
  envId: env.id, key, keyFile, baseDir, workerId: `escape-sessions-${nonce}`, uid: runnerIds?.uid, gid: runnerIds?.gid,
  extra: ['--capacity', '2', `--sandbox-read-only=${dirname(attempt)}`],
});
let stopped = null;
const results = {};
let first = null;
try {
  // The first session leaves a bait in its directory and stays until told.
  const a = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  await cp.script(a.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: `printf '${bait.trim()}\\n' > bait && ${ATT} wait hold ./${flag} 2>&1` } }], message: 'done' }] });
  await say(client, a.id, 'hold');
  first = await until(() => {
    for (const d of readdirSync(baseDir)) {
      try {
        if (readFileSync(join(baseDir, d, 'bait'), 'utf8') === bait) return join(baseDir, d);
      } catch {}
    }
    return null;
  }, 30_000);
  ok(first, `${label}: the first session runs`, runner.log().slice(-2000));
  // The second knows the first's directory by name.
  const attempts = first ? [
    { name: 'other-read', cmd: `${ATT} read other-read ${first}/bait`, escaped: (r) => r.includes(fnv1a(Buffer.from(bait))) },
    { name: 'other-list', cmd: `${ATT} list other-list ${first}`, escaped: (r) => /^ok [1-9]/.test(r) && r.includes('bait') },
    { name: 'other-write', cmd: `${ATT} write other-write ${first}/planted-${nonce}`, escaped: () => existsSync(join(first, `planted-${nonce}`)) },
    { name: 'base-list', cmd: `${ATT} list base-list ${baseDir}`, escaped: (r) => r.includes(basename(first)) },
  ] : [];
  if (first) {
    const b = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(b.id, { turns: [{ tool_calls: attempts.map((x) => ({ name: 'bash', input: { command: `${x.cmd} 2>&1` } })), message: 'done' }] });
    await say(client, b.id, 'reach the other');
    const evs = await untilTurnEnds(b.id, 1, 60_000);
    ok(evs, `${label}: the second session runs its attempts`, runner.log().slice(-2000));
    const texts = toolCalls(evs ?? []).map((c) => c.text ?? '');
    for (const [i, x] of attempts.entries()) {
      const line = texts[i]?.split('\n').find((l) => l.startsWith(`RESULT ${x.name} `));
      results[x.name] = line ? line.slice(`RESULT ${x.name} `.length) : `no result: ${texts[i]?.slice(0, 200)}`;
    }
    writeFileSync(join(first, flag), '');
    ok(await untilTurnEnds(a.id, 1, 60_000), `${label}: the first session ends its turn`);
  }
  for (const x of attempts) {
    const r = results[x.name] ?? 'not run';
    const ran = !r.startsWith('no result') && r !== 'not run';
    if (isolating) ok(ran && !x.escaped(r), `${label}: ${x.name} blocked (${r.slice(0, 80)})`, r);
    else ok(ran, `${label}: ${x.name} attempted: ${x.escaped(r) ? 'ESCAPES (none is no isolation)' : 'blocked anyway'}`, r);
  }
} finally {
  stopped = await runner.stop();
}
ok(stopped?.code === 0, `${label}: SIGTERM ends the runner with status 0`, stopped);

// The work secret file: each program says it is ready, waits for the host's
// go (so that both run at once), then hashes its own secret file and every
// regular file it can open through /proc.
const probe = [
  'echo "secret-probe-ready $ANTHROPIC_SESSION_ID"',
  'i=0; while [ ! -e ./go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done',
  'own=$(sha256sum < "$ANTHROPIC_WORK_SECRET_FILE" | cut -c1-16)',
  'seen=$(for p in /proc/[0-9]*/fd/*; do [ -f "$p" ] && sha256sum < "$p" 2>/dev/null | cut -c1-16; done | sort -u | tr "\\n" " ")',
  'echo "secret-probe $ANTHROPIC_SESSION_ID own=$own seen=$seen"',
].join('; ');
const hash16 = (s) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const cmdRunner = startRunner({
  envId: env.id, key, keyFile, baseDir, workerId: `escape-secret-${nonce}`, uid: runnerIds?.uid, gid: runnerIds?.gid, maxIdleSec: 60,
  extra: ['--capacity', '2', '--executor=command', `--command=${probe}`, '--plugin-option=command.secret=file'],
});
try {
  const ids = [];
  for (let i = 0; i < 2; i++) ids.push((await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id })).id);
  const ready = await until(() => ids.every((id) => cmdRunner.log().includes(`secret-probe-ready ${id}`)), 30_000);
  ok(ready, `${label}: both command sessions run at once`, cmdRunner.log().slice(-2000));
  for (const d of readdirSync(baseDir)) {
    if (ids.some((id) => d.startsWith(`${id}-`)) && !d.endsWith('.er-lock')) writeFileSync(join(baseDir, d, 'go'), '');
  }
  const seen = await until(() => {
    const lines = ids.map((id) => new RegExp(`secret-probe ${id} own=(\\S*) seen=([^"\\n]*)`).exec(cmdRunner.log()));
    return lines.every(Boolean) ? lines.map((m) => ({ own: m[1], seen: m[2].trim().split(' ') })) : null;
  }, 30_000);
  const report = await cp.report();
  const secretOf = (id) => report.work.find((w) => w.session_id === id)?.handouts.at(-1)?.secret ?? '';
  for (const [i, id] of ids.entries()) {
    const mine = hash16(secretOf(id));
    const other = hash16(secretOf(ids[1 - i]));
    ok(seen?.[i].own === mine, `${label}: command session ${i + 1} reads its own work secret file`, { got: seen?.[i], log: cmdRunner.log().slice(-1500) });
    if (isolating) ok(seen && !seen[i].seen.includes(other), `${label}: command session ${i + 1} finds no other session's secret`, seen?.[i]);
    else ok(seen, `${label}: command session ${i + 1} ${seen?.[i].seen.includes(other) ? "reads the other's secret (none is no isolation)" : "finds no other session's secret"}`, seen?.[i]);
  }
} finally {
  stopped = await cmdRunner.stop();
}
ok(stopped?.code === 0, `${label}: SIGTERM ends the command runner with status 0`, stopped);

// The total disk bound: 8 MiB, files of 6 MiB each (under the per-file
// limit), four of them.
const diskRunner = startRunner({
  envId: env.id, key, keyFile, baseDir, workerId: `escape-disk-${nonce}`, uid: runnerIds?.uid, gid: runnerIds?.gid,
  extra: ['--capacity', '2', '--sandbox-max-disk-mb=8', '--sandbox-max-file-size-mb=7'],
});
try {
  const big = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  const small = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  // One file in the session's directory, the others in $TMPDIR where the
  // backend puts it on disk beside it (landlock).
  const fill = 'for i in 1 2 3 4; do d=.; [ $i -gt 1 ] && d=${TMPDIR:-.}; head -c 6291456 /dev/zero > $d/f$i; done; sleep 60; echo wrote all';
  await cp.script(big.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: fill } }], message: 'done' }] });
  await cp.script(small.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'head -c 1048576 /dev/zero > small && echo fine' } }], message: 'done' }] });
  await say(client, big.id, 'fill the disk');
  await say(client, small.id, 'write a little');
  const stoppedBig = await untilWork(big.id, (x) => x[0]?.state === 'stopped', 30_000);
  const evs = await eventsOf(big.id);
  const error = evs.find((e) => e.type === 'session.error');
  ok(stoppedBig && /--sandbox-max-disk-mb/.test(error?.error?.message ?? ''),
    `${label}: a session past --sandbox-max-disk-mb is stopped with a session.error naming it`, { error, log: diskRunner.log().slice(-1500) });
  ok(!toolCalls(evs).some((c) => (c.text ?? '').includes('wrote all')), `${label}: its command does not run on`, toolCalls(evs));
  const smallEvs = await untilTurnEnds(small.id, 1, 30_000);
  ok(toolCalls(smallEvs ?? [])[0]?.text?.includes('fine') && !(smallEvs ?? []).some((e) => e.type === 'session.error'),
    `${label}: the other session, under the bound, finishes its turn`, smallEvs);
} finally {
  stopped = await diskRunner.stop();
}
ok(stopped?.code === 0, `${label}: SIGTERM ends the disk-bound runner with status 0`, stopped);
rmSync(baseDir, { recursive: true, force: true });
done();
