/** Hostile input: every class of bad argument gives a GmpnnError naming the op and shapes. */
import * as assert from 'node:assert';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as g from '../src';
import { native } from '../src/native';
import { callNative } from '../src/errors';
import { expectGmpnnError } from './helpers';

describe('errors, not crashes', () => {
  it('shape mismatches name the op and both shapes', () => {
    expectGmpnnError(() => g.add(g.ones([2, 3]), g.ones([4])), 'E_SHAPE', /add: shapes \[2, 3\] and \[4\]/);
    expectGmpnnError(() => g.matmul(g.ones([2, 3]), g.ones([2, 3])), 'E_SHAPE', /matmul: inner dimensions differ, \[2, 3\] x \[2, 3\]/);
    expectGmpnnError(() => g.mse(g.ones([3]), g.ones([4])), 'E_SHAPE', /mse: pred \[3\] and target \[4\]/);
    expectGmpnnError(() => g.reshape(g.ones([6]), [4, 2]), 'E_SHAPE', /reshape: cannot reshape \[6\]/);
    expectGmpnnError(() => g.tensor([1, 2, 3], [2, 2]), 'E_SHAPE', /3 values do not fill shape \[2, 2\]/);
    expectGmpnnError(() => g.tensor([[1, 2], [3]]), 'E_SHAPE', /ragged/);
    expectGmpnnError(() => g.slice(g.ones([3]), [2], [2]), 'E_SHAPE', /out of bounds/);
    expectGmpnnError(() => g.crossEntropy(g.ones([2, 3]), g.ones([3])), 'E_SHAPE', /logits \[N, C\]/);
    expectGmpnnError(() => g.meanOnlyBatchNorm(g.ones([4, 3]), 0.9, g.zeros([2])), 'E_SHAPE', /meanOnlyBatchNorm: mean has 2 elements for 3 channels \(x \[4, 3\]\)/);
    expectGmpnnError(() => g.meanOnlyBatchNorm(g.ones([0, 3]), 0.9), 'E_SHAPE', /meanOnlyBatchNorm: no rows/);
    expectGmpnnError(() => callNative(() => native.channelAffine(g.ones([4]).buffer(), g.ones([6]).buffer(), null, null, 2, 3)), 'E_SHAPE', /channelAffine: out holds 4 elements but 6/);
  });
  it('dtype and device mismatches', () => {
    expectGmpnnError(() => g.add(g.ones([2]), g.ones([2], { dtype: 'float64' })), 'E_DTYPE', /add: dtype mismatch, float32 \[2\] vs float64 \[2\]/);
    expectGmpnnError(() => g.zeros([2], { dtype: 'int8' as never }), 'E_DTYPE', /dtype must be/);
    expectGmpnnError(() => g.zeros([2], { device: 'tpu' as never }), 'E_DEVICE', /device must be/);
  });
  it('CUDA requested where there is none', function () {
    if (g.backends().cuda.available) this.skip();
    expectGmpnnError(() => g.zeros([2], { device: 'cuda' }), 'E_NO_DEVICE', /CUDA|GPU|device/);
  });
  it('wrong argument types', () => {
    expectGmpnnError(() => g.add('x' as never, g.ones([1])), 'E_ARG', /add: a must be a Tensor, got string/);
    expectGmpnnError(() => g.mul(g.ones([1]), NaN), 'E_ARG', /mul: scalar must be a finite number/);
    expectGmpnnError(() => g.sum(g.ones([2]), 5), 'E_ARG', /sum: axis 5 out of range/);
    expectGmpnnError(() => g.zeros([-1]), 'E_SHAPE', /non-negative integers/);
    expectGmpnnError(() => g.zeros([1.5]), 'E_SHAPE', /non-negative integers/);
  });
  it('bad labels in cross-entropy', () => {
    expectGmpnnError(() => g.crossEntropy(g.zeros([2, 3]), g.tensor([0, 3])), 'E_ARG', /label 3 at row 1 is not a class/);
    expectGmpnnError(() => g.crossEntropy(g.zeros([1, 3]), g.tensor([0.5])), 'E_ARG', /label/);
  });
  it('non-finite or out-of-range hyper-parameters', () => {
    const p = g.zeros([2], { requiresGrad: true });
    expectGmpnnError(() => new g.optim.SGD([p], { lr: NaN }), 'E_ARG', /SGD: lr must be a finite number/);
    expectGmpnnError(() => new g.optim.SGD([p], { lr: 0.1, momentum: -1 }), 'E_ARG', /momentum/);
    expectGmpnnError(() => new g.optim.Adam([p], { lr: Infinity }), 'E_ARG', /Adam: lr/);
    expectGmpnnError(() => new g.optim.Adam([p], { betas: [1.5, 0.9] }), 'E_ARG', /beta1/);
    expectGmpnnError(() => new g.optim.SGD([], { lr: 0.1 }), 'E_ARG', /non-empty/);
    const opt = new g.optim.SGD([p], { lr: 0.1 });
    opt.lr = NaN;
    g.sum(p).backward();
    expectGmpnnError(() => opt.step(), 'E_ARG', /lr/);
  });
  it('layers reject bad configuration and input', () => {
    expectGmpnnError(() => new g.nn.Linear(0, 3), 'E_ARG', /positive integers/);
    expectGmpnnError(() => new g.nn.Linear(2, 3, { parameterization: 'xx' as never }), 'E_ARG', /parameterization/);
    const l = new g.nn.Linear(4, 3, { parameterization: 'gmp' });
    expectGmpnnError(() => l.forward(g.ones([2, 5])), 'E_SHAPE', /Linear\(4, 3\): expected input \[batch, 4\], got \[2, 5\]/);
    expectGmpnnError(() => l.loadStateDict({ theta: g.ones([3, 3]) }), 'E_ARG', /missing keys/);
    expectGmpnnError(() => l.loadStateDict({ theta: g.ones([3, 2]), lambda: g.ones([3]), radius: g.ones([3]) }), 'E_SHAPE', /theta has shape \[3, 2\]/);
  });
  it('the native layer refuses forged handles and out-of-bounds views', () => {
    const a = g.ones([4]);
    const b = a.buffer();
    const call = (fn: () => void) => () => {
      try { fn(); } catch (e) { throw new g.GmpnnError(((e as { code?: string }).code ?? 'E_NATIVE') as never, (e as Error).message); }
    };
    expectGmpnnError(call(() => native.unary({ dtype: 0 } as never, b, 0)), 'E_ARG', /not a gmpnn native buffer/);
    expectGmpnnError(call(() => native.copyStrided(b, 0, [1], b, 2, [1], [4])), 'E_SHAPE', /in holds 4 elements but 6 are needed/);
    expectGmpnnError(call(() => native.gemm(b, b, b, false, false, 3, 3, 3, 1, 0)), 'E_SHAPE', /needed/);
    expectGmpnnError(call(() => native.unary(b, b, 99)), 'E_ARG', /bad op/);
  });
  it('kernels take a buffer as its handle, and refuse the object itself and a disposed buffer', () => {
    const buf = new native.NativeBuffer(0, 0, 4);
    const out = new native.NativeBuffer(0, 0, 4);
    native.upload(buf.handle, new Float32Array([1, -2, 3, -4]));
    native.unary(out.handle, buf.handle, 0); // neg
    assert.deepStrictEqual(Array.from(native.download(out.handle)), [-1, 2, -3, 4]);
    const call = (fn: () => void) => () => {
      try { fn(); } catch (e) { throw new g.GmpnnError(((e as { code?: string }).code ?? 'E_NATIVE') as never, (e as Error).message); }
    };
    expectGmpnnError(call(() => native.unary(out.handle, buf as never, 0)), 'E_ARG', /argument 1 is not a gmpnn native buffer handle/);
    buf.dispose();
    expectGmpnnError(call(() => native.unary(out.handle, buf.handle, 0)), 'E_DISPOSED', /disposed/);
    out.dispose();
  });
  it('a handle that outlives its garbage-collected buffer is refused, not followed', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let handles: unknown[] = [];
    for (let i = 0; i < 2000; i++) handles.push(new native.NativeBuffer(0, 0, 8).handle);
    gc();
    await new Promise((r) => setImmediate(r)); // N-API finalizers run after the collection
    gc();
    let refused = 0;
    for (const h of handles) {
      try {
        native.download(h as never); // a buffer not collected yet still reads
      } catch (e) {
        assert.strictEqual((e as { code?: string }).code, 'E_ARG');
        refused++;
      }
    }
    handles = [];
    // V8 collects unreachable wrappers on a full GC; this is what the check is about.
    assert.ok(refused > 0, 'no buffer was collected: the stale-handle path was not exercised');
  });
});
