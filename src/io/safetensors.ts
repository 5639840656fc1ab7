/**
 * The safetensors file format, written and read here (no npm package of it is well kept):
 *
 *   [8 bytes]  N, the header length, unsigned little-endian 64-bit
 *   [N bytes]  JSON header: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }
 *              padded with spaces to a multiple of 8 (as the reference writer does)
 *   [rest]     the data section: every tensor's raw little-endian bytes, back to back
 *
 * Offsets are relative to the data section. Files written here are readable by PyTorch's
 * `safetensors.torch.load_file`. Writes are atomic (temp file in the same folder, fsync, rename,
 * fsync of the folder), so a crash mid-write leaves the previous file intact. Every file carries
 * the SHA-256 of its data section in the metadata ('gmpnn.sha256'); reads verify it and refuse a
 * truncated, padded or tampered file with GmpnnError('E_IO', ...).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GmpnnError } from '../errors';

export type SafeDType = 'F32' | 'F64';

export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Float64Array;
}

export const CHECKSUM_KEY = 'gmpnn.sha256';
/** The largest header accepted (the reference reader's limit is 100 MB). */
const MAX_HEADER = 100 * 1024 * 1024;

function ioError(file: string, msg: string): GmpnnError {
  return new GmpnnError('E_IO', `${file}: ${msg}`);
}

function assertLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new GmpnnError('E_UNSUPPORTED', 'safetensors: big-endian hosts are not supported');
}

function bytesOf(dtype: SafeDType): number {
  return dtype === 'F64' ? 8 : 4;
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Serializes tensors and string metadata into one safetensors buffer (header + data). */
export function encodeSafetensors(tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): Buffer {
  assertLittleEndian();
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new GmpnnError('E_ARG', 'safetensors: "__metadata__" is not a valid tensor name');
    const t = tensors[name];
    const want = t.dtype === 'F64' ? Float64Array : Float32Array;
    if (!(t.data instanceof want)) throw new GmpnnError('E_DTYPE', `safetensors: tensor ${name} is ${t.dtype} but its data is a ${t.data.constructor.name}`);
    if (numel(t.shape) !== t.data.length)
      throw new GmpnnError('E_SHAPE', `safetensors: tensor ${name} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const data = Buffer.concat(chunks, offset);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') throw new GmpnnError('E_ARG', `safetensors: metadata value of ${k} must be a string`);
  const meta = { ...metadata, [CHECKSUM_KEY]: crypto.createHash('sha256').update(data).digest('hex') };
  // __metadata__ first, as the reference writer puts it.
  let json = JSON.stringify({ __metadata__: meta, ...header });
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const head = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([len, head, data]);
}

export interface DecodeOptions {
  /** Refuse files without the gmpnn checksum (default false: files from other writers load). */
  requireChecksum?: boolean;
}

/** Parses and validates a safetensors buffer. `file` names the source in error messages. */
export function decodeSafetensors(buf: Buffer, file = 'safetensors', options: DecodeOptions = {}): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  assertLittleEndian();
  if (buf.length < 8) throw ioError(file, `truncated file (${buf.length} bytes, not even the 8-byte header length)`);
  const n64 = buf.readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER)) throw ioError(file, `header length ${n64} exceeds the ${MAX_HEADER}-byte limit (not a safetensors file, or damaged)`);
  const n = Number(n64);
  if (8 + n > buf.length) throw ioError(file, `truncated file: header says ${n} bytes of JSON but the file has ${buf.length - 8} after the length`);
  let header: Record<string, unknown>;
  try {
    const text = buf.subarray(8, 8 + n).toString('utf8');
    if (!text.startsWith('{')) throw new Error('header does not start with "{"');
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw ioError(file, `damaged header: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw ioError(file, 'damaged header: not a JSON object');
  const dataLen = buf.length - 8 - n;
  const data = buf.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const rawMeta = header.__metadata__;
  if (rawMeta !== undefined) {
    if (rawMeta === null || typeof rawMeta !== 'object' || Array.isArray(rawMeta)) throw ioError(file, '__metadata__ must be an object of strings');
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') throw ioError(file, `__metadata__.${k} is not a string`);
      metadata[k] = v;
    }
  }
  const entries: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, spec] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const s = spec as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (s === null || typeof s !== 'object') throw ioError(file, `tensor ${name}: entry is not an object`);
    if (s.dtype !== 'F32' && s.dtype !== 'F64') throw ioError(file, `tensor ${name}: dtype ${String(s.dtype)} is not supported (F32 or F64)`);
    if (!Array.isArray(s.shape) || s.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw ioError(file, `tensor ${name}: shape ${JSON.stringify(s.shape)} is not a list of non-negative integers`);
    const off = s.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1])
      throw ioError(file, `tensor ${name}: data_offsets ${JSON.stringify(off)} are invalid`);
    if (off[1] > dataLen) throw ioError(file, `truncated file: tensor ${name} ends at byte ${off[1]} of the data section, which has ${dataLen}`);
    const want = numel(s.shape as number[]) * bytesOf(s.dtype);
    if (off[1] - off[0] !== want)
      throw ioError(file, `tensor ${name}: shape [${(s.shape as number[]).join(', ')}] × ${bytesOf(s.dtype)} bytes = ${want} bytes, but its offsets span ${off[1] - off[0]}`);
    entries.push({ name, dtype: s.dtype, shape: s.shape as number[], begin: off[0], end: off[1] });
  }
  // The tensors must tile the data section exactly: no gaps, no overlaps, nothing after.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) throw ioError(file, `tensor ${e.name} starts at ${e.begin}, expected ${at} (gap or overlap in the data section)`);
    at = e.end;
  }
  if (at !== dataLen) throw ioError(file, `data section has ${dataLen} bytes but the tensors cover ${at} (truncated or padded file)`);
  const sum = metadata[CHECKSUM_KEY];
  if (sum !== undefined) {
    const got = crypto.createHash('sha256').update(data).digest('hex');
    if (got !== sum) throw ioError(file, `checksum mismatch: the data section hashes to ${got.slice(0, 16)}…, the header records ${sum.slice(0, 16)}… (file tampered or damaged)`);
  } else if (options.requireChecksum) {
    throw ioError(file, `no ${CHECKSUM_KEY} in the metadata (not written by gmpnn, or tampered)`);
  }
  const tensors: Record<string, RawTensor> = {};
  for (const e of entries) {
    const bytes = data.subarray(e.begin, e.end);
    // Copy into a fresh, aligned ArrayBuffer (the slice may sit at any byte offset).
    const ab = new ArrayBuffer(bytes.length);
    new Uint8Array(ab).set(bytes);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: e.dtype === 'F64' ? new Float64Array(ab) : new Float32Array(ab) };
  }
  return { tensors, metadata };
}

/**
 * Writes `bytes` to `file` atomically: a temp file in the same folder, fsync, rename over the
 * target, fsync of the folder. A crash at any point leaves either the old or the new file.
 * `beforeRename` is a test hook (it runs after the temp file is complete and synced).
 */
export function writeFileAtomic(file: string, bytes: Buffer, hooks: { beforeRename?: (tmp: string) => void } = {}): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    hooks.beforeRename?.(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    if (e instanceof GmpnnError) throw e;
    throw new GmpnnError('E_IO', `${file}: write failed: ${(e as Error).message}`);
  }
  // Make the rename itself durable.
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

export function writeSafetensors(file: string, tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string, options: DecodeOptions = {}): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new GmpnnError('E_IO', `${file}: cannot read: ${(e as Error).message}`);
  }
  return decodeSafetensors(buf, file, options);
}
