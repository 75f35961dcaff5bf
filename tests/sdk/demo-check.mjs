// scripts/demo.mjs drives a whole conversation with the SDK worker standing
// in for the runner (same command-line flags as `orchestrator`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { API_KEY, CP_URL, cp, done, ok } from './lib.mjs';

const demo = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));
const worker = fileURLToPath(new URL('./sdk-worker.mjs', import.meta.url));
const child = spawn(process.execPath, [demo, '--api-url', CP_URL, '--api-key', API_KEY, '--timeout-sec', '30',
  '--runner', `'${process.execPath}' '${worker}' --max-idle-sec 1 --worker-id demo-runner`], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let err = '';
child.stdout.on('data', (d) => (out += d));
child.stderr.on('data', (d) => (err += d));
const code = await new Promise((r) => child.on('exit', r));
ok(code === 0, 'demo exits 0', { code, err: err.slice(-3000) });
const lines = out.trim().split('\n');
ok(lines.join('\n') === ["user: What's 2 + 2?", 'tool call: bash {"command":"echo $((2+2))"}', 'tool result: 4', 'agent: 2 + 2 = 4'].join('\n'),
  'demo prints the conversation', lines);
ok(/runner exited \(0\)/.test(err), 'the runner was stopped with SIGTERM and exited 0', err.slice(-1000));
const rep = await cp.report();
ok(rep.requests.by_worker['demo-runner']?.['work.poll'] > 0, 'the runner served the session from the control plane', rep.requests.by_worker);
done();
