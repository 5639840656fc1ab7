/**
 * ImageNet32 (and ImageNet64/16) in the distributed numpy form: train_data_batch_1..10.npz and
 * val_data.npz, each with uint8 `data` [N, 3·S·S] channel-planar (all R, then G, then B) and
 * `labels` 1…1000 (1-based). Read one archive at a time, never the whole set: each epoch visits
 * the archives in a seeded order and the rows of each archive in a seeded order (a block shuffle),
 * so memory holds one archive's pixels at most, and batches never span two archives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GmpnnError } from '../../errors';
import { DType, Device } from '../../tensor';
import { tensor } from '../../ops/creation';
import { Batch, BatchSource, LoaderOptions, checkLoaderOptions, normalizeInto } from './loader';
import { NpzFile } from './npz';
import { DataRng } from './rng';

interface Part {
  file: string;
  n: number;
  labels: Int32Array;
}

export class Imagenet32Loader implements BatchSource {
  readonly batchSize: number;
  readonly length: number;
  readonly classes = 1000;
  readonly side: number;
  private readonly parts: Part[];
  private cache: { file: string; pixels: Uint8Array } | null = null;
  private readonly o: LoaderOptions & { shuffle: boolean; flip: boolean; seed: number; dtype: DType; device: Device };

  constructor(files: string[], options: LoaderOptions) {
    if (files.length === 0) throw new GmpnnError('E_IO', 'Imagenet32Loader: no .npz files');
    checkLoaderOptions(options, 3, 'Imagenet32Loader');
    this.o = { shuffle: true, flip: false, seed: 0, dtype: 'float32', device: 'cpu', ...options };
    this.batchSize = options.batchSize;
    let side = 0;
    this.parts = files.map((file) => {
      const z = new NpzFile(file);
      try {
        const h = z.header('data');
        if (h.dtype !== 'u1' || h.shape.length !== 2 || h.shape[1] % 3 !== 0) throw new GmpnnError('E_IO', `${file}: data must be uint8 [N, 3·S·S], got ${h.dtype} [${h.shape.join(', ')}]`);
        const s = Math.round(Math.sqrt(h.shape[1] / 3));
        if (3 * s * s !== h.shape[1]) throw new GmpnnError('E_IO', `${file}: ${h.shape[1]} columns are not 3·S·S`);
        if (side && s !== side) throw new GmpnnError('E_IO', `${file}: ${s}×${s} images among ${side}×${side} ones`);
        side = s;
        const l = z.array('labels');
        if (l.shape.length !== 1 || l.shape[0] !== h.shape[0]) throw new GmpnnError('E_IO', `${file}: ${l.shape[0]} labels for ${h.shape[0]} images`);
        const labels = new Int32Array(l.shape[0]);
        for (let i = 0; i < labels.length; i++) {
          const v = Number(l.data[i]) - 1; // 1-based in the files
          if (!(v >= 0 && v < 1000)) throw new GmpnnError('E_IO', `${file}: label ${v + 1} at row ${i} is outside 1…1000`);
          labels[i] = v;
        }
        return { file, n: h.shape[0], labels };
      } finally {
        z.close();
      }
    });
    this.side = side;
    this.length = this.parts.reduce((a, p) => a + p.n, 0);
  }

  private partBatches(p: Part): number {
    return this.o.dropLast ? Math.floor(p.n / this.batchSize) : Math.ceil(p.n / this.batchSize);
  }

  numBatches(): number {
    return this.parts.reduce((a, p) => a + this.partBatches(p), 0);
  }

  private pixels(file: string): Uint8Array {
    if (this.cache?.file !== file) {
      this.cache = null; // free the previous archive first
      const z = new NpzFile(file);
      try {
        const a = z.array('data');
        this.cache = { file, pixels: a.data as Uint8Array };
      } finally {
        z.close();
      }
    }
    return this.cache!.pixels;
  }

  *batches(epoch: number, startBatch = 0): Iterable<Batch> {
    const order = this.o.shuffle ? new DataRng(this.o.seed, epoch, 0xf11e).permutation(this.parts.length) : Int32Array.from(this.parts.keys());
    const s = this.side;
    const item = 3 * s * s;
    let b0 = 0;
    for (const pi of order) {
      const p = this.parts[pi];
      const nb = this.partBatches(p);
      if (startBatch >= b0 + nb) {
        b0 += nb;
        continue;
      }
      const rows = this.o.shuffle ? new DataRng(this.o.seed, epoch, pi, 0x0b10c).permutation(p.n) : Int32Array.from({ length: p.n }, (_, i) => i);
      const px = this.pixels(p.file);
      for (let k = Math.max(0, startBatch - b0); k < nb; k++) {
        const start = k * this.batchSize;
        const size = Math.min(p.n, start + this.batchSize) - start;
        const xs = this.o.dtype === 'float64' ? new Float64Array(size * item) : new Float32Array(size * item);
        const ys = this.o.dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
        const rng = this.o.flip ? new DataRng(this.o.seed, epoch, b0 + k, 0xf11b) : null;
        for (let i = 0; i < size; i++) {
          const r = rows[start + i];
          const flip = rng ? rng.uniform() < 0.5 : false;
          normalizeInto(xs, i * item, px.subarray(r * item, (r + 1) * item), s, s, 3, flip, this.o.mean, this.o.std, true);
          ys[i] = p.labels[r];
        }
        yield {
          x: tensor(xs, [size, s, s, 3], { dtype: this.o.dtype, device: this.o.device }),
          y: tensor(ys, [size], { dtype: this.o.dtype, device: this.o.device }),
          size,
        };
      }
      b0 += nb;
    }
  }

  close(): void {
    this.cache = null;
  }
}

/** Train (train_data_batch_*.npz, in numeric order) and validation (val_data.npz) loaders of a folder. */
export function openImagenet32(dir: string, options: LoaderOptions): { train: Imagenet32Loader; val?: Imagenet32Loader } {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new GmpnnError('E_IO', `${dir}: cannot list: ${(e as Error).message}`);
  }
  const train = names
    .filter((n) => /^train_data_batch_\d+\.npz$/.test(n))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
    .map((n) => path.join(dir, n));
  if (train.length === 0) throw new GmpnnError('E_IO', `${dir}: no train_data_batch_N.npz files (ImageNet32 numpy format)`);
  const valFile = path.join(dir, 'val_data.npz');
  return {
    train: new Imagenet32Loader(train, options),
    val: fs.existsSync(valFile) ? new Imagenet32Loader([valFile], { ...options, shuffle: false, flip: false }) : undefined,
  };
}
