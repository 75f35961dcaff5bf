// The landlock backend's own promises, beyond the escape suite: a path it
// must hide stays hidden inside a tree it grants (the key file in a
// --sandbox-read-only directory, whose other files stay readable);
// --sandbox-network=host leaves TCP to the sandbox, none refuses it;
// allowlist is refused at start, naming bubblewrap; the start-up log says
// which protections are in force.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { apiClient, cp, done, environment, ok, say, startRunner, TMP, toolCalls, untilTurnEnds } from './lib.mjs';

const client = apiClient();
const nonce = Math.random().toString(36).slice(2, 10);
// The runner runs as the sandbox's user (nobody, when this check is root):
// file modes then let the sandbox read the key, and only Landlock hides it.
const ids = process.getuid() === 0 ? { uid: 65534, gid: 65534 } : {};

async function run(label, extra, commands) {
  const { env, key } = await environment(client, `landlock-${label}`);
  const keyDir = join(TMP, `landlock-${label}-${nonce}`);
  mkdirSync(keyDir, { recursive: true });
  chmodSync(keyDir, 0o755);
  const keyFile = join(keyDir, 'service-key');
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  writeFileSync(join(keyDir, 'public.txt'), `public-${nonce}\n`, { mode: 0o644 });
  if (ids.uid !== undefined) for (const p of [keyDir, keyFile, join(keyDir, 'public.txt')]) chownSync(p, ids.uid, ids.gid);
  const runner = startRunner({ envId: env.id, key, keyFile, workerId: `landlock-${label}`, extra: [`--sandbox-read-only=${keyDir}`, ...extra], ...ids });
  try {
    const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
    await cp.script(session.id, { turns: [{ tool_calls: commands(keyDir).map((command) => ({ name: 'bash', input: { command } })), message: 'done' }] });
    await say(client, session.id, 'go');
    const events = await untilTurnEnds(session.id, 1, 30_000);
    return { texts: toolCalls(events ?? []).map((c) => c.text ?? ''), log: runner.log(), key };
  } finally {
    await runner.stop();
  }
}

const server = createServer((c) => c.end(`HOST-${nonce}\n`));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const tcp = `exec 3<>/dev/tcp/127.0.0.1/${port} && head -n 1 <&3 || echo refused`;

{
  const r = await run('none', [], (dir) => [`cat ${dir}/public.txt; cat ${dir}/service-key 2>&1; ls ${dir} 2>&1 | head -n 1`, tcp]);
  ok(/^landlock: ABI \d+ \(file system[^)]*\), no_new_privs, seccomp \d+ instructions/m.test(r.log.split('msg="').join('\n')),
    'landlock: the start-up log names the ABI and the protections in force', r.log.slice(-2000));
  ok(r.texts[0]?.startsWith(`public-${nonce}\n`) && !r.texts[0].includes(r.key) && /Permission denied/.test(r.texts[0]),
    'landlock: the key file stays hidden in a --sandbox-read-only directory whose other files are readable', r.texts[0]);
  ok(r.texts[1] && !r.texts[1].includes(`HOST-${nonce}`), '--sandbox-network=none: no TCP to the host', r.texts[1]);
}
{
  const r = await run('host', ['--sandbox-network=host'], () => [tcp]);
  ok(r.texts[0] === `HOST-${nonce}`, '--sandbox-network=host: TCP is the host\'s', r.texts[0]);
}
// What an older kernel gives (landlock.abi): ABI 3 (Linux 6.2) has no TCP
// rules and no scopes; the file rules and seccomp still hold.
{
  const r = await run('abi3', ['--plugin-option=landlock.abi=3'], (dir) => [`cat ${dir}/public.txt; cat ${dir}/service-key 2>&1`, tcp, 'echo x > "$TMPDIR/t" && mv "$TMPDIR/t" ./moved && cat moved']);
  ok(/landlock: ABI 3 \(file system only; signals not scoped/.test(r.log), 'ABI 3: the start-up log says what is not in force', r.log.slice(-2000));
  ok(ids.uid === undefined || /cannot scope signals: a command can signal the runner/.test(r.log), 'ABI 3: an unprivileged runner is warned that signals are not scoped', r.log.slice(-2000));
  ok(r.texts[0]?.startsWith(`public-${nonce}\n`) && !r.texts[0].includes(r.key) && /Permission denied/.test(r.texts[0]), 'ABI 3: the key file stays hidden', r.texts[0]);
  ok(r.texts[1] && !r.texts[1].includes(`HOST-${nonce}`), 'ABI 3: no TCP with --sandbox-network=none (seccomp)', r.texts[1]);
  ok(r.texts[2] === 'x', 'ABI 3: a file moves from TMPDIR into the session\'s directory (rename across directories, ABI 2)', r.texts[2]);
}
{
  const { env, key } = await environment(client, 'landlock-allowlist');
  const runner = startRunner({ envId: env.id, key, workerId: 'landlock-allowlist', extra: ['--sandbox-network=allowlist', '--sandbox-allowed-domains=example.com'] });
  const r = await Promise.race([runner.exited, new Promise((res) => setTimeout(() => res(null), 10_000))]);
  ok(r && r.code !== 0 && /allowlist needs a network namespace.*--sandbox-backend=bubblewrap/.test(runner.log()),
    '--sandbox-network=allowlist: refused at start, naming bubblewrap', { r, log: runner.log().slice(-1500) });
  await runner.stop();
}
server.close();
done();
