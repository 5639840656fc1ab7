/** Test helpers: float64 central-difference gradient checks, closeness, error expectations. */
import { expect } from 'chai';
import * as g from '../src';
import { Tensor } from '../src';
import { native } from '../src/native';

/** Fresh float64 leaf with uniform values in [lo, hi). */
export function randLeaf(shape: number[], lo = -1, hi = 1, seed?: number): Tensor {
  const t = g.randUniform(shape, lo, hi, { dtype: 'float64', ...(seed !== undefined ? { seed } : {}) });
  t.requiresGrad = true;
  return t;
}

function withValues(t: Tensor, values: Float64Array): Tensor {
  return g.tensor(values, [...t.shape], { dtype: 'float64' });
}

/**
 * Compares the gradient of L = Σ w ⊙ f(inputs) (w fixed random weights, so every output element
 * matters) with float64 central differences, for every input that requires grad.
 */
export function gradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: { eps?: number; atol?: number; rtol?: number; seed?: number } = {},
): void {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-7;
  const rtol = opts.rtol ?? 1e-5;
  g.tidy(() => {
    const out0 = fn(...inputs);
    const w = g.randUniform([...out0.shape], -1, 1, { dtype: 'float64', seed: opts.seed ?? 7 });
    const weights = w.dataSync();
    for (const x of inputs) if (x.grad) { x.grad.dispose(); x.grad = null; }
    g.sum(g.mul(out0, w)).backward();
    const scalarAt = (vals: Float64Array[]): number =>
      g.tidy(() => {
        const xs = inputs.map((x, i) => withValues(x, vals[i]));
        const o = g.noGrad(() => fn(...xs)).dataSync();
        let s = 0;
        for (let i = 0; i < o.length; i++) s += o[i] * weights[i];
        return s;
      });
    const base = inputs.map((x) => Float64Array.from(x.dataSync()));
    inputs.forEach((x, k) => {
      if (!x.requiresGrad) return;
      expect(x.grad, `input ${k} has a gradient`).to.not.equal(null);
      const analytic = x.grad!.dataSync();
      for (let i = 0; i < base[k].length; i++) {
        const plus = base.map((b) => Float64Array.from(b));
        const minus = base.map((b) => Float64Array.from(b));
        plus[k][i] += eps;
        minus[k][i] -= eps;
        const numeric = (scalarAt(plus) - scalarAt(minus)) / (2 * eps);
        const diff = Math.abs(analytic[i] - numeric);
        if (diff > atol + rtol * Math.abs(numeric))
          throw new Error(`gradcheck: input ${k} element ${i}: analytic ${analytic[i]} vs numeric ${numeric}`);
      }
    });
  });
}

export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol = 1e-6, rtol = 1e-6, what = 'value'): void {
  expect(got.length, `${what} length`).to.equal(want.length);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= atol + rtol * Math.abs(want[i]))) throw new Error(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

/** Expects fn to throw a GmpnnError with the code, whose message matches re. */
export function expectGmpnnError(fn: () => unknown, code: string, re?: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'an error was thrown').to.be.instanceOf(g.GmpnnError);
  expect((caught as g.GmpnnError).code).to.equal(code);
  if (re) expect((caught as Error).message).to.match(re);
}

/** Devices to run a suite on: cpu always, cuda when a GPU answers (else the reason to skip). */
export function devices(): { device: g.Device; skip: string | null }[] {
  const b = g.backends();
  return [
    { device: 'cpu', skip: null },
    { device: 'cuda', skip: b.cuda.available ? null : `CUDA unavailable: ${b.cuda.reason}` },
  ];
}

/**
 * Gradient check for module parameters: compares p.grad from one backward of lossFn() with float64
 * central differences obtained by perturbing each parameter element in place.
 */
export function gradcheckParams(lossFn: () => Tensor, params: Tensor[], opts: { eps?: number; atol?: number; rtol?: number } = {}): void {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-7;
  const rtol = opts.rtol ?? 1e-5;
  for (const p of params) if (p.grad) { p.grad.dispose(); p.grad = null; }
  g.tidy(() => lossFn().backward());
  const evalAt = (): number => g.tidy(() => g.noGrad(() => lossFn().item()));
  for (const [k, p] of params.entries()) {
    const analytic = p.grad ? p.grad.dataSync() : new Float64Array(p.size);
    const base = Float64Array.from(p.dataSync());
    for (let i = 0; i < base.length; i++) {
      const v = Float64Array.from(base);
      v[i] = base[i] + eps;
      native.upload(p.buffer(), v);
      const plus = evalAt();
      v[i] = base[i] - eps;
      native.upload(p.buffer(), v);
      const minus = evalAt();
      native.upload(p.buffer(), base);
      const numeric = (plus - minus) / (2 * eps);
      if (Math.abs(analytic[i] - numeric) > atol + rtol * Math.abs(numeric))
        throw new Error(`gradcheckParams: parameter ${k} [${p.shape.join(', ')}] element ${i}: analytic ${analytic[i]} vs numeric ${numeric}`);
    }
  }
}
