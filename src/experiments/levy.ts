/**
 * The 1-D Levy regression of GMP_SPEC.md §6 (paper Fig. 2): one hidden layer of 100 ReLU units,
 * dense(1), MAE, Adam, full batch, up to 10,000 epochs, LR 0.1 (GmP) vs 0.01; LR ×0.1 on a
 * 500-epoch plateau of the training loss, early stop after 1,000 (best weights restored), float64.
 * Per epoch it records each unit's spatial location φ_i (a scalar in 1-D) and the stability metric
 * max_i |φ_i(t+1) − φ_i(t)|; the stability runs put every method at LR 0.1.
 */
import { manualSeed } from '../random';
import { Adam } from '../optim/adam';
import { levyData } from '../data/levy';
import { fit, predict, metricOf } from '../train/fit';
import { Method, METHODS, buildMlp, defaultLr, unitGeometry, Progress } from './common';

export interface LevyOptions {
  methods?: readonly Method[];
  epochs?: number;
  /** Override every method's LR (default: the spec's 0.1 GmP / 0.01 others). */
  lr?: number;
  seed?: number;
  hidden?: number;
  plateauPatience?: number;
  earlyStopPatience?: number;
  /** Also run every method at LR 0.1 for the stability metric (GmP reuses its main run). */
  stability?: boolean;
  /** Keep φ for every `phiEvery`-th epoch (the strips); default: about 500 snapshots. */
  phiEvery?: number;
  progress?: Progress;
}

export interface LevyRun {
  method: Method;
  lr: number;
  epochs: number;
  bestEpoch: number;
  testRmse: number;
  trainLoss: number[];
  /** max_i |Δφ_i| for every epoch. */
  maxPhiChange: number[];
  /** φ snapshots: epochs[j] and phi[j] (100 values). */
  phiEpochs: number[];
  phi: number[][];
  /** Predictions on the test grid. */
  prediction: number[];
}

export interface LevyResult {
  seed: number;
  data: { trainX: number[]; trainY: number[]; testX: number[]; testY: number[] };
  runs: LevyRun[];
  /** The LR-0.1 runs used for the stability figure (GmP: the main run). */
  stability: LevyRun[];
}

function runOne(method: Method, lr: number, o: Required<Omit<LevyOptions, 'methods' | 'lr' | 'progress' | 'stability'>> & { progress?: Progress }, data: ReturnType<typeof levyData>, label: string): LevyRun {
  manualSeed(o.seed);
  const model = buildMlp(method, 1, o.hidden, 'float64');
  const opt = new Adam(model.parameters(), { lr });
  let prev = unitGeometry(model).phi;
  const maxPhiChange: number[] = [];
  const phiEpochs: number[] = [0];
  const phi: number[][] = [Array.from(prev)];
  o.progress?.start?.(label, o.epochs);
  const r = fit({
    model,
    optimizer: opt,
    train: data.train,
    loss: 'mae',
    epochs: o.epochs,
    batchSize: data.train.n,
    monitor: { on: 'train', metric: 'loss' },
    plateau: { patience: o.plateauPatience },
    earlyStopping: { patience: o.earlyStopPatience },
    seed: o.seed,
    onEpoch: ({ epoch, trainLoss }) => {
      const cur = unitGeometry(model).phi;
      let mx = 0;
      for (let i = 0; i < cur.length; i++) mx = Math.max(mx, Math.abs(cur[i] - prev[i]));
      maxPhiChange.push(mx);
      prev = cur;
      if ((epoch + 1) % o.phiEvery === 0) {
        phiEpochs.push(epoch + 1);
        phi.push(Array.from(cur));
      }
      if (epoch % 50 === 0) o.progress?.tick?.(epoch + 1, { loss: trainLoss.toFixed(4) });
    },
  });
  o.progress?.tick?.(o.epochs);
  o.progress?.stop?.();
  const p = predict(model, data.test.x, data.test.n, 1);
  const testRmse = metricOf(p, data.test.y, 'rmse', 'mae');
  opt.dispose();
  model.dispose();
  return { method, lr, epochs: r.epochs, bestEpoch: r.bestEpoch, testRmse, trainLoss: r.history.trainLoss, maxPhiChange, phiEpochs, phi, prediction: Array.from(p) };
}

export function runLevy(options: LevyOptions = {}): LevyResult {
  const o = {
    seed: options.seed ?? 0,
    epochs: options.epochs ?? 10000,
    hidden: options.hidden ?? 100,
    plateauPatience: options.plateauPatience ?? 500,
    earlyStopPatience: options.earlyStopPatience ?? 1000,
    phiEvery: options.phiEvery ?? Math.max(1, Math.round((options.epochs ?? 10000) / 500)),
    progress: options.progress,
  };
  const methods = options.methods ?? METHODS;
  const data = levyData({ seed: o.seed });
  const runs = methods.map((m) => runOne(m, options.lr ?? defaultLr(m), o, data, `levy ${m}`));
  const stability: LevyRun[] = [];
  if (options.stability ?? true) {
    for (const m of methods) {
      const main = runs.find((r) => r.method === m && r.lr === 0.1);
      stability.push(main ?? runOne(m, 0.1, o, data, `levy ${m} lr=0.1`));
    }
  }
  return {
    seed: o.seed,
    data: { trainX: Array.from(data.train.x), trainY: Array.from(data.train.y), testX: Array.from(data.test.x), testY: Array.from(data.test.y) },
    runs,
    stability,
  };
}
