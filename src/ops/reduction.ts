/** Reductions (sum, mean, max, min, argmax) over any set of axes, and sumToShape for broadcasting. */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty, sizeOf } from '../tensor';
import { record } from '../autograd';
import { assertTensor, broadcastStrides, contiguousStrides, fmt, normalizeAxis } from './util';

/** @internal Codes of gmpnn_reduce_op (native/include/gmpnn/reduce.h). */
export const R = { sum: 0, max: 1, min: 2, argmax: 3 } as const;

function normalizeAxes(x: Tensor, axes: number | number[] | undefined, op: string): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = Array.isArray(axes) ? axes : [axes];
  const norm = list.map((a) => normalizeAxis(a, x.rank, op));
  if (new Set(norm).size !== norm.length) throw new GmpnnError('E_ARG', `${op}: repeated axis in [${list.join(', ')}]`);
  return norm.sort((a, b) => a - b);
}

/** Reduces the given (sorted) axes with op code; output keeps size-1 dims where reduced. */
function reduceRaw(x: Tensor, axes: number[], code: number, op: string): Tensor {
  // Group consecutive axes into blocks; reduce blocks from the last, so earlier indices stay valid.
  const blocks: [number, number][] = [];
  for (const a of axes) {
    const last = blocks[blocks.length - 1];
    if (last && last[1] === a - 1) last[1] = a;
    else blocks.push([a, a]);
  }
  if (code !== R.sum && blocks.length > 1)
    throw new GmpnnError('E_UNSUPPORTED', `${op}: axes must be consecutive, got [${axes.join(', ')}]`);
  let cur = x;
  let shape = [...x.shape];
  for (let bi = blocks.length - 1; bi >= 0; bi--) {
    const [lo, hi] = blocks[bi];
    const outer = sizeOf(shape.slice(0, lo));
    const r = sizeOf(shape.slice(lo, hi + 1));
    const inner = sizeOf(shape.slice(hi + 1));
    const outShape = shape.map((d, i) => (i >= lo && i <= hi ? 1 : d));
    if (r === 0) throw new GmpnnError('E_SHAPE', `${op}: cannot reduce an empty axis of ${fmt(x.shape)}`);
    const out = empty(outShape, x.dtype, x.device);
    const src = cur;
    callNative(() => native.reduce(out.buffer(), src.buffer(op), code, outer, r, inner));
    if (cur !== x) cur.dispose();
    cur = out;
    shape = outShape;
  }
  return cur === x ? cloneRaw(x) : cur;
}

function cloneRaw(x: Tensor): Tensor {
  const out = empty(x.shape, x.dtype, x.device);
  callNative(() => native.copy(out.buffer(), x.buffer()));
  return out;
}

function squeezeAxes(shape: readonly number[], axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

/** Copies g (shaped like x with reduced dims of size 1) to x's shape. */
export function broadcastToRaw(g: Tensor, shape: readonly number[]): Tensor {
  const out = empty(shape, g.dtype, g.device);
  callNative(() => native.copyStrided(out.buffer(), 0, contiguousStrides(shape), g.buffer('broadcastTo'), 0, broadcastStrides(g.shape, shape), [...shape]));
  return out;
}

export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  assertTensor(x, 'sum');
  const ax = normalizeAxes(x, axes, 'sum');
  const kept = reduceRaw(x, ax, R.sum, 'sum');
  const out = keepDims ? kept : Tensor.view(kept, squeezeAxes(x.shape, ax));
  if (!keepDims) kept.dispose();
  return record(out, 'sum', [x], (g) => {
    const gk = Tensor.view(g, kept.shape);
    const r = broadcastToRaw(gk, x.shape);
    gk.dispose();
    return [r];
  });
}

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  assertTensor(x, 'mean');
  const ax = normalizeAxes(x, axes, 'mean');
  const count = sizeOf(ax.map((a) => x.shape[a]));
  const kept = reduceRaw(x, ax, R.sum, 'mean');
  const scaled = empty(kept.shape, x.dtype, x.device);
  callNative(() => native.affine(scaled.buffer(), kept.buffer(), 1 / count, 0));
  kept.dispose();
  const out = keepDims ? scaled : Tensor.view(scaled, squeezeAxes(x.shape, ax));
  if (!keepDims) scaled.dispose();
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  return record(out, 'mean', [x], (g) => {
    const gk = Tensor.view(g, keptShape);
    const b = broadcastToRaw(gk, x.shape);
    gk.dispose();
    const r = empty(x.shape, x.dtype, x.device);
    callNative(() => native.affine(r.buffer(), b.buffer(), 1 / count, 0));
    b.dispose();
    return [r];
  });
}

function extremum(x: Tensor, axes: number | number[] | undefined, keepDims: boolean, code: number, op: string): Tensor {
  assertTensor(x, op);
  const ax = normalizeAxes(x, axes, op);
  const kept = reduceRaw(x, ax, code, op);
  const out = keepDims ? kept : Tensor.view(kept, squeezeAxes(x.shape, ax));
  return record(out, op, [x], (g) => {
    // The gradient flows to every element equal to the extremum (ties share it fully).
    const e = broadcastToRaw(kept, x.shape);
    const mask = empty(x.shape, x.dtype, x.device);
    const st = contiguousStrides(x.shape);
    callNative(() => native.binary(mask.buffer(), x.buffer(op), e.buffer(), 8, [...x.shape], st, st));
    e.dispose();
    const gk = Tensor.view(g, kept.shape);
    const gb = broadcastToRaw(gk, x.shape);
    gk.dispose();
    const r = empty(x.shape, x.dtype, x.device);
    callNative(() => native.binary(r.buffer(), gb.buffer(), mask.buffer(), 2, [...x.shape], st, st));
    gb.dispose();
    mask.dispose();
    return [r];
  });
}

export const max = (x: Tensor, axes?: number | number[], keepDims = false): Tensor => extremum(x, axes, keepDims, R.max, 'max');
export const min = (x: Tensor, axes?: number | number[], keepDims = false): Tensor => extremum(x, axes, keepDims, R.min, 'min');

/** Index of the first maximum along one axis (as numbers of x's dtype; no graph). */
export function argmax(x: Tensor, axis = -1): Tensor {
  assertTensor(x, 'argmax');
  const a = normalizeAxis(axis, x.rank, 'argmax');
  const kept = reduceRaw(x, [a], R.argmax, 'argmax');
  const out = Tensor.view(kept, squeezeAxes(x.shape, [a]));
  kept.dispose();
  return out;
}

/** Sums g over the axes that broadcasting expanded, so that it has `shape`. Returns g itself when
 * the shapes already agree. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  const kept = axes.length ? reduceRaw(g, axes, R.sum, 'sumToShape') : cloneRaw(g);
  const out = Tensor.view(kept, shape);
  kept.dispose();
  return out;
}
