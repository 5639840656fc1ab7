/**
 * Tensor: shape, dtype, device, and a reference-counted native storage; plus the memory API
 * (dispose, tidy, keep, memory) in the style of TensorFlow.js. Tensors are always contiguous and
 * row-major; reshape shares storage, every other layout change copies (ops/layout.ts).
 */
import { GmpnnError, callNative } from './errors';
import { native, NativeBuffer, NativeHandle, DTYPE_CODE, DEVICE_CODE } from './native';

export type DType = 'float32' | 'float64';
export type Device = 'cpu' | 'cuda';
export type TypedArray = Float32Array | Float64Array;

/** A node of the autograd graph: how to map the output gradient onto each input. */
export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Returns one gradient per input (null where that input needs none). */
  backward(grad: Tensor): (Tensor | null)[];
}

class Storage {
  refs = 0;
  /** Set once an asynchronous read has pinned the buffer: it must not be reused from the pool. */
  pinned = false;
  readonly handle: NativeHandle;
  constructor(
    readonly buffer: NativeBuffer,
    readonly device: Device,
    readonly key: number,
    readonly bytes: number,
  ) {
    this.handle = buffer.handle;
  }
}

// ------------------------------------------------------------------------- buffer pool
// Freed buffers wait here, by exact (device, dtype, length), for the next tensor of that kind:
// creating a NativeBuffer (an N-API object with a finalizer) costs about a microsecond plus GC
// work, a large share of a small op, and a training step allocates the same shapes every time.
// Bounded (GMPNN_POOL_MB, default 64 MiB; 16 buffers per kind); emptyCache() drains it, and
// memory() counts pooled buffers as free.
const pool = {
  byKey: new Map<number, NativeBuffer[]>(),
  count: { cpu: 0, cuda: 0 } as Record<Device, number>,
  pooledBytes: { cpu: 0, cuda: 0 } as Record<Device, number>,
  capBytes: Math.max(0, Number(process.env.GMPNN_POOL_MB ?? 64)) * 1024 * 1024,
  perKey: 16,
};

// A number, not a string: building and hashing a string key per allocation showed in profiles of
// small steps. The native allocator refuses n > 2^40, so 4·n + 3 is an exact double.
function poolKey(device: Device, dtype: DType, n: number): number {
  return n * 4 + (dtype === 'float64' ? 2 : 0) + (device === 'cuda' ? 1 : 0);
}

function release(s: Storage): void {
  if (!s.pinned && pool.pooledBytes.cpu + pool.pooledBytes.cuda + s.bytes <= pool.capBytes) {
    let list = pool.byKey.get(s.key);
    if (!list) pool.byKey.set(s.key, (list = []));
    if (list.length < pool.perKey) {
      list.push(s.buffer);
      pool.count[s.device]++;
      pool.pooledBytes[s.device] += s.bytes;
      return;
    }
  }
  s.buffer.dispose();
}

/** Disposes every pooled buffer (their memory goes back to the native caching allocators). */
export function drainPool(): void {
  for (const list of pool.byKey.values()) for (const b of list) b.dispose();
  pool.byKey.clear();
  pool.count = { cpu: 0, cuda: 0 };
  pool.pooledBytes = { cpu: 0, cuda: 0 };
}

// ------------------------------------------------------------------------- engine state

interface Scope {
  tensors: Tensor[];
}

const state = {
  scopes: [] as Scope[],
  numTensors: 0,
  numBytes: { cpu: 0, cuda: 0 } as Record<Device, number>,
  numStorages: { cpu: 0, cuda: 0 } as Record<Device, number>,
  nextId: 1,
};

const leakWatch =
  typeof FinalizationRegistry !== 'undefined' && process.env.GMPNN_DEBUG
    ? new FinalizationRegistry<string>((desc) => {
        // A backstop only: the native memory is freed by the GC anyway; say who leaked.
        process.emitWarning(`gmpnn: tensor ${desc} was garbage-collected without dispose()`);
      })
    : null;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

/** Equal shapes (element by element: no strings on the hot path). */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkShape(shape: readonly number[], op: string): void {
  if (!Array.isArray(shape)) throw new GmpnnError('E_ARG', `${op}: shape must be an array of integers`);
  if (shape.length > 8) throw new GmpnnError('E_SHAPE', `${op}: at most 8 dimensions, got [${shape.join(', ')}]`);
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0)
      throw new GmpnnError('E_SHAPE', `${op}: shape [${shape.join(', ')}] must hold non-negative integers`);
}

export function checkDType(dtype: unknown, op: string): DType {
  if (dtype !== 'float32' && dtype !== 'float64')
    throw new GmpnnError('E_DTYPE', `${op}: dtype must be 'float32' or 'float64', got ${String(dtype)}`);
  return dtype;
}

export function checkDevice(device: unknown, op: string): Device {
  if (device !== 'cpu' && device !== 'cuda')
    throw new GmpnnError('E_DEVICE', `${op}: device must be 'cpu' or 'cuda', got ${String(device)}`);
  return device;
}

// ------------------------------------------------------------------------- Tensor

export class Tensor {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: Device;
  /** Set by ops when the tensor is the output of a recorded operation. */
  gradFn: GradNode | null = null;
  /** Accumulated gradient of a leaf that requires grad (owned by this tensor). */
  grad: Tensor | null = null;
  private _requiresGrad = false;
  private _storage: Storage | null;
  /** Kept tensors survive tidy(); parameters, gradients and optimizer state are kept. */
  kept = false;
  /** @internal backward()'s bookkeeping: the last pass that visited this tensor, and the gradient
   * waiting for it in that pass. */
  _pass = 0;
  /** @internal */
  _pending: Tensor | null = null;

  /** Internal: use the creation ops (tensor, zeros, ...) instead. */
  constructor(storage: Storage, shape: readonly number[], dtype: DType) {
    this.id = state.nextId++;
    // A copy, typed readonly but not frozen (as tfjs): frozen arrays have their own elements kind,
    // and mixing them with plain arrays made V8's shape-reading sites polymorphic — freezing cost
    // ~3 µs of JavaScript per MLP training step (8.6 → 5.7 µs, kernels stubbed out).
    this.shape = [...shape];
    this.dtype = dtype;
    this.device = storage.device;
    this._storage = storage;
    storage.refs++;
    state.numTensors++;
    const scope = state.scopes[state.scopes.length - 1];
    if (scope) scope.tensors.push(this);
    leakWatch?.register(this, `#${this.id} [${shape.join(', ')}]`, this);
  }

  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this._storage === null;
  }
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (v && this.gradFn === null && this.isDisposed) this.assertAlive('requiresGrad');
    this._requiresGrad = v;
  }
  /** True for tensors that are not the output of a recorded op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** The native buffer's handle, as kernels take it; throws on a disposed tensor. */
  buffer(op = 'tensor'): NativeHandle {
    if (this._storage === null) throw new GmpnnError('E_DISPOSED', `${op}: Tensor is disposed`);
    return this._storage.handle;
  }

  assertAlive(op: string): void {
    if (this._storage === null) throw new GmpnnError('E_DISPOSED', `${op}: Tensor is disposed`);
  }

  /** Frees this tensor's reference to its storage (and the gradient it owns). Idempotent. */
  dispose(): void {
    if (this._storage === null) return;
    const s = this._storage;
    this._storage = null;
    state.numTensors--;
    leakWatch?.unregister(this);
    if (--s.refs === 0) {
      state.numBytes[s.device] -= s.bytes;
      state.numStorages[s.device]--;
      release(s);
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    this.gradFn = null;
  }

  /** Flat copy of the values (synchronous; waits for the device). */
  dataSync(): TypedArray {
    return callNative(() => native.download(this.buffer('dataSync')));
  }

  /** Flat copy of the values, read on a worker thread. */
  data(): Promise<TypedArray> {
    const buf = this.buffer('data');
    this._storage!.pinned = true; // the worker thread reads it after we return
    return callNative(() => native.downloadAsync(buf));
  }

  /** Nested arrays (a number for a scalar), like PyTorch's tolist(). */
  toArray(): unknown {
    const flat = Array.from(this.dataSync());
    if (this.rank === 0) return flat[0];
    const build = (dim: number, offset: number): unknown[] => {
      const n = this.shape[dim];
      const stride = sizeOf(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < n; i++)
        out.push(dim === this.rank - 1 ? flat[offset + i] : build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new GmpnnError('E_SHAPE', `item: tensor of shape [${this.shape.join(', ')}] has ${this.size} elements, not 1`);
    return this.dataSync()[0];
  }

  /** A tensor with the same storage and a new shape (no copy). */
  reshape(shape: readonly number[]): Tensor {
    return reshapeImpl(this, shape);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  /** @internal shares the storage under another shape. */
  static view(src: Tensor, shape: readonly number[]): Tensor {
    src.assertAlive('view');
    return new Tensor(src._storage!, shape, src.dtype);
  }
}

// Reshape records its own gradient; the implementation lives in ops/layout.ts and is installed
// there to keep the dependency direction (tensor knows nothing of ops).
let reshapeImpl: (t: Tensor, shape: readonly number[]) => Tensor = (t, shape) => {
  checkShape(shape, 'reshape');
  return Tensor.view(t, shape);
};
export function setReshapeImpl(fn: (t: Tensor, shape: readonly number[]) => Tensor): void {
  reshapeImpl = fn;
}

/** Allocates an uninitialized tensor. */
export function empty(shape: readonly number[], dtype: DType = 'float32', device: Device = 'cpu'): Tensor {
  checkShape(shape, 'empty');
  checkDType(dtype, 'empty');
  checkDevice(device, 'empty');
  const n = sizeOf(shape);
  const key = poolKey(device, dtype, n);
  const bytes = n * bytesPerElement(dtype);
  const list = pool.byKey.get(key);
  let buf: NativeBuffer;
  if (list && list.length > 0) {
    buf = list.pop()!;
    pool.count[device]--;
    pool.pooledBytes[device] -= bytes;
  } else {
    buf = callNative(() => new native.NativeBuffer(DEVICE_CODE[device], DTYPE_CODE[dtype], n));
  }
  const storage = new Storage(buf, device, key, bytes);
  state.numBytes[device] += bytes;
  state.numStorages[device]++;
  return new Tensor(storage, shape, dtype);
}

export { checkShape };

// ------------------------------------------------------------------------- memory API

/** Marks a tensor so that the enclosing tidy() does not dispose it. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

function collect(result: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 4 || result === null || result === undefined) return;
  if (result instanceof Tensor) {
    into.add(result);
  } else if (Array.isArray(result)) {
    for (const r of result) collect(r, into, depth + 1);
  } else if (typeof result === 'object' && Object.getPrototypeOf(result) === Object.prototype) {
    for (const v of Object.values(result as Record<string, unknown>)) collect(v, into, depth + 1);
  }
}

/**
 * Runs fn and disposes every tensor it created, except kept tensors and the tensors it returns
 * (a tensor, or arrays/plain objects of them), which move to the enclosing scope.
 * fn must be synchronous (a Promise result is refused).
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: [] };
  state.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    state.scopes.pop();
  }
  if (result instanceof Promise) throw new GmpnnError('E_ARG', 'tidy: fn must be synchronous, it returned a Promise');
  // Nothing returned (a training step's usual tidy): no set to build or consult.
  let keepSet: Set<Tensor> | null = null;
  if (result !== undefined && result !== null) collect(result, (keepSet = new Set<Tensor>()));
  const parent = state.scopes[state.scopes.length - 1];
  for (const t of scope.tensors) {
    if (keepSet !== null && keepSet.has(t)) {
      if (parent) parent.tensors.push(t);
    } else if (!t.kept) {
      t.dispose();
    }
  }
  return result;
}

/** Disposes a tensor, or every tensor in an array or plain object. */
export function dispose(x: unknown): void {
  const set = new Set<Tensor>();
  collect(x, set);
  for (const t of set) t.dispose();
}

export interface MemoryInfo {
  /** Live (undisposed) Tensor objects. */
  numTensors: number;
  /** Bytes held by live storages, all devices. */
  numBytes: number;
  byDevice: Record<Device, { numBytes: number; numBuffers: number }>;
  /** What the addon itself counts (catches leaks below the TS layer). */
  native: ReturnType<typeof native.liveBuffers>;
}

export function memory(): MemoryInfo {
  return {
    numTensors: state.numTensors,
    numBytes: state.numBytes.cpu + state.numBytes.cuda,
    byDevice: {
      cpu: { numBytes: state.numBytes.cpu, numBuffers: state.numStorages.cpu },
      cuda: { numBytes: state.numBytes.cuda, numBuffers: state.numStorages.cuda },
    },
    native: nativeCounts(),
  };
}

// The addon's counts, less the pooled buffers (free memory waiting for reuse, like its cache).
function nativeCounts(): ReturnType<typeof native.liveBuffers> {
  const n = native.liveBuffers();
  for (const d of ['cpu', 'cuda'] as Device[]) {
    n[d].buffers -= pool.count[d];
    n[d].bytes -= pool.pooledBytes[d];
    n[d].cachedBytes = (n[d].cachedBytes ?? 0) + pool.pooledBytes[d];
  }
  return n;
}
