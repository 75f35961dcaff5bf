// The control plane's listener: plain HTTP/1.1, or, given a certificate,
// HTTPS that offers HTTP/2 first (ALPN h2, as the API does) and HTTP/1.1
// to clients without it.  Over HTTP/2 every request and event stream of a
// client shares its connections.
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { readFileSync } from 'node:fs';

/** {server, scheme, closeAll()} for `handler(req, res)`. */
export function createListener(handler, { tlsCert, tlsKey } = {}) {
  if (!tlsCert !== !tlsKey) throw new Error('--tls-cert and --tls-key go together');
  if (!tlsCert) {
    const server = createServer(handler);
    return { server, scheme: 'http', closeAll: () => server.closeAllConnections() };
  }
  // A runner multiplexes thousands of event streams over a connection or
  // two: past Node's 10 MB a session, it refuses streams and then drops the
  // connection with every request in flight on it.  libcurl 7.88 (Debian
  // 12's) ends each stream it finishes with a RST_STREAM, which Node's
  // guard against "rapid reset" floods counts: past a burst of 1000 at
  // more than 33 a second it ends the connection (GOAWAY), losing the
  // answers in flight.  The test double tolerates it (Node 22 reads these
  // options; older versions ignore them).
  const server = createSecureServer({
    cert: readFileSync(tlsCert),
    key: readFileSync(tlsKey),
    allowHTTP1: true,
    maxSessionMemory: 1024,
    streamResetBurst: 1e9,
    streamResetRate: 1e9,
  }, handler);
  const sockets = new Set();
  server.on('secureConnection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  server.on('tlsClientError', () => {});
  return { server, scheme: 'https', closeAll: () => sockets.forEach((s) => s.destroy()) };
}
