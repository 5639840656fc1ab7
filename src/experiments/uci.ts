/**
 * UCI regression (GMP_SPEC.md §6, paper Table 1): one hidden layer of 100 ReLU units, dense(1);
 * inputs standardized with the training statistics, targets unscaled; MAE, Adam, batch 1024, up
 * to 5,000 epochs, LR 0.1 (GmP) vs 0.01; LR ×0.1 after 50 epochs and early stop after 100 without
 * a lower monitored MAE, best weights restored; float64. Reports test RMSE per split.
 *
 * Protocols:
 *   'standard' (default) — the standard splits of the folder (index_train_K / index_test_K); 10%
 *                of each training split is held out as validation and watched by the schedule
 *                and the early stop; the test split is only used for the final RMSE.
 *   'official' — the paper's script: a fresh random 80/20 split per seed (seed + K), watching the
 *                *test* split's loss for the schedule, the early stop and the restored weights.
 *                This peeks at the test set; it is here to compare with the paper's numbers.
 */
import { manualSeed } from '../random';
import { Adam } from '../optim/adam';
import { loadUci, uciSplit, randomSplit, splitTables, UciDataset } from '../data/uci';
import { standardizeInputs, carveValidation } from '../data/table';
import { fit, predict, metricOf } from '../train/fit';
import { Method, buildMlp, defaultLr, summarize, Summary, Progress } from './common';

export type UciProtocol = 'standard' | 'official';

export interface UciOptions {
  /** A folder in the UCI_Datasets layout. */
  dir: string;
  method: Method;
  /** Split indices (default: all of the folder's splits, or 20 for 'official'). */
  splits?: number[];
  protocol?: UciProtocol;
  epochs?: number;
  lr?: number;
  seed?: number;
  hidden?: number;
  batchSize?: number;
  valFraction?: number;
  plateauPatience?: number;
  earlyStopPatience?: number;
  progress?: Progress;
  /** Called after each split (e.g. to save partial results). */
  onSplit?: (r: UciSplitResult) => void;
}

export interface UciSplitResult {
  split: number;
  testRmse: number;
  epochs: number;
  bestEpoch: number;
  seconds: number;
}

export interface UciResult {
  dataset: string;
  method: Method;
  protocol: UciProtocol;
  lr: number;
  epochs: number;
  batchSize: number;
  seed: number;
  splits: UciSplitResult[];
  rmse: Summary;
}

export function runUciSplit(ds: UciDataset, k: number, o: UciOptions): UciSplitResult {
  const t0 = Date.now();
  const protocol = o.protocol ?? 'standard';
  const seed = (o.seed ?? 0) + k;
  const split = protocol === 'standard' ? uciSplit(ds, k) : randomSplit(ds.table.n, 0.2, seed);
  const { train, test } = splitTables(ds, split);
  const carved = protocol === 'standard' ? carveValidation(train, o.valFraction ?? 0.1, seed) : null;
  const std = standardizeInputs(carved ? carved.fit : train, { test, val: carved ? carved.val : test });
  manualSeed(seed);
  const model = buildMlp(o.method, ds.table.d, o.hidden ?? 100, 'float64');
  const opt = new Adam(model.parameters(), { lr: o.lr ?? defaultLr(o.method) });
  const epochs = o.epochs ?? 5000;
  const r = fit({
    model,
    optimizer: opt,
    train: std.train,
    loss: 'mae',
    epochs,
    batchSize: o.batchSize ?? 1024,
    monitor: { on: std.val, metric: 'loss' },
    plateau: { patience: o.plateauPatience ?? 50 },
    earlyStopping: { patience: o.earlyStopPatience ?? 100 },
    seed,
    onEpoch: ({ epoch, monitored }) => {
      if (epoch % 20 === 0) o.progress?.tick?.(epoch + 1, { split: k, val: monitored.toPrecision(4) });
    },
  });
  const p = predict(model, std.test.x, std.test.n, std.test.d);
  const testRmse = metricOf(p, std.test.y, 'rmse', 'mae');
  opt.dispose();
  model.dispose();
  return { split: k, testRmse, epochs: r.epochs, bestEpoch: r.bestEpoch, seconds: (Date.now() - t0) / 1000 };
}

export function runUci(o: UciOptions): UciResult {
  const ds = loadUci(o.dir);
  const protocol = o.protocol ?? 'standard';
  const splits = o.splits ?? Array.from({ length: protocol === 'standard' ? ds.nSplits : 20 }, (_, i) => i);
  const results: UciSplitResult[] = [];
  for (const k of splits) {
    o.progress?.start?.(`${ds.name} ${o.method} split ${k}`, o.epochs ?? 5000);
    const r = runUciSplit(ds, k, o);
    o.progress?.stop?.();
    results.push(r);
    o.onSplit?.(r);
  }
  return {
    dataset: ds.name,
    method: o.method,
    protocol,
    lr: o.lr ?? defaultLr(o.method),
    epochs: o.epochs ?? 5000,
    batchSize: o.batchSize ?? 1024,
    seed: o.seed ?? 0,
    splits: results,
    rmse: summarize(results.map((r) => r.testRmse)),
  };
}
