// Bad input to the runner: an unreachable --api-url is retried with growing
// backoff and logged (no exit); a wrong, foreign or missing environment key
// makes it exit non-zero with a message naming the key file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, done, environment, ok, startRunner, TMP, until } from './lib.mjs';

const client = apiClient();
const { env, key } = await environment(client, 'bad-input');

// Nothing listens on port 1 of the loopback: connection refused on every poll.
{
  const runner = startRunner({ envId: env.id, key, apiUrl: 'http://127.0.0.1:1', workerId: 'unreachable' });
  const lines = () => runner.log().split('\n').filter((l) => /poll failed.*retrying in \d+ ms/.test(l));
  await until(() => lines().length >= 2, 15_000);
  ok(runner.alive(), 'unreachable API: the runner keeps running', runner.log().slice(-2000));
  const delays = lines().map((l) => Number(l.match(/retrying in (\d+) ms/)[1]));
  ok(delays.length >= 2, `unreachable API: each failed poll is logged with its retry delay (${delays.join(', ')} ms)`, runner.log().slice(-2000));
  ok(delays.length >= 2 && delays[1] > delays[0] && delays[0] >= 2000, 'unreachable API: the backoff grows, from 2 s', delays);
  ok(/level=warning/.test(lines()[0] ?? ''), 'unreachable API: logged as a warning', lines()[0]);
  const r = await runner.stop();
  ok(r.code === 0 && r.ms < 3000, `unreachable API: SIGTERM still ends it with 0 (${r.ms} ms)`, r);
}

async function refused(label, keyText, wantFile = true) {
  const keyFile = join(TMP, `key-${label}`);
  if (keyText !== null) writeFileSync(keyFile, `${keyText}\n`, { mode: 0o600 });
  const runner = startRunner({ envId: env.id, key: keyText, keyFile, workerId: label });
  let timer;
  const exited = await Promise.race([runner.exited, new Promise((r) => (timer = setTimeout(() => r(null), 10_000)))]);
  clearTimeout(timer);
  ok(exited && exited.code !== 0 && exited.code !== null, `${label}: the runner exits non-zero (${exited?.code})`, runner.log().slice(-2000));
  ok(!wantFile || runner.log().includes(keyFile), `${label}: the message names the key file`, runner.log().slice(-1500));
  ok(!keyText || !runner.log().includes(keyText), `${label}: without printing the key`);
  await runner.stop();
}
await refused('wrong-key', 'sk-ant-oat01-this-key-was-never-issued-0000000000');
const other = await environment(client, 'other');
await refused('foreign-key', other.key);
await refused('missing-key-file', null);

// An environment the control plane does not know: polling refused with 404 is
// exit 76, which a supervisor does not restart (69 is a missing plugin only).
{
  const runner = startRunner({ envId: 'env_never_created', key, workerId: 'unknown-env' });
  let timer;
  const exited = await Promise.race([runner.exited, new Promise((r) => (timer = setTimeout(() => r(null), 10_000)))]);
  clearTimeout(timer);
  ok(exited?.code === 76, `unknown environment: exit 76 (${exited?.code})`, runner.log().slice(-1500));
  ok(/HTTP 404.*env_never_created/.test(runner.log()), 'unknown environment: the message names the status and the id', runner.log().slice(-1500));
  await runner.stop();
}
done();
