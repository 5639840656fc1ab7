/**
 * nn.Conv2d under sp / wn / gmp and the pooling layers: float64 gradient checks of the input and
 * of every parameter (strides 1/2, 'same'/'valid', 1×1/3×3/7×7, odd sizes, Cin = 1 and Cin = 5),
 * parameter names and shapes, the spec's initialization (GMP_SPEC.md §3: Glorot bound with
 * n = kh·kw·Cin, m = Cout; all three parameterizations equal the zero-bias SP layer at init).
 */
import { expect } from 'chai';
import * as g from '../../src';
import { expectClose, expectGmpnnError, gradcheck, gradcheckParams, randLeaf } from '../helpers';

const f64 = { dtype: 'float64' } as const;

function weightedLoss(y: g.Tensor): g.Tensor {
  const w = g.randUniform([...y.shape], -1, 1, { dtype: y.dtype, seed: 123 });
  return g.sum(g.mul(y, w));
}

// [Cin, Cout, K, stride, padding, input [N, H, W]]
const geometries: [number, number, number, number, 'same' | 'valid' | number, [number, number, number]][] = [
  [1, 3, 3, 1, 'same', [2, 5, 5]], // Cin = 1
  [5, 2, 3, 2, 'same', [1, 6, 5]], // Cin = 5, stride 2, asymmetric 'same'
  [3, 2, 1, 1, 'valid', [2, 3, 4]], // 1×1
  [2, 2, 7, 2, 3, [1, 7, 7]], // 7×7/2 padding 3
  [2, 3, 3, 2, 'valid', [1, 7, 6]], // 'valid' stride 2, odd size
];

describe('nn.Conv2d: float64 gradient checks of input and parameters', () => {
  for (const parameterization of ['sp', 'wn', 'gmp'] as const) {
    for (const [Cin, Cout, K, stride, padding, [N, H, W]] of geometries) {
      const activation = K === 7 ? 'none' : 'relu';
      it(`${parameterization}, ${K}x${K} ${Cin}->${Cout}, stride ${stride}, padding ${padding}, ${activation}`, () => {
        g.manualSeed(9 + K + Cin);
        const layer = new g.nn.Conv2d(Cin, Cout, K, { stride, padding, parameterization, activation, ...f64 });
        const b = layer.parameterization === 'gmp' ? layer.lambda! : layer.bias!;
        g.assign(b, Array.from({ length: Cout }, (_, i) => 0.1 * (i + 1) * (i % 2 ? -1 : 1))); // exercise the bias
        const x = randLeaf([N, H, W, Cin], -1, 1, 4);
        gradcheck((xi) => layer.forward(xi), [x]);
        gradcheckParams(() => weightedLoss(layer.forward(x.detach())), layer.parameters());
      });
    }
  }
  it('sp without bias; gmp with fan-in 1 (1×1 kernel, Cin = 1)', () => {
    const sp = new g.nn.Conv2d(2, 3, 3, { bias: false, padding: 1, activation: 'relu', ...f64 });
    expect(sp.bias).to.equal(null);
    const x = randLeaf([1, 4, 4, 2], -1, 1, 5);
    gradcheck((xi) => sp.forward(xi), [x]);
    gradcheckParams(() => weightedLoss(sp.forward(x.detach())), sp.parameters());
    const one = new g.nn.Conv2d(1, 3, 1, { parameterization: 'gmp', activation: 'relu', ...f64 });
    expect(one.theta).to.equal(null);
    expect(one.direction!.shape).to.deep.equal([3, 1]);
    const x1 = randLeaf([2, 3, 3, 1], -1, 1, 6);
    gradcheck((xi) => one.forward(xi), [x1]);
    gradcheckParams(() => weightedLoss(one.forward(x1.detach())), one.parameters());
  });
});

describe('nn.Conv2d: parameters and initialization (GMP_SPEC.md §3)', () => {
  it('parameter names and shapes match nn.Linear', () => {
    const shapes = (m: g.nn.Module) => Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.shape]));
    expect(shapes(new g.nn.Conv2d(3, 4, 3))).to.deep.equal({ weight: [4, 3, 3, 3], bias: [4] });
    expect(shapes(new g.nn.Conv2d(3, 4, 3, { parameterization: 'wn' }))).to.deep.equal({ v: [4, 3, 3, 3], g: [4, 1], bias: [4] });
    expect(shapes(new g.nn.Conv2d(3, 4, [3, 5], { parameterization: 'gmp' }))).to.deep.equal({ lambda: [4], theta: [4, 44], radius: [4] });
  });
  it('Glorot bound uses n = kh·kw·Cin and m = Cout', () => {
    g.manualSeed(1);
    const l = new g.nn.Conv2d(16, 8, 3, { ...f64 });
    const t = Math.sqrt(6 / (3 * 3 * 16 + 8));
    const w = l.weight!.dataSync();
    let mx = 0;
    for (const v of w) mx = Math.max(mx, Math.abs(v));
    expect(mx).to.be.at.most(t);
    expect(mx).to.be.above(0.9 * t);
  });
  it('sp, wn and gmp compute the same zero-bias layer at initialization', () => {
    for (const [Cin, K] of [[1, 3], [3, 3], [2, 1]]) {
      const x = g.randn([2, 5, 5, Cin], { ...f64, seed: 1 });
      const ys = (['sp', 'wn', 'gmp'] as const).map((parameterization) => {
        g.manualSeed(77);
        const l = new g.nn.Conv2d(Cin, 6, K, { parameterization, activation: 'relu', padding: 'same', ...f64 });
        return l.forward(x).dataSync();
      });
      expectClose(ys[1], ys[0], 1e-12, 1e-10, `wn Cin ${Cin}`);
      expectClose(ys[2], ys[0], 1e-12, 1e-10, `gmp Cin ${Cin}`);
    }
  });
  it('rejects bad arguments and inputs with clear messages', () => {
    expectGmpnnError(() => new g.nn.Conv2d(0, 3, 3), 'E_ARG', /inChannels/);
    expectGmpnnError(() => new g.nn.Conv2d(2, 3, 0), 'E_ARG', /kernelSize/);
    expectGmpnnError(() => new g.nn.Conv2d(2, 3, 3, { padding: 'full' as never }), 'E_ARG', /padding/);
    const l = new g.nn.Conv2d(2, 3, 3);
    expectGmpnnError(() => l.forward(g.zeros([1, 4, 4, 3])), 'E_SHAPE', /expected input \[N, H, W, 2\]/);
  });
});

describe('pooling layers', () => {
  it('MaxPool2d, AvgPool2d, GlobalAvgPool2d shapes and gradients', () => {
    const x = randLeaf([2, 5, 4, 3], -1, 1, 9);
    expect(new g.nn.MaxPool2d(2).forward(x).shape).to.deep.equal([2, 2, 2, 3]);
    expect(new g.nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(x).shape).to.deep.equal([2, 3, 2, 3]);
    expect(new g.nn.AvgPool2d(2, { stride: 1 }).forward(x).shape).to.deep.equal([2, 4, 3, 3]);
    expect(new g.nn.GlobalAvgPool2d().forward(x).shape).to.deep.equal([2, 3]);
    gradcheck((xi) => new g.nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(xi), [x]);
    gradcheck((xi) => new g.nn.AvgPool2d(2, { stride: 1 }).forward(xi), [x]);
    gradcheck((xi) => new g.nn.GlobalAvgPool2d().forward(xi), [x]);
  });
  it('a small GmP conv stack trains a step without leaking tensors', () => {
    const net = new g.nn.Sequential(
      new g.nn.Conv2d(1, 4, 3, { parameterization: 'gmp', activation: 'relu', padding: 'same' }),
      new g.nn.MaxPool2d(2),
      new g.nn.Conv2d(4, 4, 3, { parameterization: 'gmp', activation: 'relu', padding: 'same' }),
      new g.nn.GlobalAvgPool2d(),
      new g.nn.Linear(4, 2),
    );
    const opt = new g.optim.SGD(net.parameters(), { lr: 0.1 });
    const x = g.randn([4, 8, 8, 1], { seed: 3 });
    const step = () =>
      g.tidy(() => {
        opt.zeroGrad();
        const loss = g.sum(g.square(net.forward(x)));
        loss.backward();
        opt.step();
        return loss.item();
      });
    const first = step();
    const before = g.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(g.memory().numTensors).to.equal(before);
    expect(step()).to.be.below(first);
  });
});
