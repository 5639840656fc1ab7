/**
 * Convolution and pooling ops: float64 forward against direct loops written here from the
 * definition, float64 central-difference gradient checks (strides 1/2, 'same'/'valid'/numeric
 * padding, 1×1/3×3/7×7 and non-square kernels, odd sizes, Cin = 1 and Cin not a multiple of any
 * vector width) of conv2d, the fused conv2dBiasAct and gmpConv2d, max/avg/global pooling, and
 * the argument checks.
 */
import { expect } from 'chai';
import * as g from '../../src';
import { expectClose, expectGmpnnError, gradcheck, randLeaf } from '../helpers';

const f64 = { dtype: 'float64' } as const;

type Pad = 'same' | 'valid' | number;

/** Direct convolution from the definition (NHWC, [out, kh, kw, in]), with its padding rule. */
function directConv(x: g.Tensor, w: g.Tensor, stride: number, padding: Pad): { y: Float64Array; shape: number[] } {
  const [N, H, W, C] = x.shape;
  const [O, KH, KW] = w.shape;
  let OH: number, OW: number, ph: number, pw: number;
  if (padding === 'same') {
    OH = Math.ceil(H / stride);
    OW = Math.ceil(W / stride);
    ph = Math.floor(Math.max(0, (OH - 1) * stride + KH - H) / 2);
    pw = Math.floor(Math.max(0, (OW - 1) * stride + KW - W) / 2);
  } else {
    ph = pw = padding === 'valid' ? 0 : padding;
    OH = Math.floor((H + 2 * ph - KH) / stride) + 1;
    OW = Math.floor((W + 2 * pw - KW) / stride) + 1;
  }
  const xs = x.dataSync();
  const ws = w.dataSync();
  const y = new Float64Array(N * OH * OW * O);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let kh = 0; kh < KH; kh++)
            for (let kw = 0; kw < KW; kw++) {
              const ih = oh * stride - ph + kh;
              const iw = ow * stride - pw + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (let c = 0; c < C; c++) s += xs[((n * H + ih) * W + iw) * C + c] * ws[((o * KH + kh) * KW + kw) * C + c];
            }
          y[((n * OH + oh) * OW + ow) * O + o] = s;
        }
  return { y, shape: [N, OH, OW, O] };
}

// [N, H, W, Cin, Cout, K, stride, padding]
const cases: [number, number, number, number, number, number, number, Pad][] = [
  [2, 5, 5, 1, 3, 3, 1, 'same'], // Cin = 1
  [1, 6, 7, 3, 4, 3, 2, 'same'], // stride 2, even/odd sizes, asymmetric 'same'
  [2, 5, 6, 5, 2, 3, 1, 'valid'], // Cin = 5
  [1, 7, 7, 2, 3, 3, 2, 'valid'],
  [2, 4, 5, 3, 4, 1, 1, 'valid'], // 1×1: plain GEMM
  [1, 5, 5, 3, 2, 1, 2, 'valid'], // 1×1 stride 2
  [1, 9, 9, 2, 2, 7, 2, 3], // 7×7/2 stem with padding 3
  [1, 7, 5, 3, 2, 7, 1, 'same'], // 7×7 'same' on a small image
];

describe('conv2d: forward against the direct convolution (float64)', () => {
  for (const [N, H, W, Cin, Cout, K, s, p] of cases) {
    it(`x [${N}, ${H}, ${W}, ${Cin}] * ${K}x${K}x${Cout} stride ${s} padding ${p}`, () => {
      g.tidy(() => {
        const x = g.randUniform([N, H, W, Cin], -1, 1, { ...f64, seed: 1 });
        const w = g.randUniform([Cout, K, K, Cin], -1, 1, { ...f64, seed: 2 });
        const got = g.conv2d(x, w, { stride: s, padding: p });
        const want = directConv(x, w, s, p);
        expect(got.shape).to.deep.equal(want.shape);
        expectClose(got.dataSync(), want.y, 1e-12, 1e-12, 'conv2d');
      });
    });
  }
  it('non-square kernel and stride, numeric [ph, pw] padding', () => {
    g.tidy(() => {
      const x = g.randUniform([1, 6, 5, 2], -1, 1, { ...f64, seed: 3 });
      const w = g.randUniform([3, 3, 1, 2], -1, 1, { ...f64, seed: 4 });
      const y = g.conv2d(x, w, { stride: [2, 1], padding: [1, 0] });
      expect(y.shape).to.deep.equal([1, 3, 5, 3]);
      // Compare with the direct loop on an explicit zero-padded copy of x (rows only).
      const xs = x.toArray() as number[][][][];
      const ws = w.toArray() as number[][][][];
      const ys = y.toArray() as number[][][][];
      for (let oh = 0; oh < 3; oh++)
        for (let ow = 0; ow < 5; ow++)
          for (let o = 0; o < 3; o++) {
            let s = 0;
            for (let kh = 0; kh < 3; kh++) {
              const ih = oh * 2 - 1 + kh;
              if (ih < 0 || ih >= 6) continue;
              for (let c = 0; c < 2; c++) s += xs[0][ih][ow][c] * ws[o][kh][0][c];
            }
            expect(ys[0][oh][ow][o]).to.be.closeTo(s, 1e-12);
          }
    });
  });
});

describe('conv2d ops: float64 gradient checks', () => {
  for (const [N, H, W, Cin, Cout, K, s, p] of cases) {
    const tag = `x [${N}, ${H}, ${W}, ${Cin}], ${K}x${K}x${Cout}, stride ${s}, padding ${p}`;
    it(`conv2d ${tag}`, () => {
      gradcheck((x, w) => g.conv2d(x, w, { stride: s, padding: p }), [randLeaf([N, H, W, Cin], -1, 1, 1), randLeaf([Cout, K, K, Cin], -1, 1, 2)]);
    });
  }
  for (const activation of ['relu', 'none'] as const) {
    it(`conv2dBiasAct ${activation}, with and without bias`, () => {
      const x = randLeaf([2, 5, 4, 3], -1, 1, 3);
      const w = randLeaf([4, 3, 3, 3], -1, 1, 4);
      const b = randLeaf([4], -0.5, 0.5, 5);
      gradcheck((xi, wi, bi) => g.conv2dBiasAct(xi, wi, bi, { stride: 2, padding: 'same', activation }), [x, w, b]);
      gradcheck((xi, wi) => g.conv2dBiasAct(xi, wi, null, { padding: 1, activation }), [x, w]);
    });
    it(`gmpConv2d ${activation}: x, θ, λ, r`, () => {
      const x = randLeaf([2, 5, 5, 2], -1, 1, 6);
      const theta = randLeaf([3, 3 * 3 * 2 - 1], 0.2, 3, 7);
      const lambda = randLeaf([3], -0.3, 0.3, 8);
      const radius = randLeaf([3], 0.5, 1.5, 9);
      gradcheck((xi, th, l, r) => g.gmpConv2d(xi, th, l, r, { stride: 2, padding: 'same', activation }), [x, theta, lambda, radius]);
    });
  }
  it('gmpConv2d 1×1 with Cin = 7, and a non-square kernel given by kernelSize', () => {
    gradcheck((xi, th, l, r) => g.gmpConv2d(xi, th, l, r, { activation: 'none' }), [
      randLeaf([1, 3, 4, 7], -1, 1, 1), randLeaf([2, 6], 0.2, 3, 2), randLeaf([2], -0.3, 0.3, 3), randLeaf([2], 0.5, 1.5, 4),
    ]);
    gradcheck((xi, th, l, r) => g.gmpConv2d(xi, th, l, r, { kernelSize: [3, 1], padding: 'same', activation: 'relu' }), [
      randLeaf([1, 5, 3, 2], -1, 1, 5), randLeaf([2, 5], 0.2, 3, 6), randLeaf([2], -0.3, 0.3, 7), randLeaf([2], 0.5, 1.5, 8),
    ]);
  });
  it('gmpConv2d computes r ⊙ act(conv(x, u(θ)) + λ)', () => {
    g.tidy(() => {
      const x = g.randUniform([2, 4, 4, 3], -1, 1, { ...f64, seed: 11 });
      const theta = g.randUniform([5, 26], 0, 3, { ...f64, seed: 12 });
      const lambda = g.randUniform([5], -0.5, 0.5, { ...f64, seed: 13 });
      const radius = g.randUniform([5], -1, 1, { ...f64, seed: 14 });
      const got = g.gmpConv2d(x, theta, lambda, radius, { padding: 'same', activation: 'relu' });
      const u = g.reshape(g.gmpDirection(theta), [5, 3, 3, 3]);
      const want = g.mul(g.relu(g.add(g.conv2d(x, u, { padding: 'same' }), lambda)), radius);
      expectClose(got.dataSync(), want.dataSync(), 1e-12, 1e-12, 'gmpConv2d');
    });
  });
});

describe('pooling ops', () => {
  it('maxPool2d 2×2/2 on odd sizes: values, and a float64 gradient check', () => {
    g.tidy(() => {
      const x = g.tensor(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i * 1.7) * 3), [2, 5, 5, 3], f64);
      const y = g.maxPool2d(x, { kernelSize: 2 });
      expect(y.shape).to.deep.equal([2, 2, 2, 3]);
      const xs = x.toArray() as number[][][][];
      const ys = y.toArray() as number[][][][];
      for (let n = 0; n < 2; n++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++)
            for (let c = 0; c < 3; c++)
              expect(ys[n][i][j][c]).to.equal(Math.max(xs[n][2 * i][2 * j][c], xs[n][2 * i + 1][2 * j][c], xs[n][2 * i][2 * j + 1][c], xs[n][2 * i + 1][2 * j + 1][c]));
    });
    gradcheck((x) => g.maxPool2d(x, { kernelSize: 2 }), [randLeaf([2, 5, 5, 3], -1, 1, 21)]);
  });
  it('maxPool2d 3×3/2 padding 1 (ResNet stem) and "same"', () => {
    gradcheck((x) => g.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), [randLeaf([1, 7, 6, 2], -1, 1, 22)]);
    gradcheck((x) => g.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 'same' }), [randLeaf([1, 6, 7, 2], -1, 1, 23)]);
  });
  it('avgPool2d with and without the padding in the divisor', () => {
    for (const countIncludePad of [true, false]) {
      gradcheck((x) => g.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad }), [randLeaf([2, 5, 6, 3], -1, 1, 24)]);
      gradcheck((x) => g.avgPool2d(x, { kernelSize: [2, 3], stride: [1, 2], countIncludePad }), [randLeaf([1, 4, 7, 2], -1, 1, 25)]);
    }
    g.tidy(() => {
      const x = g.ones([1, 3, 3, 1], f64);
      const inc = g.avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1 }).dataSync();
      const exc = g.avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1, countIncludePad: false }).dataSync();
      expect(inc[0]).to.be.closeTo(4 / 9, 1e-15); // corner: 4 of 9 inside
      expect(exc[0]).to.be.closeTo(1, 1e-15);
    });
  });
  it('globalAvgPool2d: [N, H, W, C] -> [N, C], the mean over H and W', () => {
    g.tidy(() => {
      const x = g.randUniform([2, 3, 4, 5], -1, 1, { ...f64, seed: 3 });
      const y = g.globalAvgPool2d(x);
      expect(y.shape).to.deep.equal([2, 5]);
      const xs = x.toArray() as number[][][][];
      const ys = y.toArray() as number[][];
      let s = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) s += xs[1][i][j][2];
      expect(ys[1][2]).to.be.closeTo(s / 12, 1e-14);
    });
    gradcheck((x) => g.globalAvgPool2d(x), [randLeaf([2, 3, 3, 4], -1, 1, 26)]);
  });
});

describe('conv and pool argument checks', () => {
  it('names the op and the shapes', () => {
    g.tidy(() => {
      const x = g.zeros([1, 4, 4, 3]);
      expectGmpnnError(() => g.conv2d(x, g.zeros([2, 3, 3, 2])), 'E_SHAPE', /conv2d: expected weight \[Cout, KH, KW, 3\]/);
      expectGmpnnError(() => g.conv2d(g.zeros([4, 4, 3]), g.zeros([2, 3, 3, 3])), 'E_SHAPE', /NHWC/);
      expectGmpnnError(() => g.conv2d(x, g.zeros([2, 5, 5, 3])), 'E_SHAPE', /does not fit/);
      expectGmpnnError(() => g.conv2d(x, g.zeros([2, 3, 3, 3]), { stride: 0 }), 'E_ARG', /stride/);
      expectGmpnnError(() => g.conv2d(x, g.zeros([2, 3, 3, 3]), { padding: -1 }), 'E_ARG', /padding/);
      expectGmpnnError(() => g.conv2d(x, g.zeros([2, 3, 3, 3], f64)), 'E_DTYPE');
      expectGmpnnError(() => g.gmpConv2d(x, g.zeros([2, 25]), g.zeros([2]), g.zeros([2])), 'E_SHAPE', /fan-in/);
      expectGmpnnError(() => g.maxPool2d(x, { kernelSize: 2, padding: 2 }), 'E_ARG', /smaller than the window/);
      expectGmpnnError(() => g.avgPool2d(x, { kernelSize: 5 }), 'E_SHAPE');
    });
  });
  it("'same' keeps ceil(H / stride) and works with float32", () => {
    g.tidy(() => {
      const x = g.randn([2, 7, 8, 3], { seed: 1 });
      expect(g.conv2d(x, g.randn([4, 3, 3, 3], { seed: 2 }), { padding: 'same', stride: 2 }).shape).to.deep.equal([2, 4, 4, 4]);
      expect(g.maxPool2d(x, { kernelSize: 2, padding: 'same' }).shape).to.deep.equal([2, 4, 4, 3]);
    });
  });
});
