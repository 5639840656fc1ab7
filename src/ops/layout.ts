/** Layout ops: reshape (a view), and the copying ones — permute/transpose, slice, concat,
 * broadcastTo — all through the one strided-copy kernel. */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, checkShape, empty, setReshapeImpl, sizeOf } from '../tensor';
import { record } from '../autograd';
import { assertSameKind, assertTensor, broadcastShapes, contiguousStrides, fmt, normalizeAxis } from './util';
import { broadcastToRaw, sumToShape } from './reduction';

/** Same storage, new shape; one dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor(x, 'reshape');
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0) {
    const known = sizeOf(s.filter((_, i) => i !== free));
    if (known === 0 || x.size % known !== 0)
      throw new GmpnnError('E_SHAPE', `reshape: cannot reshape ${fmt(x.shape)} into ${fmt(shape)}`);
    s[free] = x.size / known;
  }
  checkShape(s, 'reshape');
  if (sizeOf(s) !== x.size) throw new GmpnnError('E_SHAPE', `reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
  const out = Tensor.view(x, s);
  return record(out, 'reshape', [x], (g) => [Tensor.view(g, x.shape)]);
}
setReshapeImpl(reshape);

export function flatten(x: Tensor, startAxis = 1): Tensor {
  assertTensor(x, 'flatten');
  const a = normalizeAxis(startAxis, x.rank, 'flatten');
  return reshape(x, [...x.shape.slice(0, a), sizeOf(x.shape.slice(a))]);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  assertTensor(x, 'permute');
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i))
    throw new GmpnnError('E_ARG', `permute: [${perm.join(', ')}] is not a permutation of the axes of ${fmt(x.shape)}`);
  const inStrides = contiguousStrides(x.shape);
  const outShape = perm.map((p) => x.shape[p]);
  const out = empty(outShape, x.dtype, x.device);
  callNative(() => native.copyStrided(out.buffer(), 0, contiguousStrides(outShape), x.buffer('permute'), 0, perm.map((p) => inStrides[p]), outShape));
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (the last two by default). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  assertTensor(x, 'transpose');
  if (x.rank < 2) throw new GmpnnError('E_SHAPE', `transpose: needs rank >= 2, got ${fmt(x.shape)}`);
  const a = normalizeAxis(axis0, x.rank, 'transpose');
  const b = normalizeAxis(axis1, x.rank, 'transpose');
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** x[begin[d] : begin[d] + size[d]] along every axis; size -1 means to the end. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  assertTensor(x, 'slice');
  if (begin.length !== x.rank || (size && size.length !== x.rank))
    throw new GmpnnError('E_SHAPE', `slice: begin/size must have one entry per axis of ${fmt(x.shape)}`);
  const outShape = x.shape.map((d, i) => {
    const s = size ? size[i] : -1;
    return s === -1 ? d - begin[i] : s;
  });
  x.shape.forEach((d, i) => {
    if (!Number.isInteger(begin[i]) || begin[i] < 0 || outShape[i] < 0 || begin[i] + outShape[i] > d)
      throw new GmpnnError('E_SHAPE', `slice: begin [${begin.join(', ')}] size [${outShape.join(', ')}] out of bounds for ${fmt(x.shape)}`);
  });
  const inStrides = contiguousStrides(x.shape);
  const offset = begin.reduce((acc, b, i) => acc + b * inStrides[i], 0);
  const out = empty(outShape, x.dtype, x.device);
  callNative(() => native.copyStrided(out.buffer(), 0, contiguousStrides(outShape), x.buffer('slice'), offset, inStrides, outShape));
  return record(out, 'slice', [x], (g) => {
    const gx = empty(x.shape, x.dtype, x.device);
    callNative(() => {
      native.fill(gx.buffer(), 0);
      native.copyStrided(gx.buffer(), offset, inStrides, g.buffer('slice'), 0, contiguousStrides(outShape), outShape);
    });
    return [gx];
  });
}

/** Joins tensors along an axis (all other extents equal). */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new GmpnnError('E_ARG', 'concat: needs a non-empty array of tensors');
  xs.forEach((x, i) => assertTensor(x, 'concat', `tensor ${i}`));
  assertSameKind('concat', ...xs);
  const first = xs[0];
  const a = normalizeAxis(axis, first.rank, 'concat');
  for (const x of xs)
    if (x.rank !== first.rank || x.shape.some((d: number, i: number) => i !== a && d !== first.shape[i]))
      throw new GmpnnError('E_SHAPE', `concat: shapes ${xs.map((t) => fmt(t.shape)).join(', ')} differ off axis ${a}`);
  const outShape = [...first.shape];
  outShape[a] = xs.reduce((acc, x) => acc + x.shape[a], 0);
  const out = empty(outShape, first.dtype, first.device);
  const outStrides = contiguousStrides(outShape);
  let at = 0;
  const starts: number[] = [];
  for (const x of xs) {
    starts.push(at);
    const off = at * outStrides[a];
    callNative(() => native.copyStrided(out.buffer(), off, outStrides, x.buffer('concat'), 0, contiguousStrides(x.shape), [...x.shape]));
    at += x.shape[a];
  }
  return record(out, 'concat', [...xs], (g) =>
    xs.map((x, i) => {
      const begin = x.shape.map((_: number, d: number) => (d === a ? starts[i] : 0));
      return sliceRaw(g, begin, x.shape);
    }),
  );
}

function sliceRaw(x: Tensor, begin: readonly number[], outShape: readonly number[]): Tensor {
  const inStrides = contiguousStrides(x.shape);
  const offset = begin.reduce((acc, b, i) => acc + b * inStrides[i], 0);
  const out = empty(outShape, x.dtype, x.device);
  callNative(() => native.copyStrided(out.buffer(), 0, contiguousStrides(outShape), x.buffer(), offset, inStrides, [...outShape]));
  return out;
}

/** Materializes x broadcast to `shape`. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor(x, 'broadcastTo');
  const target = broadcastShapes(x.shape, shape, 'broadcastTo');
  if (target.join() !== shape.join()) throw new GmpnnError('E_SHAPE', `broadcastTo: cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
  const out = broadcastToRaw(x, shape);
  return record(out, 'broadcastTo', [x], (g) => {
    const r = sumToShape(g, x.shape);
    return [r === g ? Tensor.view(g, g.shape) : r];
  });
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  assertTensor(x, 'unsqueeze');
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze');
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  assertTensor(x, 'squeeze');
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normalizeAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) throw new GmpnnError('E_SHAPE', `squeeze: axis ${a} of ${fmt(x.shape)} is not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}
