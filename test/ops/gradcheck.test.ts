/** float64 central-difference gradient checks of every differentiable op. */
import * as g from '../../src';
import { expectClose, expectGmpnnError, gradcheck, randLeaf } from '../helpers';

describe('ops: float64 gradient checks', () => {
  const unary: [string, (x: g.Tensor) => g.Tensor, number, number][] = [
    ['neg', g.neg, -1, 1],
    ['exp', g.exp, -1, 1],
    ['log', g.log, 0.5, 2],
    ['sqrt', g.sqrt, 0.5, 2],
    ['abs', g.abs, -1, 1],
    ['relu', g.relu, -1, 1],
    ['sigmoid', g.sigmoid, -3, 3],
    ['tanh', g.tanh, -2, 2],
    ['sin', g.sin, -3, 3],
    ['cos', g.cos, -3, 3],
    ['square', g.square, -2, 2],
    ['reciprocal', g.reciprocal, 0.5, 2],
    ['pow 3', (x) => g.pow(x, 3), 0.5, 2],
    ['clone', g.clone, -1, 1],
    ['addScalar', (x) => g.add(x, 2.5), -1, 1],
    ['mulScalar', (x) => g.mul(x, -1.5), -1, 1],
    ['rsub', (x) => g.sub(1, x), -1, 1],
    ['rdiv', (x) => g.div(2, x), 0.5, 2],
  ];
  for (const [name, fn, lo, hi] of unary) {
    it(name, () => gradcheck(fn, [randLeaf([3, 5], lo, hi, 11)]));
  }

  const binary: [string, (a: g.Tensor, b: g.Tensor) => g.Tensor][] = [
    ['add', g.add],
    ['sub', g.sub],
    ['mul', g.mul],
    ['div', g.div],
    ['maximum', g.maximum],
    ['minimum', g.minimum],
  ];
  for (const [name, fn] of binary) {
    it(`${name} same shape`, () => gradcheck(fn, [randLeaf([4, 3], 0.5, 2, 1), randLeaf([4, 3], 0.5, 2, 2)]));
    it(`${name} broadcast [4,1,3] with [2,1]`, () => gradcheck(fn, [randLeaf([4, 1, 3], 0.5, 2, 3), randLeaf([2, 1], 0.5, 2, 4)]));
    it(`${name} with a scalar tensor`, () => gradcheck(fn, [randLeaf([5], 0.5, 2, 5), randLeaf([], 0.5, 2, 6)]));
  }

  it('matmul', () => gradcheck(g.matmul, [randLeaf([3, 4], -1, 1, 1), randLeaf([4, 5], -1, 1, 2)]));
  it('matmul with 1-sized dims', () => gradcheck(g.matmul, [randLeaf([1, 7], -1, 1, 1), randLeaf([7, 1], -1, 1, 2)]));
  it('linear with bias', () => gradcheck(g.linear, [randLeaf([6, 4], -1, 1, 1), randLeaf([3, 4], -1, 1, 2), randLeaf([3], -1, 1, 3)]));
  it('linear without bias', () => gradcheck((x, w) => g.linear(x, w), [randLeaf([6, 4], -1, 1, 1), randLeaf([3, 4], -1, 1, 2)]));
  // Fused bias + ReLU (the epilogue kernel with r = 1); inputs keep z away from the kink.
  it('linear with bias and relu (fused)', () =>
    gradcheck((x, w, b) => g.linear(x, w, b, 'relu'), [randLeaf([6, 4], 0.2, 1, 1), randLeaf([3, 4], -1, 1, 2), randLeaf([3], -0.3, 0.3, 3)]));
  it('linear without bias, relu', () =>
    gradcheck((x, w) => g.linear(x, w, null, 'relu'), [randLeaf([6, 4], 0.2, 1, 1), randLeaf([3, 4], 0.1, 1, 2)]));

  it('meanOnlyBatchNorm, batch mean (NHWC, C = 3)', () =>
    gradcheck((x) => g.meanOnlyBatchNorm(x, 0.75).y, [randLeaf([2, 3, 2, 3], -1, 1, 7)]));
  it('meanOnlyBatchNorm, batch mean ([B, C], C = 1)', () => gradcheck((x) => g.meanOnlyBatchNorm(x, 1.3).y, [randLeaf([5, 1], -1, 1, 8)]));
  it('meanOnlyBatchNorm, fixed mean (eval)', () =>
    gradcheck((x) => g.meanOnlyBatchNorm(x, 0.9, g.tensor([0.1, -0.2, 0.3], [3], { dtype: 'float64' })).y, [randLeaf([4, 3], -1, 1, 9)]));
  it('batchNormTrain: x, weight, bias (NHWC, C = 3)', () =>
    gradcheck((x, w, b) => g.batchNormTrain(x, w, b, 1e-3).y, [randLeaf([2, 2, 3, 3], -1, 1, 10), randLeaf([3], 0.5, 1.5, 11), randLeaf([3], -1, 1, 12)]));
  it('batchNormTrain: [B, C] with C = 1', () =>
    gradcheck((x, w, b) => g.batchNormTrain(x, w, b, 1e-5).y, [randLeaf([6, 1], -1, 1, 13), randLeaf([1], 0.5, 1.5, 14), randLeaf([1], -1, 1, 15)]));
  it('weightNorm: v [4, 5], g [4, 1] of both signs', () =>
    gradcheck((v, w) => g.weightNorm(v, w), [randLeaf([4, 5], -1, 1, 16), randLeaf([4, 1], -2, 2, 17)]));
  it('weightNorm: one row, g [1], fan-in 1', () =>
    gradcheck((v, w) => g.weightNorm(v, w), [randLeaf([1, 1], 0.5, 1.5, 18), randLeaf([1], -2, 2, 19)]));
  it('weightNorm equals the composed g ⊙ v/‖v‖ and refuses mismatched shapes', () => {
    const v = randLeaf([3, 7], -1, 1, 20), w = randLeaf([3, 1], -2, 2, 21);
    const composed = g.mul(v, g.div(w, g.sqrt(g.sum(g.mul(v, v), 1, true))));
    expectClose(g.weightNorm(v, w).dataSync(), composed.dataSync(), 1e-14, 1e-14, 'weightNorm');
    expectGmpnnError(() => g.weightNorm(v, randLeaf([2, 1])), 'E_SHAPE', /weightNorm: expected v \[out, in\]/);
    expectGmpnnError(() => g.weightNorm(randLeaf([3]), w), 'E_SHAPE', /weightNorm/);
  });
  it('sum over all', () => gradcheck((x) => g.sum(x), [randLeaf([3, 4])]));
  it('sum over axes [0, 2]', () => gradcheck((x) => g.sum(x, [0, 2]), [randLeaf([2, 3, 4])]));
  it('sum keepDims axis 1', () => gradcheck((x) => g.sum(x, 1, true), [randLeaf([2, 3, 4])]));
  it('mean over axis -1', () => gradcheck((x) => g.mean(x, -1), [randLeaf([2, 3, 4])]));
  it('max over axis 1', () => gradcheck((x) => g.max(x, 1), [randLeaf([3, 5])]));
  it('min over all', () => gradcheck((x) => g.min(x), [randLeaf([3, 5])]));

  it('reshape', () => gradcheck((x) => g.mul(g.reshape(x, [6, -1]), 2), [randLeaf([2, 3, 2])]));
  it('permute', () => gradcheck((x) => g.permute(x, [2, 0, 1]), [randLeaf([2, 3, 4])]));
  it('transpose', () => gradcheck((x) => g.transpose(x), [randLeaf([3, 5])]));
  it('slice', () => gradcheck((x) => g.slice(x, [1, 0, 2], [2, -1, 2]), [randLeaf([3, 2, 5])]));
  it('concat axis 1', () => gradcheck((a, b) => g.concat([a, b, a], 1), [randLeaf([2, 3]), randLeaf([2, 1])]));
  it('broadcastTo', () => gradcheck((x) => g.broadcastTo(x, [4, 2, 3]), [randLeaf([2, 1])]));
  it('squeeze/unsqueeze', () => gradcheck((x) => g.unsqueeze(g.squeeze(x, 1), 0), [randLeaf([3, 1, 2])]));

  it('mse', () => gradcheck((p) => g.mse(p, g.tensor([0.1, -0.2, 0.3, 0.9, 2], [5], { dtype: 'float64' })), [randLeaf([5])]));
  it('mae (away from the kink)', () => gradcheck((p) => g.mae(p, g.tensor([3, -3, 3, -3, 3], [5], { dtype: 'float64' })), [randLeaf([5])]));
  it('bceWithLogits', () => gradcheck((p) => g.bceWithLogits(p, g.tensor([0, 1, 1, 0, 0.5, 1], [6], { dtype: 'float64' })), [randLeaf([6], -4, 4)]));
  it('crossEntropy', () => gradcheck((z) => g.crossEntropy(z, g.tensor([0, 3, 1], [3], { dtype: 'float64' })), [randLeaf([3, 4], -3, 3)]));
  it('a composite graph reusing inputs', () =>
    gradcheck((a, b) => g.mean(g.relu(g.add(g.matmul(a, b), g.mul(a, 0.5).sum(1, true)))).mul(g.sigmoid(a).sum()), [randLeaf([3, 3], -1, 1, 8), randLeaf([3, 3], -1, 1, 9)]));
  it('cast float64 -> float32 -> float64 passes the gradient', () => {
    const x = randLeaf([4]);
    gradcheck((t) => g.cast(g.cast(t, 'float32'), 'float64'), [x], { atol: 1e-3, rtol: 1e-3, eps: 1e-3 });
  });
});
