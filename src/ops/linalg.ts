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
  const z = empty([B, m], x.dtype, x.device); // Z = X·Wᵀ + b, kept for the backward
  const y = empty([B, m], x.dtype, x.device);
  callNative(() =>
    native.gmpDenseForward(y.buffer(), z.buffer(), x.buffer(op), weight.buffer(op), bias.buffer(op), null, B, x.shape[1], m, act),
  );
  if (!needsGrad(x, weight, bias)) {
    z.dispose();
    return y;
  }
  return record(y, op, [x, weight, bias], (gy) => {
    // One native call (gmp_dense_backward with theta = NULL): dZ (scratch), db, dX = dZ·W, dW = dZᵀ·X.
    const n = x.shape[1];
    const dz = empty([B, m], x.dtype, x.device);
    const db = bias.requiresGrad ? empty([m], x.dtype, x.device) : null;
    const dx = x.requiresGrad ? empty([B, n], x.dtype, x.device) : null;
    const dw = weight.requiresGrad ? empty([m, n], x.dtype, x.device) : null;
    callNative(() =>
      native.gmpDenseBackward(
        dx ? dx.buffer() : null, dw ? dw.buffer() : null, null, db ? db.buffer() : null, null,
        dz.buffer(), gy.buffer(op), z.buffer(op), x.buffer(op), weight.buffer(op), null, null, null, B, n, m, act,
      ),
    );
    dz.dispose();
    return [dx, dw, db];
  });
}
