/** Matrix products on the packed GEMM kernel. */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record } from '../autograd';
import { assertSameKind, assertTensor, fmt } from './util';
import { add } from './elementwise';

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

/** y = x·Wᵀ (+ bias): x [B, in], weight [out, in], bias [out]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  assertTensor(x, 'linear', 'x');
  assertTensor(weight, 'linear', 'weight');
  assertSameKind('linear', x, weight);
  if (x.rank !== 2 || weight.rank !== 2 || x.shape[1] !== weight.shape[1])
    throw new GmpnnError('E_SHAPE', `linear: expected x [B, in] and weight [out, in], got ${fmt(x.shape)} and ${fmt(weight.shape)}`);
  const z = gemmRaw(x, weight, false, true, 'linear');
  const out = record(z, 'linear', [x, weight], (g) => [
    x.requiresGrad ? gemmRaw(g, weight, false, false) : null, // dX = G·W
    weight.requiresGrad ? gemmRaw(g, x, true, false) : null, // dW = Gᵀ·X
  ]);
  if (!bias) return out;
  assertTensor(bias, 'linear', 'bias');
  if (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])
    throw new GmpnnError('E_SHAPE', `linear: bias ${fmt(bias.shape)} does not match weight ${fmt(weight.shape)}`);
  return add(out, bias);
}
