/** Creation ops: from data, constant fills, seeded random draws, copies between devices/dtypes. */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { DType, Device, Tensor, TypedArray, checkDType, checkDevice, checkShape, empty, sizeOf } from '../tensor';
import { nextRandomOffset } from '../random';
import { assertTensor, fmt, sameShape } from './util';
import { record } from '../autograd';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function inferShape(data: unknown): number[] {
  const shape: number[] = [];
  let cur: unknown = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function flatten(data: unknown, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new GmpnnError('E_ARG', `tensor: expected a number, got ${typeof data}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth])
    throw new GmpnnError('E_SHAPE', `tensor: ragged nested array (expected length ${shape[depth]} at depth ${depth})`);
  for (const d of data) flatten(d, shape, depth + 1, out);
}

/**
 * A tensor from a number, nested arrays, or a flat array/typed array with an explicit shape.
 * The dtype defaults to float32 (float64 for a Float64Array).
 */
export function tensor(
  data: number | number[] | unknown[] | TypedArray,
  shape?: readonly number[],
  options: TensorOptions = {},
): Tensor {
  const dtype = checkDType(options.dtype ?? (data instanceof Float64Array ? 'float64' : 'float32'), 'tensor');
  const device = checkDevice(options.device ?? 'cpu', 'tensor');
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof data === 'number') {
    flat = [data];
    inferred = [];
  } else if (data instanceof Float32Array || data instanceof Float64Array) {
    flat = data;
    inferred = [data.length];
  } else if (Array.isArray(data)) {
    inferred = inferShape(data);
    const out: number[] = [];
    flatten(data, inferred, 0, out);
    flat = out;
  } else {
    throw new GmpnnError('E_ARG', `tensor: data must be a number, an array or a Float32Array/Float64Array`);
  }
  const finalShape = shape ? [...shape] : inferred;
  checkShape(finalShape, 'tensor');
  if (sizeOf(finalShape) !== flat.length)
    throw new GmpnnError('E_SHAPE', `tensor: ${flat.length} values do not fill shape ${fmt(finalShape)}`);
  const host = dtype === 'float64' ? Float64Array.from(flat) : Float32Array.from(flat);
  const t = empty(finalShape, dtype, device);
  callNative(() => native.upload(t.buffer(), host));
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  const t = empty(shape, options.dtype ?? 'float32', options.device ?? 'cpu');
  callNative(() => native.fill(t.buffer(), value));
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}
export const zeros = (shape: readonly number[], options: TensorOptions = {}): Tensor => full(shape, 0, options);
export const ones = (shape: readonly number[], options: TensorOptions = {}): Tensor => full(shape, 1, options);
export const zerosLike = (x: Tensor): Tensor => full(x.shape, 0, { dtype: x.dtype, device: x.device });
export const onesLike = (x: Tensor): Tensor => full(x.shape, 1, { dtype: x.dtype, device: x.device });
export const fullLike = (x: Tensor, v: number): Tensor => full(x.shape, v, { dtype: x.dtype, device: x.device });

export interface RandomOptions extends TensorOptions {
  /** Use this seed (stream offset 0) instead of the global generator. */
  seed?: number;
}

function draw(shape: readonly number[], options: RandomOptions, fill: (t: Tensor, seed: number, offset: number) => void): Tensor {
  const t = empty(shape, options.dtype ?? 'float32', options.device ?? 'cpu');
  const { seed, offset } = options.seed !== undefined ? { seed: options.seed, offset: 0 } : nextRandomOffset(t.size);
  callNative(() => fill(t, seed, offset));
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Uniform draws in (low, high) from the global Philox stream (same numbers on every device). */
export function randUniform(shape: readonly number[], low = 0, high = 1, options: RandomOptions = {}): Tensor {
  return draw(shape, options, (t, seed, offset) => native.rngUniform(t.buffer(), seed, offset, low, high));
}
export const rand = (shape: readonly number[], options: RandomOptions = {}): Tensor => randUniform(shape, 0, 1, options);

/** Normal draws N(mean, std²). */
export function randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  return draw(shape, options, (t, seed, offset) => native.rngNormal(t.buffer(), seed, offset, mean, std));
}

/** A copy that owns its storage. Differentiable. */
export function clone(x: Tensor): Tensor {
  assertTensor(x, 'clone');
  const out = empty(x.shape, x.dtype, x.device);
  callNative(() => native.copy(out.buffer(), x.buffer('clone')));
  return record(out, 'clone', [x], (g) => [clone(g)]);
}

/** The same values on another device (a copy; differentiable). */
export function toDevice(x: Tensor, device: Device): Tensor {
  assertTensor(x, 'to');
  checkDevice(device, 'to');
  const out = empty(x.shape, x.dtype, device);
  callNative(() => native.copy(out.buffer(), x.buffer('to')));
  return record(out, 'to', [x], (g) => [toDevice(g, x.device)]);
}

/** The same values in another dtype (differentiable). */
export function cast(x: Tensor, dtype: DType): Tensor {
  assertTensor(x, 'cast');
  checkDType(dtype, 'cast');
  const out = empty(x.shape, dtype, x.device);
  callNative(() => native.cast(out.buffer(), x.buffer('cast')));
  return record(out, 'cast', [x], (g) => [cast(g, x.dtype)]);
}

/** A tensor sharing values with x but cut from the graph. */
export function detach(x: Tensor): Tensor {
  assertTensor(x, 'detach');
  return Tensor.view(x, x.shape);
}

/** Copies value's elements into target in place (same shape and dtype; any devices). Not
 * recorded in the graph: use it for parameters and state, like tfjs's Variable.assign. */
export function assign(target: Tensor, value: Tensor | number[] | TypedArray): void {
  assertTensor(target, 'assign', 'target');
  if (value instanceof Tensor) {
    assertTensor(value, 'assign', 'value');
    if (!sameShape(value.shape, target.shape) || value.dtype !== target.dtype)
      throw new GmpnnError('E_SHAPE', `assign: value ${value.dtype} ${fmt(value.shape)} does not match target ${target.dtype} ${fmt(target.shape)}`);
    callNative(() => native.copy(target.buffer('assign'), value.buffer('assign')));
    return;
  }
  if (value.length !== target.size)
    throw new GmpnnError('E_SHAPE', `assign: ${value.length} values for target ${fmt(target.shape)}`);
  const host = target.dtype === 'float64' ? Float64Array.from(value) : Float32Array.from(value);
  callNative(() => native.upload(target.buffer('assign'), host));
}
