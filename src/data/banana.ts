/**
 * The 2-D banana set (GMP_SPEC.md §6): banana.csv with header At1,At2,Class, Class in {−1, +1}.
 * The paper subsamples 1,000 rows (seed 0), splits 800/200 and standardizes with the training
 * statistics. Labels become {0, 1} for BCE.
 */
import * as fs from 'node:fs';
import { Table, permutation, takeRows } from './table';

export function loadBananaCsv(file: string): Table {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  const header = lines[0].split(',').map((s) => s.trim());
  if (header.length !== 3 || header[2] !== 'Class') throw new Error(`banana: ${file}: expected the header At1,At2,Class, got ${lines[0]}`);
  const n = lines.length - 1;
  const x = new Float64Array(n * 2);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = lines[i + 1].split(',').map(Number);
    if (p.length !== 3 || !p.every(Number.isFinite) || (p[2] !== 1 && p[2] !== -1)) throw new Error(`banana: ${file}: bad row ${i + 1}: ${lines[i + 1]}`);
    x[2 * i] = p[0];
    x[2 * i + 1] = p[1];
    y[i] = p[2] > 0 ? 1 : 0;
  }
  return { x, y, n, d: 2, k: 1 };
}

/** Subsample (seeded) and split train/test; inputs are NOT standardized here. */
export function bananaSplit(all: Table, options: { rows?: number; train?: number; seed?: number } = {}): { train: Table; test: Table } {
  const rows = Math.min(options.rows ?? 1000, all.n);
  const nTrain = options.train ?? 800;
  if (nTrain >= rows) throw new RangeError(`bananaSplit: train (${nTrain}) must be below rows (${rows})`);
  const perm = permutation(all.n, options.seed ?? 0).slice(0, rows);
  return { train: takeRows(all, perm.slice(0, nTrain)), test: takeRows(all, perm.slice(nTrain)) };
}
