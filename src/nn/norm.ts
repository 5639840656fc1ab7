/**
 * Normalizations over every axis but the last (channels last: [B, C] or [N, H, W, C]),
 * GMP_SPEC.md §5:
 *   BatchNorm          y = γ ⊙ (x − μ)/sqrt(σ² + ε) + β, batch statistics in training (one
 *                      fused op, ops/norm.ts), running statistics in eval.
 *   MeanOnlyBatchNorm  y = (x − μ)/sqrt(1 + ε), no scale or shift (MBN; IMN when placed after a
 *                      GmP layer's ReLU); one fused op (ops/norm.ts): two passes each way.
 * `momentum` is the weight of the new batch statistic (PyTorch convention): the spec's Keras
 * momentum 0.99 is momentum 0.01 here. Running variance uses the biased batch variance, as Keras.
 */
import { GmpnnError } from '../errors';
import { DType, Device, Tensor } from '../tensor';
import { Module } from './module';
import { needsGrad, noGrad } from '../autograd';
import { ones, zeros } from '../ops/creation';
import { add, addInPlace, mul, sqrt, sub, div } from '../ops/elementwise';
import { batchNormEvalRaw, batchNormTrain, meanOnlyBatchNorm } from '../ops/norm';
import { fmt } from '../ops/util';

export interface NormOptions {
  momentum?: number;
  eps?: number;
  dtype?: DType;
  device?: Device;
}

function reduceAxes(x: Tensor, features: number, name: string): number[] {
  if (x.rank < 2 || x.shape[x.rank - 1] !== features)
    throw new GmpnnError('E_SHAPE', `${name}(${features}): expected input [..., ${features}], got ${fmt(x.shape)}`);
  return x.shape.slice(0, -1).map((_, i) => i);
}

/** running ← (1 − momentum)·running + momentum·batch, in place, outside the graph. */
function updateRunning(running: Tensor, batch: Tensor, momentum: number): void {
  noGrad(() => {
    const delta = mul(sub(batch, running), momentum);
    addInPlace(running, delta.reshape(running.shape));
    delta.dispose();
  });
}

export class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly momentum: number;
  readonly eps: number;
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(numFeatures: number, options: NormOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.momentum = options.momentum ?? 0.01;
    this.eps = options.eps ?? 1e-3;
    const o = { dtype: options.dtype ?? 'float32', device: options.device ?? 'cpu' } as const;
    this.weight = this.registerParameter('weight', ones([numFeatures], o))!;
    this.bias = this.registerParameter('bias', zeros([numFeatures], o))!;
    this.runningMean = this.registerBuffer('runningMean', zeros([numFeatures], o));
    this.runningVar = this.registerBuffer('runningVar', ones([numFeatures], o));
  }

  forward(x: Tensor): Tensor {
    reduceAxes(x, this.numFeatures, 'BatchNorm');
    if (!this.training) {
      // Evaluation without gradients (validation passes): one fused pass.
      if (!needsGrad(x, this.weight, this.bias))
        return batchNormEvalRaw(x, this.weight, this.bias, this.runningMean, this.runningVar, this.eps);
      const xhat = div(sub(x, this.runningMean), sqrt(add(this.runningVar, this.eps)));
      return add(mul(xhat, this.weight), this.bias);
    }
    const { y, batchMean, batchVar } = batchNormTrain(x, this.weight, this.bias, this.eps);
    updateRunning(this.runningMean, batchMean, this.momentum);
    updateRunning(this.runningVar, batchVar, this.momentum);
    batchMean.dispose();
    batchVar.dispose();
    return y;
  }
}

export class MeanOnlyBatchNorm extends Module {
  readonly numFeatures: number;
  readonly momentum: number;
  readonly eps: number;
  readonly runningMean: Tensor;

  constructor(numFeatures: number, options: NormOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.momentum = options.momentum ?? 0.01;
    this.eps = options.eps ?? 1e-6;
    const o = { dtype: options.dtype ?? 'float32', device: options.device ?? 'cpu' } as const;
    this.runningMean = this.registerBuffer('runningMean', zeros([numFeatures], o));
  }

  forward(x: Tensor): Tensor {
    reduceAxes(x, this.numFeatures, 'MeanOnlyBatchNorm');
    const scale = 1 / Math.sqrt(1 + this.eps);
    if (!this.training) return meanOnlyBatchNorm(x, scale, this.runningMean).y;
    const { y, batchMean } = meanOnlyBatchNorm(x, scale);
    updateRunning(this.runningMean, batchMean!, this.momentum);
    batchMean!.dispose();
    return y;
  }
}
