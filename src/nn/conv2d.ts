/**
 * 2-D convolution layers (NHWC) under three parameterizations (GMP_SPEC.md §3, §5), named like
 * nn.Linear:
 *   'sp'  y = act(conv(x, W) + b)                        weight [out, kh, kw, in], bias [out]
 *   'wn'  y = act(conv(x, g ⊙ v/‖v‖) + b)                v [out, kh, kw, in], g [out, 1], bias [out]
 *   'gmp' y = r ⊙ act(conv(x, reshape(u(θ))) + λ)        theta [out, kh·kw·in − 1], lambda [out], radius [out]
 * Initialization (the spec's choice): one Glorot-uniform draw W ~ U(−t, t), t = sqrt(6/(n + m)) with
 * n = kh·kw·in and m = out (larger than the usual conv Glorot bound, which also multiplies m by
 * kh·kw); WN starts at v = W, g = ‖v‖; GmP converts each output channel's fan-in with the inverse
 * map (r = ‖w‖, λ = 0). At initialization all three compute the zero-bias SP layer of that draw.
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { DType, Device, Tensor, empty, tidy } from '../tensor';
import { Module } from './module';
import { noGrad } from '../autograd';
import { glorotUniform } from './init';
import { zeros } from '../ops/creation';
import { mul, sqrt } from '../ops/elementwise';
import { weightNorm } from '../ops/norm';
import { sum } from '../ops/reduction';
import { reshape } from '../ops/layout';
import { gmpFromCartesian, Activation } from '../ops/gmp';
import { Padding, Size2, conv2dBiasAct, gmpConv2d, pair } from '../ops/conv';
import { fmt } from '../ops/util';
import { Parameterization } from './linear';

export interface Conv2dLayerOptions {
  stride?: Size2;
  padding?: Padding;
  parameterization?: Parameterization;
  activation?: Activation;
  /** SP/WN only (GmP always has λ). Default true. */
  bias?: boolean;
  dtype?: DType;
  device?: Device;
  /** GmP: reproduce the official code's |x_n| in the last angle at initialization (§2). */
  officialAbsLast?: boolean;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: Padding;
  readonly parameterization: Parameterization;
  readonly activation: Activation;
  weight: Tensor | null = null;
  bias: Tensor | null = null;
  v: Tensor | null = null;
  g: Tensor | null = null;
  theta: Tensor | null = null;
  lambda: Tensor | null = null;
  radius: Tensor | null = null;
  /** GmP with fan-in 1 (1×1 kernel, one input channel): the fixed signs [out, 1], not trained. */
  direction: Tensor | null = null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, options: Conv2dLayerOptions = {}) {
    super();
    if (!Number.isInteger(inChannels) || inChannels < 1 || !Number.isInteger(outChannels) || outChannels < 1)
      throw new GmpnnError('E_ARG', `Conv2d: inChannels and outChannels must be positive integers, got ${inChannels}, ${outChannels}`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize, 'Conv2d', 'kernelSize');
    this.stride = pair(options.stride ?? 1, 'Conv2d', 'stride');
    this.padding = options.padding ?? 'valid';
    this.parameterization = options.parameterization ?? 'sp';
    this.activation = options.activation ?? 'none';
    if (!['sp', 'wn', 'gmp'].includes(this.parameterization))
      throw new GmpnnError('E_ARG', `Conv2d: parameterization must be 'sp', 'wn' or 'gmp', got ${String(this.parameterization)}`);
    if (!['relu', 'none'].includes(this.activation))
      throw new GmpnnError('E_ARG', `Conv2d: activation must be 'relu' or 'none', got ${String(this.activation)}`);
    const p = this.padding;
    const padOk = p === 'same' || p === 'valid' || (typeof p === 'number' && Number.isInteger(p) && p >= 0) ||
      (Array.isArray(p) && p.length === 2 && p.every((q) => Number.isInteger(q) && q >= 0));
    if (!padOk) throw new GmpnnError('E_ARG', `Conv2d: padding must be 'same', 'valid', a non-negative integer or [ph, pw], got ${String(p)}`);
    const dtype = options.dtype ?? 'float32';
    const device = options.device ?? 'cpu';
    const useBias = options.bias ?? true;
    const [kh, kw] = this.kernelSize;
    const fanIn = kh * kw * inChannels;
    const shape = [outChannels, kh, kw, inChannels];
    const w = glorotUniform(shape, fanIn, outChannels, dtype, device);
    if (this.parameterization === 'sp') {
      this.weight = this.registerParameter('weight', w);
      this.bias = this.registerParameter('bias', useBias ? zeros([outChannels], { dtype, device }) : null);
    } else if (this.parameterization === 'wn') {
      this.v = this.registerParameter('v', w);
      // g = ‖v‖ per output channel ([out, 1], as nn.Linear), so the initial effective weight is v.
      const norms = noGrad(() => tidy(() => reshape(sqrt(sum(mul(w, w), [1, 2, 3])), [outChannels, 1])));
      this.g = this.registerParameter('g', norms);
      this.bias = this.registerParameter('bias', useBias ? zeros([outChannels], { dtype, device }) : null);
    } else {
      this.lambda = this.registerParameter('lambda', zeros([outChannels], { dtype, device }));
      if (fanIn === 1) {
        const host = w.dataSync();
        this.direction = this.registerBuffer('direction', fromHost(host.map((x) => (x < 0 ? -1 : 1)), [outChannels, 1], dtype, device));
        this.radius = this.registerParameter('radius', fromHost(host.map((x) => Math.abs(x)), [outChannels], dtype, device));
      } else {
        const flat = Tensor.view(w, [outChannels, fanIn]);
        const { theta, radius } = gmpFromCartesian(flat, options.officialAbsLast ?? false);
        flat.dispose();
        this.theta = this.registerParameter('theta', theta);
        this.radius = this.registerParameter('radius', radius);
      }
      w.dispose();
    }
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels)
      throw new GmpnnError('E_SHAPE', `Conv2d(${this.inChannels}, ${this.outChannels}): expected input [N, H, W, ${this.inChannels}] (NHWC), got ${fmt(x.shape)}`);
    const opts = { stride: this.stride, padding: this.padding, activation: this.activation };
    if (this.parameterization === 'gmp')
      return gmpConv2d(x, this.theta, this.lambda!, this.radius!, { ...opts, kernelSize: this.kernelSize, direction: this.direction ?? undefined });
    return conv2dBiasAct(x, this.effectiveWeight(), this.bias, opts);
  }

  /** The Cartesian weight [out, kh, kw, in] this layer currently applies (differentiable; SP/WN). */
  effectiveWeight(): Tensor {
    if (this.parameterization === 'sp') return this.weight!;
    if (this.parameterization === 'wn') {
      // Each output channel's filter as one row: [out, kh·kw·in] (views, no copies).
      return reshape(weightNorm(reshape(this.v!, [this.outChannels, -1]), this.g!), this.v!.shape);
    }
    throw new GmpnnError('E_UNSUPPORTED', 'effectiveWeight: use geometry.toCartesian for GmP layers');
  }

  /** The effective bias of each output channel (SP/WN: bias or null; GmP: λ, which acts before ×r). */
  effectiveBias(): Tensor | null {
    return this.parameterization === 'gmp' ? this.lambda : this.bias;
  }
}

function fromHost(values: Float32Array | Float64Array, shape: number[], dtype: DType, device: Device): Tensor {
  const t = empty(shape, dtype, device);
  const host = dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  callNative(() => native.upload(t.buffer(), host));
  return t;
}
