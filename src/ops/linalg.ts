/** Matrix products on the packed GEMM kernel. */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record, needsGrad } from '../autograd';
import { assertSameKind, assertTensor, fmt } from './util';
import { relu } from './elementwise';

/** C = op(A)·op(B) for 2-D tensors, where op transposes when asked (no copy). No graph. */
export function gemmRaw(a: Tensor, b: Tensor, transA = false, transB = false, op = 'matmul'): Tensor {
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [k2, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (k !== k2)
    throw new GmpnnError('E_SHAPE', `${op}: inner dimensions differ, ${fmt(a.shape)}${transA ? 'ᵀ' : ''} x ${fmt(b.shape)}${transB ? 'ᵀ' : ''}`);
  const c = empty([m, n], a.dtype, a.device);
  callNative(() => native.gemm(c.buffer(), a.buffer(op), b.buffer(op), transA, transB, m, n, k, 1, 0));
  return c;
}

/** Matrix product of two 2-D tensors, [M, K] x [K, N] -> [M, N]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor(a, 'matmul', 'a');
  assertTensor(b, 'matmul', 'b');
  assertSameKind('matmul', a, b);
  if (a.rank !== 2 || b.rank !== 2)
    throw new GmpnnError('E_SHAPE', `matmul: expected 2-D tensors, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const out = gemmRaw(a, b);
  return record(out, 'matmul', [a, b], (g) => [
    a.requiresGrad ? gemmRaw(g, b, false, true) : null, // dA = G·Bᵀ
    b.requiresGrad ? gemmRaw(a, g, true, false) : null, // dB = Aᵀ·G
  ]);
}

/**
 * y = act(x·Wᵀ + bias): x [B, in], weight [out, in], bias [out] (optional), act 'none' | 'relu'.
 * With a bias, the bias and activation run in the GmP epilogue kernel with r = 1 (one pass over
 * the product, and one for dZ and the bias gradient in the backward), like PyTorch's fused
 * addmm + relu.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, activation: 'none' | 'relu' = 'none'): Tensor {
  const op = 'linear';
  assertTensor(x, op, 'x');
  assertTensor(weight, op, 'weight');
  assertSameKind(op, x, weight);
  if (x.rank !== 2 || weight.rank !== 2 || x.shape[1] !== weight.shape[1])
    throw new GmpnnError('E_SHAPE', `linear: expected x [B, in] and weight [out, in], got ${fmt(x.shape)} and ${fmt(weight.shape)}`);
  if (activation !== 'none' && activation !== 'relu')
    throw new GmpnnError('E_ARG', `linear: activation must be 'relu' or 'none', got ${String(activation)}`);
  if (!bias) {
    const z = gemmRaw(x, weight, false, true, op);
    const out = record(z, op, [x, weight], (g) => [
      x.requiresGrad ? gemmRaw(g, weight, false, false) : null, // dX = G·W
      weight.requiresGrad ? gemmRaw(g, x, true, false) : null, // dW = Gᵀ·X
    ]);
    return activation === 'relu' ? relu(out) : out;
  }
  assertTensor(bias, op, 'bias');
  assertSameKind(op, x, bias);
  const [B, m] = [x.shape[0], weight.shape[0]];
  if (bias.rank !== 1 || bias.shape[0] !== m)
    throw new GmpnnError('E_SHAPE', `linear: bias ${fmt(bias.shape)} does not match weight ${fmt(weight.shape)}`);
  const act = activation === 'relu' ? 1 : 0;
  const { y, z } = denseForwardRaw(x, weight, bias, null, act, op);
  if (!needsGrad(x, weight, bias)) {
    z.dispose();
    return y;
  }
  return record(y, op, [x, weight, bias], (gy) => {
    const d = denseBackwardRaw(gy, z, y, x, weight, null, act, op, { x: x.requiresGrad, w: weight.requiresGrad, lambda: bias.requiresGrad });
    return [d.dx, d.dw, d.dlambda];
  });
}

/**
 * @internal The dense layer's forward in one native call (gmp_dense_forward): z = x·Wᵀ + λ (kept
 * for the backward) and y = r ⊙ act(z); r = null means r = 1 (SP/WN with a bias). The backward
 * takes both: the CPU reads what it needs of z from y where y determines it, and then z was
 * never written (gmp.h), so z costs a pooled buffer and no memory traffic.
 */
export function denseForwardRaw(x: Tensor, w: Tensor, lambda: Tensor, r: Tensor | null, act: number, op: string): { y: Tensor; z: Tensor } {
  const [B, n] = x.shape;
  const m = w.shape[0];
  const z = empty([B, m], x.dtype, x.device);
  const y = empty([B, m], x.dtype, x.device);
  callNative(() =>
    native.gmpDenseForward(y.buffer(), z.buffer(), x.buffer(op), w.buffer(op), lambda.buffer(op), r ? r.buffer(op) : null, B, n, m, act),
  );
  return { y, z };
}

/**
 * GmP's part of the dense backward: θ (w = u(θ)), the forward's sin/cos cache, λ and r (dr is
 * formed from the [out, in] operands and λ, not from a pass over the activations), and whether
 * dθ and dr are wanted.
 */
export interface DenseBackwardGmp {
  theta: Tensor | null;
  cache: Tensor | null;
  lambda: Tensor;
  r: Tensor;
  wantTheta: boolean;
  wantR: boolean;
}

/**
 * @internal The dense layer's backward in one native call (gmp_dense_backward): dx = G_Z·W,
 * dw = G_Zᵀ·X, dλ and (GmP) dr and dθ, each only when wanted. With θ, dw is scratch for dU and
 * not returned. w may be null where the kernel does not read it (no dx, and dθ computed or no dr).
 * z and y are the forward's (y its output, unchanged).
 */
export function denseBackwardRaw(
  gy: Tensor, z: Tensor, y: Tensor, x: Tensor, w: Tensor | null, gmp: DenseBackwardGmp | null, act: number, op: string,
  want: { x: boolean; w: boolean; lambda: boolean },
  dUScratch: Tensor | null = null,
): { dx: Tensor | null; dw: Tensor | null; dlambda: Tensor | null; dr: Tensor | null; dtheta: Tensor | null } {
  const [B, n] = x.shape;
  const m = z.shape[1];
  const e = (shape: number[]): Tensor => empty(shape, x.dtype, x.device);
  const wantTheta = !!gmp && gmp.theta !== null && gmp.wantTheta;
  const dz = e([B, m]); // G_Z, scratch
  const dx = want.x ? e([B, n]) : null;
  // With θ, dw is scratch for dU: the caller's (a layer's workspace) when given.
  const dw = want.w || wantTheta ? (wantTheta && gmp!.theta && dUScratch ? dUScratch : e([m, n])) : null;
  const dlambda = want.lambda ? e([m]) : null;
  const dr = gmp && gmp.wantR ? e([m]) : null;
  const dtheta = wantTheta ? e([m, n - 1]) : null;
  callNative(() =>
    native.gmpDenseBackward(
      dx ? dx.buffer() : null, dw ? dw.buffer() : null, dtheta ? dtheta.buffer() : null, dlambda ? dlambda.buffer() : null, dr ? dr.buffer() : null,
      dz.buffer(), gy.buffer(op), z.buffer(op), y.buffer(op), x.buffer(op), w ? w.buffer(op) : null, gmp?.theta ? gmp.theta.buffer(op) : null,
      gmp?.cache ? gmp.cache.buffer() : null, gmp ? gmp.lambda.buffer(op) : null, gmp ? gmp.r.buffer(op) : null, B, n, m, act,
    ),
  );
  dz.dispose();
  if (gmp?.theta) {
    if (dw !== dUScratch) dw?.dispose(); // dU: scratch for the reverse scan
    return { dx, dw: null, dlambda, dr, dtheta };
  }
  return { dx, dw, dlambda, dr, dtheta };
}
