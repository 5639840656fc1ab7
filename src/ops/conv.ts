/**
 * 2-D convolution ops on the native NHWC kernels (native/cpu/conv.cc; GMP_SPEC.md §3–§4):
 *   conv2d(x, w)                         z = conv(x, w)                 x [N, H, W, Cin], w [Cout, KH, KW, Cin]
 *   conv2dBiasAct(x, w, b, {activation}) y = act(conv(x, w) + b)        (SP / WN layers, fused)
 *   gmpConv2d(x, θ, λ, r, {activation})  y = r ⊙ act(conv(x, u(θ)) + λ) (GmP, fused)
 * The fused ops build the weight once per call, run the convolution and the +λ → act → ×r
 * epilogue (gmp.h) on the output viewed as [N·OH·OW, Cout]. Their backward runs the epilogue
 * backward (dZ, dλ, dr in one pass), the data gradient, the filter gradient, and for GmP the
 * division-free reverse scan from dU to dθ.
 * Padding: 'valid' (none), 'same' (output ceil(H / stride), TensorFlow's split: the odd extra row
 * / column at the bottom / right), a number p or [ph, pw] (symmetric, PyTorch).
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record, needsGrad } from '../autograd';
import { assertSameKind, assertTensor, fmt } from './util';
import { full } from './creation';
import { Activation } from './gmp';

export type Padding = 'same' | 'valid' | number | readonly [number, number];
export type Size2 = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Size2;
  padding?: Padding;
}
export interface FusedConv2dOptions extends Conv2dOptions {
  activation?: Activation;
}
export interface GmpConv2dOptions extends FusedConv2dOptions {
  /** Kernel height and width; inferred for square kernels when omitted. */
  kernelSize?: Size2;
  /** Fan-in 1 (1×1 kernel, one input channel): the fixed signs [Cout, 1] instead of θ. */
  direction?: Tensor;
}

const ACT: Record<Activation, number> = { none: 0, relu: 1 };

/** Output size, stride and top/left padding of a sliding window over [H, W]. */
export interface Window2d {
  OH: number;
  OW: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

export function pair(v: Size2, op: string, name: string): [number, number] {
  if (!(typeof v === 'number' || (Array.isArray(v) && v.length === 2)))
    throw new GmpnnError('E_ARG', `${op}: ${name} must be a number or [h, w], got ${String(v)}`);
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.some((x) => !Number.isInteger(x) || x < 1))
    throw new GmpnnError('E_ARG', `${op}: ${name} must be positive integers, got ${String(v)}`);
  return p;
}

export function windowGeometry(H: number, W: number, KH: number, KW: number, stride: Size2, padding: Padding, op: string): Window2d {
  const [sh, sw] = pair(stride, op, 'stride');
  let ph: number, pw: number, OH: number, OW: number;
  if (padding === 'same') {
    OH = Math.ceil(H / sh);
    OW = Math.ceil(W / sw);
    ph = Math.floor(Math.max(0, (OH - 1) * sh + KH - H) / 2);
    pw = Math.floor(Math.max(0, (OW - 1) * sw + KW - W) / 2);
  } else {
    if (padding === 'valid') [ph, pw] = [0, 0];
    else if (typeof padding === 'number') [ph, pw] = [padding, padding];
    else if (Array.isArray(padding) && padding.length === 2) [ph, pw] = [padding[0], padding[1]];
    else throw new GmpnnError('E_ARG', `${op}: padding must be 'same', 'valid', a number or [ph, pw], got ${String(padding)}`);
    if (![ph, pw].every((p) => Number.isInteger(p) && p >= 0))
      throw new GmpnnError('E_ARG', `${op}: padding must be non-negative integers, got ${String(padding)}`);
    OH = Math.floor((H + 2 * ph - KH) / sh) + 1;
    OW = Math.floor((W + 2 * pw - KW) / sw) + 1;
  }
  if (OH < 1 || OW < 1)
    throw new GmpnnError('E_SHAPE', `${op}: window ${KH}x${KW} does not fit the padded input ${H}x${W} (padding ${String(padding)})`);
  return { OH, OW, sh, sw, ph, pw };
}

/** Full convolution geometry; `dims` is the native layout [N, H, W, Cin, Cout, KH, KW, OH, OW, sh, sw, ph, pw]. */
export interface ConvGeometry extends Window2d {
  N: number;
  H: number;
  W: number;
  Cin: number;
  Cout: number;
  KH: number;
  KW: number;
  dims: number[];
}

export function convGeometry(xShape: readonly number[], Cout: number, KH: number, KW: number, opts: Conv2dOptions, op: string): ConvGeometry {
  const [N, H, W, Cin] = xShape;
  const win = windowGeometry(H, W, KH, KW, opts.stride ?? 1, opts.padding ?? 'valid', op);
  const dims = [N, H, W, Cin, Cout, KH, KW, win.OH, win.OW, win.sh, win.sw, win.ph, win.pw];
  return { N, H, W, Cin, Cout, KH, KW, ...win, dims };
}

function checkInput(x: Tensor, op: string): void {
  assertTensor(x, op, 'x');
  if (x.rank !== 4) throw new GmpnnError('E_SHAPE', `${op}: expected x [N, H, W, C] (NHWC), got ${fmt(x.shape)}`);
}

// ----------------------------------------------------------------------------- raw kernels (no graph)

/** out [N, OH, OW, Cout] = conv(x, w); w holds Cout·KH·KW·Cin values in [out, kh, kw, in] order. */
export function conv2dForwardRaw(x: Tensor, w: Tensor, g: ConvGeometry, op = 'conv2d'): Tensor {
  const out = empty([g.N, g.OH, g.OW, g.Cout], x.dtype, x.device);
  callNative(() => native.conv2dForward(out.buffer(), x.buffer(op), w.buffer(op), g.dims));
  return out;
}

/** dx [N, H, W, Cin] from dy [N, OH, OW, Cout]. */
export function conv2dBackwardDataRaw(dy: Tensor, w: Tensor, g: ConvGeometry, op = 'conv2d'): Tensor {
  const dx = empty([g.N, g.H, g.W, g.Cin], dy.dtype, dy.device);
  callNative(() => native.conv2dBackwardData(dx.buffer(), dy.buffer(op), w.buffer(op), g.dims));
  return dx;
}

/** dW shaped `shape` (Cout·KH·KW·Cin values, [out, kh, kw, in] order) from dy and x. */
export function conv2dBackwardFilterRaw(dy: Tensor, x: Tensor, g: ConvGeometry, shape: readonly number[], op = 'conv2d'): Tensor {
  const dw = empty(shape, dy.dtype, dy.device);
  callNative(() => native.conv2dBackwardFilter(dw.buffer(), dy.buffer(op), x.buffer(op), g.dims));
  return dw;
}

// ----------------------------------------------------------------------------- ops

/** z = conv(x, weight), bias-free. x [N, H, W, Cin], weight [Cout, KH, KW, Cin]. */
export function conv2d(x: Tensor, weight: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  checkInput(x, op);
  assertTensor(weight, op, 'weight');
  assertSameKind(op, x, weight);
  if (weight.rank !== 4 || weight.shape[3] !== x.shape[3])
    throw new GmpnnError('E_SHAPE', `${op}: expected weight [Cout, KH, KW, ${x.shape[3]}] for x ${fmt(x.shape)}, got ${fmt(weight.shape)}`);
  const [Cout, KH, KW] = weight.shape;
  const g = convGeometry(x.shape, Cout, KH, KW, opts, op);
  const out = conv2dForwardRaw(x, weight, g, op);
  return record(out, op, [x, weight], (gy) => [
    x.requiresGrad ? conv2dBackwardDataRaw(gy, weight, g, op) : null,
    weight.requiresGrad ? conv2dBackwardFilterRaw(gy, x, g, weight.shape, op) : null,
  ]);
}

/**
 * The fused chain shared by the layers: z = conv(x, U) + λ (in place), y = r ⊙ act(z).
 * U holds the weight in [out, kh, kw, in] order (any shape); lambda and r are [Cout].
 * `grads` maps (dx, dU, dλ, dr) to one gradient per graph input.
 */
function fusedConv(
  op: string,
  x: Tensor,
  U: Tensor,
  lambda: Tensor,
  r: Tensor | null, // null: r = 1 (the SP/WN bias epilogue)
  act: number,
  g: ConvGeometry,
  inputs: Tensor[],
  wantU: boolean,
  wantLambda: boolean,
  wantR: boolean,
  grads: (dx: Tensor | null, dU: Tensor | null, dl: Tensor | null, dr: Tensor | null) => (Tensor | null)[],
  release: () => void,
): Tensor {
  const rows = g.N * g.OH * g.OW;
  const z = conv2dForwardRaw(x, U, g, op);
  const y = empty(z.shape, x.dtype, x.device);
  callNative(() => native.gmpEpilogueForward(y.buffer(), z.buffer(), lambda.buffer(op), r ? r.buffer(op) : null, rows, g.Cout, act));
  if (!needsGrad(...inputs)) {
    z.dispose();
    release();
    return y;
  }
  return record(y, op, inputs, (gy) => {
    const dz = empty(z.shape, x.dtype, x.device);
    const dl = wantLambda ? empty([g.Cout], x.dtype, x.device) : null;
    const dr = wantR ? empty([g.Cout], x.dtype, x.device) : null;
    callNative(() =>
      native.gmpEpilogueBackward(dz.buffer(), dl ? dl.buffer() : null, dr ? dr.buffer() : null, gy.buffer(op), z.buffer(op), r ? r.buffer(op) : null, rows, g.Cout, act),
    );
    const dx = x.requiresGrad ? conv2dBackwardDataRaw(dz, U, g, op) : null;
    const dU = wantU ? conv2dBackwardFilterRaw(dz, x, g, [g.Cout, g.KH * g.KW * g.Cin], op) : null;
    dz.dispose();
    return grads(dx, dU, dl, dr);
  });
}

function activationCode(activation: Activation | undefined, op: string): number {
  const a = activation ?? 'none';
  if (!(a in ACT)) throw new GmpnnError('E_ARG', `${op}: activation must be 'relu' or 'none', got ${String(activation)}`);
  return ACT[a];
}

/** y = act(conv(x, weight) + bias), fused (bias may be null). weight [Cout, KH, KW, Cin], bias [Cout]. */
export function conv2dBiasAct(x: Tensor, weight: Tensor, bias: Tensor | null, opts: FusedConv2dOptions = {}): Tensor {
  const op = 'conv2dBiasAct';
  checkInput(x, op);
  assertTensor(weight, op, 'weight');
  assertSameKind(op, x, weight);
  if (weight.rank !== 4 || weight.shape[3] !== x.shape[3])
    throw new GmpnnError('E_SHAPE', `${op}: expected weight [Cout, KH, KW, ${x.shape[3]}] for x ${fmt(x.shape)}, got ${fmt(weight.shape)}`);
  const [Cout, KH, KW] = weight.shape;
  if (bias) {
    assertTensor(bias, op, 'bias');
    assertSameKind(op, x, bias);
    if (bias.rank !== 1 || bias.shape[0] !== Cout)
      throw new GmpnnError('E_SHAPE', `${op}: expected bias [${Cout}], got ${fmt(bias.shape)}`);
  }
  const act = activationCode(opts.activation, op);
  const g = convGeometry(x.shape, Cout, KH, KW, opts, op);
  const lambda = bias ?? full([Cout], 0, { dtype: x.dtype, device: x.device });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return fusedConv(op, x, weight, lambda, null, act, g, inputs, weight.requiresGrad, !!bias && bias.requiresGrad, false,
    (dx, dU, dl) => {
      const dw = dU ? Tensor.view(dU, weight.shape) : null;
      dU?.dispose();
      return bias ? [dx, dw, dl] : [dx, dw];
    },
    () => {
      if (!bias) lambda.dispose();
    });
}

function directionRaw(theta: Tensor, n: number, op: string): Tensor {
  const m = theta.shape[0];
  const u = empty([m, n], theta.dtype, theta.device);
  callNative(() => native.gmpDirectionForward(u.buffer(), theta.buffer(op), m, n));
  return u;
}

/**
 * The GmP convolution (GMP_SPEC.md §3): y = r ⊙ act(conv(x, reshape(u(θ))) + λ).
 * x [N, H, W, Cin], theta [Cout, KH·KW·Cin − 1], lambda [Cout], radius [Cout]; u(θ) [Cout, n] is the
 * weight [Cout, KH, KW, Cin] as is. For fan-in 1 pass theta = null and `direction` [Cout, 1].
 */
export function gmpConv2d(x: Tensor, theta: Tensor | null, lambda: Tensor, radius: Tensor, opts: GmpConv2dOptions = {}): Tensor {
  const op = 'gmpConv2d';
  checkInput(x, op);
  assertTensor(lambda, op, 'lambda');
  assertTensor(radius, op, 'radius');
  const act = activationCode(opts.activation ?? 'relu', op);
  const Cin = x.shape[3];
  let Cout: number, n: number;
  if (theta) {
    assertTensor(theta, op, 'theta');
    assertSameKind(op, x, theta, lambda, radius);
    if (theta.rank !== 2 || theta.shape[1] < 1)
      throw new GmpnnError('E_SHAPE', `${op}: theta must be [Cout, KH·KW·Cin − 1], got ${fmt(theta.shape)}`);
    [Cout, n] = [theta.shape[0], theta.shape[1] + 1];
  } else {
    if (!opts.direction) throw new GmpnnError('E_ARG', `${op}: needs theta, or direction for fan-in 1`);
    assertSameKind(op, x, opts.direction, lambda, radius);
    [Cout, n] = [opts.direction.shape[0], 1];
  }
  let KH: number, KW: number;
  if (opts.kernelSize !== undefined) [KH, KW] = pair(opts.kernelSize, op, 'kernelSize');
  else {
    const k = Math.round(Math.sqrt(n / Math.max(Cin, 1)));
    [KH, KW] = [k, k];
  }
  if (KH * KW * Cin !== n)
    throw new GmpnnError('E_SHAPE', `${op}: theta ${theta ? fmt(theta.shape) : '-'} does not match kernel ${KH}x${KW} and x ${fmt(x.shape)} (fan-in ${KH}·${KW}·${Cin} = ${KH * KW * Cin}, need ${n})`);
  if (lambda.rank !== 1 || lambda.shape[0] !== Cout || radius.rank !== 1 || radius.shape[0] !== Cout)
    throw new GmpnnError('E_SHAPE', `${op}: expected lambda [${Cout}] and radius [${Cout}], got ${fmt(lambda.shape)}, ${fmt(radius.shape)}`);
  const g = convGeometry(x.shape, Cout, KH, KW, opts, op);
  const U = theta ? directionRaw(theta, n, op) : opts.direction!;
  const inputs = theta ? [x, theta, lambda, radius] : [x, lambda, radius];
  return fusedConv(op, x, U, lambda, radius, act, g, inputs, !!theta && theta.requiresGrad, lambda.requiresGrad, radius.requiresGrad,
    (dx, dU, dl, dr) => {
      let dtheta: Tensor | null = null;
      if (theta && dU) {
        dtheta = empty(theta.shape, theta.dtype, theta.device);
        callNative(() => native.gmpDirectionBackward(dtheta!.buffer(), dU.buffer(op), theta.buffer(op), Cout, n));
        dU.dispose();
      }
      return theta ? [dx, dtheta, dl, dr] : [dx, dl, dr];
    },
    () => {
      if (theta) U.dispose();
    });
}
