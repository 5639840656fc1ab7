import { expect } from 'chai';
import * as g from '../src';
import { expectClose, expectGmpnnError } from './helpers';
import { record } from '../src/autograd';

describe('tensor: creation and readback', () => {
  it('round-trips nested arrays, typed arrays and scalars', () => {
    const a = g.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(a.shape).to.deep.equal([2, 3]);
    expect(a.dtype).to.equal('float32');
    expect(a.toArray()).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
    const b = g.tensor(new Float64Array([0.1, 0.2]), [2, 1]);
    expect(b.dtype).to.equal('float64');
    expect(b.toArray()).to.deep.equal([[0.1], [0.2]]);
    expect(g.tensor(3.5).item()).to.equal(3.5);
    expect(g.tensor(3.5).shape).to.deep.equal([]);
    a.dispose(); b.dispose();
  });
  it('fills constants', () => {
    expect(Array.from(g.full([2, 2], 7, { dtype: 'float64' }).dataSync())).to.deep.equal([7, 7, 7, 7]);
    expect(Array.from(g.zeros([3]).dataSync())).to.deep.equal([0, 0, 0]);
    expect(Array.from(g.ones([0]).dataSync())).to.deep.equal([]);
  });
  it('reads back asynchronously', async () => {
    const t = g.tensor([1, 2, 3], [3], { dtype: 'float64' });
    const d = await t.data();
    expect(Array.from(d)).to.deep.equal([1, 2, 3]);
    t.dispose();
  });
  it('dispose during an async read keeps the data valid', async () => {
    const t = g.full([100000], 2);
    const p = t.data();
    t.dispose();
    const d = await p;
    expect(d[99999]).to.equal(2);
  });
  it('casts between dtypes', () => {
    const t = g.tensor([1.5, -2.25], [2]).to('float64');
    expect(t.dtype).to.equal('float64');
    expect(Array.from(t.dataSync())).to.deep.equal([1.5, -2.25]);
  });
});

describe('tensor: seeded random numbers', () => {
  it('are reproducible from the seed and differ across draws', () => {
    g.manualSeed(42);
    const a = g.rand([1000]).dataSync();
    const b = g.rand([1000]).dataSync();
    g.manualSeed(42);
    const a2 = g.rand([1000]).dataSync();
    expect(Array.from(a)).to.deep.equal(Array.from(a2));
    expect(Array.from(a)).to.not.deep.equal(Array.from(b));
  });
  it('uniform draws have the right range and moments', () => {
    const u = g.randUniform([200000], -2, 4, { dtype: 'float64', seed: 1 }).dataSync();
    let s = 0, s2 = 0, lo = Infinity, hi = -Infinity;
    for (const x of u) { s += x; s2 += x * x; lo = Math.min(lo, x); hi = Math.max(hi, x); }
    const mean = s / u.length, variance = s2 / u.length - mean * mean;
    expect(lo).to.be.greaterThan(-2); expect(hi).to.be.lessThan(4);
    expect(mean).to.be.closeTo(1, 0.02);
    expect(variance).to.be.closeTo(3, 0.03); // (b-a)²/12
  });
  it('normal draws have mean and std as asked', () => {
    const n = g.randn([200000], { dtype: 'float64', seed: 3, mean: 1, std: 2 }).dataSync();
    let s = 0, s2 = 0;
    for (const x of n) { s += x; s2 += x * x; }
    const mean = s / n.length;
    expect(mean).to.be.closeTo(1, 0.02);
    expect(Math.sqrt(s2 / n.length - mean * mean)).to.be.closeTo(2, 0.02);
  });
  it('a float32 draw equals the float64 draw rounded', () => {
    const a = g.randUniform([64], 0, 1, { dtype: 'float32', seed: 9 }).dataSync();
    const b = g.randUniform([64], 0, 1, { dtype: 'float64', seed: 9 }).dataSync();
    expectClose(a, Float32Array.from(b), 0, 0);
  });
});

describe('ops: forward values', () => {
  it('elementwise with broadcasting', () => {
    const a = g.tensor([[1, 2, 3], [4, 5, 6]]);
    const b = g.tensor([10, 20, 30]);
    expect(g.add(a, b).toArray()).to.deep.equal([[11, 22, 33], [14, 25, 36]]);
    expect(g.sub(a, g.tensor([[1], [2]])).toArray()).to.deep.equal([[0, 1, 2], [2, 3, 4]]);
    expect(g.mul(a, 2).toArray()).to.deep.equal([[2, 4, 6], [8, 10, 12]]);
    expect(g.relu(g.tensor([-1, 0, 2])).toArray()).to.deep.equal([0, 0, 2]);
    expect(g.maximum(a, g.tensor(3)).toArray()).to.deep.equal([[3, 3, 3], [4, 5, 6]]);
  });
  it('reductions', () => {
    const a = g.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(g.sum(a).item()).to.equal(21);
    expect(g.sum(a, 0).toArray()).to.deep.equal([5, 7, 9]);
    expect(g.mean(a, 1).toArray()).to.deep.equal([2, 5]);
    expect(g.max(a, 1).toArray()).to.deep.equal([3, 6]);
    expect(g.min(a).item()).to.equal(1);
    expect(g.argmax(g.tensor([[1, 9, 3], [7, 5, 7]]), 1).toArray()).to.deep.equal([1, 0]);
  });
  it('layout', () => {
    const a = g.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(g.transpose(a).toArray()).to.deep.equal([[1, 4], [2, 5], [3, 6]]);
    expect(g.slice(a, [0, 1], [2, 2]).toArray()).to.deep.equal([[2, 3], [5, 6]]);
    expect(g.concat([a, a], 0).shape).to.deep.equal([4, 3]);
    expect(g.concat([a, g.tensor([[7], [8]])], 1).toArray()).to.deep.equal([[1, 2, 3, 7], [4, 5, 6, 8]]);
    expect(a.reshape([3, -1]).toArray()).to.deep.equal([[1, 2], [3, 4], [5, 6]]);
    expect(g.broadcastTo(g.tensor([1, 2]), [2, 2]).toArray()).to.deep.equal([[1, 2], [1, 2]]);
  });
  it('matmul against a hand product', () => {
    const a = g.tensor([[1, 2], [3, 4], [5, 6]]);
    const b = g.tensor([[1, 0, 2], [0, 1, 3]]);
    expect(g.matmul(a, b).toArray()).to.deep.equal([[1, 2, 8], [3, 4, 18], [5, 6, 28]]);
  });
  it('losses', () => {
    const p = g.tensor([1, 2, 3], [3], { dtype: 'float64' });
    const t = g.tensor([1, 0, 5], [3], { dtype: 'float64' });
    expect(g.mse(p, t).item()).to.be.closeTo((0 + 4 + 4) / 3, 1e-12);
    expect(g.mae(p, t).item()).to.be.closeTo((0 + 2 + 2) / 3, 1e-12);
    const z = g.tensor([0, 100, -100], [3], { dtype: 'float64' });
    const y = g.tensor([1, 1, 0], [3], { dtype: 'float64' });
    expect(g.bceWithLogits(z, y).item()).to.be.closeTo(Math.log(2) / 3, 1e-12);
    const logits = g.tensor([[0, 0], [1000, 0]], [2, 2], { dtype: 'float64' });
    expect(g.crossEntropy(logits, g.tensor([0, 1], [2], { dtype: 'float64' })).item()).to.be.closeTo((Math.log(2) + 1000) / 2, 1e-9);
  });
});

describe('autograd', () => {
  it('accumulates gradients across backward calls', () => {
    const x = g.tensor([1, 2], [2], { requiresGrad: true });
    g.sum(g.mul(x, 3)).backward();
    g.sum(g.mul(x, 3)).backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([6, 6]);
  });
  it('noGrad records nothing', () => {
    const x = g.tensor([1, 2], [2], { requiresGrad: true });
    const y = g.noGrad(() => g.mul(x, 2));
    expect(y.requiresGrad).to.equal(false);
    expect(y.gradFn).to.equal(null);
  });
  it('refuses backward from a non-scalar without a gradient', () => {
    const x = g.tensor([1, 2], [2], { requiresGrad: true });
    expectGmpnnError(() => g.mul(x, 2).backward(), 'E_SHAPE', /one-element/);
  });
  it('detach cuts the graph', () => {
    const x = g.tensor([1, 2], [2], { requiresGrad: true });
    const y = g.mul(x.detach(), x);
    g.sum(y).backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([1, 2]);
  });
  it('sums the gradients of a tensor used several times, and leaves only .grad behind', () => {
    const x = g.tensor([0.5, -2, 3], [3], { dtype: 'float64', requiresGrad: true });
    const before = g.memory().numTensors;
    g.tidy(() => {
      // x·x + (x + x) + x: the same input twice in one op (mul, and add, whose rule hands one
      // tensor to both inputs), and paths of different lengths meeting again.
      const y = g.add(g.add(g.mul(x, x), g.add(x, x)), x);
      g.sum(y).backward();
    });
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([4, -1, 9]); // 2x + 3
    expect(g.memory().numTensors).to.equal(before + 1); // x.grad
    x.grad!.dispose();
    x.grad = null;
  });
  it('a rule that throws leaves the next backward pass correct', () => {
    const x = g.tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const bad = record(g.mul(x, 1), 'bad', [x], () => {
      throw new Error('rule failed');
    });
    expect(() => g.sum(g.add(bad, x)).backward()).to.throw('rule failed');
    // The failed pass had already handed x a pending gradient (through add); it must not leak
    // into this pass.
    x.grad?.dispose();
    x.grad = null;
    g.sum(g.mul(x, 2)).backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([2, 2]);
  });
  it('a deep chain (5,000 ops) does not overflow the stack', () => {
    const x = g.tensor([1], [1], { dtype: 'float64', requiresGrad: true });
    g.tidy(() => {
      let h = x;
      for (let i = 0; i < 5000; i++) h = g.add(h, 0.001);
      g.sum(h).backward();
    });
    expect(x.grad!.item()).to.equal(1);
  });
});
