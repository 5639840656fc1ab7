import { expect } from 'chai';
import * as g from '../../src';
import { expectClose, expectGmpnnError, gradcheck, gradcheckParams, randLeaf } from '../helpers';
import { native } from '../../src/native';
import { callNative } from '../../src/errors';

const f64 = { dtype: 'float64' } as const;

/** A loss that weighs every output element differently, so each one matters. */
function weightedLoss(y: g.Tensor): g.Tensor {
  const w = g.randUniform([...y.shape], -1, 1, { dtype: y.dtype, seed: 123 });
  return g.sum(g.mul(y, w));
}

describe('nn.Linear: float64 gradient checks of input and parameters', () => {
  for (const parameterization of ['sp', 'wn', 'gmp'] as const) {
    for (const activation of ['relu', 'none'] as const) {
      for (const inF of [1, 2, 5]) {
        it(`${parameterization}, ${activation}, fan-in ${inF}`, () => {
          g.manualSeed(5 + inF);
          const layer = new g.nn.Linear(inF, 3, { parameterization, activation, ...f64 });
          const b = layer.parameterization === 'gmp' ? layer.lambda! : layer.bias!;
          g.assign(b, [0.3, -0.2, 0.1]); // exercise the bias path
          const x = randLeaf([7, inF], -1, 1, 2);
          gradcheck((xi) => layer.forward(xi), [x]);
          gradcheckParams(() => weightedLoss(layer.forward(x.detach())), layer.parameters());
        });
      }
    }
  }
});

describe('GmP layer semantics (GMP_SPEC.md §3)', () => {
  it('parameters are named and shaped as the spec', () => {
    const l = new g.nn.Linear(5, 4, { parameterization: 'gmp', activation: 'relu' });
    expect(Object.fromEntries(l.namedParameters().map(([n, p]) => [n, p.shape]))).to.deep.equal({ lambda: [4], theta: [4, 4], radius: [4] });
    expect(Array.from(l.lambda!.dataSync())).to.deep.equal([0, 0, 0, 0]);
  });
  it('at initialization equals the zero-bias Glorot SP layer from the same draw', () => {
    for (const inF of [1, 3, 17]) {
      g.manualSeed(77);
      const gmp = new g.nn.Linear(inF, 6, { parameterization: 'gmp', activation: 'relu', ...f64 });
      g.manualSeed(77);
      const sp = new g.nn.Linear(inF, 6, { parameterization: 'sp', activation: 'relu', ...f64 });
      const x = g.randn([9, inF], { ...f64, seed: 1 });
      expectClose(gmp.forward(x).dataSync(), sp.forward(x).dataSync(), 1e-12, 1e-10, `fan-in ${inF}`);
    }
  });
  it('y = r ⊙ ReLU(u(θ)ᵀx + λ) with r applied after the activation (r may be negative)', () => {
    const l = new g.nn.Linear(2, 2, { parameterization: 'gmp', activation: 'relu', ...f64 });
    l.loadStateDict({
      theta: g.tensor([[0], [Math.PI / 2]], [2, 1], f64),
      lambda: g.tensor([0.5, -1], [2], f64),
      radius: g.tensor([2, -3], [2], f64),
    });
    const y = l.forward(g.tensor([[1, 2], [-3, 4]], [2, 2], f64));
    // unit 0: u = (1, 0): z = x0 + 0.5; unit 1: u = (0, 1): z = x1 − 1
    expectClose(y.dataSync(), [2 * 1.5, -3 * 1, 0, -3 * 3], 1e-12, 1e-12);
  });
  // With fan-in ≤ 16 and 4+ rows the CPU folds r into the product when every r > 0 (its Z is then
  // r ⊙ z: the backward reads only signs), and keeps r ⊙ act(z) when one is ≤ 0: both checked.
  for (const radius of [[1.5, 0.7, 0.2], [1.5, -0.7, 0.2]]) {
    it(`gradients with radius [${radius.join(', ')}] (${radius.every((v) => v > 0) ? 'folded' : 'unfolded'} product)`, () => {
      g.manualSeed(9);
      const l = new g.nn.Linear(5, 3, { parameterization: 'gmp', activation: 'relu', ...f64 });
      g.assign(l.radius!, radius);
      g.assign(l.lambda!, [0.3, -0.2, 0.1]);
      const x = randLeaf([8, 5], -1, 1, 4);
      gradcheck((xi) => l.forward(xi), [x]);
      gradcheckParams(() => weightedLoss(l.forward(x.detach())), l.parameters());
      // y = r ⊙ relu(x·u(θ)ᵀ + λ), from the direction and an explicit product.
      const u = g.gmpDirection(l.theta!);
      const z = g.add(g.matmul(x.detach(), g.transpose(u)), l.lambda!);
      expectClose(l.forward(x.detach()).dataSync(), g.mul(g.relu(z), l.radius!).dataSync(), 1e-13, 1e-12);
    });
  }
  it('the gradient stays finite and exact where sin θ = 0', () => {
    const l = new g.nn.Linear(4, 2, { parameterization: 'gmp', activation: 'none', ...f64 });
    l.loadStateDict({
      theta: g.tensor([[0, 0, 0], [Math.PI, 0, Math.PI]], [2, 3], f64),
      lambda: g.tensor([0.1, 0.2], [2], f64),
      radius: g.tensor([1.5, 0.7], [2], f64),
    });
    const x = g.randn([5, 4], { ...f64, seed: 2 });
    const loss = () => weightedLoss(l.forward(x));
    gradcheckParams(loss, l.parameters());
    for (const v of l.theta!.grad!.dataSync()) expect(Number.isFinite(v)).to.equal(true);
  });
  it('the official |x_n| initialization makes every last coordinate non-negative', () => {
    g.manualSeed(3);
    const l = new g.nn.Linear(3, 64, { parameterization: 'gmp', officialAbsLast: true, ...f64 });
    const u = g.gmpDirection(l.theta!).toArray() as number[][];
    for (const row of u) expect(row[2]).to.be.at.least(0);
    g.manualSeed(3);
    const d = new g.nn.Linear(3, 64, { parameterization: 'gmp', ...f64 });
    const ud = g.gmpDirection(d.theta!).toArray() as number[][];
    expect(ud.some((row) => row[2] < 0)).to.equal(true);
  });
});

describe('GmP layer workspace (u(θ), sin/cos cache, dU reused across steps)', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`${dtype}: the layer's output and gradients equal the functional gmpLinear's, step after step`, () => {
      g.manualSeed(11);
      const layer = new g.nn.Linear(6, 5, { parameterization: 'gmp', activation: 'relu', dtype });
      g.assign(layer.lambda!, [0.2, -0.1, 0.05, 0.3, -0.25]);
      const opt = new g.optim.Adam(layer.parameters(), { lr: 0.05 });
      for (let step = 0; step < 3; step++) {
        const x = g.keep(g.randn([9, 6], { dtype, seed: 40 + step }));
        x.requiresGrad = true;
        g.tidy(() => {
          opt.zeroGrad();
          const yl = layer.forward(x);
          weightedLoss(yl).backward();
          const got = [yl, x.grad!, layer.theta!.grad!, layer.lambda!.grad!, layer.radius!.grad!].map((t) => Array.from(t.dataSync()));
          const leaf = (t: g.Tensor): g.Tensor => {
            const d = t.detach();
            d.requiresGrad = true;
            return d;
          };
          const th = leaf(layer.theta!), la = leaf(layer.lambda!), ra = leaf(layer.radius!), x2 = leaf(x);
          const yf = g.gmpLinear(x2, th, la, ra, 'relu');
          weightedLoss(yf).backward();
          const want = [yf, x2.grad!, th.grad!, la.grad!, ra.grad!].map((t) => Array.from(t.dataSync()));
          for (let i = 0; i < got.length; i++) expect(got[i]).to.deep.equal(want[i], `step ${step} output ${i}`);
          x.grad!.dispose();
          x.grad = null;
          opt.step();
        });
      }
    });
  }
  it('two forwards before one backward (same θ) give each graph its own gradients', () => {
    g.manualSeed(12);
    const layer = new g.nn.Linear(4, 3, { parameterization: 'gmp', activation: 'relu', ...f64 });
    const xa = g.randn([5, 4], { ...f64, seed: 1 }), xb = g.randn([5, 4], { ...f64, seed: 2 });
    const ya = layer.forward(xa);
    layer.forward(xb); // rewrites the shared u(θ) and cache with the same values
    weightedLoss(ya).backward();
    const got = layer.parameters().map((p) => Array.from(p.grad!.dataSync()));
    layer.parameters().forEach((p) => { p.grad!.dispose(); p.grad = null; });
    weightedLoss(layer.forward(xa)).backward();
    const want = layer.parameters().map((p) => Array.from(p.grad!.dataSync()));
    expect(got).to.deep.equal(want);
  });
  it('u(θ) is left out where the backward does not read it, with the same values', () => {
    // x without a gradient (a first layer) and inference leave u(θ) unwritten (gmp.h); a frozen
    // θ keeps it, since dr then comes from W. Each against the layer with everything wanted.
    g.manualSeed(13);
    const layer = new g.nn.Linear(6, 5, { parameterization: 'gmp', activation: 'relu', ...f64 });
    g.assign(layer.lambda!, [0.2, -0.1, 0.05, 0.3, -0.25]);
    const x = g.randn([9, 6], { ...f64, seed: 3 });
    const run = (xGrad: boolean, thetaGrad: boolean): number[][] => {
      layer.parameters().forEach((p) => { p.grad?.dispose(); p.grad = null; });
      layer.theta!.requiresGrad = thetaGrad;
      const xi = x.detach();
      xi.requiresGrad = xGrad;
      const y = layer.forward(xi);
      weightedLoss(y).backward();
      const grads = [layer.lambda!.grad!, layer.radius!.grad!, ...(thetaGrad ? [layer.theta!.grad!] : [])];
      return [y, ...grads].map((t) => Array.from(t.dataSync()));
    };
    // Whether each forward passed a U buffer to the kernel.
    const passedU: boolean[] = [];
    const real = native.gmpDenseForwardTheta;
    native.gmpDenseForwardTheta = (...a: Parameters<typeof real>) => {
      passedU.push(a[2] !== null);
      return real(...a);
    };
    try {
      const all = run(true, true);
      const close = (got: number[][], want: number[][]): void =>
        got.forEach((a, i) => expectClose(a, want[i], 1e-13, 1e-12));
      close(run(false, true), all);
      close(run(false, false), all.slice(0, 3));
      layer.theta!.requiresGrad = true;
      const yEval = g.noGrad(() => layer.forward(x));
      expect(Array.from(yEval.dataSync())).to.deep.equal(all[0]);
      // x wants a gradient: U kept; first layer: left out; θ frozen: kept (dr from W); inference: left out.
      expect(passedU).to.deep.equal([true, false, true, false]);
    } finally {
      native.gmpDenseForwardTheta = real;
    }
    // A backward that would read the missing W is refused by the binding, naming the op.
    const t = (shape: number[]): g.Tensor => g.zeros(shape, f64);
    expectGmpnnError(
      () => callNative(() => native.gmpDenseBackward(t([2, 3]).buffer(), null, null, null, null, t([2, 4]).buffer(),
        t([2, 4]).buffer(), t([2, 4]).buffer(), t([2, 4]).buffer(), t([2, 3]).buffer(), null, null, null, null, null, 2, 3, 4, 1)),
      'E_ARG', /gmpDenseBackward: W is needed for dX/);
  });
  it('dispose() frees it, also through a parent module', () => {
    const before = g.memory().numTensors;
    const model = g.models.mlp({ inFeatures: 7, hidden: 8, out: 1, parameterization: 'gmp' });
    g.tidy(() => {
      g.mae(model.forward(g.randn([4, 7])), g.zeros([4, 1])).backward();
    });
    model.parameters().forEach((p) => p.grad?.dispose());
    model.dispose();
    expect(g.memory().numTensors).to.equal(before);
  });
});

describe('geometry', () => {
  it('toCartesian ∘ toHyperspherical is the identity', () => {
    const w = g.randn([8, 6], { ...f64, seed: 4 });
    const { theta, radius } = g.geometry.toHyperspherical(w);
    expectClose(g.geometry.toCartesian(theta, radius).dataSync(), w.dataSync(), 1e-12, 1e-12);
  });
  it('spatial location of a GmP unit is −λ·u(θ) and lies on its boundary', () => {
    const l = new g.nn.Linear(2, 3, { parameterization: 'gmp', activation: 'relu', ...f64 });
    l.loadStateDict({ ...l.stateDict(), lambda: g.tensor([1, -2, 0.5], [3], f64) });
    const b = g.geometry.characteristicBoundary(l);
    const u = g.gmpDirection(l.theta!).toArray() as number[][];
    const phi = b.spatialLocation.toArray() as number[][];
    [1, -2, 0.5].forEach((lam, i) => {
      expectClose(phi[i], [-lam * u[i][0], -lam * u[i][1]], 1e-12, 1e-12);
      expect(u[i][0] * phi[i][0] + u[i][1] * phi[i][1] + lam).to.be.closeTo(0, 1e-12);
    });
    expect(b.angle![0]).to.be.closeTo(Math.atan2(u[0][1], u[0][0]), 1e-12);
  });
  it('SP: φ = −b·w/‖w‖²; BN folds μ, σ, γ, β into the bias', () => {
    const l = new g.nn.Linear(2, 1, { parameterization: 'sp', ...f64 });
    l.loadStateDict({ weight: g.tensor([[3, 4]], [1, 2], f64), bias: g.tensor([5], [1], f64) });
    expectClose(g.geometry.characteristicBoundary(l).spatialLocation.dataSync(), [-5 * 3 / 25, -5 * 4 / 25], 1e-12, 1e-12);
    const bn = new g.nn.BatchNorm(1, f64);
    bn.loadStateDict({ weight: g.tensor([2], [1], f64), bias: g.tensor([1], [1], f64), runningMean: g.tensor([0.5], [1], f64), runningVar: g.tensor([4 - bn.eps], [1], f64) });
    // b_eff = 5 − 0.5 + 2·1/2 = 5.5
    expectClose(g.geometry.characteristicBoundary(l, bn).bias.dataSync(), [5.5], 1e-12, 1e-12);
  });
  it('wrapAngle maps into (−π, π]', () => {
    expect(g.geometry.wrapAngle(3 * Math.PI / 2)).to.be.closeTo(-Math.PI / 2, 1e-12);
    expect(g.geometry.wrapAngle(-Math.PI)).to.be.closeTo(Math.PI, 1e-12);
    expect(g.geometry.wrapAngle(0.25)).to.be.closeTo(0.25, 1e-12);
  });
});

describe('normalization layers', () => {
  it('BatchNorm: float64 gradient check in training mode, and train vs eval', () => {
    const bn = new g.nn.BatchNorm(3, f64);
    bn.loadStateDict({ ...bn.stateDict(), weight: g.tensor([1.5, 0.5, -1], [3], f64), bias: g.tensor([0.1, 0.2, 0.3], [3], f64) });
    const x = randLeaf([6, 3], -2, 2, 11);
    gradcheck((xi) => bn.forward(xi), [x]);
    gradcheckParams(() => weightedLoss(bn.forward(x.detach())), bn.parameters());
    // training normalizes with batch statistics: per-channel mean 0 (before the shift)
    const y = bn.forward(x.detach()).toArray() as number[][];
    const m = [0, 1, 2].map((c) => y.reduce((s, r) => s + r[c], 0) / 6);
    expectClose(m, [0.1, 0.2, 0.3], 1e-12, 0);
    bn.eval();
    const ye = bn.forward(x.detach());
    expect(Array.from(ye.dataSync())).to.not.deep.equal(y.flat());
    // eval: γ·(x − μ_run)/sqrt(σ²_run + ε) + β, fused without gradients, composed with them
    const [rm, rv, gw, gb] = [bn.runningMean, bn.runningVar, bn.weight, bn.bias].map((t) => Array.from(t.dataSync()));
    const xs = x.detach().toArray() as number[][];
    const want = xs.flatMap((r) => r.map((v, c) => (gw[c] * (v - rm[c])) / Math.sqrt(rv[c] + bn.eps) + gb[c]));
    expectClose(g.noGrad(() => bn.forward(x.detach())).dataSync(), want, 1e-12, 1e-12);
    expectClose(bn.forward(x).dataSync(), want, 1e-12, 1e-12);
  });
  it('MeanOnlyBatchNorm: centers in training, uses the running mean in eval, gradient (g − mean g)/sqrt(1+ε)', () => {
    const mbn = new g.nn.MeanOnlyBatchNorm(2, f64);
    const x = g.tensor([[1, 10], [3, 20], [5, 60]], [3, 2], { ...f64, requiresGrad: true });
    const y = mbn.forward(x);
    const s = 1 / Math.sqrt(1 + 1e-6);
    expectClose(y.dataSync(), [-2 * s, -20 * s, 0, -10 * s, 2 * s, 30 * s], 1e-12, 1e-12);
    // running mean moved 1% toward the batch mean (3, 30)
    expectClose(mbn.runningMean.dataSync(), [0.03, 0.3], 1e-12, 1e-12);
    mbn.eval();
    expectClose(mbn.forward(x).dataSync(), [0.97 * s, 9.7 * s, 2.97 * s, 19.7 * s, 4.97 * s, 59.7 * s], 1e-12, 1e-12);
    const fresh = new g.nn.MeanOnlyBatchNorm(2, f64);
    gradcheck((xi) => fresh.forward(xi), [randLeaf([4, 2], -1, 1, 3)]);
  });
  it('NHWC: statistics over every axis but the channel', () => {
    const mbn = new g.nn.MeanOnlyBatchNorm(2, f64);
    const x = g.randn([2, 3, 3, 2], { ...f64, seed: 8 });
    const y = mbn.forward(x);
    const sums = g.sum(y, [0, 1, 2]).dataSync();
    expectClose(sums, [0, 0], 1e-10, 0);
  });
});

describe('models.mlp', () => {
  it('builds every variant and trains one step', () => {
    for (const v of ['sp', 'wn', 'bn', 'wn_mbn', 'gmp'] as const) {
      const m = g.models.mlp({ inFeatures: 3, hidden: [8, 8], out: 2, parameterization: v, imn: v === 'gmp' });
      const opt = new g.optim.Adam(m.parameters(), { lr: 0.01 });
      const x = g.randn([16, 3]);
      const before = g.tidy(() => g.mse(m.forward(x), g.zeros([16, 2])).item());
      for (let i = 0; i < 20; i++)
        g.tidy(() => { opt.zeroGrad(); g.mse(m.forward(x), g.zeros([16, 2])).backward(); opt.step(); });
      const after = g.tidy(() => g.mse(m.forward(x), g.zeros([16, 2])).item());
      expect(after, v).to.be.lessThan(before);
    }
  });
});
