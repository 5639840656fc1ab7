/**
 * A small fit loop for the paper's MLP experiments (GMP_SPEC.md §6): minibatches shuffled from
 * the seeded generator, Adam (or any optimizer), ReduceLROnPlateau and EarlyStopping on a
 * monitored quantity, best-weight restore, and a per-epoch callback for the analyses.
 *
 * Data stay on the host (Float64Array tables); each minibatch is gathered on the host and
 * uploaded once, which for these sizes costs less than one GEMM. The loss is read back once per
 * epoch (summed on the device over the epoch's batches), not once per step.
 */
import { Tensor, DType, tidy, keep } from '../tensor';
import { tensor } from '../ops/creation';
import { mae, mse, bceWithLogits } from '../ops/loss';
import { add, mul } from '../ops/elementwise';
import { noGrad } from '../autograd';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { ReduceLROnPlateau, EarlyStopping, Mode } from '../optim/schedulers';
import { Table, permutation } from '../data/table';

export type LossName = 'mae' | 'mse' | 'bce';
export type Metric = 'loss' | 'rmse' | 'accuracy';

export interface Monitor {
  /** 'train' watches the training loss of the epoch (Levy); otherwise a held-out table. */
  on: 'train' | Table;
  metric: Metric;
}

export interface EpochInfo {
  epoch: number;
  trainLoss: number;
  monitored: number;
  lr: number;
  model: Module;
}

export interface FitOptions {
  model: Module;
  optimizer: Optimizer;
  train: Table;
  loss: LossName;
  epochs: number;
  /** Rows per step; ≥ train.n means full batch. */
  batchSize: number;
  dtype?: DType;
  monitor: Monitor;
  /** ReduceLROnPlateau patience (epochs) and factor; null disables. */
  plateau?: { patience: number; factor?: number } | null;
  /** EarlyStopping patience; null disables. */
  earlyStopping?: { patience: number } | null;
  /** Restore the best monitored weights at the end (default true when early stopping is on). */
  restoreBest?: boolean;
  /** Seed of the shuffling stream (per epoch: a permutation drawn with seed + epoch·prime). */
  seed?: number;
  /** Called after every epoch; return true to stop. */
  onEpoch?: (info: EpochInfo) => void | boolean;
}

export interface FitResult {
  epochs: number;
  bestEpoch: number;
  bestMonitored: number;
  stoppedEarly: boolean;
  history: { trainLoss: number[]; monitored: number[]; lr: number[] };
}

function lossFn(name: LossName): (p: Tensor, t: Tensor) => Tensor {
  return name === 'mae' ? mae : name === 'mse' ? mse : bceWithLogits;
}

export function modeOf(metric: Metric): Mode {
  return metric === 'accuracy' ? 'max' : 'min';
}

/** Model outputs on a table, in eval mode and without a graph, as host numbers [n·k]. */
export function predict(model: Module, x: Float64Array, n: number, d: number, dtype: DType = 'float64'): Float64Array {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() =>
      tidy(() => {
        const xt = tensor(x, [n, d], { dtype });
        return Float64Array.from(model.forward(xt).dataSync());
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

/** The metric of a model on a table: loss (the fit's loss), RMSE, or accuracy of logits > 0. */
export function evaluate(model: Module, t: Table, metric: Metric, loss: LossName = 'mae', dtype: DType = 'float64'): number {
  const p = predict(model, t.x, t.n, t.d, dtype);
  return metricOf(p, t.y, metric, loss);
}

export function metricOf(p: Float64Array, y: Float64Array, metric: Metric, loss: LossName): number {
  const n = y.length;
  let s = 0;
  if (metric === 'accuracy') {
    for (let i = 0; i < n; i++) s += (p[i] > 0 ? 1 : 0) === (y[i] > 0.5 ? 1 : 0) ? 1 : 0;
    return s / n;
  }
  if (metric === 'rmse') {
    for (let i = 0; i < n; i++) s += (p[i] - y[i]) ** 2;
    return Math.sqrt(s / n);
  }
  for (let i = 0; i < n; i++) {
    const z = p[i];
    if (loss === 'mae') s += Math.abs(z - y[i]);
    else if (loss === 'mse') s += (z - y[i]) ** 2;
    else s += Math.max(z, 0) - z * y[i] + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return s / n;
}

/** Gathers rows of a host table into upload-ready arrays. */
function gather(t: Table, idx: Int32Array, start: number, end: number, xb: Float64Array, yb: Float64Array): void {
  const { d, k } = t;
  for (let i = start; i < end; i++) {
    const r = idx[i];
    const o = i - start;
    for (let j = 0; j < d; j++) xb[o * d + j] = t.x[r * d + j];
    for (let j = 0; j < k; j++) yb[o * k + j] = t.y[r * k + j];
  }
}

export function fit(o: FitOptions): FitResult {
  const { model, optimizer, train } = o;
  const dtype = o.dtype ?? 'float64';
  const lf = lossFn(o.loss);
  const mode = modeOf(o.monitor.metric);
  const plateau = o.plateau ? new ReduceLROnPlateau(optimizer, { mode, patience: o.plateau.patience, factor: o.plateau.factor ?? 0.1 }) : null;
  const stopper = new EarlyStopping({ mode, patience: o.earlyStopping ? o.earlyStopping.patience : Number.MAX_SAFE_INTEGER });
  const restore = o.restoreBest ?? !!o.earlyStopping;
  const weights = [...model.parameters(), ...model.namedBuffers().map(([, b]) => b)];
  const bs = Math.min(o.batchSize, train.n);
  const nBatches = Math.ceil(train.n / bs);
  const seed = o.seed ?? 0;
  const history = { trainLoss: [] as number[], monitored: [] as number[], lr: [] as number[] };
  // Full batch: upload once.
  const full = nBatches === 1 ? { x: keep(tensor(train.x, [train.n, train.d], { dtype })), y: keep(tensor(train.y, [train.n, train.k], { dtype })) } : null;
  const xb = new Float64Array(bs * train.d);
  const yb = new Float64Array(bs * train.k);
  let epoch = 0;
  let stoppedEarly = false;
  model.train();
  try {
    for (epoch = 0; epoch < o.epochs; epoch++) {
      let lossSum: Tensor | null = null;
      const perm = full ? null : permutation(train.n, (seed * 1000003 + epoch * 7919 + 17) % 2 ** 52);
      for (let b = 0; b < nBatches; b++) {
        const start = b * bs;
        const end = Math.min(train.n, start + bs);
        const rows = end - start;
        const next: Tensor = tidy(() => {
          let xt: Tensor;
          let yt: Tensor;
          if (full) {
            xt = full.x;
            yt = full.y;
          } else {
            gather(train, perm!, start, end, xb, yb);
            xt = tensor(rows === bs ? xb : xb.subarray(0, rows * train.d), [rows, train.d], { dtype });
            yt = tensor(rows === bs ? yb : yb.subarray(0, rows * train.k), [rows, train.k], { dtype });
          }
          optimizer.zeroGrad();
          const l = lf(model.forward(xt), yt);
          l.backward();
          optimizer.step();
          return noGrad(() => {
            const w = mul(l, rows / train.n);
            return lossSum ? add(lossSum, w) : mul(w, 1);
          });
        });
        if (lossSum) (lossSum as Tensor).dispose();
        lossSum = keep(next);
      }
      optimizer.zeroGrad();
      const trainLoss = lossSum!.item();
      lossSum!.dispose();
      const monitored = o.monitor.on === 'train' ? trainLoss : evaluate(model, o.monitor.on, o.monitor.metric, o.loss, dtype);
      history.trainLoss.push(trainLoss);
      history.monitored.push(monitored);
      history.lr.push(optimizer.lr);
      const stop = stopper.step(Number.isFinite(monitored) ? monitored : mode === 'min' ? Infinity : -Infinity, epoch, restore ? weights : undefined);
      plateau?.step(monitored);
      const userStop = o.onEpoch?.({ epoch, trainLoss, monitored, lr: optimizer.lr, model }) === true;
      if ((o.earlyStopping && stop) || userStop) {
        stoppedEarly = true;
        epoch++;
        break;
      }
    }
    if (restore) stopper.restoreBest();
  } finally {
    stopper.dispose();
    full?.x.dispose();
    full?.y.dispose();
  }
  return { epochs: epoch, bestEpoch: stopper.bestEpoch, bestMonitored: stopper.best, stoppedEarly, history };
}
