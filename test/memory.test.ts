import { expect } from 'chai';
import * as g from '../src';
import { expectGmpnnError } from './helpers';

describe('memory: dispose, tidy, keep', () => {
  it('tidy frees intermediates and keeps the result', () => {
    const before = g.memory();
    const out = g.tidy(() => {
      const a = g.ones([10, 10]);
      const b = g.mul(a, 3);
      return g.sum(b);
    });
    const after = g.memory();
    expect(after.numTensors).to.equal(before.numTensors + 1);
    expect(after.native.cpu.buffers).to.equal(before.native.cpu.buffers + 1);
    expect(out.item()).to.equal(300);
    out.dispose();
    expect(g.memory().numTensors).to.equal(before.numTensors);
    expect(g.memory().native.cpu.bytes).to.equal(before.native.cpu.bytes);
  });
  it('keep survives tidy; nested tidy hands results up', () => {
    const before = g.memory().numTensors;
    let kept: g.Tensor | null = null;
    const r = g.tidy(() => {
      kept = g.keep(g.zeros([2]));
      return g.tidy(() => [g.ones([3]), { x: g.ones([4]) }]);
    });
    expect(g.memory().numTensors).to.equal(before + 3);
    g.dispose([kept, r]);
    expect(g.memory().numTensors).to.equal(before);
  });
  it('reshape shares storage: freed when the last view goes', () => {
    const before = g.memory();
    const a = g.ones([4, 4]);
    const v = a.reshape([16]);
    expect(g.memory().byDevice.cpu.numBuffers).to.equal(before.byDevice.cpu.numBuffers + 1);
    a.dispose();
    expect(v.dataSync()[15]).to.equal(1);
    v.dispose();
    expect(g.memory().native.cpu.buffers).to.equal(before.native.cpu.buffers);
  });
  it('use after dispose throws a clear error', () => {
    const a = g.ones([2]);
    a.dispose();
    expectGmpnnError(() => a.dataSync(), 'E_DISPOSED', /disposed/);
    expectGmpnnError(() => g.add(a, a), 'E_DISPOSED', /add: Tensor is disposed/);
    a.dispose(); // idempotent
  });
  it('tidy refuses async functions', () => {
    expectGmpnnError(() => g.tidy((async () => 1) as unknown as () => number), 'E_ARG', /synchronous/);
  });
  it('freed buffers are reused from the pool, counted as free, and drained by emptyCache()', () => {
    const before = g.memory();
    const a = g.zeros([257, 3]);
    a.dispose();
    const pooled = g.memory();
    expect(pooled.native.cpu.buffers).to.equal(before.native.cpu.buffers); // free, not live
    expect(pooled.native.cpu.cachedBytes).to.be.at.least(257 * 3 * 4);
    const b = g.ones([257, 3]); // same kind: served from the pool
    expect(Array.from(b.dataSync()).every((v) => v === 1)).to.equal(true);
    b.dispose();
    g.emptyCache();
    const drained = g.memory();
    expect(drained.native.cpu.buffers).to.equal(before.native.cpu.buffers);
    expect(drained.native.cpu.cachedBytes).to.equal(0);
  });
  it('a buffer being read asynchronously is not handed to a new tensor', async () => {
    // Without a pending read, a freed buffer is the next one of its kind (the pool)...
    const x = g.full([1000], 3);
    const bufX = x.buffer();
    x.dispose();
    const y = g.full([1000], 4);
    expect(y.buffer()).to.equal(bufX);
    y.dispose();
    // ...but a buffer pinned by data() is not reused while the worker thread copies it.
    const a = g.full([1000], 7);
    const bufA = a.buffer();
    const pending = a.data();
    a.dispose();
    const others = Array.from({ length: 4 }, () => g.full([1000], -1));
    for (const o of others) expect(o.buffer()).to.not.equal(bufA);
    const got = await pending;
    expect(Array.from(got).every((v) => v === 7)).to.equal(true);
    g.dispose(others);
  });
  it('1,000 training steps leave memory() where it started', () => {
    g.manualSeed(0);
    const model = g.models.mlp({ inFeatures: 5, hidden: 16, out: 1, parameterization: 'gmp', imn: true });
    const opt = new g.optim.Adam(model.parameters(), { lr: 0.01 });
    const x = g.randn([32, 5]);
    const y = g.randn([32, 1]);
    const step = () =>
      g.tidy(() => {
        opt.zeroGrad();
        const loss = g.mse(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      });
    step(); // optimizer state and gradients exist from here on
    const before = g.memory();
    let first = 0, last = 0;
    for (let i = 0; i < 1000; i++) {
      const l = step();
      if (i === 0) first = l;
      last = l;
    }
    const after = g.memory();
    expect(after.numTensors).to.equal(before.numTensors);
    expect(after.numBytes).to.equal(before.numBytes);
    expect(after.native.cpu.buffers).to.equal(before.native.cpu.buffers);
    expect(last).to.be.lessThan(first); // it trained
    model.dispose();
    opt.dispose();
    g.dispose([x, y]);
  });
});
