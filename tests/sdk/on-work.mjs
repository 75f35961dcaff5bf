// An on-work program: the official SDK's EnvironmentWorker.handleItem() on the
// item the runner's command executor hands over (ANTHROPIC_* variables, the
// work JSON on stdin). Reports what it received on stderr, never a secret.
// ONWORK_SLEEPER=1 also leaves a detached `sleep 600` behind, for kill tests.
import { spawn } from 'node:child_process';
import Anthropic from '@anthropic-ai/sdk';

let input = '';
for await (const chunk of process.stdin) input += chunk;
let work = null;
try {
  work = JSON.parse(input);
} catch {}
console.error(`on-work: work ${work?.id} session ${work?.data?.id} secret-on-stdin ${typeof work?.secret === 'string'} ` +
  `secret-matches ${work?.secret === process.env.ANTHROPIC_WORK_SECRET} environment-key ${process.env.ANTHROPIC_ENVIRONMENT_KEY ? 'set' : 'unset'}`);
if (process.env.ONWORK_SLEEPER === '1') spawn('sleep', ['600'], { detached: true, stdio: 'ignore' }).unref();

const client = new Anthropic({ apiKey: null, authToken: null, logLevel: 'warn' });
const maxIdleMs = Number(process.env.ONWORK_MAX_IDLE_MS ?? 1000);
await client.beta.environments.work.worker({ workdir: process.cwd(), maxIdleMs }).handleItem();
console.error('on-work: handleItem returned');
