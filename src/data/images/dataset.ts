/** In-memory image sets: uint8 pixels NHWC and integer labels. */
import { GmpnnError } from '../../errors';
import { DataRng } from './rng';

export interface ImageArray {
  n: number;
  height: number;
  width: number;
  channels: number;
  /** uint8 [n, height, width, channels] */
  pixels: Uint8Array;
  /** class indices [n] */
  labels: Int32Array;
  classes: number;
}

/** Per-channel means of pixels/255 (the fixed input centering of IMN, GMP_SPEC.md §5). */
export function channelMeans(a: ImageArray): number[] {
  const c = a.channels;
  const sums = new Float64Array(c);
  const px = a.pixels;
  for (let i = 0; i < px.length; i++) sums[i % c] += px[i];
  const per = px.length / c;
  return Array.from(sums, (s) => s / per / 255);
}

/** The rows `idx` of an image array (a copy). */
export function subset(a: ImageArray, idx: ArrayLike<number>): ImageArray {
  const item = a.height * a.width * a.channels;
  const pixels = new Uint8Array(idx.length * item);
  const labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < a.n)) throw new GmpnnError('E_ARG', `subset: row ${r} out of range [0, ${a.n})`);
    pixels.set(a.pixels.subarray(r * item, (r + 1) * item), i * item);
    labels[i] = a.labels[r];
  }
  return { ...a, n: idx.length, pixels, labels };
}

/** A seeded split into (train, validation) with `valCount` rows held out. */
export function splitValidation(a: ImageArray, valCount: number, seed = 0): { train: ImageArray; val: ImageArray } {
  if (!Number.isInteger(valCount) || valCount < 0 || valCount >= a.n) throw new GmpnnError('E_ARG', `splitValidation: valCount must be in [0, ${a.n}), got ${valCount}`);
  const p = new DataRng(seed, 0x5a11).permutation(a.n);
  return { train: subset(a, p.subarray(valCount)), val: subset(a, p.subarray(0, valCount)) };
}
