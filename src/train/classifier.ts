/**
 * Classification trainer (GMP_SPEC.md §6): SGD with momentum or Adam; the spec's plateau schedule
 * (LR ×0.1 after `patience` epochs without a gain in validation top-5) and early stopping on the
 * same quantity (best weights restored: best top-5, ties to the better top-1), or cosine/step
 * schedules; top-1/top-5; a progress bar; a
 * JSON-lines log; curves as SVG/PNG; an atomic checkpoint after every epoch (and every
 * `checkpointEverySteps` steps) from which `resume` continues with the same loss trajectory as an
 * uninterrupted run: the checkpoint holds the weights, buffers, optimizer state, schedule and
 * early-stopping state, the global RNG state and the data position (epoch, batch), and the data
 * order and augmentation are functions of (seed, epoch, batch) (data/images/rng.ts).
 *
 * Files in `outDir`: checkpoint.safetensors, best.safetensors, log.jsonl, curves.svg/png,
 * result.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GmpnnError } from '../errors';
import { Tensor, tidy } from '../tensor';
import '../ops'; // installs the autograd kernels and Tensor methods
import { crossEntropy } from '../ops/loss';
import { backward } from '../autograd';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { SGD } from '../optim/sgd';
import { Adam } from '../optim/adam';
import { CosineAnnealingLR, ReduceLROnPlateau, StepLR } from '../optim/schedulers';
import { BatchSource } from '../data/images/loader';
import { loadInto, save } from '../io/checkpoint';
import { evaluateClassifier, EvalResult } from './classifier_metrics';
import { writeCurves, CurvePoint } from './classifier_plot';

export type ScheduleKind = 'plateau' | 'cosine' | 'step' | 'none';

export interface ClassifierOptions {
  model: Module;
  /** JSON-able description of the model (stored in checkpoints; the CLI rebuilds from it). */
  modelConfig?: Record<string, unknown>;
  train: BatchSource;
  /** Watched by the plateau schedule and early stopping (top-5). */
  val?: BatchSource;
  /** Evaluated once at the end (best weights when early stopping restored them). */
  test?: BatchSource;
  optimizer?: 'sgd' | 'adam';
  lr: number;
  /** SGD momentum (default 0.9, the spec's). */
  momentum?: number;
  weightDecay?: number;
  epochs: number;
  schedule?: ScheduleKind;
  /** Plateau patience in epochs (default 5) and factor (0.1). */
  plateauPatience?: number;
  plateauFactor?: number;
  /** StepLR: epochs per step and factor. */
  stepSize?: number;
  stepGamma?: number;
  /** Early-stopping patience on validation top-5 (default 10; 0 disables). */
  earlyStopping?: number;
  /** Restore the best validation weights at the end (default true when `val` is given). */
  restoreBest?: boolean;
  outDir?: string;
  /** Continue from outDir/checkpoint.safetensors when it exists. */
  resume?: boolean;
  /** Also checkpoint every this many steps (default 0: epoch ends only). */
  checkpointEverySteps?: number;
  /** Stop after this many steps in total (counting steps done before a resume). */
  maxSteps?: number;
  quiet?: boolean;
  /** Called after every step with the step's loss. */
  onStep?: (info: { epoch: number; batch: number; step: number; loss: number; lr: number }) => void;
  /** Called after every epoch. */
  onEpoch?: (rec: EpochRecord) => void;
  /** Write curves.svg/png (default true with outDir). */
  curves?: boolean;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  lr: number;
  val?: EvalResult;
  seconds: number;
}

export interface ClassifierResult {
  epochs: EpochRecord[];
  /** Loss of every step run in this call (after a resume: only the new steps). */
  stepLosses: number[];
  steps: number;
  stoppedEarly: boolean;
  bestEpoch: number;
  bestValTop5: number;
  test?: EvalResult;
}

interface TrainerState {
  epoch: number;
  batch: number;
  step: number;
  epochLossSum: number;
  epochCount: number;
  epochStart: number;
  history: EpochRecord[];
  plateau: { best: number; wait: number } | null;
  /** bestTop1: the best epoch's validation top-1 (ties on top-5 go to the better top-1); absent in older checkpoints. */
  early: { best: number; bestEpoch: number; wait: number; bestTop1?: number };
  stoppedEarly: boolean;
  done: boolean;
}

const CKPT = 'checkpoint.safetensors';
const BEST = 'best.safetensors';

function makeOptimizer(o: ClassifierOptions): Optimizer {
  const params = o.model.parameters();
  if ((o.optimizer ?? 'sgd') === 'sgd') return new SGD(params, { lr: o.lr, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 0 });
  if (o.optimizer === 'adam') return new Adam(params, { lr: o.lr, weightDecay: o.weightDecay ?? 0 });
  throw new GmpnnError('E_ARG', `trainClassifier: optimizer must be 'sgd' or 'adam', got ${String(o.optimizer)}`);
}

class Progress {
  private bar: { start: (t: number, v: number, p?: object) => void; update: (v: number, p?: object) => void; stop: () => void } | null = null;
  constructor(private readonly enabled: boolean) {}
  start(total: number, at: number, label: string): void {
    if (!this.enabled) return;
    /* eslint-disable-next-line @typescript-eslint/no-require-imports */
    const cp = require('cli-progress') as typeof import('cli-progress');
    this.bar = new cp.SingleBar(
      { format: `${label} [{bar}] {value}/{total} | loss {loss} | lr {lr} | {eta_formatted}`, stream: process.stderr, hideCursor: true },
      cp.Presets.shades_classic,
    );
    this.bar.start(total, at, { loss: '-', lr: '-' });
  }
  update(v: number, loss: number, lr: number): void {
    this.bar?.update(v, { loss: loss.toFixed(4), lr: lr.toPrecision(3) });
  }
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** Trains a classifier; see the file header. */
export async function trainClassifier(o: ClassifierOptions): Promise<ClassifierResult> {
  const { model, train } = o;
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new GmpnnError('E_ARG', `trainClassifier: epochs must be a positive integer, got ${o.epochs}`);
  const optimizer = makeOptimizer(o);
  const schedule = o.schedule ?? (o.val ? 'plateau' : 'none');
  if (schedule === 'plateau' && !o.val) throw new GmpnnError('E_ARG', "trainClassifier: the 'plateau' schedule watches validation top-5; pass `val`");
  const plateau = schedule === 'plateau' ? new ReduceLROnPlateau(optimizer, { mode: 'max', patience: o.plateauPatience ?? 5, factor: o.plateauFactor ?? 0.1 }) : null;
  const cosine = schedule === 'cosine' ? new CosineAnnealingLR(optimizer, o.epochs) : null;
  const stepLr = schedule === 'step' ? new StepLR(optimizer, o.stepSize ?? 30, o.stepGamma ?? 0.1) : null;
  const esPatience = o.val ? (o.earlyStopping ?? 10) : 0;
  const restoreBest = o.restoreBest ?? !!o.val;
  const outDir = o.outDir ? path.resolve(o.outDir) : null;
  if (outDir) fs.mkdirSync(outDir, { recursive: true });
  const ckptFile = outDir ? path.join(outDir, CKPT) : null;
  const bestFile = outDir ? path.join(outDir, BEST) : null;
  const logFile = outDir ? path.join(outDir, 'log.jsonl') : null;
  const nb = train.numBatches();

  let st: TrainerState = {
    epoch: 0,
    batch: 0,
    step: 0,
    epochLossSum: 0,
    epochCount: 0,
    epochStart: Date.now(),
    history: [],
    plateau: null,
    early: { best: -Infinity, bestEpoch: -1, wait: 0 },
    stoppedEarly: false,
    done: false,
  };
  if (o.resume) {
    if (!ckptFile) throw new GmpnnError('E_ARG', 'trainClassifier: resume needs outDir');
    if (fs.existsSync(ckptFile)) {
      const meta = loadInto(ckptFile, { model, optimizer, restoreRng: true });
      st = { ...(meta.trainer as TrainerState), epochStart: Date.now() };
      // A finished run resumed with more epochs continues (not one that stopped early).
      if (st.done && !st.stoppedEarly && st.epoch < o.epochs) st.done = false;
      if (plateau && st.plateau) plateau.loadStateDict(st.plateau);
      log(logFile, { event: 'resume', epoch: st.epoch, batch: st.batch, step: st.step });
    }
  } else if (logFile) {
    fs.writeFileSync(logFile, '');
  }

  const snapshot = (): TrainerState => ({ ...st, plateau: plateau ? plateau.stateDict() : null });
  const checkpoint = (): void => {
    if (ckptFile) save(ckptFile, model, { config: o.modelConfig ?? {}, optimizer, trainer: snapshot() });
  };

  const progress = new Progress(!o.quiet && !!process.stderr.isTTY);
  const stepLosses: number[] = [];
  model.train();
  try {
    outer: while (!st.done && st.epoch < o.epochs) {
      cosine?.step(st.epoch);
      stepLr?.step(st.epoch);
      progress.start(nb, st.batch, `epoch ${st.epoch + 1}/${o.epochs}`);
      for await (const batch of train.batches(st.epoch, st.batch)) {
        let loss: number;
        try {
          loss = tidy(() => {
            optimizer.zeroGrad();
            const l = crossEntropy(model.forward(batch.x), batch.y);
            backward(l);
            optimizer.step();
            return l.item();
          });
        } finally {
          batch.x.dispose();
          batch.y.dispose();
        }
        optimizer.zeroGrad();
        if (!Number.isFinite(loss)) throw new GmpnnError('E_ARG', `trainClassifier: loss became ${loss} at epoch ${st.epoch}, batch ${st.batch} (lower the learning rate)`);
        stepLosses.push(loss);
        st.epochLossSum += loss * batch.size;
        st.epochCount += batch.size;
        st.batch++;
        st.step++;
        progress.update(st.batch, loss, optimizer.lr);
        if (!o.quiet && !process.stderr.isTTY && (st.batch % 50 === 0 || st.batch === nb))
          process.stderr.write(`epoch ${st.epoch + 1} batch ${st.batch}/${nb} loss ${loss.toFixed(4)} lr ${optimizer.lr.toPrecision(3)} (${((Date.now() - st.epochStart) / 1000).toFixed(0)} s)\n`);
        o.onStep?.({ epoch: st.epoch, batch: st.batch - 1, step: st.step, loss, lr: optimizer.lr });
        const atEpochEnd = st.batch >= nb;
        if (!atEpochEnd && o.checkpointEverySteps && st.step % o.checkpointEverySteps === 0) checkpoint();
        if (o.maxSteps !== undefined && st.step >= o.maxSteps && !atEpochEnd) {
          checkpoint();
          break outer;
        }
      }
      progress.stop();
      // ----- end of epoch: evaluate, schedule, early stop, log, checkpoint
      const rec: EpochRecord = { epoch: st.epoch, trainLoss: st.epochLossSum / Math.max(st.epochCount, 1), lr: optimizer.lr, seconds: (Date.now() - st.epochStart) / 1000 };
      if (o.val) {
        rec.val = await evaluateClassifier(model, o.val);
        const v = rec.val.top5;
        // The best weights are those of the best top-5, ties broken by top-1 (top-5 saturates on
        // few classes: with 10 it is 99.9 % after an epoch or two). Only a top-5 gain resets the
        // early-stopping wait, as the spec's protocol has it.
        const tieBetter = v === st.early.best && rec.val.top1 > (st.early.bestTop1 ?? -Infinity);
        if (v > st.early.best || tieBetter) {
          st.early = { best: v, bestEpoch: st.epoch, wait: v > st.early.best ? 0 : st.early.wait + 1, bestTop1: rec.val.top1 };
          if (bestFile && restoreBest) save(bestFile, model, { config: o.modelConfig ?? {}, epoch: st.epoch, val: rec.val });
        } else {
          st.early.wait++;
        }
        if (esPatience > 0 && st.early.wait >= esPatience) st.stoppedEarly = true;
        plateau?.step(v);
      }
      st.history.push(rec);
      log(logFile, { event: 'epoch', ...rec });
      o.onEpoch?.(rec);
      if (!o.quiet && !process.stderr.isTTY)
        process.stderr.write(`epoch ${st.epoch + 1}/${o.epochs} loss ${rec.trainLoss.toFixed(4)}${rec.val ? ` val top1 ${rec.val.top1.toFixed(4)} top5 ${rec.val.top5.toFixed(4)}` : ''} lr ${rec.lr} (${rec.seconds.toFixed(1)} s)\n`);
      st.epoch++;
      st.batch = 0;
      st.epochLossSum = 0;
      st.epochCount = 0;
      if (st.stoppedEarly || st.epoch >= o.epochs) st.done = true;
      if (outDir && (o.curves ?? true)) await plotCurves(outDir, st.history).catch((e) => log(logFile, { event: 'warning', message: `curves: ${(e as Error).message}` }));
      st.epochStart = Date.now();
      checkpoint();
      if (o.maxSteps !== undefined && st.step >= o.maxSteps) break;
    }
  } finally {
    progress.stop();
  }

  const result: ClassifierResult = {
    epochs: st.history,
    stepLosses,
    steps: st.step,
    stoppedEarly: st.stoppedEarly,
    bestEpoch: st.early.bestEpoch,
    bestValTop5: st.early.best,
  };
  if (st.done) {
    if (restoreBest && bestFile && fs.existsSync(bestFile) && st.early.bestEpoch >= 0) loadInto(bestFile, { model });
    if (o.test) {
      result.test = await evaluateClassifier(model, o.test);
      log(logFile, { event: 'test', bestEpoch: st.early.bestEpoch, ...result.test });
    }
    if (outDir) fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify({ config: o.modelConfig ?? {}, ...result, stepLosses: undefined }, null, 2));
  }
  optimizer.dispose();
  return result;
}

function log(file: string | null, rec: Record<string, unknown>): void {
  if (file) fs.appendFileSync(file, JSON.stringify({ time: new Date().toISOString(), ...rec }) + '\n');
}

async function plotCurves(outDir: string, history: EpochRecord[]): Promise<void> {
  const pts: CurvePoint[] = [];
  for (const h of history) {
    pts.push({ epoch: h.epoch + 1, series: 'train', value: h.trainLoss, panel: 'loss' });
    if (h.val) {
      pts.push({ epoch: h.epoch + 1, series: 'val', value: h.val.loss, panel: 'loss' });
      pts.push({ epoch: h.epoch + 1, series: 'val top-1', value: h.val.top1, panel: 'accuracy' });
      pts.push({ epoch: h.epoch + 1, series: 'val top-5', value: h.val.top5, panel: 'accuracy' });
    }
  }
  await writeCurves(path.join(outDir, 'curves'), pts, path.basename(outDir));
}

export type { Tensor };
