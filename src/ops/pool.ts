/**
 * 2-D pooling ops on NHWC tensors (native/cpu/pool.cc): the VGG-6 2×2 max pools, the ResNet stem
 * 3×3/2 max pool and the global average pool before the classifier (GMP_SPEC.md §6).
 *   maxPool2d(x, {kernelSize, stride, padding})   the forward also records the argmax positions
 *                                                 the backward scatters to
 *   avgPool2d(x, {kernelSize, stride, padding, countIncludePad})
 *   globalAvgPool2d(x)                            mean over H and W: [N, H, W, C] -> [N, C]
 * stride defaults to kernelSize; padding as in conv2d ('valid' by default).
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record, needsGrad } from '../autograd';
import { assertTensor, fmt } from './util';
import { mean } from './reduction';
import { Padding, Size2, pair, windowGeometry } from './conv';

export interface Pool2dOptions {
  kernelSize: Size2;
  stride?: Size2;
  padding?: Padding;
}
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Divide by the full window size (true, PyTorch's default) or by the inputs it covers. */
  countIncludePad?: boolean;
}

function poolGeometry(x: Tensor, opts: Pool2dOptions, op: string): { dims: number[]; out: number[] } {
  assertTensor(x, op, 'x');
  if (x.rank !== 4) throw new GmpnnError('E_SHAPE', `${op}: expected x [N, H, W, C] (NHWC), got ${fmt(x.shape)}`);
  if (!opts || opts.kernelSize === undefined) throw new GmpnnError('E_ARG', `${op}: kernelSize is required`);
  const [KH, KW] = pair(opts.kernelSize, op, 'kernelSize');
  const [N, H, W, C] = x.shape;
  const w = windowGeometry(H, W, KH, KW, opts.stride ?? [KH, KW], opts.padding ?? 'valid', op);
  if (w.ph >= KH || w.pw >= KW)
    throw new GmpnnError('E_ARG', `${op}: padding ${w.ph}x${w.pw} must be smaller than the window ${KH}x${KW}`);
  return { dims: [N, H, W, C, KH, KW, w.OH, w.OW, w.sh, w.sw, w.ph, w.pw], out: [N, w.OH, w.OW, C] };
}

/** Max pooling; the gradient goes to the first largest element of each window. */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const op = 'maxPool2d';
  const { dims, out: shape } = poolGeometry(x, opts, op);
  const out = empty(shape, x.dtype, x.device);
  const arg = empty(shape, x.dtype, x.device);
  callNative(() => native.maxPool2dForward(out.buffer(), arg.buffer(), x.buffer(op), dims));
  if (!needsGrad(x)) {
    arg.dispose();
    return out;
  }
  return record(out, op, [x], (g) => {
    const dx = empty(x.shape, x.dtype, x.device);
    callNative(() => native.maxPool2dBackward(dx.buffer(), g.buffer(op), arg.buffer(op), dims));
    return [dx];
  });
}

/** Average pooling. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  const { dims, out: shape } = poolGeometry(x, opts, op);
  const inc = opts.countIncludePad ?? true;
  const out = empty(shape, x.dtype, x.device);
  callNative(() => native.avgPool2dForward(out.buffer(), x.buffer(op), dims, inc));
  return record(out, op, [x], (g) => {
    const dx = empty(x.shape, x.dtype, x.device);
    callNative(() => native.avgPool2dBackward(dx.buffer(), g.buffer(op), dims, inc));
    return [dx];
  });
}

/** Mean over the spatial axes: [N, H, W, C] -> [N, C] (keepDims: [N, 1, 1, C]). */
export function globalAvgPool2d(x: Tensor, keepDims = false): Tensor {
  assertTensor(x, 'globalAvgPool2d', 'x');
  if (x.rank !== 4) throw new GmpnnError('E_SHAPE', `globalAvgPool2d: expected x [N, H, W, C] (NHWC), got ${fmt(x.shape)}`);
  return mean(x, [1, 2], keepDims);
}
