/**
 * Normalization ops over every axis but the last (channels last: [B, C] or [N, H, W, C]),
 * GMP_SPEC.md §5, on the per-channel kernels (column sums by `reduce`, then one `channelAffine`
 * pass), so a layer costs two passes over its activations forward and two backward:
 *   meanOnlyBatchNorm(x, s)          training: y = (x − μ_batch)·s, ∂L/∂x = (g − mean(g))·s
 *   meanOnlyBatchNorm(x, s, mean)    eval:     y = (x − mean)·s,    ∂L/∂x = g·s
 * (s = 1/sqrt(1 + ε) for the MBN/IMN layer; means over every axis but the channel.)
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record, needsGrad } from '../autograd';
import { assertSameKind, assertTensor, fmt } from './util';

const REDUCE_SUM = 0;

/** Column sums of x viewed as [rows, C] (no graph). */
function channelSums(x: Tensor, rows: number, C: number): Tensor {
  const s = empty([C], x.dtype, x.device);
  callNative(() => native.reduce(s.buffer(), x.buffer('meanOnlyBatchNorm'), REDUCE_SUM, 1, rows, C));
  return s;
}

/** (x − μ)·s per channel with μ = base·k (k = 1/rows for column sums): one pass (no graph). */
function centerScale(x: Tensor, base: Tensor, k: number, rows: number, C: number, s: number, op: string): Tensor {
  const shift = empty([C], x.dtype, x.device);
  const scale = empty([C], x.dtype, x.device);
  callNative(() => native.affine(shift.buffer(), base.buffer(op), -s * k, 0)); // −μ·s
  callNative(() => native.fill(scale.buffer(), s));
  const y = empty(x.shape, x.dtype, x.device);
  callNative(() => native.channelAffine(y.buffer(), x.buffer(op), scale.buffer(), shift.buffer(), rows, C));
  shift.dispose();
  scale.dispose();
  return y;
}

/**
 * Mean-only batch normalization of x [..., C]: with `mean` omitted, the batch mean of each channel
 * (training; `batchMean` returns it for the running statistics), else that fixed mean (eval).
 */
export function meanOnlyBatchNorm(x: Tensor, scale: number, mean?: Tensor | null): { y: Tensor; batchMean: Tensor | null } {
  const op = 'meanOnlyBatchNorm';
  assertTensor(x, op, 'x');
  if (x.rank < 1 || x.shape[x.rank - 1] < 1) throw new GmpnnError('E_SHAPE', `${op}: expected x [..., C] with C >= 1, got ${fmt(x.shape)}`);
  if (!Number.isFinite(scale)) throw new GmpnnError('E_ARG', `${op}: scale must be a finite number, got ${String(scale)}`);
  const C = x.shape[x.rank - 1];
  const rows = x.size / C;
  if (mean) {
    assertTensor(mean, op, 'mean');
    assertSameKind(op, x, mean);
    if (mean.size !== C) throw new GmpnnError('E_SHAPE', `${op}: mean has ${mean.size} elements for ${C} channels (x ${fmt(x.shape)})`);
    // eval: (x − mean)·s = x·s + (−mean·s); the gradient is g·s.
    const y = centerScale(x, mean, 1, rows, C, scale, op);
    if (!needsGrad(x)) return { y, batchMean: null };
    return {
      y: record(y, op, [x], (g) => {
        const dx = empty(g.shape, g.dtype, g.device);
        callNative(() => native.affine(dx.buffer(), g.buffer(op), scale, 0));
        return [dx];
      }),
      batchMean: null,
    };
  }
  if (rows < 1) throw new GmpnnError('E_SHAPE', `${op}: no rows to average over in ${fmt(x.shape)}`);
  const sums = channelSums(x, rows, C);
  const y = centerScale(x, sums, 1 / rows, rows, C, scale, op);
  const batchMean = empty([C], x.dtype, x.device);
  callNative(() => native.affine(batchMean.buffer(), sums.buffer(), 1 / rows, 0));
  sums.dispose();
  if (!needsGrad(x)) return { y, batchMean };
  return {
    // ∂L/∂x = (g − mean(g))·s: the mean's dependence on x removes each channel's mean gradient.
    y: record(y, op, [x], (g) => {
      const gs = channelSums(g, rows, C);
      const dx = centerScale(g, gs, 1 / rows, rows, C, scale, op);
      gs.dispose();
      return [dx];
    }),
    batchMean,
  };
}
