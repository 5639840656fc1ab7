/**
 * Where the real datasets live: an explicit folder, else $GMPNN_DATA (the parent holding uci/ and
 * banana/), else ../shared/data beside the package root when it exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UCI_ALIASES } from './uci';

/** The package root (the folder holding package.json), from lib/data or src/data. */
export function packageRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

/** The parent data folder, or null when none is configured or found. */
export function dataRoot(): string | null {
  const env = process.env.GMPNN_DATA;
  if (env) return path.resolve(env);
  const shared = path.resolve(packageRoot(), '..', 'shared', 'data');
  return fs.existsSync(shared) ? shared : null;
}

/** The folder of a UCI dataset: `dataDir` when given, else <data root>/uci/<name>. */
export function uciDir(name: string, dataDir?: string): string {
  if (dataDir) return path.resolve(dataDir);
  const root = dataRoot();
  const folder = UCI_ALIASES[name] ?? name;
  if (!root) throw new Error(`no data folder: pass --data-dir DIR or set GMPNN_DATA to a folder holding uci/${folder}`);
  return path.join(root, 'uci', folder);
}

export function bananaCsv(file?: string): string {
  if (file) return path.resolve(file);
  const root = dataRoot();
  if (!root) throw new Error('no data folder: pass --data-file banana.csv or set GMPNN_DATA to a folder holding banana/banana.csv');
  return path.join(root, 'banana', 'banana.csv');
}
