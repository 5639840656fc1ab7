/**
 * GmP ops (GMP_SPEC.md §2–§4) on the fused native kernels:
 *   gmpDirection(θ) = u(θ)                       (prefix product of sines)
 *   gmpLinear(x, θ, λ, r) = r ⊙ act(x·u(θ)ᵀ + λ)  (GEMM + fused +λ → act → ×r epilogue)
 * The forward is one gmp_dense_forward_theta call: u(θ) (leaving sin/cos for the backward on the
 * CPU) and the product with the epilogue (fused where the fan-in is small); the backward is one
 * gmp_dense_backward call: dY ⊙ act'(z) and its column sums in one pass (as for SP), the GEMMs dX
 * and dU with r applied to the [out, in] operands, dr from those and λ, and the division-free
 * reverse scan for dθ. SP/WN `linear` with a bias goes through the same two calls (ops/linalg.ts).
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty, keep } from '../tensor';
import { record, isGradEnabled } from '../autograd';
import { assertSameKind, assertTensor, fmt } from './util';
import { denseBackwardRaw, denseForwardRaw } from './linalg';

export type Activation = 'relu' | 'none';
const ACT: Record<Activation, number> = { none: 0, relu: 1 };

function directionRaw(theta: Tensor): Tensor {
  const [m, k] = theta.shape;
  const u = empty([m, k + 1], theta.dtype, theta.device);
  callNative(() => native.gmpDirectionForward(u.buffer(), theta.buffer('gmpDirection'), m, k + 1));
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

/**
 * @internal Reusable buffers of one GmP layer (nn.Linear keeps one): u(θ), its sin/cos cache and
 * the backward's dU scratch, so a training step allocates none of them. u and the cache are
 * functions of θ alone, rewritten by every forward: graphs that share them see their own values
 * as long as θ is unchanged between forward and backward, which every graph already requires of
 * θ itself. dU lives only inside one backward call.
 */
export interface GmpWorkspace {
  u: Tensor;
  cache: Tensor | null;
  dU: Tensor;
}

/** @internal A workspace for θ's shape, dtype and device (kept tensors; the owner disposes them). */
export function gmpWorkspace(theta: Tensor): GmpWorkspace {
  const [m, k] = theta.shape;
  return {
    u: keep(empty([m, k + 1], theta.dtype, theta.device)),
    cache: theta.device === 'cpu' ? keep(directionCache(theta)!) : null,
    dU: keep(empty([m, k + 1], theta.dtype, theta.device)),
  };
}

/** @internal Whether a workspace fits θ (same shape, dtype, device, not disposed). */
export function gmpWorkspaceFits(ws: GmpWorkspace | null, theta: Tensor): ws is GmpWorkspace {
  return (
    ws !== null && !ws.u.isDisposed && ws.u.dtype === theta.dtype && ws.u.device === theta.device &&
    ws.u.shape[0] === theta.shape[0] && ws.u.shape[1] === theta.shape[1] + 1
  );
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
 * `workspace` (internal, from gmpWorkspace) supplies u(θ), the sin/cos cache and the dU scratch.
 */
export function gmpLinear(
  x: Tensor,
  theta: Tensor | null,
  lambda: Tensor,
  radius: Tensor,
  activation: Activation = 'relu',
  direction?: Tensor,
  workspace?: GmpWorkspace,
): Tensor {
  const op = 'gmpLinear';
  assertTensor(x, op, 'x');
  assertTensor(lambda, op, 'lambda');
  assertTensor(radius, op, 'radius');
  if (!(activation in ACT)) throw new GmpnnError('E_ARG', `${op}: activation must be 'relu' or 'none', got ${String(activation)}`);
  if (theta) {
    checkTheta(theta, op);
    assertSameKind(op, x, theta, lambda, radius);
  } else {
    if (!direction) throw new GmpnnError('E_ARG', `${op}: needs theta, or direction for fan-in 1`);
    assertSameKind(op, x, direction, lambda, radius);
  }
  const m = theta ? theta.shape[0] : direction!.shape[0];
  const n = theta ? theta.shape[1] + 1 : direction!.shape[1];
  if (x.rank !== 2 || x.shape[1] !== n || lambda.rank !== 1 || lambda.shape[0] !== m || radius.rank !== 1 || radius.shape[0] !== m)
    throw new GmpnnError('E_SHAPE', `${op}: expected x [B, ${n}], lambda [${m}], radius [${m}], got x ${fmt(x.shape)}, theta ${theta ? fmt(theta.shape) : '-'}, lambda ${fmt(lambda.shape)}, radius ${fmt(radius.shape)}`);
  const code = ACT[activation];
  const inputs = theta ? [x, theta, lambda, radius] : [x, lambda, radius];
  // Who wants a gradient, read once (needsGrad per input cost a rest array each, every step).
  const wantX = x.requiresGrad, wantTheta = theta !== null && theta.requiresGrad;
  const wantLambda = lambda.requiresGrad, wantR = radius.requiresGrad;
  const grad = isGradEnabled() && (wantX || wantTheta || wantLambda || wantR);
  let U: Tensor | null;
  let cache: Tensor | null = null;
  let y: Tensor, z: Tensor;
  const ws = theta && workspace && gmpWorkspaceFits(workspace, theta) ? workspace : null;
  if (theta) {
    // The backward reads u(θ) only for dx, and for dr when θ is frozen (gmp.h); otherwise the
    // kernel skips writing it (a first layer's step, inference).
    const keepU = grad && (wantX || (wantR && !wantTheta));
    U = keepU ? (ws ? ws.u : empty([m, n], theta.dtype, theta.device)) : null;
    if (grad && wantTheta) cache = ws ? ws.cache : directionCache(theta);
    const B = x.shape[0];
    z = empty([B, m], x.dtype, x.device);
    y = empty([B, m], x.dtype, x.device);
    callNative(() =>
      native.gmpDenseForwardTheta(
        y.buffer(), z.buffer(), U ? U.buffer() : null, cache ? cache.buffer() : null, x.buffer(op), theta.buffer(op),
        lambda.buffer(op), radius.buffer(op), B, n, m, code,
      ),
    );
    if (!grad) {
      z.dispose();
      return y;
    }
  } else {
    U = direction!;
    ({ y, z } = denseForwardRaw(x, U, lambda, radius, code, op));
    if (!grad) {
      z.dispose();
      return y;
    }
  }
  const dUScratch = ws ? ws.dU : null;
  // What the backward computes is fixed here (the want* above), with the forward that decided
  // whether U was kept.
  return record(y, op, inputs, (gy) => {
    const gmp = { theta, cache, lambda, r: radius, wantTheta, wantR };
    const d = denseBackwardRaw(gy, z, y, x, U, gmp, code, op, { x: wantX, w: false, lambda: wantLambda }, dUScratch);
    return theta ? [d.dx, d.dtheta, d.dlambda, d.dr] : [d.dx, d.dlambda, d.dr];
  });
}
