/**
 * GmP ops (GMP_SPEC.md §2–§4) on the fused native kernels:
 *   gmpDirection(θ) = u(θ)                       (prefix product of sines)
 *   gmpLinear(x, θ, λ, r) = r ⊙ act(x·u(θ)ᵀ + λ)  (GEMM + fused +λ → act → ×r epilogue)
 * The forward is one native call (gmp_dense_forward: the product with the epilogue fused where
 * the fan-in is small). The backward goes through the epilogue kernel (dZ, dλ, dr in one pass), two GEMMs (dX, dU)
 * and the division-free reverse scan for dθ.
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record, needsGrad } from '../autograd';
import { assertSameKind, assertTensor, fmt } from './util';

export type Activation = 'relu' | 'none';
const ACT: Record<Activation, number> = { none: 0, relu: 1 };

function directionRaw(theta: Tensor, cache: Tensor | null = null): Tensor {
  const [m, k] = theta.shape;
  const u = empty([m, k + 1], theta.dtype, theta.device);
  callNative(() => native.gmpDirectionForward(u.buffer(), theta.buffer('gmpDirection'), m, k + 1, cache ? cache.buffer() : null));
  return u;
}

/**
 * The sin/cos of θ the CPU direction kernel leaves for the layer's backward (gmp.h,
 * gmp_direction_forward_cached): float64, 8·⌈m/4⌉·(n−1) values. The CUDA kernels recompute.
 */
function directionCache(theta: Tensor): Tensor | null {
  if (theta.device !== 'cpu') return null;
  const [m, k] = theta.shape;
  return empty([8 * Math.ceil(m / 4) * k], 'float64', 'cpu');
}

function directionBackwardRaw(dU: Tensor, theta: Tensor): Tensor {
  const [m, k] = theta.shape;
  const dtheta = empty([m, k], theta.dtype, theta.device);
  callNative(() => native.gmpDirectionBackward(dtheta.buffer(), dU.buffer('gmpDirection'), theta.buffer('gmpDirection'), m, k + 1));
  return dtheta;
}

function checkTheta(theta: Tensor, op: string): void {
  assertTensor(theta, op, 'theta');
  if (theta.rank !== 2 || theta.shape[1] < 1)
    throw new GmpnnError('E_SHAPE', `${op}: theta must be [units, fanIn - 1] with fanIn >= 2, got ${fmt(theta.shape)}`);
}

/** u(θ): unit vectors [m, n] from angles [m, n − 1]. */
export function gmpDirection(theta: Tensor): Tensor {
  checkTheta(theta, 'gmpDirection');
  const u = directionRaw(theta);
  return record(u, 'gmpDirection', [theta], (g) => [directionBackwardRaw(g, theta)]);
}

/** Inverse map for initialization: W [m, n] -> θ [m, n-1], r [m] (no graph). */
export function gmpFromCartesian(w: Tensor, absLast = false): { theta: Tensor; radius: Tensor } {
  assertTensor(w, 'toHyperspherical', 'w');
  if (w.rank !== 2 || w.shape[1] < 2)
    throw new GmpnnError('E_SHAPE', `toHyperspherical: expected W [units, fanIn >= 2], got ${fmt(w.shape)}`);
  const [m, n] = w.shape;
  const theta = empty([m, n - 1], w.dtype, w.device);
  const radius = empty([m], w.dtype, w.device);
  callNative(() => native.gmpDirectionInverse(theta.buffer(), radius.buffer(), w.buffer('toHyperspherical'), m, n, absLast));
  return { theta, radius };
}

/**
 * The GmP dense layer: y = r ⊙ act(x·u(θ)ᵀ + λ). x [B, n], theta [m, n−1], lambda [m], radius [m].
 * For n = 1 pass `direction` ([m, 1], the fixed signs) instead of theta (theta = null).
 */
export function gmpLinear(
  x: Tensor,
  theta: Tensor | null,
  lambda: Tensor,
  radius: Tensor,
  activation: Activation = 'relu',
  direction?: Tensor,
): Tensor {
  const op = 'gmpLinear';
  assertTensor(x, op, 'x');
  assertTensor(lambda, op, 'lambda');
  assertTensor(radius, op, 'radius');
  if (!(activation in ACT)) throw new GmpnnError('E_ARG', `${op}: activation must be 'relu' or 'none', got ${String(activation)}`);
  let U: Tensor;
  let cache: Tensor | null = null;
  if (theta) {
    checkTheta(theta, op);
    assertSameKind(op, x, theta, lambda, radius);
    if (needsGrad(theta)) cache = directionCache(theta);
    U = directionRaw(theta, cache);
  } else {
    if (!direction) throw new GmpnnError('E_ARG', `${op}: needs theta, or direction for fan-in 1`);
    assertSameKind(op, x, direction, lambda, radius);
    U = direction;
  }
  const [m, n] = U.shape;
  if (x.rank !== 2 || x.shape[1] !== n || lambda.rank !== 1 || lambda.shape[0] !== m || radius.rank !== 1 || radius.shape[0] !== m) {
    if (theta) U.dispose();
    cache?.dispose();
    throw new GmpnnError('E_SHAPE', `${op}: expected x [B, ${n}], lambda [${m}], radius [${m}], got x ${fmt(x.shape)}, theta ${theta ? fmt(theta.shape) : '-'}, lambda ${fmt(lambda.shape)}, radius ${fmt(radius.shape)}`);
  }
  const B = x.shape[0];
  const z = empty([B, m], x.dtype, x.device); // Z = X·Uᵀ + λ, kept for the backward
  const y = empty([B, m], x.dtype, x.device);
  const code = ACT[activation];
  callNative(() =>
    native.gmpDenseForward(y.buffer(), z.buffer(), x.buffer(op), U.buffer(op), lambda.buffer(op), radius.buffer(op), B, n, m, code),
  );
  const inputs = theta ? [x, theta, lambda, radius] : [x, lambda, radius];
  if (!needsGrad(...inputs)) {
    z.dispose();
    cache?.dispose();
    if (theta) U.dispose();
    return y;
  }
  return record(y, op, inputs, (gy) => {
    // One native call (gmp_dense_backward): G_Z, dλ, dr, dX = G_Z·U, dU = G_Zᵀ·X and the reverse
    // scan for dθ; dz and dU are scratch.
    const dz = empty([B, m], x.dtype, x.device);
    const dl = lambda.requiresGrad ? empty([m], x.dtype, x.device) : null;
    const dr = radius.requiresGrad ? empty([m], x.dtype, x.device) : null;
    const dx = x.requiresGrad ? empty([B, n], x.dtype, x.device) : null;
    const wantTheta = theta !== null && theta.requiresGrad;
    const dU = wantTheta ? empty([m, n], x.dtype, x.device) : null;
    const dtheta = wantTheta ? empty([m, n - 1], x.dtype, x.device) : null;
    callNative(() =>
      native.gmpDenseBackward(
        dx ? dx.buffer() : null, dU ? dU.buffer() : null, dtheta ? dtheta.buffer() : null, dl ? dl.buffer() : null, dr ? dr.buffer() : null,
        dz.buffer(), gy.buffer(op), z.buffer(op), x.buffer(op), U.buffer(op), theta ? theta.buffer(op) : null,
        cache ? cache.buffer() : null, radius.buffer(op), B, n, m, code,
      ),
    );
    dz.dispose();
    dU?.dispose();
    return theta ? [dx, dtheta, dl, dr] : [dx, dl, dr];
  });
}
