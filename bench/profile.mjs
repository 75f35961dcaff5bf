// Profiling a runner over a benchmark's measurement window (BENCH_PROFILE):
//
//   perf       `perf record` (cpu-clock samples, call graphs, kernel included)
//              attached to the running process; summary by symbol.
//   callgrind  the runner started under `valgrind --tool=callgrind`, counting
//              instructions only inside the window; user space only, but
//              exact and independent of what else the machine runs.
//   syscalls   `perf stat` of every system call's tracepoint, attached to the
//              running process: how many of each over the window, and per
//              tool call.
//
// Each writes a text summary into the results folder; the raw data stays in
// the scratch folder.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });

function writeSyscalls(file, data, calls) {
  const counts = readFileSync(data, 'utf8').split('\n')
    .map((l) => l.split(','))
    .filter((f) => f.length > 2 && /^\d+$/.test(f[0]) && Number(f[0]) > 0)
    .map((f) => ({ n: Number(f[0]), name: f[2].replace('syscalls:sys_enter_', '') }))
    .sort((a, b) => b.n - a.n);
  const total = counts.reduce((a, c) => a + c.n, 0);
  const per = (n) => (calls ? (n / calls).toFixed(2) : '-');
  const lines = [`# system calls over the window: ${total}, ${per(total)} per tool call (${calls} calls)`,
    ...counts.map((c) => `${String(c.n).padStart(10)}  ${per(c.n).padStart(7)}/call  ${c.name}`)];
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** The command prefix a runner is started under, for `mode`. */
export function profileWrap(mode, tmp) {
  if (mode !== 'callgrind') return [];
  return ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(tmp, 'callgrind.out.%p')}`];
}

/**
 * Starts profiling process `pid` for a window; stop() ends it, writes
 * `<out>/profile-<mode>-<name>.txt` and returns {file, ir} (ir: instructions
 * counted, callgrind only).  For syscalls the file is written by the
 * returned perCall(calls), once the window's tool calls are counted.
 */
export function startProfile(mode, pid, { out, tmp, name }) {
  const file = join(out, `profile-${mode}-${name}.txt`);
  if (mode === 'perf') {
    const data = join(tmp, `perf-${name}.data`);
    const rec = spawn('perf', ['record', '-q', '-F', '499', '-g', '-p', String(pid), '-o', data], { stdio: 'ignore' });
    return {
      async stop() {
        const exited = new Promise((r) => rec.once('exit', r));
        rec.kill('SIGINT');
        await exited;
        const report = sh('perf', ['report', '-i', data, '--stdio', '--no-children', '-g', 'none', '-F', 'overhead,dso,sym', '--percent-limit', '0.5']);
        const lines = report.split('\n').filter((l) => /^# (Samples|Event count)/.test(l) || (l.trim() && !l.startsWith('#')));
        writeFileSync(file, `${lines.slice(0, 60).join('\n')}\n`);
        return { file };
      },
    };
  }
  if (mode === 'syscalls') {
    const data = join(tmp, `syscalls-${name}.csv`);
    const stat = spawn('perf', ['stat', '-x', ',', '-o', data, '-e', 'syscalls:sys_enter_*', '-p', String(pid)], { stdio: 'ignore' });
    return {
      async stop() {
        const exited = new Promise((r) => stat.once('exit', r));
        stat.kill('SIGINT');
        await exited;
        return { file, perCall: (calls) => writeSyscalls(file, data, calls) };
      },
    };
  }
  if (mode === 'callgrind') {
    sh('callgrind_control', ['-z', String(pid)]);
    sh('callgrind_control', ['-i', 'on', String(pid)]);
    return {
      async stop() {
        sh('callgrind_control', ['-d', String(pid)]);
        sh('callgrind_control', ['-i', 'off', String(pid)]);
        const dumps = readdirSync(tmp).filter((f) => f.startsWith(`callgrind.out.${pid}.`)).sort();
        if (!dumps.length) throw new Error(`callgrind wrote no dump for ${pid}`);
        const report = sh('callgrind_annotate', ['--inclusive=no', '--auto=no', '--threshold=98', join(tmp, dumps[dumps.length - 1])]);
        const ir = Number(/([\d,]+)(?: \([^)]*\))?\s+PROGRAM TOTALS/.exec(report)?.[1].replace(/,/g, ''));
        // From the totals on, with file names only (no paths of this machine).
        const lines = report.slice(report.indexOf('PROGRAM TOTALS') - 30).split('\n').slice(1)
          .map((l) => l.replace(/(\S*\/)([^/\s:]+:)/g, '$2').replace(/\[[^\]]*\/([^/\]]+)\]/g, '[$1]'));
        writeFileSync(file, `${lines.slice(0, 50).join('\n')}\n`);
        return { file, ir: Number.isFinite(ir) ? ir : null };
      },
    };
  }
  throw new Error(`BENCH_PROFILE: unknown profiler '${mode}' (perf, callgrind or syscalls)`);
}
