/**
 * The typed surface of the native addon (build/Release/gmpnn.node) and its loader.
 * Set GMPNN_NATIVE_BINDING to a .node path to load another build.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';

export const DTYPE_CODE = { float32: 0, float64: 1 } as const;
export const DEVICE_CODE = { cpu: 0, cuda: 1 } as const;

/**
 * A buffer's handle: the opaque value (an N-API External) kernels take as a buffer argument
 * (`NativeBuffer.handle`; `Tensor.buffer()` returns it). Reading it costs the binding a hash
 * lookup, where unwrapping the NativeBuffer object was a private-property lookup per argument.
 */
export type NativeHandle = { readonly __gmpnnHandle: never };

export interface NativeBuffer {
  readonly handle: NativeHandle;
  readonly dtype: 0 | 1;
  readonly device: 0 | 1;
  readonly numel: number;
  readonly byteLength: number;
  readonly disposed: boolean;
  dispose(): void;
}

export interface BackendInfo {
  cpu: { available: true; gemmIsa: string; threads: number };
  cuda: { compiled: boolean; available: boolean; reason?: string; devices?: number; name?: string };
}

type Buf = NativeHandle;
export interface NativeAddon {
  NativeBuffer: new (device: number, dtype: number, numel: number) => NativeBuffer;
  cudaCompiled: boolean;
  upload(b: Buf, data: Float32Array | Float64Array): void;
  download(b: Buf): Float32Array | Float64Array;
  downloadAsync(b: Buf): Promise<Float32Array | Float64Array>;
  copy(dst: Buf, src: Buf): void;
  liveBuffers(): { cpu: { buffers: number; bytes: number; cachedBytes: number }; cuda: { buffers: number; bytes: number; cachedBytes?: number } };
  emptyCache(): void;
  backends(): BackendInfo;
  setNumThreads(n: number): void;
  synchronize(): void;
  unary(out: Buf, x: Buf, op: number): void;
  binary(out: Buf, a: Buf, b: Buf, op: number, shape: number[], aStrides: number[], bStrides: number[]): void;
  affine(out: Buf, x: Buf, alpha: number, beta: number): void;
  fill(out: Buf, value: number): void;
  channelAffine(out: Buf, x: Buf, scale: Buf | null, shift: Buf | null, rows: number, cols: number): void;
  cast(out: Buf, x: Buf): void;
  reduce(out: Buf, x: Buf, op: number, outer: number, r: number, inner: number): void;
  copyStrided(out: Buf, outOffset: number, outStrides: number[], x: Buf, inOffset: number, inStrides: number[], shape: number[]): void;
  gemm(c: Buf, a: Buf, b: Buf, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, beta: number): void;
  lossForward(loss: Buf, pred: Buf, target: Buf, kind: number): void;
  lossBackward(dpred: Buf, dloss: Buf, pred: Buf, target: Buf, kind: number): void;
  softmaxXentForward(loss: Buf, probs: Buf, logits: Buf, labels: Buf, n: number, c: number): void;
  softmaxXentBackward(dlogits: Buf, dloss: Buf, probs: Buf, labels: Buf, n: number, c: number): void;
  sgdStep(param: Buf, momentumBuf: Buf | null, grad: Buf, lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean): void;
  /** adam_step over count tensors: (lr, beta1, beta2, eps, weightDecay, decoupled, count, then param, m, v, grad, step per tensor). */
  adamStepMany(...args: (Buf | number | boolean)[]): void;
  rngUniform(out: Buf, seed: number, offset: number, low: number, high: number): void;
  rngNormal(out: Buf, seed: number, offset: number, mean: number, std: number): void;
  gmpDirectionForward(u: Buf, theta: Buf, m: number, n: number): void;
  gmpDirectionBackward(dtheta: Buf, du: Buf, theta: Buf, m: number, n: number): void;
  gmpDirectionInverse(theta: Buf, r: Buf, w: Buf, m: number, n: number, absLast: boolean): void;
  gmpDenseForward(y: Buf, z: Buf, x: Buf, w: Buf, lambda: Buf, r: Buf | null, rows: number, n: number, cols: number, act: number): void;
  gmpDenseForwardTheta(
    y: Buf, z: Buf, u: Buf | null, cache: Buf | null, x: Buf, theta: Buf, lambda: Buf, r: Buf, rows: number, n: number, cols: number, act: number,
  ): void;
  gmpDenseBackward(
    dx: Buf | null, dw: Buf | null, dtheta: Buf | null, dlambda: Buf | null, dr: Buf | null, dz: Buf,
    dy: Buf, z: Buf, y: Buf, x: Buf, w: Buf | null, theta: Buf | null, cache: Buf | null, lambda: Buf | null, r: Buf | null,
    rows: number, n: number, cols: number, act: number,
  ): void;
  gmpEpilogueForward(y: Buf, z: Buf, lambda: Buf, r: Buf | null, rows: number, cols: number, act: number): void;
  gmpEpilogueBackward(dz: Buf, dlambda: Buf | null, dr: Buf | null, dy: Buf, z: Buf, r: Buf | null, rows: number, cols: number, act: number): void;
  weightNormForward(w: Buf, v: Buf, g: Buf, rows: number, n: number): void;
  batchNormForward(y: Buf, mean: Buf, variance: Buf, x: Buf, gamma: Buf, beta: Buf, rows: number, C: number, eps: number): void;
  meanOnlyBatchNormForward(y: Buf, mean: Buf, x: Buf, rows: number, C: number, scale: number): void;
  meanOnlyBatchNormBackward(dx: Buf, dy: Buf, rows: number, C: number, scale: number): void;
  batchNormBackward(
    dx: Buf | null, dgamma: Buf | null, dbeta: Buf | null, dy: Buf, x: Buf, gamma: Buf, mean: Buf, variance: Buf, rows: number, C: number, eps: number,
  ): void;
  weightNormBackward(dv: Buf | null, dg: Buf | null, dW: Buf, v: Buf, g: Buf, rows: number, n: number): void;
  /** dims: [N, H, W, Cin, Cout, KH, KW, OH, OW, strideH, strideW, padTop, padLeft] (native/include/gmpnn/conv.h). */
  conv2dForward(out: Buf, x: Buf, w: Buf, dims: number[]): void;
  conv2dBackwardData(dx: Buf, dy: Buf, w: Buf, dims: number[]): void;
  conv2dBackwardFilter(dw: Buf, dy: Buf, x: Buf, dims: number[]): void;
  /** dims: [N, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft] (native/include/gmpnn/pool.h). */
  maxPool2dForward(out: Buf, argmax: Buf, x: Buf, dims: number[]): void;
  maxPool2dBackward(dx: Buf, dy: Buf, argmax: Buf, dims: number[]): void;
  avgPool2dForward(out: Buf, x: Buf, dims: number[], countIncludePad: boolean): void;
  avgPool2dBackward(dx: Buf, dy: Buf, dims: number[], countIncludePad: boolean): void;
}

function candidates(): string[] {
  const root = path.resolve(__dirname, '..');
  const list = [path.join(root, 'build', 'Release', 'gmpnn.node'), path.join(root, 'build', 'Debug', 'gmpnn.node')];
  const override = process.env.GMPNN_NATIVE_BINDING;
  return override ? [override] : list;
}

function load(): NativeAddon {
  const tried: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`${file} (missing)`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file) as NativeAddon;
    } catch (e) {
      tried.push(`${file} (${(e as Error).message})`);
    }
  }
  throw new Error(
    [
      'gmpnn: could not load the native addon.',
      ...tried.map((t) => `  tried ${t}`),
      'Possible solutions:',
      '  - build it: `npm run build` (needs cmake, a C++17 compiler and OpenMP; CUDA is optional)',
      '  - point GMPNN_NATIVE_BINDING at a gmpnn.node built for this Node version and platform',
    ].join('\n'),
  );
}

export const native: NativeAddon = load();
