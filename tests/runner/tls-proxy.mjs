// HTTPS to the control plane with a private CA, and through a proxy: the
// control plane behind a TLS front with a self-signed certificate, a
// CONNECT proxy that records what it tunnels (both on the loopback).
//  - no trust configured: the certificate is refused, nothing is claimed;
//  - --ca-file, SSL_CERT_FILE: the session is served;
//  - https_proxy, HTTPS_PROXY: served through the proxy's tunnel;
//  - no_proxy naming the host: served, the proxy sees nothing;
//  - an http:// URL off the loopback is refused (exit 64) without
//    --allow-insecure-http, and with it the request goes out (to the proxy).
import { execFileSync } from 'node:child_process';
import { createServer as createNetServer, connect } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, CP_URL, done, environment, ok, say, startRunner, textOf, TMP, toolCalls, until, untilTurnEnds } from './lib.mjs';

const client = apiClient();
const cpPort = Number(new URL(CP_URL).port);
const cert = join(TMP, 'ca.pem');
const certKey = join(TMP, 'ca.key');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
  '-subj', '/CN=environment-runner test CA', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  '-keyout', certKey, '-out', cert], { stdio: 'ignore' });

const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));

// The TLS front: TLS on the outside, the plain control plane inside.
const front = createTlsServer({ key: readFileSync(certKey), cert: readFileSync(cert) }, (sock) => {
  const up = connect(cpPort, '127.0.0.1');
  sock.pipe(up).pipe(sock);
  sock.on('error', () => up.destroy());
  up.on('error', () => sock.destroy());
});
front.on('tlsClientError', () => {});
const httpsUrl = `https://127.0.0.1:${await listen(front)}`;

// The proxy: CONNECT to the loopback is tunnelled, anything else answered 502.
const seen = [];
const proxy = createNetServer((sock) => {
  sock.once('data', (head) => {
    const line = head.toString('latin1').split('\r\n')[0];
    seen.push(line);
    const m = line.match(/^CONNECT 127\.0\.0\.1:(\d+) HTTP/);
    if (!m) {
      sock.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const up = connect(Number(m[1]), '127.0.0.1', () => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      sock.pipe(up).pipe(sock);
    });
    sock.on('error', () => up.destroy());
    up.on('error', () => sock.destroy());
  });
  sock.on('error', () => {});
});
const proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;

const noProxy = { https_proxy: '', HTTPS_PROXY: '', http_proxy: '', HTTP_PROXY: '', all_proxy: '', ALL_PROXY: '', no_proxy: '', NO_PROXY: '', SSL_CERT_FILE: '', SSL_CERT_DIR: '' };

async function serve(label, { extra = [], env = {} }) {
  const { env: e, key } = await environment(client, `tls-${label}`);
  const session = await client.beta.sessions.create({ agent: 'agent_local', environment_id: e.id });
  const runner = startRunner({ envId: e.id, key, apiUrl: httpsUrl, workerId: `tls-${label}`, extra, env: { ...noProxy, ...env } });
  try {
    await say(client, session.id, "What's 2 + 2?");
    const events = await untilTurnEnds(session.id, 1, 20_000);
    const answer = textOf(events?.findLast((x) => x.type === 'agent.message')?.content);
    ok(toolCalls(events ?? [])[0]?.text === '4' && answer === '2 + 2 = 4', `${label}: "What's 2 + 2?" served over HTTPS`, runner.log().slice(-2000));
  } finally {
    const exit = await runner.stop();
    ok(exit.code === 0, `${label}: exit 0 on SIGTERM`, exit);
  }
  return runner;
}

// No trust configured: curl's store refuses the private CA.
{
  const { env: e, key } = await environment(client, 'tls-untrusted');
  const runner = startRunner({ envId: e.id, key, apiUrl: httpsUrl, workerId: 'tls-untrusted', env: noProxy });
  const refused = await until(() => /poll failed.*certificate/i.test(runner.log()), 10_000);
  ok(refused, 'untrusted CA: the poll fails naming the certificate, and is retried', runner.log().slice(-1500));
  ok(runner.alive(), 'untrusted CA: the runner keeps running');
  await runner.stop();
}

await serve('ca-file', { extra: ['--ca-file', cert] });
{
  const r = await serve('ER_CA_FILE', { env: { ER_CA_FILE: cert } });
  ok(r.log().includes(`trusting the CAs in '${cert}'`), 'ER_CA_FILE: the start-up log names the CA file');
}
await serve('SSL_CERT_FILE', { env: { SSL_CERT_FILE: cert } });

for (const name of ['https_proxy', 'HTTPS_PROXY']) {
  seen.length = 0;
  await serve(name, { extra: ['--ca-file', cert], env: { [name]: proxyUrl } });
  ok(seen.length > 0 && seen.every((l) => l.startsWith(`CONNECT ${httpsUrl.slice(8)} `)), `${name}: every connection went through the proxy's tunnel`, seen);
}
seen.length = 0;
await serve('no_proxy', { extra: ['--ca-file', cert], env: { https_proxy: proxyUrl, no_proxy: '127.0.0.1' } });
ok(seen.length === 0, 'no_proxy=127.0.0.1: the proxy sees nothing', seen);

// Clear text off the loopback: refused, unless allowed.  The proxy stands
// in for the network: the runner resolves nothing itself.
{
  const url = 'http://control-plane.invalid';
  const runner = startRunner({ envId: 'env_insecure', key: 'sk-ant-test-insecure', apiUrl: url, workerId: 'insecure', env: { ...noProxy, http_proxy: proxyUrl } });
  const exit = await runner.exited;
  ok(exit.code === 64 && runner.log().includes(`--api-url '${url}' would send credentials in clear text to a host other than this machine; fix: use https://, or pass --allow-insecure-http`),
    'http:// off the loopback: exit 64, naming the fix', { exit, log: runner.log() });
  seen.length = 0;
  const allowed = startRunner({ envId: 'env_insecure', key: 'sk-ant-test-insecure', apiUrl: url, workerId: 'insecure-allowed', extra: ['--allow-insecure-http'], env: { ...noProxy, http_proxy: proxyUrl } });
  const polled = await until(() => seen.some((l) => l.startsWith(`GET ${url}/v1/environments/env_insecure/work/poll`)), 10_000);
  ok(polled && allowed.alive(), '--allow-insecure-http: the runner starts and polls (through http_proxy here)', { seen, log: allowed.log().slice(-1000) });
  await allowed.stop();
}

front.close();
proxy.close();
done();
