// Skill archives built byte by byte, so that tests control every member:
// names (absolute, `..`), types (symlinks, hard links), modes and declared
// sizes (zip bombs). zip(entries) and tar(entries) return Buffers.
//
// entry: {name, data?, mode?, type?: 'file'|'dir'|'symlink'|'hardlink', target?,
//         declaredSize? (zip: the size written in the headers), zeros? (zip: that many
//         zero bytes as the content, deflated)}
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

const DOS_TIME = 0; // 1980-01-01 00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function unixMode(e) {
  if (e.type === 'dir') return 0o040000 | (e.mode ?? 0o755);
  if (e.type === 'symlink') return 0o120000 | 0o777;
  return 0o100000 | (e.mode ?? 0o644);
}

/** A zip with Unix modes; `zeros` entries are deflated, the others stored. */
export function zip(entries) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name);
    let raw;
    if (e.zeros !== undefined) raw = Buffer.alloc(e.zeros);
    else if (e.type === 'symlink') raw = Buffer.from(e.target);
    else raw = Buffer.from(e.data ?? '');
    const deflate = e.zeros !== undefined;
    const data = deflate ? deflateRawSync(raw, { level: 9 }) : raw;
    const crc = crc32(raw);
    const size = e.declaredSize ?? raw.length;
    const method = deflate ? 8 : 0;
    const local = Buffer.concat([
      u32(0x04034b50), u16(20), u16(0), u16(method), u16(DOS_TIME), u16(DOS_DATE),
      u32(crc), u32(data.length), u32(size), u16(name.length), u16(0), name,
    ]);
    locals.push(local, data);
    const external = (unixMode(e) << 16) | (e.type === 'dir' ? 0x10 : 0);
    central.push(Buffer.concat([
      u32(0x02014b50), u16((3 << 8) | 20), u16(20), u16(0), u16(method), u16(DOS_TIME), u16(DOS_DATE),
      u32(crc), u32(data.length), u32(size), u16(name.length), u16(0), u16(0), u16(0), u16(0),
      u32(external), u32(offset), name,
    ]));
    offset += local.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.concat([
    u32(0x06054b50), u16(0), u16(0), u16(entries.length), u16(entries.length), u32(cd.length), u32(offset), u16(0),
  ]);
  return Buffer.concat([...locals, cd, end]);
}

function octal(n, width) {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function tarHeader(e, size) {
  const h = Buffer.alloc(512);
  const name = Buffer.from(e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name);
  if (name.length > 100) throw new Error(`tar name too long: ${e.name}`);
  name.copy(h, 0);
  h.write(octal(e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1_600_000_000, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  const type = { file: '0', dir: '5', symlink: '2', hardlink: '1' }[e.type ?? 'file'];
  h.write(type, 156, 'latin1');
  if (e.target) Buffer.from(e.target).copy(h, 157);
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A ustar archive; gzip it with `{gzip: true}`. */
export function tar(entries, { gzip = false } = {}) {
  const parts = [];
  for (const e of entries) {
    const data = e.type === 'file' || e.type === undefined ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    parts.push(tarHeader(e, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  const out = Buffer.concat(parts);
  return gzip ? gzipSync(out) : out;
}
