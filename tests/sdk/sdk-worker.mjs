// The SDK's reference runner behind the command-line flags of the C
// runner's `orchestrator` subcommand, so either can be started the same way
// (demo, differential tests). Runs until SIGTERM/SIGINT or --max-runtime-sec.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';

const { values: a } = parseArgs({
  options: {
    'environment-id': { type: 'string' },
    'service-key-file': { type: 'string' },
    'api-url': { type: 'string' },
    workdir: { type: 'string' },
    'max-idle-sec': { type: 'string' },
    'worker-id': { type: 'string' },
    'max-runtime-sec': { type: 'string' },
    'sandbox-backend': { type: 'string' }, // accepted for flag compatibility; the SDK has no sandbox
    'memory-sync-sec': { type: 'string' },
    verbose: { type: 'boolean' },
  },
});

function fail(msg) {
  console.error(`sdk-worker: ${msg}`);
  process.exit(2);
}

if (!a['environment-id']) fail('--environment-id is required');
if (!a['service-key-file']) fail('--service-key-file is required');
if (!a['api-url']) fail('--api-url is required');
if (a['sandbox-backend'] && a['sandbox-backend'] !== 'none') fail('only --sandbox-backend=none is supported');
const environmentKey = readFileSync(a['service-key-file'], 'utf8').trim();
if (!environmentKey) fail('the service key file is empty');

const ac = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => ac.abort(new Error(`received ${sig}`)));
if (a['max-runtime-sec']) setTimeout(() => ac.abort(new Error('max runtime reached')), Number(a['max-runtime-sec']) * 1000).unref();

// The environment key is the worker's only credential; no API key may leak in from the environment.
const client = new Anthropic({
  baseURL: a['api-url'],
  apiKey: null,
  authToken: environmentKey,
  logLevel: a.verbose ? 'debug' : 'warn',
});
const worker = client.beta.environments.work.worker({
  environmentId: a['environment-id'],
  environmentKey,
  workdir: a.workdir ?? process.cwd(),
  maxIdleMs: a['max-idle-sec'] ? Math.round(Number(a['max-idle-sec']) * 1000) : undefined,
  workerId: a['worker-id'],
  ...(a['memory-sync-sec'] ? { memorySyncIntervalMs: Math.round(Number(a['memory-sync-sec']) * 1000) } : {}),
});
console.error(`sdk-worker: serving ${a['environment-id']} at ${a['api-url']}`);
try {
  await worker.run(ac.signal);
} catch (e) {
  if (!ac.signal.aborted) fail(`worker failed: ${e?.stack ?? e}`);
}
console.error('sdk-worker: stopped');
