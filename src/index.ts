/**
 * gmpnn: Geometric Parameterization (GmP) for ReLU networks on a native CPU/CUDA core.
 * `const g = require('gmpnn')` — tensors, autograd, ops, layers, optimizers, experiments.
 */
export { Tensor, DType, Device, TypedArray, empty, tidy, keep, dispose, memory, MemoryInfo } from './tensor';
export { noGrad, enableGrad, isGradEnabled, backward } from './autograd';
export { GmpnnError, ErrorCode } from './errors';
export { manualSeed, getRngState, setRngState } from './random';
export * from './ops';
import * as lossOps from './ops/loss';
import { native, BackendInfo } from './native';
import { drainPool } from './tensor';

/** The loss functions, as g.losses.mse(...) etc. */
export const losses = { mse: lossOps.mse, mae: lossOps.mae, bceWithLogits: lossOps.bceWithLogits, crossEntropy: lossOps.crossEntropy };

/** What this build and machine offer: CPU (always) and CUDA (compiled? a GPU answered? why not?). */
export function backends(): BackendInfo {
  return native.backends();
}

/** Threads used by CPU kernels; n <= 0 restores the default. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

/** Returns the memory cached by the host and device allocators to the system. */
export function emptyCache(): void {
  drainPool();
  native.emptyCache();
}

/** Waits for queued device work (CUDA); a no-op on the CPU. */
export function synchronize(): void {
  native.synchronize();
}

export * as nn from './nn';
export * as optim from './optim';
export * as geometry from './geometry';
export * as models from './models';
export * as io from './io';
export * as images from './data/images';
export { trainClassifier, ClassifierOptions, ClassifierResult, EpochRecord, ScheduleKind } from './train/classifier';
export { evaluateClassifier, topKCorrect, EvalResult } from './train/classifier_metrics';
