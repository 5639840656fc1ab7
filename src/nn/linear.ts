/**
 * Dense layers under three parameterizations (GMP_SPEC.md §3, §5):
 *   'sp'  y = act(x·Wᵀ + b)                        weight [out, in], bias [out]
 *   'wn'  y = act(g ⊙ (x·vᵀ)/‖v‖ + b)              v [out, in], g [out, 1], bias [out]
 *   'gmp' y = r ⊙ act(x·u(θ)ᵀ + λ)                theta [out, in − 1], lambda [out], radius [out]
 * Every variant starts from the same Glorot-uniform draw, so at initialization all three compute
 * what a zero-bias Glorot SP layer computes.
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { DType, Device, Tensor, empty, tidy } from '../tensor';
import { Module } from './module';
import { noGrad } from '../autograd';
import { glorotUniform } from './init';
import { zeros } from '../ops/creation';
import { mul, sqrt } from '../ops/elementwise';
import { sum } from '../ops/reduction';
import { linear } from '../ops/linalg';
import { weightNorm } from '../ops/norm';
import { gmpFromCartesian, gmpLinear, gmpWorkspace, gmpWorkspaceFits, Activation, GmpWorkspace } from '../ops/gmp';
import { fmt } from '../ops/util';

export type Parameterization = 'sp' | 'wn' | 'gmp';

export interface LinearOptions {
  parameterization?: Parameterization;
  activation?: Activation;
  /** SP/WN only (GmP always has λ). Default true. */
  bias?: boolean;
  dtype?: DType;
  device?: Device;
  /** GmP: reproduce the official code's |x_n| in the last angle at initialization (§2). */
  officialAbsLast?: boolean;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly parameterization: Parameterization;
  readonly activation: Activation;
  weight: Tensor | null = null;
  bias: Tensor | null = null;
  v: Tensor | null = null;
  g: Tensor | null = null;
  theta: Tensor | null = null;
  lambda: Tensor | null = null;
  radius: Tensor | null = null;
  /** GmP with fan-in 1: the fixed sign of each unit's weight ([out, 1], not trained). */
  direction: Tensor | null = null;
  /** GmP: u(θ), its sin/cos cache and the dU scratch, reused by every step (not state). */
  private workspace: GmpWorkspace | null = null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    if (!Number.isInteger(inFeatures) || inFeatures < 1 || !Number.isInteger(outFeatures) || outFeatures < 1)
      throw new GmpnnError('E_ARG', `Linear: inFeatures and outFeatures must be positive integers, got ${inFeatures}, ${outFeatures}`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.parameterization = options.parameterization ?? 'sp';
    this.activation = options.activation ?? 'none';
    if (!['sp', 'wn', 'gmp'].includes(this.parameterization))
      throw new GmpnnError('E_ARG', `Linear: parameterization must be 'sp', 'wn' or 'gmp', got ${String(this.parameterization)}`);
    if (!['relu', 'none'].includes(this.activation))
      throw new GmpnnError('E_ARG', `Linear: activation must be 'relu' or 'none', got ${String(this.activation)}`);
    const dtype = options.dtype ?? 'float32';
    const device = options.device ?? 'cpu';
    const useBias = options.bias ?? true;
    const w = glorotUniform([outFeatures, inFeatures], inFeatures, outFeatures, dtype, device);
    if (this.parameterization === 'sp') {
      this.weight = this.registerParameter('weight', w);
      this.bias = this.registerParameter('bias', useBias ? zeros([outFeatures], { dtype, device }) : null);
    } else if (this.parameterization === 'wn') {
      this.v = this.registerParameter('v', w);
      // g = ‖v‖ per unit, so the initial effective weight is v itself.
      const norms = noGrad(() => tidy(() => sqrt(sum(mul(w, w), 1, true))));
      this.g = this.registerParameter('g', norms);
      this.bias = this.registerParameter('bias', useBias ? zeros([outFeatures], { dtype, device }) : null);
    } else {
      this.lambda = this.registerParameter('lambda', zeros([outFeatures], { dtype, device }));
      if (inFeatures === 1) {
        // §3, n = 1: no angles; direction = sign(w), radius = |w|.
        const host = w.dataSync();
        const signs = host.map((x) => (x < 0 ? -1 : 1));
        const absw = host.map((x) => Math.abs(x));
        this.direction = this.registerBuffer('direction', fromHost(signs, [outFeatures, 1], dtype, device));
        this.radius = this.registerParameter('radius', fromHost(absw, [outFeatures], dtype, device));
      } else {
        const { theta, radius } = gmpFromCartesian(w, options.officialAbsLast ?? false);
        this.theta = this.registerParameter('theta', theta);
        this.radius = this.registerParameter('radius', radius);
      }
      w.dispose();
    }
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures)
      throw new GmpnnError('E_SHAPE', `Linear(${this.inFeatures}, ${this.outFeatures}): expected input [batch, ${this.inFeatures}], got ${fmt(x.shape)}`);
    if (this.parameterization === 'gmp') {
      let ws: GmpWorkspace | undefined;
      if (this.theta) {
        if (!gmpWorkspaceFits(this.workspace, this.theta)) {
          this.disposeWorkspace();
          this.workspace = gmpWorkspace(this.theta);
        }
        ws = this.workspace!;
      }
      return gmpLinear(x, this.theta, this.lambda!, this.radius!, this.activation, this.direction ?? undefined, ws);
    }
    const w = this.parameterization === 'sp' ? this.weight! : this.effectiveWeight();
    return linear(x, w, this.bias, this.activation);
  }

  /** The Cartesian weight [out, in] this layer currently applies (differentiable). */
  effectiveWeight(): Tensor {
    if (this.parameterization === 'sp') return this.weight!;
    if (this.parameterization === 'wn') return weightNorm(this.v!, this.g!);
    throw new GmpnnError('E_UNSUPPORTED', 'effectiveWeight: use geometry.toCartesian for GmP layers');
  }

  override dispose(): void {
    this.disposeWorkspace();
    super.dispose();
  }

  private disposeWorkspace(): void {
    if (!this.workspace) return;
    this.workspace.u.dispose();
    this.workspace.cache?.dispose();
    this.workspace.dU.dispose();
    this.workspace = null;
  }

  /** The effective bias of each unit (SP/WN: bias or 0; GmP: λ, which acts before ×r). */
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

