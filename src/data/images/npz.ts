/**
 * NumPy .npz archives (a zip of .npy files, as np.savez / np.savez_compressed write them), read
 * entry by entry: the zip central directory (zip64 included, as numpy forces zip64 local headers)
 * is parsed here, stored entries are read in place with positioned reads (rows on demand),
 * deflated ones inflated with Node's zlib. The .npy header (magic, version, Python-dict header
 * with descr / fortran_order / shape) is parsed here too. A writer is included for tests.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { GmpnnError } from '../../errors';

export type NpyTyped = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array;

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: NpyTyped;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localHeaderOffset: number;
}

const DTYPES: Record<string, { bytes: number; make: (b: ArrayBuffer, n: number) => NpyTyped }> = {
  u1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i1: { bytes: 1, make: (b, n) => new Int8Array(b, 0, n) },
  b1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i2: { bytes: 2, make: (b, n) => new Int16Array(b, 0, n) },
  u2: { bytes: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  i4: { bytes: 4, make: (b, n) => new Int32Array(b, 0, n) },
  u4: { bytes: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  f4: { bytes: 4, make: (b, n) => new Float32Array(b, 0, n) },
  f8: { bytes: 8, make: (b, n) => new Float64Array(b, 0, n) },
  i8: { bytes: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
};

function ioErr(file: string, msg: string): GmpnnError {
  return new GmpnnError('E_IO', `${file}: ${msg}`);
}

function crc32(buf: Uint8Array): number {
  const z = zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number };
  if (z.crc32) return z.crc32(buf) >>> 0;
  let c = ~0;
  for (let i = 0; i < buf.length; i++) {
    c ^= buf[i];
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** Parses a .npy header; returns dtype (without byte order), shape and the data offset. */
export function parseNpyHeader(buf: Buffer, file = 'npy'): { dtype: string; shape: number[]; fortran: boolean; offset: number } {
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw ioErr(file, 'not a .npy array (bad magic)');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (buf.length < start + hlen) throw ioErr(file, 'truncated .npy header');
  const h = buf.toString('latin1', start, start + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(h)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(h)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(h)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw ioErr(file, `unreadable .npy header ${JSON.stringify(h)}`);
  const order = descr[0];
  const dt = descr.slice(1);
  if (!DTYPES[dt]) throw ioErr(file, `.npy dtype ${descr} is not supported`);
  if (order === '>' && DTYPES[dt].bytes > 1) throw ioErr(file, `big-endian .npy dtype ${descr} is not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw ioErr(file, `bad .npy shape (${shapeText})`);
  return { dtype: dt, shape, fortran: fortran === 'True', offset: start + hlen };
}

/** Decodes a whole .npy file held in memory. */
export function parseNpy(buf: Buffer, file = 'npy'): NpyArray {
  const h = parseNpyHeader(buf, file);
  if (h.fortran && h.shape.length > 1) throw ioErr(file, 'Fortran-ordered arrays are not supported');
  const n = h.shape.reduce((a, b) => a * b, 1);
  const bytes = n * DTYPES[h.dtype].bytes;
  if (buf.length - h.offset !== bytes) throw ioErr(file, `.npy holds ${buf.length - h.offset} data bytes, its shape [${h.shape.join(', ')}] needs ${bytes}`);
  const ab = new ArrayBuffer(bytes);
  new Uint8Array(ab).set(buf.subarray(h.offset, h.offset + bytes));
  return { dtype: h.dtype, shape: h.shape, data: DTYPES[h.dtype].make(ab, n) };
}

/** An open .npz archive. Close it when done. */
export class NpzFile {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number;
  private readonly size: number;

  constructor(readonly file: string) {
    try {
      this.fd = fs.openSync(file, 'r');
      this.size = fs.fstatSync(this.fd).size;
    } catch (e) {
      throw new GmpnnError('E_IO', `${file}: cannot open: ${(e as Error).message}`);
    }
    try {
      this.readDirectory();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Array names (without the .npy suffix). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  private read(pos: number, len: number): Buffer {
    if (pos < 0 || pos + len > this.size) throw ioErr(this.file, `truncated archive (wanted bytes ${pos}..${pos + len} of ${this.size})`);
    const b = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const r = fs.readSync(this.fd, b, got, len - got, pos + got);
      if (r === 0) throw ioErr(this.file, 'unexpected end of file');
      got += r;
    }
    return b;
  }

  private readDirectory(): void {
    const tailLen = Math.min(this.size, 65557);
    const tail = this.read(this.size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--)
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    if (eocd < 0) throw ioErr(this.file, 'not a zip/.npz archive (no end-of-central-directory record; truncated?)');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw ioErr(this.file, 'zip64 archive without its locator');
      const z64 = this.read(Number(tail.readBigUInt64LE(loc + 8)), 56);
      if (z64.readUInt32LE(0) !== 0x06064b50) throw ioErr(this.file, 'damaged zip64 end record');
      count = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOffset = Number(z64.readBigUInt64LE(48));
    }
    const cd = this.read(cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw ioErr(this.file, 'damaged central directory');
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let csize = cd.readUInt32LE(p + 20);
      let usize = cd.readUInt32LE(p + 24);
      const nlen = cd.readUInt16LE(p + 28);
      const xlen = cd.readUInt16LE(p + 30);
      const clen = cd.readUInt16LE(p + 32);
      let lho = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nlen);
      // zip64 extra field: the 64-bit values of whichever fields are 0xFFFFFFFF, in this order.
      let x = p + 46 + nlen;
      const xend = x + xlen;
      while (x + 4 <= xend) {
        const id = cd.readUInt16LE(x);
        const sz = cd.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let q = x + 4;
          if (usize === 0xffffffff) (usize = Number(cd.readBigUInt64LE(q)), (q += 8));
          if (csize === 0xffffffff) (csize = Number(cd.readBigUInt64LE(q)), (q += 8));
          if (lho === 0xffffffff) lho = Number(cd.readBigUInt64LE(q));
        }
        x += 4 + sz;
      }
      if (method !== 0 && method !== 8) throw ioErr(this.file, `entry ${name}: compression method ${method} is not supported (stored or deflate)`);
      this.entries.set(name.replace(/\.npy$/, ''), { name, method, compressedSize: csize, size: usize, crc, localHeaderOffset: lho });
      p += 46 + nlen + xlen + clen;
    }
  }

  private entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw ioErr(this.file, `no array '${name}' in this archive (has ${this.names().join(', ')})`);
    return e;
  }

  private dataStart(e: ZipEntry): number {
    const lh = this.read(e.localHeaderOffset, 30);
    if (lh.readUInt32LE(0) !== 0x04034b50) throw ioErr(this.file, `entry ${e.name}: damaged local header`);
    return e.localHeaderOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  }

  /** The raw (uncompressed) bytes of an entry, CRC-checked. */
  entryBytes(name: string): Buffer {
    const e = this.entry(name);
    const raw = this.read(this.dataStart(e), e.compressedSize);
    let out: Buffer;
    if (e.method === 8) {
      try {
        out = zlib.inflateRawSync(raw);
      } catch (err) {
        throw ioErr(this.file, `entry ${e.name}: damaged deflate stream: ${(err as Error).message}`);
      }
    } else out = raw;
    if (out.length !== e.size) throw ioErr(this.file, `entry ${e.name}: ${out.length} bytes, the directory says ${e.size}`);
    if (crc32(out) !== e.crc) throw ioErr(this.file, `entry ${e.name}: CRC mismatch (damaged archive)`);
    return out;
  }

  /** A whole array. */
  array(name: string): NpyArray {
    return parseNpy(this.entryBytes(name), `${this.file}:${name}`);
  }

  /** Shape and dtype of an array without reading its data (stored entries; deflated ones inflate their head). */
  header(name: string): { dtype: string; shape: number[] } {
    const e = this.entry(name);
    if (e.method === 0) {
      const h = parseNpyHeader(this.read(this.dataStart(e), Math.min(e.size, 4096)), `${this.file}:${name}`);
      return { dtype: h.dtype, shape: h.shape };
    }
    const raw = this.read(this.dataStart(e), Math.min(e.compressedSize, 1 << 16));
    let head: Buffer;
    try {
      head = zlib.inflateRawSync(raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (err) {
      throw ioErr(this.file, `entry ${e.name}: damaged deflate stream: ${(err as Error).message}`);
    }
    const h = parseNpyHeader(head, `${this.file}:${name}`);
    return { dtype: h.dtype, shape: h.shape };
  }

  /** Rows [start, start + count) of a C-ordered uint8 2-D array; stored entries read in place. */
  rowsU8(name: string, start: number, count: number): Uint8Array {
    const e = this.entry(name);
    if (e.method !== 0) {
      const a = this.array(name);
      const cols = a.shape[1];
      return (a.data as Uint8Array).slice(start * cols, (start + count) * cols);
    }
    const base = this.dataStart(e);
    const h = parseNpyHeader(this.read(base, Math.min(e.size, 4096)), `${this.file}:${name}`);
    if (h.dtype !== 'u1' || h.shape.length !== 2) throw ioErr(this.file, `${name}: expected a uint8 2-D array, got ${h.dtype} [${h.shape.join(', ')}]`);
    const cols = h.shape[1];
    if (start < 0 || start + count > h.shape[0]) throw ioErr(this.file, `${name}: rows ${start}..${start + count} out of [0, ${h.shape[0]})`);
    const b = this.read(base + h.offset + start * cols, count * cols);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Serializes one array as .npy (version 1.0). */
export function encodeNpy(a: { dtype: 'u1' | 'i8' | 'i4' | 'f4' | 'f8'; shape: number[]; data: NpyTyped }): Buffer {
  const descr = a.dtype === 'u1' ? '|u1' : `<${a.dtype}`;
  const shapeText = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  return Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)]);
}

/** Writes an .npz (stored, or deflated as np.savez_compressed) of the given arrays. */
export function writeNpz(file: string, arrays: Record<string, Parameters<typeof encodeNpy>[0]>, options: { compress?: boolean } = {}): void {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [key, a] of Object.entries(arrays)) {
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const raw = encodeNpy(a);
    const body = options.compress ? zlib.deflateRawSync(raw) : raw;
    const crc = crc32(raw);
    const method = options.compress ? 8 : 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(raw.length, 22);
    lh.writeUInt16LE(name.length, 26);
    parts.push(lh, name, body);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(raw.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(arrays).length, 8);
  end.writeUInt16LE(Object.keys(arrays).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(file, Buffer.concat([...parts, cd, end]));
}
