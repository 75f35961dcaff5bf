// SPDX-License-Identifier: MIT
// Differential test: the SDK's own agent toolset (betaAgentToolset20260401)
// against the toolset plugin, run through tests/toolset-driver, on the same
// calls in two identical copies of a fixture tree.  Results must be equal
// byte for byte once each tree's root is replaced by "<ROOT>".  Prints TAP.
//
// usage: node toolset-diff.mjs DRIVER [NODE_MODULES]
//   DRIVER        the built tests/toolset-driver
//   NODE_MODULES  where @anthropic-ai/sdk is installed (default: next to this
//                 script)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const driver = process.argv[2];
const nodeModules = process.argv[3] ?? path.join(here, 'node_modules');
const sdkEntry = path.join(nodeModules, '@anthropic-ai/sdk/tools/agent-toolset/node.mjs');
const { betaAgentToolset20260401 } = await import(pathToFileURL(sdkEntry).href);

// ---- fixture ---------------------------------------------------------------

const base = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'toolset-diff-'));
const outside = path.join(base, 'outside');

function buildTree(root) {
  const mk = (rel, content, mtime) => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    fs.utimesSync(p, mtime, mtime);
  };
  let t = 1_600_000_000;
  mk('a.txt', 'one\ntwo\nthree\n', t++);
  mk('crlf.txt', 'x\r\ny\r\n', t++);
  mk('noeol.txt', 'first\nlast', t++);
  mk('utf8.txt', 'caf\u00e9 \u{1f600}\n', t++);
  fs.writeFileSync(path.join(root, 'bad.bin'), Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82, 0x0a]));
  fs.utimesSync(path.join(root, 'bad.bin'), t, t++);
  mk('src/main.c', 'int main(void) { return 0; }\n', t++);
  mk('src/util.c', '/* util */\nstatic int x;\nstatic int y;\n', t++);
  mk('src/util.h', '#define UTIL 1\n', t++);
  mk('src/deep/er/leaf.c', 'leaf\n', t++);
  mk('docs/readme.md', '# Title\nbody text\n', t++);
  mk('docs/.hidden.md', 'hidden\n', t++);
  mk('.env', 'SECRET=1\n', t++);
  mk('.config/settings.json', '{}\n', t++);
  mk('node_modules/pkg/index.js', 'module.exports = 1;\n', t++);
  mk('.git/HEAD', 'ref: refs/heads/main\n', t++);
  mk('edit/e1.txt', 'alpha beta alpha\n', t++);
  mk('edit/e2.txt', 'foo bar\n', t++);
  mk('edit/e3.txt', 'aaaa\n', t++);
  mk('edit/e4.txt', 'x $& y\n', t++);
  mk('existing.txt', 'old\n', t++);
  fs.chmodSync(path.join(root, 'existing.txt'), 0o754);
  // 300 000 bytes: over the 256 KiB cap.
  const big = [];
  for (let i = 0; i < 3000; i++) big.push(String.fromCharCode(97 + (i % 26)).repeat(99));
  mk('big.txt', big.join('\n') + '\n', t++);
  mk('oneline.txt', 'z'.repeat(300_000), t++);
  fs.symlinkSync('src', path.join(root, 'srclink'));
  fs.symlinkSync('../outside', path.join(root, 'outlink'));
  fs.symlinkSync('../outside/nothing', path.join(root, 'dangling-out'));
  fs.symlinkSync('loop2', path.join(root, 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'loop2'));
}

fs.mkdirSync(outside);
fs.writeFileSync(path.join(outside, 'secret.txt'), 'outside secret\n');
const sdkRoot = path.join(base, 'sdk', 'root');
const cRoot = path.join(base, 'c', 'root');
buildTree(sdkRoot);
buildTree(cRoot);

// ---- corpus ----------------------------------------------------------------

const corpus = [
  // read
  ['read', { file_path: 'a.txt' }],
  ['read', { file_path: 'a.txt', view_range: [2, 3] }],
  ['read', { file_path: 'a.txt', view_range: [2, 0] }],
  ['read', { file_path: 'a.txt', view_range: [-1, 1] }],
  ['read', { file_path: 'a.txt', view_range: [9, 10] }],
  ['read', { file_path: 'a.txt', view_range: [3, 2] }],
  ['read', { file_path: 'a.txt', view_range: [] }],
  ['read', { file_path: 'a.txt', view_range: [1, 2, 3] }],
  ['read', { file_path: 'noeol.txt', view_range: [2, 2] }],
  ['read', { file_path: 'crlf.txt' }],
  ['read', { file_path: 'utf8.txt' }],
  ['read', { file_path: 'bad.bin' }],
  ['read', { file_path: 'srclink/main.c' }],
  ['read', { file_path: `${'<ROOT>'}/a.txt` }],
  ['read', { file_path: 'src/../a.txt' }],
  ['read', { file_path: 'big.txt' }],
  ['read', { file_path: 'big.txt', view_range: [2, 3] }],
  ['read', { file_path: 'big.txt', view_range: [2999, 0] }],
  ['read', { file_path: 'big.txt', view_range: [1, 0] }],
  ['read', { file_path: 'oneline.txt', view_range: [1, 1] }],
  ['read', { file_path: 'oneline.txt', view_range: [2, 1] }],
  ['read', { file_path: 'src' }],
  ['read', { file_path: '.' }],
  ['read', { file_path: 'missing.txt' }],
  ['read', { file_path: 'a.txt/x' }],
  ['read', { file_path: '' }],
  ['read', {}],
  ['read', { file_path: '../outside/secret.txt' }],
  ['read', { file_path: '/etc/passwd' }],
  ['read', { file_path: 'outlink/secret.txt' }],
  ['read', { file_path: 'dangling-out' }],
  ['read', { file_path: 'loop1' }],
  ['read', { file_path: 'loop1/x' }],
  ['read', { file_path: 'we"ird\npath' }],
  ['read', { file_path: 'a.txt', view_range: [0, 0] }],
  ['read', { file_path: 'big.txt', view_range: [3001, 5000] }],
  ['read', { file_path: 'big.txt', view_range: [0, 2] }],
  ['read', { file_path: 'srclink' }],
  ['read', { file_path: 'srclink/' }],
  ['read', { file_path: './/a.txt' }],
  // write
  ['write', { file_path: 'new.txt', content: 'h\u00e9llo\n' }],
  ['read', { file_path: 'new.txt' }],
  ['write', { file_path: 'existing.txt', content: 'new content' }],
  ['bash', { command: 'stat -c %a existing.txt new.txt' }],
  ['write', { file_path: 'n1/n2/n3.txt', content: '' }],
  ['bash', { command: 'stat -c %a n1 n1/n2 n1/n2/n3.txt' }],
  ['write', { file_path: 'nocontent.txt' }],
  ['write', { file_path: 'srclink/via.txt', content: 'v' }],
  ['write', { content: 'x' }],
  ['write', { file_path: '../evil.txt', content: 'x' }],
  ['write', { file_path: 'dangling-out', content: 'x' }],
  ['write', { file_path: 'a.txt/x', content: 'x' }],
  ['write', { file_path: 'a.txt/x/y', content: 'x' }],
  ['write', { file_path: 'src', content: 'x' }],
  ['write', { file_path: '.', content: 'x' }],
  ['bash', { command: 'ls -a . src | grep -c "^.tmp-" || true' }],
  // edit
  ['edit', { file_path: 'edit/e2.txt', old_string: 'bar', new_string: '$&baz' }],
  ['read', { file_path: 'edit/e2.txt' }],
  ['edit', { file_path: 'edit/e1.txt', old_string: 'alpha', new_string: 'x' }],
  ['edit', { file_path: 'edit/e1.txt', old_string: 'alpha', new_string: 'A', replace_all: true }],
  ['read', { file_path: 'edit/e1.txt' }],
  ['edit', { file_path: 'edit/e3.txt', old_string: 'aa', new_string: 'b', replace_all: true }],
  ['read', { file_path: 'edit/e3.txt' }],
  ['edit', { file_path: 'edit/e4.txt', old_string: '$&', new_string: '$1' }],
  ['edit', { file_path: 'edit/e1.txt', old_string: 'zeta', new_string: 'x' }],
  ['edit', { file_path: 'edit/e1.txt', old_string: '', new_string: 'x' }],
  ['edit', { old_string: 'a', new_string: 'x' }],
  ['edit', { file_path: 'src', old_string: 'a', new_string: 'x' }],
  ['edit', { file_path: 'nope.txt', old_string: 'a', new_string: 'x' }],
  ['edit', { file_path: 'big.txt', old_string: 'a', new_string: 'x' }],
  ['edit', { file_path: '/etc/passwd', old_string: 'a', new_string: 'x' }],
  ['edit', { file_path: 'bad.bin', old_string: 'b', new_string: 'B' }],
  ['bash', { command: 'od -An -tx1 bad.bin' }],
  // glob
  ['glob', { pattern: '**/*.c' }],
  ['glob', { pattern: '*.c', path: 'src' }],
  ['glob', { pattern: 'src/**' }],
  ['glob', { pattern: '**/*.{c,h}' }],
  ['glob', { pattern: '{src,docs}/*' }],
  ['glob', { pattern: '*' }],
  ['glob', { pattern: '.*' }],
  ['glob', { pattern: '**/.hidden.md' }],
  ['glob', { pattern: '.config/*' }],
  ['glob', { pattern: 'srclink/*.c' }],
  ['glob', { pattern: '**/srclink/*.c' }],
  ['glob', { pattern: 'outlink/*' }],
  ['glob', { pattern: '**/index.js' }],
  ['glob', { pattern: 's?c/u*.[ch]' }],
  ['glob', { pattern: 'src/[!m]*.c' }],
  ['glob', { pattern: './src/main.c' }],
  ['glob', { pattern: 'src//main.c' }],
  ['glob', { pattern: 'src\\main.c' }],
  ['glob', { pattern: 'src/' }],
  ['glob', { pattern: '*.nothing' }],
  ['glob', { pattern: '**', path: 'src/deep' }],
  ['glob', { pattern: '**/.*' }],
  ['glob', { pattern: '.*/*' }],
  ['glob', { pattern: '**/*' }],
  ['glob', { pattern: 'src/**/*.c' }],
  ['glob', { pattern: '**/deep/**' }],
  ['glob', { pattern: 'node_modules/pkg/*.js' }],
  ['glob', { pattern: '.git/*' }],
  ['glob', { pattern: 'srclink/**' }],
  ['glob', { pattern: '**/srclink' }],
  ['glob', { pattern: '*.{txt,md}' }],
  ['glob', { pattern: '{a,e{x,d}it/e1}.txt' }],
  ['glob', { pattern: 'edit/e{1..3}.txt' }],
  ['glob', { pattern: '[[:alpha:]].txt' }],
  ['glob', { pattern: 'src/*/' }],
  ['glob', { pattern: '**/*.md', path: 'docs' }],
  ['glob', { pattern: '' }],
  ['glob', {}],
  ['glob', { pattern: '/etc/*' }],
  ['glob', { pattern: '../*' }],
  ['glob', { pattern: 'src/{a,..}/x' }],
  ['glob', { pattern: '*', path: '../outside' }],
  ['glob', { pattern: '*', path: 'a.txt' }],
  ['glob', { pattern: '*', path: 'missing' }],
  // grep (rg)
  ['grep', { pattern: 'static' }],
  ['grep', { pattern: 'static', path: 'src/util.c' }],
  ['grep', { pattern: 'int \\w+', path: 'src' }],
  ['grep', { pattern: 'zzz_nothing' }],
  ['grep', { pattern: '(' }],
  ['grep', { pattern: '' }],
  ['grep', { pattern: '--help' }],
  ['grep', { pattern: 'caf\u00e9' }],
  ['grep', { pattern: 'hidden', path: 'docs' }],
  ['grep', { pattern: 'SECRET' }],
  ['grep', { pattern: 'x', path: '/etc' }],
  ['grep', { pattern: 'x', path: 'missing' }],
  ['grep', { pattern: 'x', path: 'a.txt/x' }],
  ['grep', { pattern: 'a', path: 'bad.bin' }],
  ['grep', { pattern: 'leaf', path: 'srclink' }],
  ['grep', { pattern: 'int', path: 'srclink/main.c' }],
  ['grep', { pattern: 'x', path: 'loop1' }],
  // bash
  ['bash', { command: 'echo hello' }],
  ['bash', { command: 'cd src && export V=1' }],
  ['bash', { command: 'echo "$V" && basename "$PWD"' }],
  ['bash', { command: 'false' }],
  ['bash', { command: 'echo out; echo err >&2; exit 2' }],
  ['bash', { command: 'echo "$V"', restart: true }],
  ['bash', { command: "printf '\\033[1;31mred\\033[0m\\n\\n\\n'" }],
  ['bash', { command: 'cat; echo after-cat' }],
  ['bash', { command: 'echo "[$TERM][$PS1][$PS2]"' }],
  ['bash', { command: 'head -c 150000 /dev/zero | tr "\\0" b' }],
  ['bash', {}],
  ['bash', { command: "printf 'a\\377b\\342\\202'" }],
  ['bash', { command: "printf 'x\\r\\ny\\r\\n'" }],
  ['bash', { command: 'sleep 1 & echo bg' }],
  ['bash', { command: 'echo hi # a comment' }],
  ['bash', { command: 'cat <<EOT\nline1\nline2\nEOT' }],
  ['bash', { command: 'echo -n' }],
  ['bash', { command: 'if' }],
  ['bash', { command: 'basename "$PWD"' }],
  // bash's line count (LINENO, the line a syntax error names) and what the
  // command sees of the framing, after calls of several lines
  ['bash', { command: 'cat <<EOT\na $LINENO\nEOT\necho "$LINENO [$_]"' }],
  ['bash', { command: 'echo one\nfi' }],
  ['bash', { command: 'declare -p __ant_script __ant_status 2>&1; echo "$LINENO"' }],
  ['bash', { command: 'f() { echo "$LINENO ${FUNCNAME[0]}"; }; f; echo \\\n  continued' }],
  ['bash', { command: "echo \"caf\u00e9 \u{1f600} it's \\\\ \\$x\"" }],
  // a long heredoc, and a command that is nearly all quotes (four bytes
  // each once quoted)
  ['bash', { command: `cat <<'EOT' | wc -lc\n${'some line of a file\n'.repeat(2000)}EOT` }],
  ['bash', { command: `printf %s "${"'".repeat(300000)}" | wc -c` }],
  ['bash', { command: 'echo "$LINENO"' }],
  // stdout and stderr apart: stdout first on success, stderr first on failure
  ['bash', { command: 'echo out; echo err >&2' }],
  ['bash', { command: 'echo out; echo err >&2; false' }],
  ['bash', { command: 'echo out; false' }],
  ['bash', { command: 'echo err >&2' }],
  ['bash', { command: 'exec 3>&1; echo three >&3' }],
  // long output: the head, and the whole of it in a file read and grep reach
  ['bash', { command: 'for i in $(seq 1 20000); do echo "line $i"; done; echo tail >&2' }],
  ['read', { file_path: '<SAVED>', view_range: [19999, 20001] }],
  ['grep', { pattern: '^line 1234$', path: '<SAVED>' }],
  ['write', { file_path: '<SAVED>', content: 'x' }],
  ['bash', { command: "head -c 40000 /dev/zero | tr '\\0' e >&2; exit 5" }],
  ['bash', { command: "printf '\\360\\237\\230\\200%.0s' $(seq 1 16000)" }],
  ['bash', { command: "printf '\\033[1m%.0s' $(seq 1 8000)" }],
  // the shell gone, and back with restart
  ['bash', { command: 'printf "\\n\\n"; exit 3' }],
  ['bash', { command: 'echo not run' }],
  ['bash', {}],
  ['bash', { restart: true }],
  ['bash', { command: 'exit 0' }],
  ['bash', { command: 'echo not run' }],
  ['bash', { command: 'echo back', restart: true }],
  ['bash', { command: 'echo partial; sleep 3', timeout_ms: 300 }],
  ['bash', { command: 'echo not run' }],
  ['bash', { command: 'sleep 3', timeout_ms: 250.5, restart: true }],
  ['bash', { command: 'echo "[$HISTFILE]" "${HISTFILE+set}"', restart: true }],
  ['bash', { command: '(sleep 30; echo late) & echo started' }],
  ['bash', { command: 'echo fresh', timeout_ms: -5 }],
  // one shell per session thread
  ['bash', { command: 'cd src && X=t1' }, 't1'],
  ['bash', { command: 'echo "$X" && basename "$PWD"' }, 't1'],
  ['bash', { command: 'echo "[$X]" && basename "$PWD"' }],
  ['thread_stop', {}, 't1'],
  ['bash', { command: 'echo not run' }, 't1'],
  ['bash', { command: 'echo "[$X]"', restart: true }, 't1'],
  ['bash', { command: 'echo primary' }],
];

// The kernel stamps files with a coarse clock: let every write and edit
// land on a distinct mtime, so that the glob order (newest first) does not
// depend on how fast each side runs.
for (let i = corpus.length - 1; i >= 0; i--) {
  if (corpus[i][0] === 'write' || corpus[i][0] === 'edit') corpus.splice(i + 1, 0, ['bash', { command: 'sleep 0.03' }]);
}

// Without rg both sides use their built-in walkers, whose pattern languages
// differ (JavaScript against POSIX ERE): compare grep only through rg.
const hasRg = (process.env.PATH ?? '').split(':').some((d) => {
  try {
    fs.accessSync(path.join(d, 'rg'), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
if (!hasRg) corpus.splice(0, corpus.length, ...corpus.filter(([name]) => name !== 'grep'));

// ---- run both ----------------------------------------------------------------

const fill = (root, v) => JSON.parse(JSON.stringify(v).replaceAll('<ROOT>', root));

// The file a result names as where bash saved its whole output.
const savedIn = (text) => /saved to: (.*?) \u2014 /.exec(text)?.[1];

async function runSdk() {
  process.chdir(sdkRoot);
  const tools = betaAgentToolset20260401({ workdir: sdkRoot });
  // As the session runner passes them: a thread's signal ends its shell.
  const threads = new Map();
  const threadOf = (thread) => {
    if (!threads.has(thread)) threads.set(thread, new AbortController());
    return { key: `sesn_driver/${thread ?? ''}`, signal: threads.get(thread).signal };
  };
  const out = [];
  let saved = '';
  for (const [name, input, thread] of corpus) {
    if (name === 'thread_stop') {
      threads.get(thread)?.abort();
      threads.delete(thread);
      out.push({ is_error: false, text: '(thread stopped)' });
      continue;
    }
    const tool = tools.find((t) => t.name === name);
    const context = { signal: new AbortController().signal, _sessionThread: threadOf(thread) };
    try {
      const r = await tool.run(JSON.parse(JSON.stringify(fill(sdkRoot, input)).replaceAll('<SAVED>', saved)), context);
      out.push({ is_error: false, text: typeof r === 'string' ? r : JSON.stringify(r) });
    } catch (e) {
      const text =
        e && typeof e.content === 'string' ? e.content : `Error: ${e instanceof Error ? e.message : e}`;
      out.push({ is_error: true, text });
    }
    saved = savedIn(out.at(-1).text) ?? saved;
  }
  await Promise.all(tools.map((t) => t.close?.()));
  return out;
}

function runDriver() {
  const lines = corpus.map(([name, input, thread]) =>
    JSON.stringify({ name, input: fill(cRoot, input), ...(thread ? { thread } : {}) }),
  );
  const r = spawnSync(driver, [cRoot], {
    input: lines.join('\n') + '\n',
    cwd: cRoot,
    maxBuffer: 64 << 20,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`driver failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

const sdk = await runSdk();
const c = runDriver();
// Saved outputs have random names.
const norm = (s, root) =>
  s.replaceAll(root, '<ROOT>').replace(/\/bash-output-[^/]{6}\/[0-9a-f-]{36}\.txt/g, '/bash-output-<X>/<uuid>.txt');
const show = (s) => JSON.stringify(s.length > 300 ? s.slice(0, 300) + `...(${s.length})` : s);

console.log(`1..${corpus.length}`);
let failed = 0;
corpus.forEach(([name, input], i) => {
  const a = sdk[i];
  const b = c[i] ?? { is_error: null, text: '(missing)' };
  // rg searches files in parallel: the order of files in its output varies
  // from run to run, on either side.  Compare its lines as a set.
  const canon = (t) => (name === 'grep' ? t.split('\n').sort().join('\n') : t);
  const at = canon(norm(a.text, sdkRoot));
  const bt = canon(norm(b.text, cRoot));
  const desc = `${name} ${JSON.stringify(input).slice(0, 80)}`;
  if (a.is_error === b.is_error && at === bt) {
    console.log(`ok ${i + 1} - ${desc}`);
  } else {
    failed++;
    console.log(`not ok ${i + 1} - ${desc}`);
    console.log(`#   sdk:    is_error=${a.is_error} ${show(at)}`);
    console.log(`#   plugin: is_error=${b.is_error} ${show(bt)}`);
  }
});
fs.rmSync(base, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
