// Skills (docs/protocol.md §12), differential: the same session, whose agent
// has skills as zip and tar.gz (the `latest` alias, a flat archive, a nested
// name, special members to exclude, hostile members that refuse the whole
// archive, a missing skill) and a subagent with skills of its own (one the
// agent has too, one whose name an agent's skill took, one new), served
// once by the SDK's worker and once by the
// C runner. A bash call lists what landed in <workdir>/skills with modes and
// contents: both results must be byte-identical, and both runners must
// remove the skill folders when the session ends.
//
// Then the C runner alone, with --skills-max-mb 8, against hostile archives:
// path traversal, absolute names, symlinks and hard links leading out, a
// zip bomb that declares its size and one that lies about it. None may
// write outside its staging folder, and the session still runs.
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zip, tar } from './archives.mjs';
import {
  API_KEY, CP_URL, apiClient, cp, done, environment, ok, say, startRunner, startWorker, TMP, toolCalls, untilNoTracked,
  untilTurnEnds,
} from './lib.mjs';

const client = apiClient();
const tmp = realpathSync(TMP);

async function upload(name, archive, skillId) {
  const q = new URLSearchParams({ name, ...(skillId ? { skill_id: skillId } : {}) });
  const res = await fetch(`${CP_URL}/_test/skills?${q}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/octet-stream' },
    body: archive,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// ---- the skills both runners get ------------------------------------------

const pdf1 = await upload('pdf-tools', zip([
  { name: 'pdf-tools/', type: 'dir' },
  { name: 'pdf-tools/SKILL.md', data: '# pdf tools, version 1\n' },
]));
// Version 2 of the same skill, fetched through `latest`.
const pdf2 = await upload('pdf-tools', zip([
  { name: 'pdf-tools/', type: 'dir', mode: 0o777 },
  { name: 'pdf-tools/SKILL.md', data: '# pdf tools, version 2\n', mode: 0o600 },
  { name: 'pdf-tools/scripts/', type: 'dir', mode: 0o700 },
  { name: 'pdf-tools/scripts/run.sh', data: '#!/bin/sh\necho run\n', mode: 0o700 },
  { name: 'pdf-tools/scripts/lib.py', data: 'x = 1\n', mode: 0o666 },
  { name: 'pdf-tools/link', type: 'symlink', target: '../../outside' },
]), pdf1.skill_id);
const kit = await upload(' nested/data-kit ', tar([
  { name: './data-kit/', type: 'dir' },
  { name: './data-kit/SKILL.md', data: 'data kit\n' },
  { name: './data-kit/lib/x.py', data: 'print(1)\n', mode: 0o751 },
  { name: './data-kit/l', type: 'symlink', target: '/etc/passwd' },
], { gzip: true }));
const flat = await upload('flat', tar([
  { name: 'a.txt', data: 'a\n' },
  { name: 'b/c.txt', data: 'c\n' },
]));
const xz = await upload('tarball', tar([{ name: 'tb/README', data: 'tarball\n' }]));
const traversal = await upload('traversal', zip([
  { name: 'traversal/SKILL.md', data: 'ok\n' },
  { name: 'traversal/../../escape.txt', data: 'escaped\n' },
]));
const subOnly = await upload('sub-only', zip([{ name: 'sub-only/SKILL.md', data: 'subagent skill\n' }]));
const flatAgain = await upload('flat', zip([{ name: 'flat/SKILL.md', data: 'the second flat\n' }]));
const multiagent = {
  type: 'coordinator',
  agents: [{
    type: 'agent',
    id: 'agent_sub',
    skills: [
      { skill_id: kit.skill_id, version: kit.id },
      { skill_id: flatAgain.skill_id, version: 'latest' },
      { skill_id: subOnly.skill_id, version: 'latest' },
    ],
  }],
};
const skills = [
  { skill_id: pdf1.skill_id, version: 'latest' },
  { skill_id: kit.skill_id, version: kit.id },
  { skill_id: flat.skill_id, version: flat.id },
  { skill_id: xz.skill_id, version: 'latest' },
  { skill_id: traversal.skill_id, version: 'latest' },
  { skill_id: 'skill_does_not_exist', version: 'latest' },
];
ok(pdf2.id !== pdf1.id && pdf2.skill_id === pdf1.skill_id, 'a second version of a skill was uploaded');

const LIST = [
  'cd skills && find . | LC_ALL=C sort',
  'for f in $(find . -type f | LC_ALL=C sort); do echo "== $f $(stat -c %a "$f")"; cat "$f"; done',
  'find . -mindepth 1 -type d | LC_ALL=C sort | xargs -r stat -c "%a %n"',
  'ls -A ../ | LC_ALL=C sort',
].join('; ');

async function serve(kind) {
  const { env, key } = await environment(client, `skills-${kind}`);
  const wd = join(tmp, `skills-${kind}`, 'wd');
  mkdirSync(wd, { recursive: true });
  const session = await client.beta.sessions.create({ agent: { id: 'agent_skills', skills, multiagent }, environment_id: env.id });
  await cp.script(session.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: LIST } }], message: 'done' }] });
  const opts = { envId: env.id, key, workdir: wd, maxIdleSec: 1, workerId: `skills-${kind}` };
  const proc = kind === 'sdk' ? startWorker(opts) : startRunner(opts);
  await say(client, session.id, 'list the skills');
  return { kind, wd, session, proc };
}

const runs = await Promise.all([serve('sdk'), serve('c')]);
const results = {};
try {
  for (const r of runs) {
    const events = await untilTurnEnds(r.session.id, 1, 60_000);
    ok(events, `${r.kind}: the session's turn ends`, events ? undefined : r.proc.log().slice(-3000));
    const tc = toolCalls(events ?? []);
    results[r.kind] = tc[0] ? { is_error: tc[0].is_error, text: tc[0].text.replaceAll(r.wd, '<WD>') } : null;
  }
  ok(results.sdk && results.c && results.sdk.is_error === results.c.is_error && results.sdk.text === results.c.text,
    'the skills folders are byte-identical (names, modes, contents) under both runners', { sdk: results.sdk?.text, c: results.c?.text });
  const t = results.c?.text ?? '';
  ok(t.includes('# pdf tools, version 2') && !t.includes('version 1'), '`latest` resolves to the newest version', t);
  ok(t.includes('== ./pdf-tools/SKILL.md 644') && t.includes('== ./pdf-tools/scripts/run.sh 755') &&
    t.includes('== ./data-kit/lib/x.py 755') && t.includes('700 ./pdf-tools/scripts'), 'modes normalised: files 0644/0755, dirs 0700', t);
  ok(t.includes('./data-kit/SKILL.md') && !t.includes('./data-kit/data-kit'), 'the single top-level folder is stripped; the name is a basename', t);
  ok(t.includes('./flat/a.txt') && t.includes('./flat/b/c.txt'), 'a flat archive keeps its layout', t);
  ok(!t.includes('./pdf-tools/link') && !t.includes('./data-kit/l\n'), 'symlink members are not extracted', t);
  ok(!t.includes('./traversal') && !t.includes('escape'),
    'an archive with a `..` member is refused as a whole (no folder: a skill replaces its folder only once extracted)', t);
  ok(t.includes('== ./sub-only/SKILL.md 644\nsubagent skill'), 'a subagent\'s skill is downloaded too', t);
  ok(t.includes('./flat/a.txt') && !t.includes('the second flat'), 'of two skills with one name, the first (the agent\'s) wins', t);
  ok(!/\.skill-stage-/.test(t), 'no staging folder is left behind', t);
} finally {
  const exits = await Promise.all(runs.map((r) => r.proc.stop()));
  ok(exits.every((e) => e.code === 0), 'SDK worker and C runner exit 0', exits);
}
for (const r of runs) {
  const left = existsSync(join(r.wd, 'skills')) ? readdirSync(join(r.wd, 'skills')) : [];
  ok(left.length === 0, `${r.kind}: the skill folders are removed when the session ends`, left);
  ok(!existsSync(join(r.wd, 'escape.txt')) && !existsSync(join(r.wd, '..', 'escape.txt')), `${r.kind}: nothing escaped the workdir`);
}
const [sdkTop, cTop] = runs.map((r) => readdirSync(r.wd).sort().join(','));
ok(sdkTop === cTop, 'the workdirs hold the same entries afterwards', { sdk: sdkTop, c: cTop });

// ---- hostile archives, C runner only --------------------------------------

const outside = join(tmp, 'hostile-outside');
mkdirSync(outside, { recursive: true });
writeFileSync(join(outside, 'victim.txt'), 'victim\n');
const good = await upload('good', zip([{ name: 'good/SKILL.md', data: 'good\n' }]));
const hostile = [
  ['dotdot zip', zip([{ name: 'h/ok.txt', data: 'x' }, { name: `../../../hostile-outside/zip-dotdot.txt`, data: 'pwned' }])],
  ['dotdot tar', tar([{ name: 'h/ok.txt', data: 'x' }, { name: '../hostile-outside/tar-dotdot.txt', data: 'pwned' }])],
  ['absolute zip', zip([{ name: `${outside}/zip-abs.txt`, data: 'pwned' }])],
  ['absolute tar', tar([{ name: `${outside}/tar-abs.txt`, data: 'pwned' }], { gzip: true })],
  ['symlink then file through it (tar)', tar([
    { name: 'h/', type: 'dir' },
    { name: 'h/out', type: 'symlink', target: outside },
    { name: 'h/out/tar-link.txt', data: 'pwned' },
    { name: 'h/ok.txt', data: 'ok' },
  ])],
  ['symlink then file through it (zip)', zip([
    { name: 'h/out', type: 'symlink', target: outside },
    { name: 'h/out/zip-link.txt', data: 'pwned' },
  ])],
  ['hard link to a file outside', tar([{ name: 'h/hl', type: 'hardlink', target: `${outside}/victim.txt` }, { name: 'h/ok.txt', data: 'ok' }])],
  ['zip bomb, honest sizes (20 MiB > 8 MiB)', zip([{ name: 'bomb/zeros', zeros: 20 << 20 }])],
  ['zip bomb, lying sizes', zip([{ name: 'liar/zeros', zeros: 20 << 20, declaredSize: 10 }])],
];
const hostileSkills = [{ skill_id: good.skill_id, version: 'latest' }];
for (const [name, archive] of hostile) {
  const v = await upload(name.replace(/[^a-z]+/g, '-'), archive);
  hostileSkills.push({ skill_id: v.skill_id, version: v.id });
}
const { env: henv, key: hkey } = await environment(client, 'skills-hostile');
const hwd = join(tmp, 'skills-hostile', 'wd');
mkdirSync(hwd, { recursive: true });
const hsession = await client.beta.sessions.create({ agent: { id: 'agent_hostile', skills: hostileSkills }, environment_id: henv.id });
const HLIST = 'cd skills && find . -printf "%y %s %p\\n" | LC_ALL=C sort -k3';
await cp.script(hsession.id, { turns: [{ tool_calls: [{ name: 'bash', input: { command: HLIST } }], message: 'done' }] });
const t0 = Date.now();
const hrun = startRunner({ envId: henv.id, key: hkey, workdir: hwd, maxIdleSec: 1, workerId: 'skills-hostile', extra: ['--skills-max-mb', '8'] });
try {
  await say(client, hsession.id, 'list');
  const events = await untilTurnEnds(hsession.id, 1, 60_000);
  ok(events, 'hostile: the session still runs', events ? undefined : hrun.log().slice(-3000));
  const text = toolCalls(events ?? [])[0]?.text ?? '';
  ok(text.includes('./good/SKILL.md'), 'hostile: the good skill was unpacked', text);
  ok(!/^l /m.test(text) && !/dotdot\.txt|abs\.txt|tar-link|zeros/.test(text),
    'hostile: no link, no traversal or absolute member, no bomb landed (a file under an excluded link lands in a real folder)', text);
  ok(!/ \d{7,} /.test(text), 'hostile: no large file reached the skills folder', text);
  const log = hrun.log();
  ok(/declares 20971520 bytes, more than 8388608/.test(log), 'hostile: the honest zip bomb is refused before extraction', log.slice(-2000));
  ok(/unpacks to more than 8388608 bytes/.test(log), 'hostile: the lying zip bomb is stopped while it unpacks', log.slice(-2000));
  ok(/refusing to extract unsafe archive member/.test(log), 'hostile: `..` and absolute members are refused', log.slice(-2000));
} finally {
  const e = await hrun.stop();
  ok(e.code === 0, 'hostile: the C runner exits 0', e);
}
const outsideNow = readdirSync(outside).sort();
ok(outsideNow.join(',') === 'victim.txt', 'hostile: nothing was written outside the staging folders', outsideNow);
ok(!existsSync(join(tmp, 'zip-dotdot.txt')) && !existsSync(join(tmp, 'skills-hostile', 'tar-dotdot.txt')), 'hostile: no traversal target exists');
const hleft = existsSync(join(hwd, 'skills')) ? readdirSync(join(hwd, 'skills')) : [];
ok(hleft.length === 0, 'hostile: skill and staging folders removed at the end', hleft);
ok(Date.now() - t0 < 60_000, 'hostile: bounded in time', Date.now() - t0);
const left = await untilNoTracked(tmp, 3000);
ok(left.length === 0, 'no tracked process left', left);
done();
