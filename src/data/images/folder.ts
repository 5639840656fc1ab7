/**
 * Image folders in the ImageNet 2012 layout (one sub-folder per class, JPEG/PNG files), decoded
 * and augmented by `sharp` (libvips, prebuilt binaries inside its npm packages) in a pool of
 * worker threads, several batches ahead, so the trainer never waits on a single core.
 *
 * Training augmentation (GMP_SPEC.md §6): shorter side to L ~ U[256, 480), random 224 crop,
 * horizontal flip, PCA lighting noise (AlexNet's eigen-decomposition of ImageNet RGB, α ~ N(0, 0.1)).
 * Evaluation: shorter side to 256 (or `evalShort`, e.g. the spec's 368), center crop.
 * Every random choice is drawn on the main thread from (seed, epoch, batch, item), so results do
 * not depend on which worker finishes first, and a resumed run sees the same pixels.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GmpnnError } from '../../errors';
import { DType, Device } from '../../tensor';
import { tensor } from '../../ops/creation';
import { Batch, BatchSource, LoaderOptions, checkLoaderOptions } from './loader';
import { DataRng } from './rng';

export const PCA_EIGVAL = [0.2175, 0.0188, 0.0045];
export const PCA_EIGVEC = [
  [-0.5675, 0.7192, 0.4009],
  [-0.5808, -0.0045, -0.814],
  [-0.5836, -0.6948, 0.4203],
];
const EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.JPEG', '.JPG', '.PNG']);

export interface FolderOptions extends LoaderOptions {
  /** Crop size (default 224). */
  size?: number;
  /** Shorter-side range [lo, hi) for training (default [256, 480) for a 224 crop, scaled with `size`). */
  scaleRange?: [number, number];
  /** Shorter side before the evaluation center crop (default 256 for a 224 crop, scaled with `size`). */
  evalShort?: number;
  /** PCA lighting standard deviation (default 0.1; 0 disables). */
  lighting?: number;
  /** Training augmentation on (default true for the train split). */
  augment?: boolean;
  /** Decoding worker threads (default: available cores − 1, at least 1). */
  workers?: number;
  /** Batches decoded ahead (default 2). */
  prefetch?: number;
}

interface Job {
  id: number;
  file: string;
  train: boolean;
  short: number;
  fx: number;
  fy: number;
  flip: boolean;
  shift: number[];
  size: number;
  mean: number[];
  std: number[];
}

// The worker body, plain JS (it runs from source text, so it works under ts-node/tsx and from lib/).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sharp = require(workerData.sharpPath);
sharp.concurrency(1);
sharp.cache(false);
parentPort.on('message', async (job) => {
  try {
    const img = sharp(job.file, { failOn: 'error' });
    const meta = await img.metadata();
    const w0 = meta.width, h0 = meta.height;
    if (!w0 || !h0) throw new Error('no image size');
    const scale = job.short / Math.min(w0, h0);
    const w = Math.max(job.size, Math.round(w0 * scale));
    const h = Math.max(job.size, Math.round(h0 * scale));
    const left = job.train ? Math.min(w - job.size, Math.floor(job.fx * (w - job.size + 1))) : Math.floor((w - job.size) / 2);
    const top = job.train ? Math.min(h - job.size, Math.floor(job.fy * (h - job.size + 1))) : Math.floor((h - job.size) / 2);
    let p = img.resize(w, h, { fit: 'fill' }).extract({ left, top, width: job.size, height: job.size });
    if (job.flip) p = p.flop();
    const { data, info } = await p.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const c = info.channels;
    const n = job.size * job.size;
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < 3; k++) {
        const v = data[i * c + (c >= 3 ? k : 0)] / 255 + job.shift[k];
        out[i * 3 + k] = (v - job.mean[k]) / job.std[k];
      }
    parentPort.postMessage({ id: job.id, data: out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: job.file + ': ' + (e && e.message ? e.message : String(e)) });
  }
});
`;

/** A pool of decoding workers; run() resolves with one image's normalized HWC floats. */
export class DecodePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private rr = 0;

  constructor(n: number) {
    /* eslint-disable-next-line @typescript-eslint/no-require-imports */
    const sharpPath = require.resolve('sharp');
    for (let i = 0; i < n; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { sharpPath } });
      w.on('message', (m: { id: number; data?: Float32Array; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (this.pending.size === 0) for (const x of this.workers) x.unref(); // idle: do not hold the process open
        if (m.error) p.reject(new GmpnnError('E_IO', `image decode failed: ${m.error}`));
        else p.resolve(m.data!);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      w.unref();
      this.workers.push(w);
    }
  }

  run(job: Omit<Job, 'id'>): Promise<Float32Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Busy workers keep the event loop alive (an unref'd worker's reply would never be awaited).
      if (this.pending.size === 0) for (const x of this.workers) x.ref();
      this.pending.set(id, { resolve, reject });
      this.workers[this.rr++ % this.workers.length].postMessage({ ...job, id });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/** Lists class sub-folders (sorted) and their image files. */
export function scanImageFolder(dir: string, classNames?: string[]): { files: string[]; labels: Int32Array; classNames: string[] } {
  let names: string[];
  try {
    names = classNames ?? fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (e) {
    throw new GmpnnError('E_IO', `${dir}: cannot list: ${(e as Error).message}`);
  }
  if (names.length === 0) throw new GmpnnError('E_IO', `${dir}: no class sub-folders (expected one folder of images per class)`);
  const files: string[] = [];
  const labels: number[] = [];
  names.forEach((c, k) => {
    const cdir = path.join(dir, c);
    if (!fs.existsSync(cdir)) return;
    for (const f of fs.readdirSync(cdir).sort())
      if (EXTENSIONS.has(path.extname(f))) {
        files.push(path.join(cdir, f));
        labels.push(k);
      }
  });
  if (files.length === 0) throw new GmpnnError('E_IO', `${dir}: no .jpg/.jpeg/.png images in the class folders`);
  return { files, labels: Int32Array.from(labels), classNames: names };
}

export class FolderLoader implements BatchSource {
  readonly batchSize: number;
  readonly length: number;
  readonly classes: number;
  readonly classNames: string[];
  private readonly files: string[];
  private readonly labels: Int32Array;
  private pool: DecodePool | null = null;
  private readonly o: FolderOptions & { shuffle: boolean; flip: boolean; seed: number; dtype: DType; device: Device };

  constructor(dir: string, options: FolderOptions, classNames?: string[]) {
    checkLoaderOptions(options, 3, 'FolderLoader');
    this.o = { shuffle: true, flip: true, seed: 0, dtype: 'float32', device: 'cpu', ...options };
    const s = scanImageFolder(dir, classNames);
    this.files = s.files;
    this.labels = s.labels;
    this.classNames = s.classNames;
    this.classes = s.classNames.length;
    this.batchSize = options.batchSize;
    this.length = s.files.length;
  }

  numBatches(): number {
    return this.o.dropLast ? Math.floor(this.length / this.batchSize) : Math.ceil(this.length / this.batchSize);
  }

  private getPool(): DecodePool {
    if (!this.pool) this.pool = new DecodePool(this.o.workers ?? Math.max(1, (os.availableParallelism?.() ?? os.cpus().length) - 1));
    return this.pool;
  }

  private decodeBatch(epoch: number, b: number, order: Int32Array): Promise<Batch> {
    const size = this.o.size ?? 224;
    const augment = this.o.augment ?? true;
    // Defaults scale with the crop: [256, 480) and 256 at 224 (the spec), proportionally otherwise.
    const [lo, hi] = this.o.scaleRange ?? [Math.round((size * 256) / 224), Math.round((size * 480) / 224)];
    const sigma = this.o.lighting ?? 0.1;
    const mean = this.o.mean ?? [0, 0, 0];
    const std = this.o.std ?? [1, 1, 1];
    const start = b * this.batchSize;
    const n = Math.min(this.length, start + this.batchSize) - start;
    const rng = new DataRng(this.o.seed, epoch, b, 0xa06);
    const pool = this.getPool();
    const jobs: Promise<Float32Array>[] = [];
    const ys = this.o.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const r = order[start + i];
      ys[i] = this.labels[r];
      let job: Omit<Job, 'id'>;
      if (augment) {
        const short = Math.floor(lo + rng.uniform() * (hi - lo));
        const fx = rng.uniform();
        const fy = rng.uniform();
        const flip = this.o.flip && rng.uniform() < 0.5;
        const alpha = [rng.normal() * sigma, rng.normal() * sigma, rng.normal() * sigma];
        const shift = PCA_EIGVEC.map((row) => row.reduce((acc, v, j) => acc + v * alpha[j] * PCA_EIGVAL[j], 0));
        job = { file: this.files[r], train: true, short, fx, fy, flip, shift, size, mean, std };
      } else {
        job = { file: this.files[r], train: false, short: this.o.evalShort ?? Math.round((size * 256) / 224), fx: 0.5, fy: 0.5, flip: false, shift: [0, 0, 0], size, mean, std };
      }
      jobs.push(pool.run(job));
    }
    return Promise.all(jobs).then((imgs) => {
      const item = size * size * 3;
      const xs = this.o.dtype === 'float64' ? new Float64Array(n * item) : new Float32Array(n * item);
      imgs.forEach((img, i) => xs.set(img, i * item));
      return {
        x: tensor(xs, [n, size, size, 3], { dtype: this.o.dtype, device: this.o.device }),
        y: tensor(ys, [n], { dtype: this.o.dtype, device: this.o.device }),
        size: n,
      };
    });
  }

  async *batches(epoch: number, startBatch = 0): AsyncIterable<Batch> {
    const order = this.o.shuffle ? new DataRng(this.o.seed, epoch, 0x04de4).permutation(this.length) : Int32Array.from({ length: this.length }, (_, i) => i);
    const nb = this.numBatches();
    const ahead = Math.max(1, this.o.prefetch ?? 2);
    const queue: Promise<Batch>[] = [];
    let next = startBatch;
    try {
      while (queue.length < ahead && next < nb) queue.push(this.decodeBatch(epoch, next++, order));
      while (queue.length) {
        const batch = await queue.shift()!;
        if (next < nb) queue.push(this.decodeBatch(epoch, next++, order));
        yield batch;
      }
    } finally {
      // An abandoned iteration: free what was decoded ahead.
      for (const q of queue) q.then((bt) => (bt.x.dispose(), bt.y.dispose())).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}

/**
 * Train and validation loaders of an ImageNet-style folder: DIR/train/<class>/... and
 * DIR/val/<class>/... (validation with the training classes' names); or DIR/<class>/... alone.
 */
export async function openImageFolders(dir: string, options: FolderOptions): Promise<{ train: FolderLoader; val?: FolderLoader }> {
  const trainDir = fs.existsSync(path.join(dir, 'train')) ? path.join(dir, 'train') : dir;
  const train = new FolderLoader(trainDir, { ...options, augment: options.augment ?? true });
  const valDir = path.join(dir, 'val');
  const val = trainDir !== dir && fs.existsSync(valDir) ? new FolderLoader(valDir, { ...options, shuffle: false, augment: false, flip: false }, train.classNames) : undefined;
  return { train, val };
}
