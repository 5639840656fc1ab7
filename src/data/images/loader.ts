/**
 * Batch iteration for image classification: NHWC float tensors [B, H, W, C] holding
 * pixel/255 − channel mean (÷ std when given), and labels [B] as numbers of the same dtype
 * (what crossEntropy takes). Shuffling and the random horizontal flip are keyed by
 * (seed, epoch, batch), so a run resumed at any batch sees the same data as an uninterrupted one.
 */
import { GmpnnError } from '../../errors';
import { DType, Device, Tensor } from '../../tensor';
import { tensor } from '../../ops/creation';
import { ImageArray } from './dataset';
import { DataRng } from './rng';

/** The spec's ImageNet32 channel means (GMP_SPEC.md §6). */
export const IMAGENET32_MEAN = [0.4811, 0.4575, 0.4079];
/** The usual ImageNet (2012, full size) channel means and deviations. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];

export interface Batch {
  /** [B, H, W, C] */
  x: Tensor;
  /** [B] class indices as numbers */
  y: Tensor;
  size: number;
}

/** Anything the classifier trainer can draw batches from. */
export interface BatchSource {
  readonly batchSize: number;
  /** Number of examples. */
  readonly length: number;
  readonly classes: number;
  numBatches(): number;
  /** The batches of one epoch, from `startBatch` on. The consumer disposes each batch's tensors. */
  batches(epoch: number, startBatch?: number): Iterable<Batch> | AsyncIterable<Batch>;
  close?(): void | Promise<void>;
}

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Random horizontal flip with probability 1/2 (default false). */
  flip?: boolean;
  seed?: number;
  /** Channel means of pixel/255 to subtract (default none). */
  mean?: number[];
  /** Channel standard deviations to divide by after centering (default none). */
  std?: number[];
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  dtype?: DType;
  device?: Device;
}

export function checkLoaderOptions(o: LoaderOptions, channels: number, op: string): void {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new GmpnnError('E_ARG', `${op}: batchSize must be a positive integer, got ${o.batchSize}`);
  if (o.mean && o.mean.length !== channels) throw new GmpnnError('E_ARG', `${op}: mean has ${o.mean.length} entries for ${channels} channels`);
  if (o.std && o.std.length !== channels) throw new GmpnnError('E_ARG', `${op}: std has ${o.std.length} entries for ${channels} channels`);
}

/**
 * Writes one uint8 HWC image into `out` at `offset` as normalized floats, mirrored along W when
 * `flip`. `src` may be channel-planar (CHW, as ImageNet32 stores it) when `planar`.
 */
export function normalizeInto(
  out: Float32Array | Float64Array,
  offset: number,
  src: Uint8Array,
  h: number,
  w: number,
  c: number,
  flip: boolean,
  mean: number[] | undefined,
  std: number[] | undefined,
  planar = false,
): void {
  const m = new Float64Array(c);
  const s = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    m[k] = mean ? mean[k] : 0;
    s[k] = std ? 1 / std[k] : 1;
  }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const sx = flip ? w - 1 - x : x;
      const o = offset + (y * w + x) * c;
      for (let k = 0; k < c; k++) {
        const v = planar ? src[k * h * w + y * w + sx] : src[(y * w + sx) * c + k];
        out[o + k] = (v / 255 - m[k]) * s[k];
      }
    }
}

/** The row order of one epoch. */
export function epochOrder(n: number, shuffle: boolean, seed: number, epoch: number): Int32Array {
  if (!shuffle) return Int32Array.from({ length: n }, (_, i) => i);
  return new DataRng(seed, epoch, 0x04de4).permutation(n);
}

/** Batches of an in-memory image array (MNIST, Fashion-MNIST, small sets). */
export class ArrayLoader implements BatchSource {
  readonly batchSize: number;
  readonly length: number;
  readonly classes: number;
  private readonly o: Required<Pick<LoaderOptions, 'shuffle' | 'flip' | 'seed' | 'dropLast' | 'dtype' | 'device'>> & LoaderOptions;

  constructor(readonly data: ImageArray, options: LoaderOptions) {
    checkLoaderOptions(options, data.channels, 'ArrayLoader');
    this.o = { shuffle: true, flip: false, seed: 0, dropLast: false, dtype: 'float32', device: 'cpu', ...options };
    this.batchSize = options.batchSize;
    this.length = data.n;
    this.classes = data.classes;
  }

  numBatches(): number {
    return this.o.dropLast ? Math.floor(this.length / this.batchSize) : Math.ceil(this.length / this.batchSize);
  }

  /** Batch b of an epoch (deterministic). */
  batchAt(epoch: number, b: number, order = epochOrder(this.length, this.o.shuffle, this.o.seed, epoch)): Batch {
    const { height: h, width: w, channels: c } = this.data;
    const item = h * w * c;
    const start = b * this.batchSize;
    const end = Math.min(this.length, start + this.batchSize);
    const size = end - start;
    if (size <= 0) throw new GmpnnError('E_ARG', `ArrayLoader: batch ${b} is out of range (${this.numBatches()} batches)`);
    const xs = this.o.dtype === 'float64' ? new Float64Array(size * item) : new Float32Array(size * item);
    const ys = this.o.dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
    const rng = this.o.flip ? new DataRng(this.o.seed, epoch, b, 0xf11b) : null;
    for (let i = 0; i < size; i++) {
      const r = order[start + i];
      const flip = rng ? rng.uniform() < 0.5 : false;
      normalizeInto(xs, i * item, this.data.pixels.subarray(r * item, (r + 1) * item), h, w, c, flip, this.o.mean, this.o.std);
      ys[i] = this.data.labels[r];
    }
    return {
      x: tensor(xs, [size, h, w, c], { dtype: this.o.dtype, device: this.o.device }),
      y: tensor(ys, [size], { dtype: this.o.dtype, device: this.o.device }),
      size,
    };
  }

  *batches(epoch: number, startBatch = 0): Iterable<Batch> {
    const order = epochOrder(this.length, this.o.shuffle, this.o.seed, epoch);
    const nb = this.numBatches();
    for (let b = startBatch; b < nb; b++) yield this.batchAt(epoch, b, order);
  }
}
