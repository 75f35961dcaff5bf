#!/usr/bin/env node
// Local control plane for self-hosted environments (test double of the
// API's environments, sessions and work-queue endpoints). Node standard
// library only. Usage: see README.md or --help.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createListener } from './listen.mjs';
import { ControlPlane } from './plane.mjs';
import { parseFailFlag } from './faults.mjs';
import { validateScript } from './agent.mjs';

export const DEFAULT_API_KEY = 'sk-ant-api03-local-test-key';

const USAGE = `usage: server.mjs [options]
  --port N               port on 127.0.0.1 (default 0: any free port)
  --port-file FILE       write the chosen port to FILE once listening
  --tls-cert FILE        serve HTTPS with this certificate (PEM), HTTP/2 first
  --tls-key FILE         the certificate's private key (PEM)
  --api-key KEY          accepted API key (repeatable; default ${DEFAULT_API_KEY})
  --lease-ttl-sec N      work-item lease TTL returned by heartbeats (default 60)
  --keepalive-ms N       SSE keep-alive period (default 10000)
  --script FILE          default agent script for new sessions (JSON)
  --fail R:S[:N[:RA]]    answer route R with status S, N times, retry-after RA (repeatable)
  --latency R:MS         add MS of latency to every request of route R (repeatable)
  --sse-drop-after N     close the next SSE stream after N events
  --strict-beta          refuse /v1 calls without anthropic-beta (default: only report)
  --inference-key KEY    key accepted by the scripted Messages API besides the API keys (repeatable)
  --verbose              log each request to stderr`;

function main() {
  const { values: a } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'port-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'lease-ttl-sec': { type: 'string', default: '60' },
      'keepalive-ms': { type: 'string', default: '10000' },
      script: { type: 'string' },
      fail: { type: 'string', multiple: true },
      latency: { type: 'string', multiple: true },
      'sse-drop-after': { type: 'string' },
      'strict-beta': { type: 'boolean' },
      'inference-key': { type: 'string', multiple: true },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (a.help) {
    console.log(USAGE);
    return;
  }
  const plane = new ControlPlane({
    apiKeys: a['api-key'] ?? [DEFAULT_API_KEY],
    leaseTtlSec: Number(a['lease-ttl-sec']),
    keepaliveMs: Number(a['keepalive-ms']),
    strictBeta: !!a['strict-beta'],
    verbose: !!a.verbose,
    defaultScript: a.script ? validateScript(JSON.parse(readFileSync(a.script, 'utf8'))) : undefined,
    inferenceKeys: a['inference-key'] ?? [],
  });
  plane.faults.add({
    errors: (a.fail ?? []).map(parseFailFlag),
    latency: (a.latency ?? []).map((s) => ({ route: s.split(':')[0], ms: Number(s.split(':')[1]) })),
    ...(a['sse-drop-after'] ? { sse_drop: { after_events: Number(a['sse-drop-after']) } } : {}),
  });

  const { server, scheme, closeAll } = createListener((req, res) => plane.handle(req, res), {
    tlsCert: a['tls-cert'],
    tlsKey: a['tls-key'],
  });
  server.listen(Number(a.port), '127.0.0.1', () => {
    const { port } = server.address();
    plane.baseUrl = `${scheme}://127.0.0.1:${port}`;
    if (a['port-file']) {
      // Written atomically so a reader never sees a partial number.
      writeFileSync(`${a['port-file']}.tmp`, `${port}\n`);
      renameSync(`${a['port-file']}.tmp`, a['port-file']);
    }
    console.error(`control plane listening on ${plane.baseUrl}`);
  });
  const shutdown = () => {
    plane.close();
    closeAll();
    server.close(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
