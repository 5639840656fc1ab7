/**
 * Hyperspherical coordinates and characteristic activation boundaries (GMP_SPEC.md §1–§2).
 * A ReLU unit z = ReLU(wᵀx + b) switches on the hyperplane wᵀx + b = 0; its spatial location is
 * φ = −b·w/‖w‖², the point of the boundary nearest the origin (GmP: φ = −λ·u(θ)).
 */
import { GmpnnError } from './errors';
import { Tensor, tidy } from './tensor';
import { noGrad } from './autograd';
import { gmpDirection, gmpFromCartesian } from './ops/gmp';
import { add, div, mul, neg, sqrt, sub } from './ops/elementwise';
import { sum } from './ops/reduction';
import { reshape } from './ops/layout';
import { Linear } from './nn/linear';
import { BatchNorm } from './nn/norm';

/** W [m, n] -> θ [m, n − 1], r [m]. absLast reproduces the official |x_n| (§2). */
export function toHyperspherical(w: Tensor, options: { absLast?: boolean } = {}): { theta: Tensor; radius: Tensor } {
  return gmpFromCartesian(w, options.absLast ?? false);
}

/** θ [m, n − 1], r [m] -> W = r ⊙ u(θ) [m, n] (differentiable). */
export function toCartesian(theta: Tensor, radius: Tensor): Tensor {
  if (radius.rank !== 1 || radius.shape[0] !== theta.shape[0])
    throw new GmpnnError('E_SHAPE', `toCartesian: radius [${radius.shape.join(', ')}] does not match theta [${theta.shape.join(', ')}]`);
  return mul(gmpDirection(theta), reshape(radius, [radius.shape[0], 1]));
}

export interface Boundary {
  /** Normal of each unit's boundary [m, n] (its effective weight; GmP: u(θ)). */
  normal: Tensor;
  /** Effective bias [m] in the same scale as `normal`. */
  bias: Tensor;
  /** Spatial location φ [m, n] = −bias·normal/‖normal‖². */
  spatialLocation: Tensor;
  /** 2-D inputs only: the angle of each normal, atan2(n_y, n_x) in (−π, π]. */
  angle?: Float64Array;
}

/**
 * The characteristic activation boundary of every unit of a dense layer, for any
 * parameterization; pass the BatchNorm that follows the layer for the BN variant (§1).
 */
export function characteristicBoundary(layer: Linear, batchNorm?: BatchNorm): Boundary {
  return noGrad(() =>
    tidy(() => {
      let normal: Tensor;
      let bias: Tensor;
      const m = layer.outFeatures;
      if (layer.parameterization === 'gmp') {
        normal = layer.theta ? gmpDirection(layer.theta) : mul(layer.direction!, 1);
        bias = mul(layer.lambda!, 1);
      } else {
        normal = mul(layer.effectiveWeight(), 1);
        bias = layer.bias ? mul(layer.bias, 1) : mul(sum(normal, 1), 0);
      }
      if (batchNorm) {
        // BN: z = γ(wᵀx + b − μ)/σ + β = 0  <=>  wᵀx + (b − μ + σβ/γ) = 0
        const sigma = sqrt(add(batchNorm.runningVar, batchNorm.eps));
        bias = add(sub(bias, batchNorm.runningMean), div(mul(sigma, batchNorm.bias), batchNorm.weight));
      }
      const norm2 = sum(mul(normal, normal), 1, true);
      const spatialLocation = mul(neg(div(reshape(bias, [m, 1]), norm2)), normal);
      const out: Boundary = { normal, bias, spatialLocation };
      if (normal.shape[1] === 2) {
        const v = normal.dataSync();
        out.angle = new Float64Array(m);
        for (let i = 0; i < m; i++) out.angle[i] = Math.atan2(v[2 * i + 1], v[2 * i]);
      }
      return out;
    }),
  );
}

/** Wraps an angle difference to (−π, π]. */
export function wrapAngle(a: number): number {
  let x = (a + Math.PI) % (2 * Math.PI);
  if (x < 0) x += 2 * Math.PI;
  return x === 0 ? Math.PI : x - Math.PI;
}
