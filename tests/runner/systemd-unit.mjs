// The Debian package's systemd unit under a real systemd: a minimal Debian
// tree ($ER_SYSTEMD_TREE, made by tests/integration/systemd-unit.sh) boots
// with systemd-nspawn on the host's network; a oneshot unit inside
// (tests/systemd/in-container.sh) installs the package, starts
// environment-runner.service with its hardening and the key as a
// credential, waits while this check serves "What's 2 + 2?" from the local
// control plane under bubblewrap, stops the unit (a drain) and purges the
// package.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, CP_URL, cp, done, environment, ok, say, textOf, toolCalls, until, untilTurnEnds, untilWork } from './lib.mjs';

const lintian = process.env.ER_LINTIAN_STATUS;
if (lintian === 'skip') ok(true, 'lintian # SKIP lintian is not installed');
else ok(lintian === '0', 'lintian reports no error on the packages', readFileSync(process.env.ER_LINTIAN_LOG, 'utf8').slice(-3000));

const tree = process.env.ER_SYSTEMD_TREE;
const check = join(tree, 'check');
const client = apiClient();
const { env, key } = await environment(client, 'systemd-unit');
writeFileSync(join(check, 'runner.conf'), `\n# the check's\nenvironment_id = ${env.id}\napi_url = ${CP_URL}\nmax_idle_sec = 1\nlog_level = debug\nhealth_port = 0\n`);
writeFileSync(join(check, 'service-key'), `${key}\n`, { mode: 0o600 });

let screen = '';
const nspawn = spawn('systemd-nspawn', ['-D', tree, '--keep-unit', '--register=no', '-b', '--console=pipe', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
nspawn.stdout.on('data', (d) => (screen += d));
nspawn.stderr.on('data', (d) => (screen += d));
const exited = new Promise((r) => nspawn.on('exit', (code, sig) => r({ code, sig })));
const result = () => Object.fromEntries((existsSync(join(check, 'result')) ? readFileSync(join(check, 'result'), 'utf8') : '').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const file = (name) => (existsSync(join(check, name)) ? readFileSync(join(check, name), 'utf8') : '');

try {
  const started = await until(() => result().started !== undefined || result().installed === 'no', 120_000);
  ok(started && result().installed === 'yes', 'the package installs in the booted tree', { result: result(), dpkg: file('dpkg-install.log').slice(-1500), screen: screen.slice(-3000) });
  ok(result().user === 'environment-runner:/usr/sbin/nologin', 'the install creates the system user', result().user);
  ok(result().etc_dir === '700 environment-runner', '/etc/environment-runner is 0700, the runner\'s', result().etc_dir);
  ok(result().started === 'active', 'environment-runner.service starts', { result: result(), screen: screen.slice(-3000) });

  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: env.id });
  // The default call, and one that shows which process is pid 1 of the command's world.
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: 'echo $((2+2))' } }, { name: 'bash', input: { command: 'cat /proc/1/comm; id -un' } }], message: '2 + 2 = {{result.0}}' }] });
  await say(client, session.id, "What's 2 + 2?");
  const events = await untilTurnEnds(session.id, 1, 60_000);
  const calls = toolCalls(events ?? []);
  ok(calls[0]?.text === '4' && calls[0]?.is_error === false, 'bash answers "4" in the unit', { calls, journal: file('journal.txt').slice(-2000) });
  ok(textOf(events?.findLast((e) => e.type === 'agent.message')?.content) === '2 + 2 = 4', 'the answer is "2 + 2 = 4"');
  ok(calls[1]?.text === 'bwrap\nenvironment-runner', 'the command ran under bubblewrap (pid 1 is bwrap), as the runner\'s user', calls[1]);
  const w = await untilWork(session.id, (x) => x[0]?.state === 'stopped', 15_000);
  ok(w?.[0]?.history.at(-1)?.reason === 'stop_force', 'the runner stops the item', w?.[0]?.history);
} finally {
  writeFileSync(join(check, 'served'), '');
}
const end = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 120_000))]);
if (!end) nspawn.kill('SIGKILL');
const r = result();
ok(end && r.done === 'yes', 'the container powers off after the check', { end, result: r, screen: screen.slice(-3000) });
ok(r.active_while_serving === 'active' && r.stop_result === 'success' && r.exit_status === '0', 'systemctl stop drains: exit 0', { result: r, journal: file('journal.txt').slice(-3000) });
const journal = file('journal.txt');
ok(/sandbox bubblewrap/.test(journal) && /shutdown budget/.test(journal), 'the journal shows the bubblewrap sandbox and the shutdown budget', journal.slice(0, 3000));
ok(!journal.includes(key), 'the key is not in the journal');
ok(r.purged === 'yes' && r.left_after_purge === 'none', 'purge removes the runner, its unit, /etc/environment-runner and its state', { result: r, purge: file('dpkg-purge.log') });
console.log(`# systemd-analyze security: ${r.exposure || '?'}`);
ok(Boolean(r.exposure), 'systemd-analyze security rates the unit', file('security.txt').slice(-2000));
done();
