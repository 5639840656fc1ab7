import { expect } from 'chai';
import * as g from '../../src';
import { expectClose } from '../helpers';

const f64 = { dtype: 'float64' } as const;

/** Runs `steps` updates with the given per-step gradients and returns the parameter trajectory. */
function run(opt: g.optim.Optimizer, p: g.Tensor, grads: number[][]): number[][] {
  const traj: number[][] = [];
  for (const gr of grads) {
    p.grad?.dispose();
    p.grad = g.keep(g.tensor(gr, [gr.length], f64));
    opt.step();
    traj.push(Array.from(p.dataSync()));
  }
  return traj;
}

const grads = [[0.5, -1, 2], [0.1, 0.3, -0.2], [-1, 0.4, 0.05], [0.2, 0.2, 0.2]];

describe('optim: updates match the torch.optim formulas', () => {
  it('SGD plain, with weight decay', () => {
    const p = g.tensor([1, 2, 3], [3], { ...f64, requiresGrad: true });
    const traj = run(new g.optim.SGD([p], { lr: 0.1, weightDecay: 0.01 }), p, grads);
    let x = [1, 2, 3];
    grads.forEach((gr, t) => {
      x = x.map((xi, i) => xi - 0.1 * (gr[i] + 0.01 * xi));
      expectClose(traj[t], x, 1e-14, 1e-14, `step ${t}`);
    });
  });
  for (const nesterov of [false, true]) {
    it(`SGD momentum 0.9${nesterov ? ' Nesterov' : ', dampening 0.1'}`, () => {
      const p = g.tensor([1, 2, 3], [3], { ...f64, requiresGrad: true });
      const damp = nesterov ? 0 : 0.1;
      const traj = run(new g.optim.SGD([p], { lr: 0.05, momentum: 0.9, dampening: damp, nesterov }), p, grads);
      let x = [1, 2, 3];
      let buf: number[] | null = null;
      grads.forEach((gr, t) => {
        buf = buf === null ? [...gr] : buf.map((b, i) => 0.9 * b + (1 - damp) * gr[i]);
        const d = nesterov ? gr.map((gi, i) => gi + 0.9 * buf![i]) : buf;
        x = x.map((xi, i) => xi - 0.05 * d[i]);
        expectClose(traj[t], x, 1e-14, 1e-13, `step ${t}`);
      });
    });
  }
  for (const decoupled of [false, true]) {
    it(decoupled ? 'AdamW' : 'Adam with L2 weight decay', () => {
      const p = g.tensor([1, 2, 3], [3], { ...f64, requiresGrad: true });
      const opt = decoupled ? new g.optim.AdamW([p], { lr: 0.01, weightDecay: 0.1 }) : new g.optim.Adam([p], { lr: 0.01, weightDecay: 0.1 });
      const traj = run(opt, p, grads);
      let x = [1, 2, 3];
      let m = [0, 0, 0], v = [0, 0, 0];
      grads.forEach((gr0, t) => {
        const step = t + 1;
        if (decoupled) x = x.map((xi) => xi * (1 - 0.01 * 0.1));
        const gr = decoupled ? gr0 : gr0.map((gi, i) => gi + 0.1 * x[i]);
        m = m.map((mi, i) => 0.9 * mi + 0.1 * gr[i]);
        v = v.map((vi, i) => 0.999 * vi + 0.001 * gr[i] * gr[i]);
        x = x.map((xi, i) => xi - 0.01 * (m[i] / (1 - 0.9 ** step)) / (Math.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8));
        expectClose(traj[t], x, 1e-13, 1e-12, `step ${t}`);
      });
    });
  }
  it('float32 Adam agrees with float64 to float32 precision', () => {
    const p32 = g.tensor([1, 2, 3], [3], { requiresGrad: true });
    const p64 = g.tensor([1, 2, 3], [3], { ...f64, requiresGrad: true });
    const o32 = new g.optim.Adam([p32], { lr: 0.1 });
    const o64 = new g.optim.Adam([p64], { lr: 0.1 });
    for (const gr of grads) {
      p32.grad?.dispose(); p64.grad?.dispose();
      p32.grad = g.keep(g.tensor(gr, [3]));
      p64.grad = g.keep(g.tensor(gr, [3], f64));
      o32.step(); o64.step();
    }
    expectClose(p32.dataSync(), p64.dataSync(), 1e-6, 1e-6);
  });
  it('one Adam over several tensors (one native call) equals one Adam per tensor, and skips tensors without a gradient', () => {
    const init = [[1, 2, 3], [-0.5], [4, 5]];
    const mk = () => init.map((v) => g.tensor(v, [v.length], { ...f64, requiresGrad: true }));
    const joint = mk();
    const alone = mk();
    const oj = new g.optim.Adam(joint, { lr: 0.05, weightDecay: 0.01 });
    const oa = alone.map((p) => new g.optim.Adam([p], { lr: 0.05, weightDecay: 0.01 }));
    for (let t = 0; t < 4; t++) {
      for (let i = 0; i < init.length; i++) {
        // tensor 1 has no gradient at step 2: neither its value nor its step count moves
        const has = !(i === 1 && t === 2);
        for (const ps of [joint, alone]) {
          ps[i].grad?.dispose();
          ps[i].grad = has ? g.keep(g.tensor(init[i].map((x, k) => Math.sin(x * (t + 1) + k)), [init[i].length], f64)) : null;
        }
      }
      oj.step();
      oa.forEach((o) => o.step());
      for (let i = 0; i < init.length; i++) expect(Array.from(joint[i].dataSync())).to.deep.equal(Array.from(alone[i].dataSync()), `step ${t} tensor ${i}`);
    }
  });
  it('a bad tensor in a joint Adam step is refused before any tensor moves', () => {
    const a = g.tensor([1, 2], [2], { ...f64, requiresGrad: true });
    const b = g.tensor([3, 4, 5], [3], { ...f64, requiresGrad: true });
    const opt = new g.optim.Adam([a, b], { lr: 0.1 });
    a.grad = g.keep(g.tensor([1, 1], [2], f64));
    b.grad = g.keep(g.tensor([1, 1], [2], f64)); // too short for b
    expect(() => opt.step()).to.throw(/adamStepMany.*grad/);
    expect(Array.from(a.dataSync())).to.deep.equal([1, 2]);
    expect(Array.from(b.dataSync())).to.deep.equal([3, 4, 5]);
    b.grad.dispose();
    b.grad = g.keep(g.tensor([1, 1, 1], [3], f64));
    opt.step(); // the refused step did not count: this is step 1 for both (Δ = lr·1/(1 + eps))
    const d = 0.1 / (1 + 1e-8);
    expectClose(a.dataSync(), [1 - d, 2 - d], 1e-14, 1e-14);
    expectClose(b.dataSync(), [3 - d, 4 - d, 5 - d], 1e-14, 1e-14);
  });
  it('a tensor listed twice is refused, naming both places (it would be updated twice a step)', () => {
    const a = g.tensor([1, 2], [2], { ...f64, requiresGrad: true });
    const b = g.tensor([3], [1], { ...f64, requiresGrad: true });
    for (const make of [(ps: g.Tensor[]) => new g.optim.Adam(ps), (ps: g.Tensor[]) => new g.optim.SGD(ps, { lr: 0.1 })])
      expect(() => make([a, b, a])).to.throw(/parameter 2 \(shape \[2\]\) is the same tensor as parameter 0/);
    expect(() => new g.optim.Adam([a, b])).not.to.throw();
  });
  // Optimizer `a` takes two steps; `b` (built with another LR), after `before` steps of its own,
  // loads a's parameter and state; then both take the remaining steps, which must match.
  function resumeMatches(make: (p: g.Tensor, lr: number) => g.optim.Optimizer, before: number[][]): void {
    const mk = () => g.tensor([1, 2, 3], [3], { ...f64, requiresGrad: true });
    const pa = mk(), pb = mk();
    const a = make(pa, 0.01);
    run(a, pa, grads.slice(0, 2));
    const b = make(pb, 0.5);
    if (before.length > 0) run(b, pb, before);
    g.assign(pb, pa);
    const sd = a.stateDict();
    b.loadStateDict({ ...sd, slots: Object.fromEntries(Object.entries(sd.slots).map(([k, t]) => [k, g.clone(t)])) });
    const ta = run(a, pa, grads.slice(2));
    const tb = run(b, pb, grads.slice(2));
    expect(tb).to.deep.equal(ta);
  }
  const adam = (p: g.Tensor, lr: number) => new g.optim.Adam([p], { lr });
  // Dampening 0.1: a first step copies the gradient into the momentum buffer, a later one takes
  // 0.9 of it, so a buffer taken for a first step (or a first step missed) shows.
  const sgd = (p: g.Tensor, lr: number) => new g.optim.SGD([p], { lr, momentum: 0.9, dampening: 0.1 });
  it('state dict round trip continues the same trajectory', () => resumeMatches(adam, []));
  it('state dict loaded into an optimizer that has already stepped replaces its moments and steps', () =>
    // b's own moments and step count, held between steps, must all give way
    resumeMatches(adam, grads.slice(1, 4)));
  it('SGD: a loaded momentum buffer is no first step', () => resumeMatches(sgd, []));
  it('SGD: a disposed optimizer starts afresh', () => {
    const pa = g.tensor([1, 2, 3], [3], { ...f64, requiresGrad: true });
    const a = sgd(pa, 0.05);
    run(a, pa, grads.slice(0, 2));
    const pc = g.clone(pa);
    pc.requiresGrad = true;
    a.dispose();
    expect(run(a, pa, grads)).to.deep.equal(run(sgd(pc, 0.05), pc, grads));
  });
});

describe('optim: schedules and early stopping', () => {
  it('ReduceLROnPlateau cuts the LR after `patience` epochs without improvement', () => {
    const p = g.zeros([1], { requiresGrad: true });
    const opt = new g.optim.SGD([p], { lr: 1 });
    const s = new g.optim.ReduceLROnPlateau(opt, { patience: 2, factor: 0.1 });
    const lrs = [5, 4, 4, 4, 3, 3, 3, 3].map((v) => (s.step(v), opt.lr));
    expectClose(lrs, [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01], 1e-15, 1e-12);
  });
  it('EarlyStopping stops after patience and restores the best weights', () => {
    const w = g.tensor([0], [1], f64);
    const es = new g.optim.EarlyStopping({ mode: 'max', patience: 2 });
    const accs = [0.5, 0.7, 0.6, 0.65];
    const stops = accs.map((a, epoch) => {
      g.assign(w, [epoch]);
      return es.step(a, epoch, [w]);
    });
    expect(stops).to.deep.equal([false, false, false, true]);
    expect(es.bestEpoch).to.equal(1);
    expect(es.restoreBest()).to.equal(true);
    expect(w.item()).to.equal(1);
    es.dispose();
  });
  it('cosine and step schedules', () => {
    const opt = new g.optim.SGD([g.zeros([1], { requiresGrad: true })], { lr: 1 });
    const c = new g.optim.CosineAnnealingLR(opt, 10);
    c.step(5);
    expect(opt.lr).to.be.closeTo(0.5, 1e-12);
    c.step(10);
    expect(opt.lr).to.be.closeTo(0, 1e-12);
    const opt2 = new g.optim.SGD([g.zeros([1], { requiresGrad: true })], { lr: 1 });
    const st = new g.optim.StepLR(opt2, 3, 0.5);
    st.step(7);
    expect(opt2.lr).to.equal(0.25);
  });
});
