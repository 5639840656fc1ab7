/**
 * Table 1: the seven UCI datasets × the four methods (SP, WN, BN, GmP), test RMSE mean ± standard
 * error over splits. Work is ordered split-major (every method on split 0, then split 1, ...) and
 * each finished split is cached under `<out>/runs/<dataset>__<method>.json`, so an interrupted run
 * resumes where it stopped and a partial table still compares the methods on the same splits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadUci } from '../data/uci';
import { uciDir } from '../data/paths';
import { Method, METHODS, METHOD_LABEL, summarize, Summary, Progress, defaultLr } from './common';
import { runUciSplit, UciProtocol, UciSplitResult } from './uci';

export const TABLE1_DATASETS = ['boston', 'concrete', 'energy', 'naval', 'power', 'wine', 'yacht'] as const;

export interface Table1Options {
  datasets?: readonly string[];
  methods?: readonly Method[];
  /** Folder holding one sub-folder per dataset (uci/); default: the data root's uci/. */
  uciRoot?: string;
  splits?: number[];
  protocol?: UciProtocol;
  epochs?: number;
  seed?: number;
  /** Cache folder (resume); none: no cache. */
  out?: string;
  progress?: Progress;
  log?: (line: string) => void;
  /** Only read the cache, run nothing. */
  cacheOnly?: boolean;
}

export interface Table1Cell {
  dataset: string;
  method: Method;
  rmse: Summary;
  splits: UciSplitResult[];
}

export interface Table1Result {
  protocol: UciProtocol;
  epochs: number;
  seed: number;
  cells: Table1Cell[];
  markdown: string;
}

function cachePath(out: string, dataset: string, method: Method, protocol: UciProtocol): string {
  return path.join(out, 'runs', `${dataset}__${method}${protocol === 'official' ? '__official' : ''}.json`);
}

function readCache(file: string): UciSplitResult[] {
  if (!fs.existsSync(file)) return [];
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')).splits ?? []) as UciSplitResult[];
  } catch {
    return [];
  }
}

function writeCache(file: string, dataset: string, method: Method, splits: UciSplitResult[], meta: object): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify({ dataset, method, ...meta, splits }, null, 1));
  fs.renameSync(tmp, file);
}

function fmtCell(s: Summary, digits: number): string {
  return `${s.mean.toFixed(digits)} ± ${s.stderr.toFixed(digits)}`;
}

/** Digits so that the standard errors keep two significant figures (naval's RMSE is ~1e-3). */
function digitsFor(cells: Table1Cell[]): number {
  const m = Math.min(...cells.filter((c) => c.rmse.n > 0).map((c) => Math.abs(c.rmse.mean)), Infinity);
  if (!Number.isFinite(m) || m === 0) return 3;
  return Math.max(2, Math.min(6, 2 - Math.floor(Math.log10(m))));
}

export function table1Markdown(cells: Table1Cell[], datasets: readonly string[], methods: readonly Method[]): string {
  const head = `| dataset | ${methods.map((m) => METHOD_LABEL[m]).join(' | ')} | splits |`;
  const sep = `| --- | ${methods.map(() => '---').join(' | ')} | --- |`;
  const lines = [head, sep];
  for (const d of datasets) {
    const row = methods.map((m) => cells.find((c) => c.dataset === d && c.method === m));
    const done = row.filter((c): c is Table1Cell => !!c && c.rmse.n > 0);
    const digits = digitsFor(done);
    const best = done.length ? Math.min(...done.map((c) => c.rmse.mean)) : NaN;
    const txt = row.map((c) => {
      if (!c || c.rmse.n === 0) return '—';
      const s = fmtCell(c.rmse, digits);
      return c.rmse.mean === best ? `**${s}**` : s;
    });
    const ns = [...new Set(done.map((c) => c.rmse.n))].join('/');
    lines.push(`| ${d} | ${txt.join(' | ')} | ${ns || 0} |`);
  }
  return lines.join('\n');
}

export function runTable1(o: Table1Options = {}): Table1Result {
  const datasets = o.datasets ?? TABLE1_DATASETS;
  const methods = o.methods ?? METHODS;
  const protocol = o.protocol ?? 'standard';
  const epochs = o.epochs ?? 5000;
  const seed = o.seed ?? 0;
  const cells = new Map<string, { dataset: string; method: Method; splits: UciSplitResult[] }>();
  for (const d of datasets) {
    const dir = o.uciRoot ? path.join(o.uciRoot, d) : uciDir(d);
    const ds = loadUci(fs.existsSync(dir) ? dir : uciDir(d));
    const splits = o.splits ?? Array.from({ length: protocol === 'standard' ? ds.nSplits : 20 }, (_, i) => i);
    for (const m of methods) {
      const file = o.out ? cachePath(o.out, d, m, protocol) : '';
      cells.set(`${d}/${m}`, { dataset: d, method: m, splits: o.out ? readCache(file).filter((s) => splits.includes(s.split)) : [] });
    }
    if (o.cacheOnly) continue;
    for (const k of splits) {
      for (const m of methods) {
        const cell = cells.get(`${d}/${m}`)!;
        if (cell.splits.some((s) => s.split === k)) continue;
        o.progress?.start?.(`${d} ${m} split ${k}`, epochs);
        const r = runUciSplit(ds, k, { dir: ds.dir, method: m, protocol, epochs, seed, progress: o.progress });
        o.progress?.stop?.();
        cell.splits.push(r);
        cell.splits.sort((a, b) => a.split - b.split);
        o.log?.(`${d} ${m} split ${k}: rmse ${r.testRmse.toPrecision(4)} epochs ${r.epochs} (${r.seconds.toFixed(1)} s)`);
        if (o.out) writeCache(cachePath(o.out, d, m, protocol), d, m, cell.splits, { protocol, epochs, seed, lr: defaultLr(m), batchSize: 1024 });
      }
    }
  }
  // Compare the methods on the same splits: a dataset's cells use the splits every method has
  // finished (a partial, resumed table stays paired).
  const out: Table1Cell[] = [];
  for (const d of datasets) {
    const row = methods.map((m) => cells.get(`${d}/${m}`)!);
    const common = row.reduce<Set<number> | null>((acc, c) => {
      const ks = new Set(c.splits.map((s) => s.split));
      return acc ? new Set([...acc].filter((k) => ks.has(k))) : ks;
    }, null) ?? new Set<number>();
    for (const c of row) {
      const splits = c.splits.filter((s) => common.has(s.split));
      out.push({ dataset: d, method: c.method, splits, rmse: summarize(splits.map((s) => s.testRmse)) });
    }
  }
  return { protocol, epochs, seed, cells: out, markdown: table1Markdown(out, datasets, methods) };
}
