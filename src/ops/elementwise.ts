/** Elementwise ops with NumPy broadcasting and their gradients. */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record } from '../autograd';
import { assertFiniteNumber, assertSameKind, assertTensor, broadcastShapes, broadcastStrides, contiguousStrides, fmt, sameShape } from './util';
import { sumToShape } from './reduction';

// Codes of gmpnn_unary_op / gmpnn_binary_op (native/include/gmpnn/eltwise.h).
/** @internal */
export const U = { neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, relu: 5, sigmoid: 6, tanh: 7, sin: 8, cos: 9, square: 10, reciprocal: 11, sign: 12, step: 13 } as const;
/** @internal */
export const B = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, pow: 6, gt: 7, eq: 8, maskPos: 9 } as const;

/** @internal op(x) elementwise (no graph). */
export function unaryRaw(x: Tensor, code: number, op: string): Tensor {
  assertTensor(x, op);
  const out = empty(x.shape, x.dtype, x.device);
  callNative(() => native.unary(out.buffer(), x.buffer(op), code));
  return out;
}

/** out = alpha·x + beta (no graph). */
export function affineRaw(x: Tensor, alpha: number, beta: number): Tensor {
  const out = empty(x.shape, x.dtype, x.device);
  callNative(() => native.affine(out.buffer(), x.buffer('affine'), alpha, beta));
  return out;
}

/** @internal op(a, b) with broadcasting (no graph). */
export function binaryRaw(a: Tensor, b: Tensor, code: number, op: string): Tensor {
  assertSameKind(op, a, b);
  const shape = broadcastShapes(a.shape, b.shape, op);
  const out = empty(shape, a.dtype, a.device);
  callNative(() =>
    native.binary(out.buffer(), a.buffer(op), b.buffer(op), code, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)),
  );
  return out;
}

// ------------------------------------------------------------------------- unary

export function neg(x: Tensor): Tensor {
  const out = unaryRaw(x, U.neg, 'neg');
  return record(out, 'neg', [x], (g) => [neg(g)]);
}
export function exp(x: Tensor): Tensor {
  const out = unaryRaw(x, U.exp, 'exp');
  return record(out, 'exp', [x], (g) => [mul(g, out)]);
}
export function log(x: Tensor): Tensor {
  const out = unaryRaw(x, U.log, 'log');
  return record(out, 'log', [x], (g) => [div(g, x)]);
}
export function sqrt(x: Tensor): Tensor {
  const out = unaryRaw(x, U.sqrt, 'sqrt');
  return record(out, 'sqrt', [x], (g) => {
    const r = reciprocalRaw(out);
    const gi = mulRaw(g, r);
    r.dispose();
    const res = affineRaw(gi, 0.5, 0);
    gi.dispose();
    return [res];
  });
}
export function abs(x: Tensor): Tensor {
  const out = unaryRaw(x, U.abs, 'abs');
  return record(out, 'abs', [x], (g) => {
    const s = unaryRaw(x, U.sign, 'abs');
    const r = mulRaw(g, s);
    s.dispose();
    return [r];
  });
}
export function relu(x: Tensor): Tensor {
  const out = unaryRaw(x, U.relu, 'relu');
  return record(out, 'relu', [x], (g) => [binaryRaw(g, x, B.maskPos, 'relu')]);
}
export function sigmoid(x: Tensor): Tensor {
  const out = unaryRaw(x, U.sigmoid, 'sigmoid');
  return record(out, 'sigmoid', [x], (g) => {
    const oneMinus = affineRaw(out, -1, 1);
    const d = mulRaw(out, oneMinus);
    oneMinus.dispose();
    const r = mulRaw(g, d);
    d.dispose();
    return [r];
  });
}
export function tanh(x: Tensor): Tensor {
  const out = unaryRaw(x, U.tanh, 'tanh');
  return record(out, 'tanh', [x], (g) => {
    const sq = unaryRaw(out, U.square, 'tanh');
    const d = affineRaw(sq, -1, 1);
    sq.dispose();
    const r = mulRaw(g, d);
    d.dispose();
    return [r];
  });
}
export function sin(x: Tensor): Tensor {
  const out = unaryRaw(x, U.sin, 'sin');
  return record(out, 'sin', [x], (g) => {
    const c = unaryRaw(x, U.cos, 'sin');
    const r = mulRaw(g, c);
    c.dispose();
    return [r];
  });
}
export function cos(x: Tensor): Tensor {
  const out = unaryRaw(x, U.cos, 'cos');
  return record(out, 'cos', [x], (g) => {
    const s = unaryRaw(x, U.sin, 'cos');
    const ns = affineRaw(s, -1, 0);
    s.dispose();
    const r = mulRaw(g, ns);
    ns.dispose();
    return [r];
  });
}
export function square(x: Tensor): Tensor {
  const out = unaryRaw(x, U.square, 'square');
  return record(out, 'square', [x], (g) => {
    const t = mulRaw(g, x);
    const r = affineRaw(t, 2, 0);
    t.dispose();
    return [r];
  });
}
function reciprocalRaw(x: Tensor): Tensor {
  return unaryRaw(x, U.reciprocal, 'reciprocal');
}
export function reciprocal(x: Tensor): Tensor {
  const out = reciprocalRaw(x);
  return record(out, 'reciprocal', [x], (g) => {
    const sq = unaryRaw(out, U.square, 'reciprocal');
    const t = mulRaw(g, sq);
    sq.dispose();
    const r = affineRaw(t, -1, 0);
    t.dispose();
    return [r];
  });
}
/** -1, 0 or +1 (not differentiable: no graph). */
export const sign = (x: Tensor): Tensor => unaryRaw(x, U.sign, 'sign');
/** 1 where x > 0, else 0 (the ReLU mask; no graph). */
export const step = (x: Tensor): Tensor => unaryRaw(x, U.step, 'step');

// ------------------------------------------------------------------------- binary

function mulRaw(a: Tensor, b: Tensor): Tensor {
  return binaryRaw(a, b, B.mul, 'mul');
}

type Operand = Tensor | number;

function scalarCheck(op: string, v: number): number {
  return assertFiniteNumber(v, op, 'scalar');
}

export function add(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return addScalar(assertTensor(a, 'add'), scalarCheck('add', b));
  if (typeof a === 'number') return addScalar(assertTensor(b, 'add'), scalarCheck('add', a));
  assertTensor(a, 'add', 'a');
  assertTensor(b, 'add', 'b');
  const out = binaryRaw(a, b, B.add, 'add');
  return record(out, 'add', [a, b], (g) => [sumToShape(g, a.shape), sumToShape(g, b.shape)]);
}

function addScalar(x: Tensor, s: number): Tensor {
  const out = affineRaw(x, 1, s);
  return record(out, 'addScalar', [x], (g) => [g]);
}

function mulScalar(x: Tensor, s: number): Tensor {
  const out = affineRaw(x, s, 0);
  return record(out, 'mulScalar', [x], (g) => [affineRaw(g, s, 0)]);
}

export function sub(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return addScalar(assertTensor(a, 'sub'), -scalarCheck('sub', b));
  if (typeof a === 'number') {
    const x = assertTensor(b, 'sub');
    const s = scalarCheck('sub', a);
    const out = affineRaw(x, -1, s);
    return record(out, 'rsubScalar', [x], (g) => [affineRaw(g, -1, 0)]);
  }
  assertTensor(a, 'sub', 'a');
  assertTensor(b, 'sub', 'b');
  const out = binaryRaw(a, b, B.sub, 'sub');
  return record(out, 'sub', [a, b], (g) => {
    const gb = b.requiresGrad ? sumToShapeNeg(g, b.shape) : null;
    return [a.requiresGrad ? sumToShape(g, a.shape) : null, gb];
  });
}

function sumToShapeNeg(g: Tensor, shape: readonly number[]): Tensor {
  const ng = affineRaw(g, -1, 0);
  const r = sumToShape(ng, shape);
  if (r !== ng) ng.dispose();
  return r;
}

export function mul(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return mulScalar(assertTensor(a, 'mul'), scalarCheck('mul', b));
  if (typeof a === 'number') return mulScalar(assertTensor(b, 'mul'), scalarCheck('mul', a));
  assertTensor(a, 'mul', 'a');
  assertTensor(b, 'mul', 'b');
  const out = binaryRaw(a, b, B.mul, 'mul');
  return record(out, 'mul', [a, b], (g) => [
    a.requiresGrad ? reduceOwned(mulRaw(g, b), a.shape) : null,
    b.requiresGrad ? reduceOwned(mulRaw(g, a), b.shape) : null,
  ]);
}

/** sumToShape of a temporary, disposing the temporary when a new tensor was made. */
function reduceOwned(t: Tensor, shape: readonly number[]): Tensor {
  const r = sumToShape(t, shape);
  if (r !== t) t.dispose();
  return r;
}

export function div(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') {
    const s = scalarCheck('div', b);
    if (s === 0) throw new GmpnnError('E_ARG', 'div: division by the scalar 0');
    return mulScalar(assertTensor(a, 'div'), 1 / s);
  }
  if (typeof a === 'number') return mulScalar(reciprocal(assertTensor(b, 'div')), scalarCheck('div', a));
  assertTensor(a, 'div', 'a');
  assertTensor(b, 'div', 'b');
  const out = binaryRaw(a, b, B.div, 'div');
  return record(out, 'div', [a, b], (g) => {
    const ga = a.requiresGrad ? reduceOwned(binaryRaw(g, b, B.div, 'div'), a.shape) : null;
    let gb: Tensor | null = null;
    if (b.requiresGrad) {
      // d(a/b)/db = -out / b
      const t = binaryRaw(out, b, B.div, 'div');
      const t2 = mulRaw(g, t);
      t.dispose();
      const t3 = affineRaw(t2, -1, 0);
      t2.dispose();
      gb = reduceOwned(t3, b.shape);
    }
    return [ga, gb];
  });
}

/** Elementwise maximum; where a == b the gradient goes to b. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return minmax(a, b, B.max, 'maximum');
}
/** Elementwise minimum; where a == b the gradient goes to b. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return minmax(a, b, B.min, 'minimum');
}
function minmax(a: Tensor, b: Tensor, code: number, op: string): Tensor {
  assertTensor(a, op, 'a');
  assertTensor(b, op, 'b');
  const out = binaryRaw(a, b, code, op);
  return record(out, op, [a, b], (g) => {
    // a wins where it is strictly better
    const mask = code === B.max ? binaryRaw(a, b, B.gt, op) : binaryRaw(b, a, B.gt, op);
    const ga = a.requiresGrad ? reduceOwned(mulRaw(g, mask), a.shape) : null;
    let gb: Tensor | null = null;
    if (b.requiresGrad) {
      const inv = affineRaw(mask, -1, 1);
      gb = reduceOwned(mulRaw(g, inv), b.shape);
      inv.dispose();
    }
    mask.dispose();
    return [ga, gb];
  });
}

/** x ** p for a number p. */
export function pow(x: Tensor, p: number): Tensor {
  assertTensor(x, 'pow');
  assertFiniteNumber(p, 'pow', 'exponent');
  const exponent = empty([], x.dtype, x.device);
  callNative(() => native.fill(exponent.buffer(), p));
  const out = binaryRaw(x, exponent, B.pow, 'pow');
  exponent.dispose();
  return record(out, 'pow', [x], (g) => {
    const e = empty([], x.dtype, x.device);
    callNative(() => native.fill(e.buffer(), p - 1));
    const t = binaryRaw(x, e, B.pow, 'pow');
    e.dispose();
    const t2 = mulRaw(g, t);
    t.dispose();
    const r = affineRaw(t2, p, 0);
    t2.dispose();
    return [r];
  });
}

/** 1 where a > b, else 0 (no graph). */
export const greater = (a: Tensor, b: Tensor): Tensor => binaryRaw(a, b, B.gt, 'greater');
/** 1 where a == b, else 0 (no graph). */
export const equal = (a: Tensor, b: Tensor): Tensor => binaryRaw(a, b, B.eq, 'equal');

/** In place: into += g (same shape). Used for gradient accumulation. */
export function addInPlace(into: Tensor, g: Tensor): void {
  assertSameKind('addInPlace', into, g);
  if (!sameShape(into.shape, g.shape))
    throw new GmpnnError('E_SHAPE', `addInPlace: ${fmt(into.shape)} += ${fmt(g.shape)}`);
  const st = contiguousStrides(into.shape);
  callNative(() => native.binary(into.buffer('addInPlace'), into.buffer(), g.buffer('addInPlace'), B.add, [...into.shape], st, st));
}
