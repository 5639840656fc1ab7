/** Shared checks and shape arithmetic for ops. Messages name the op and the shapes. */
import { GmpnnError, callNative } from '../errors';
import { Tensor, sizeOf, sameShape } from '../tensor';

export { sameShape };

export const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export function assertTensor(x: unknown, op: string, name = 'input'): Tensor {
  if (!(x instanceof Tensor)) throw new GmpnnError('E_ARG', `${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op);
  return x;
}

/** All tensors share dtype and device; the error names both. */
export function assertSameKind(op: string, ...ts: Tensor[]): void {
  const a = ts[0];
  for (let i = 1; i < ts.length; i++) {
    const b = ts[i];
    if (b.dtype !== a.dtype)
      throw new GmpnnError('E_DTYPE', `${op}: dtype mismatch, ${a.dtype} ${fmt(a.shape)} vs ${b.dtype} ${fmt(b.shape)}`);
    if (b.device !== a.device)
      throw new GmpnnError('E_DEVICE', `${op}: device mismatch, ${a.device} ${fmt(a.shape)} vs ${b.device} ${fmt(b.shape)}`);
  }
}

export function assertFiniteNumber(v: unknown, op: string, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new GmpnnError('E_ARG', `${op}: ${name} must be a finite number, got ${String(v)}`);
  return v;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new GmpnnError('E_SHAPE', `${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element strides that read `shape` (contiguous) as if broadcast to `outShape`. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((d, i) => {
    const j = i - off;
    if (j < 0) return 0;
    return shape[j] === 1 && d !== 1 ? 0 : own[j];
  });
}

export function normalizeAxis(axis: number, rank: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1))
    throw new GmpnnError('E_ARG', `${op}: axis ${axis} out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

export { callNative, sizeOf };
