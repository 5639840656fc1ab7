/**
 * Host-side tables: a row-major matrix of inputs and one of targets, as the experiments hold
 * them before upload. Splitting, standardization (training statistics only) and seeded
 * permutations live here; nothing touches a device.
 */
import { rand } from '../ops/creation';

export interface Table {
  /** Row-major inputs [n, d]. */
  x: Float64Array;
  /** Row-major targets [n, k]. */
  y: Float64Array;
  n: number;
  d: number;
  /** Target columns (1 for the paper's regressions and the banana labels). */
  k: number;
}

/** The rows `idx` of a table, in that order. */
export function takeRows(t: Table, idx: ArrayLike<number>): Table {
  const n = idx.length;
  const x = new Float64Array(n * t.d);
  const y = new Float64Array(n * t.k);
  for (let i = 0; i < n; i++) {
    const r = idx[i];
    if (!Number.isInteger(r) || r < 0 || r >= t.n) throw new RangeError(`takeRows: row ${r} outside [0, ${t.n})`);
    x.set(t.x.subarray(r * t.d, (r + 1) * t.d), i * t.d);
    y.set(t.y.subarray(r * t.k, (r + 1) * t.k), i * t.k);
  }
  return { x, y, n, d: t.d, k: t.k };
}

/**
 * A permutation of 0..n-1 from the library's seeded Philox stream: n uniform keys, argsorted.
 * With `seed` the draw uses that seed (stream offset 0); without, the global stream advances.
 */
export function permutation(n: number, seed?: number): Int32Array {
  // Fisher–Yates driven by n uniforms from the stream: O(n), no comparator sort.
  const keysT = rand([Math.max(n, 1)], { dtype: 'float64', seed });
  const u = keysT.dataSync();
  keysT.dispose();
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i] * (i + 1)));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

export interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

/** Per-column mean and (population) standard deviation of the rows of m [n, d]; a constant
 * column gets std 1 so it maps to 0 instead of NaN (naval has two such columns). */
export function fitStandardizer(m: Float64Array, n: number, d: number): Standardizer {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += m[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const c = m[i * d + j] - mean[j];
      std[j] += c * c;
    }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] / n);
    std[j] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

export function applyStandardizer(m: Float64Array, d: number, s: Standardizer): Float64Array {
  const out = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) {
    const j = i % d;
    out[i] = (m[i] - s.mean[j]) / s.std[j];
  }
  return out;
}

/** Standardizes the inputs of every table with the statistics of `train` alone. */
export function standardizeInputs<T extends Record<string, Table>>(train: Table, others: T): { train: Table; stats: Standardizer } & { [K in keyof T]: Table } {
  const stats = fitStandardizer(train.x, train.n, train.d);
  const out: Record<string, unknown> = { stats, train: { ...train, x: applyStandardizer(train.x, train.d, stats) } };
  for (const [k, t] of Object.entries(others)) out[k] = { ...t, x: applyStandardizer(t.x, t.d, stats) };
  return out as { train: Table; stats: Standardizer } & { [K in keyof T]: Table };
}

/**
 * Splits the rows of `train` into a fit part and a validation part holding `fraction` of them
 * (at least one row), using a seeded permutation.
 */
export function carveValidation(train: Table, fraction: number, seed: number): { fit: Table; val: Table; fitIdx: Int32Array; valIdx: Int32Array } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`carveValidation: fraction must be in (0, 1), got ${fraction}`);
  const perm = permutation(train.n, seed);
  const nVal = Math.max(1, Math.round(train.n * fraction));
  const valIdx = perm.slice(0, nVal);
  const fitIdx = perm.slice(nVal);
  return { fit: takeRows(train, fitIdx), val: takeRows(train, valIdx), fitIdx, valIdx };
}
