/**
 * Normalization ops over every axis but the last (channels last: [B, C] or [N, H, W, C]),
 * GMP_SPEC.md §5, in training mode on the normalization kernels (gmpnn/norm.h: column sums, then
 * one pass for the output), so mean-only batch norm costs two passes over its activations forward
 * and two backward; eval mode on the per-channel `channelAffine`:
 *   meanOnlyBatchNorm(x, s)          training: y = (x − μ_batch)·s, ∂L/∂x = (g − mean(g))·s
 *                                    (one native call each way, gmpnn/norm.h)
 *   meanOnlyBatchNorm(x, s, mean)    eval:     y = (x − mean)·s,    ∂L/∂x = g·s
 *   batchNormTrain(x, γ, β, ε)       y = γ ⊙ x̂ + β, x̂ = (x − μ_batch)/sqrt(σ²_batch + ε) (biased σ²),
 *                                    ∂L/∂x = γ/σ ⊙ (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂))
 * (s = 1/sqrt(1 + ε) for the MBN/IMN layer; means over every axis but the channel.)
 * And the WN baseline's weight, one kernel call each way (gmp.h weight_norm):
 *   weightNorm(v, g)                 W_j = g_j·v_j/‖v_j‖ per row,
 *                                    ∂L/∂v_j = (g_j/‖v_j‖)·(D_j − (D_j·v_j/‖v_j‖²)·v_j), ∂L/∂g_j = D_j·v_j/‖v_j‖
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record, needsGrad } from '../autograd';
import { assertSameKind, assertTensor, fmt } from './util';
import { B, U, affineRaw, binaryRaw } from './elementwise';

/** 1/sqrt(σ² + ε) per channel (no graph). */
function inverseStd(variance: Tensor, eps: number): Tensor {
  const t = affineRaw(variance, 1, eps);
  callNative(() => native.unary(t.buffer(), t.buffer(), U.sqrt));
  callNative(() => native.unary(t.buffer(), t.buffer(), U.reciprocal));
  return t;
}

/** (x − μ)·s per channel with μ = base·k (k = 1/rows for column sums): one pass (no graph). */
function centerScale(x: Tensor, base: Tensor, k: number, rows: number, C: number, s: number, op: string): Tensor {
  const shift = affineRaw(base, -s * k, 0); // −μ·s
  const scale = empty([C], x.dtype, x.device);
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
      y: record(y, op, [x], (g) => [affineRaw(g, scale, 0)]),
      batchMean: null,
    };
  }
  if (rows < 1) throw new GmpnnError('E_SHAPE', `${op}: no rows to average over in ${fmt(x.shape)}`);
  // One native call each way (gmpnn/norm.h): the column means, then (x − μ)·s.
  const y = empty(x.shape, x.dtype, x.device);
  const batchMean = empty([C], x.dtype, x.device);
  callNative(() => native.meanOnlyBatchNormForward(y.buffer(), batchMean.buffer(), x.buffer(op), rows, C, scale));
  if (!needsGrad(x)) return { y, batchMean };
  return {
    // ∂L/∂x = (g − mean(g))·s: the mean's dependence on x removes each channel's mean gradient.
    y: record(y, op, [x], (g) => {
      const dx = empty(x.shape, x.dtype, x.device);
      callNative(() => native.meanOnlyBatchNormBackward(dx.buffer(), g.buffer(op), rows, C, scale));
      return [dx];
    }),
    batchMean,
  };
}

/**
 * Batch normalization in training mode over every axis but the last, with the batch statistics
 * (biased variance, as Keras and the spec): one native call forward (the sums of x and of
 * (x − μ)² in double, then y) and one backward (Σg and Σg ⊙ x̂ in one pass, then ∂L/∂x),
 * gmp/norm.h. Returns the batch mean and variance for the running statistics.
 */
export function batchNormTrain(x: Tensor, weight: Tensor, bias: Tensor, eps: number): { y: Tensor; batchMean: Tensor; batchVar: Tensor } {
  const op = 'batchNorm';
  assertTensor(x, op, 'x');
  assertTensor(weight, op, 'weight');
  assertTensor(bias, op, 'bias');
  assertSameKind(op, x, weight, bias);
  if (x.rank < 1 || x.shape[x.rank - 1] < 1) throw new GmpnnError('E_SHAPE', `${op}: expected x [..., C] with C >= 1, got ${fmt(x.shape)}`);
  const C = x.shape[x.rank - 1];
  if (weight.size !== C || bias.size !== C)
    throw new GmpnnError('E_SHAPE', `${op}: weight ${fmt(weight.shape)} and bias ${fmt(bias.shape)} must have ${C} elements (x ${fmt(x.shape)})`);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new GmpnnError('E_ARG', `${op}: eps must be a finite number >= 0, got ${String(eps)}`);
  const rows = x.size / C;
  if (rows < 1) throw new GmpnnError('E_SHAPE', `${op}: no rows to average over in ${fmt(x.shape)}`);
  const y = empty(x.shape, x.dtype, x.device);
  const batchMean = empty([C], x.dtype, x.device);
  const batchVar = empty([C], x.dtype, x.device);
  callNative(() =>
    native.batchNormForward(y.buffer(), batchMean.buffer(), batchVar.buffer(), x.buffer(op), weight.buffer(op), bias.buffer(op), rows, C, eps),
  );
  if (!needsGrad(x, weight, bias)) return { y, batchMean, batchVar };
  // The backward reads the statistics as the forward wrote them; the caller may dispose its
  // batchMean / batchVar (the running-average update), so the rule keeps its own references.
  const mean = Tensor.view(batchMean, batchMean.shape);
  const variance = Tensor.view(batchVar, batchVar.shape);
  const out = record(y, op, [x, weight, bias], (g) => {
    const dx = x.requiresGrad ? empty(x.shape, x.dtype, x.device) : null;
    const dw = weight.requiresGrad ? empty(weight.shape, weight.dtype, weight.device) : null;
    const db = bias.requiresGrad ? empty(bias.shape, bias.dtype, bias.device) : null;
    callNative(() =>
      native.batchNormBackward(
        dx ? dx.buffer() : null, dw ? dw.buffer() : null, db ? db.buffer() : null, g.buffer(op), x.buffer(op), weight.buffer(op),
        mean.buffer(op), variance.buffer(op), rows, C, eps,
      ),
    );
    return [dx, dw, db];
  });
  return { y: out, batchMean, batchVar };
}

/**
 * Batch normalization with fixed statistics (eval mode), outside the graph: one pass,
 * y = x·a + (β − μ·a) with a = γ/sqrt(σ² + ε) per channel. For inputs that need no gradient
 * (evaluation); with gradients the layer composes differentiable ops instead.
 */
export function batchNormEvalRaw(x: Tensor, weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps: number): Tensor {
  const op = 'batchNorm';
  assertTensor(x, op, 'x');
  assertSameKind(op, x, weight, bias, mean, variance);
  const C = x.shape[x.rank - 1];
  if (x.rank < 1 || [weight, bias, mean, variance].some((t) => t.size !== C))
    throw new GmpnnError('E_SHAPE', `${op}: weight, bias and the running statistics must have ${C} elements (x ${fmt(x.shape)})`);
  const rows = x.size / C;
  const a = inverseStd(variance, eps);
  const scale = binaryRaw(weight, a, B.mul, op); // γ/σ
  a.dispose();
  const ms = binaryRaw(mean, scale, B.mul, op);
  const shift = binaryRaw(bias, ms, B.sub, op); // β − μ·γ/σ
  ms.dispose();
  const y = empty(x.shape, x.dtype, x.device);
  callNative(() => native.channelAffine(y.buffer(), x.buffer(op), scale.buffer(), shift.buffer(), rows, C));
  scale.dispose();
  shift.dispose();
  return y;
}

/**
 * Weight normalization (Salimans & Kingma 2016; nn.Linear's 'wn'): W = g ⊙ v/‖v‖ with the norm
 * over each row of v [out, in], g [out, 1] (or [out]). One native call forward and one backward,
 * instead of the five ops (and as many backward rules) it is made of.
 */
export function weightNorm(v: Tensor, g: Tensor): Tensor {
  const op = 'weightNorm';
  assertTensor(v, op, 'v');
  assertTensor(g, op, 'g');
  assertSameKind(op, v, g);
  const rows = v.rank === 2 ? v.shape[0] : -1;
  if (v.rank !== 2 || v.shape[1] < 1 || g.size !== rows || !(g.rank === 1 || (g.rank === 2 && g.shape[1] === 1)))
    throw new GmpnnError('E_SHAPE', `${op}: expected v [out, in] (in >= 1) and g [out, 1] or [out], got v ${fmt(v.shape)} and g ${fmt(g.shape)}`);
  const n = v.shape[1];
  const w = empty(v.shape, v.dtype, v.device);
  callNative(() => native.weightNormForward(w.buffer(), v.buffer(op), g.buffer(op), rows, n));
  if (!needsGrad(v, g)) return w;
  return record(w, op, [v, g], (dW) => {
    const dv = v.requiresGrad ? empty(v.shape, v.dtype, v.device) : null;
    const dg = g.requiresGrad ? empty(g.shape, g.dtype, g.device) : null;
    callNative(() =>
      native.weightNormBackward(dv ? dv.buffer() : null, dg ? dg.buffer() : null, dW.buffer(op), v.buffer(op), g.buffer(op), rows, n),
    );
    return [dv, dg];
  });
}
