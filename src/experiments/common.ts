/** Shared pieces of the MLP experiments: the four methods, their learning rates, the hidden
 * layer's characteristic boundaries, and summary statistics. */
import { DType } from '../tensor';
import { Sequential } from '../nn/layers';
import { Linear } from '../nn/linear';
import { BatchNorm } from '../nn/norm';
import { mlp } from '../models/mlp';
import { characteristicBoundary } from '../geometry';

export type Method = 'sp' | 'wn' | 'bn' | 'gmp';
export const METHODS: readonly Method[] = ['sp', 'wn', 'bn', 'gmp'];
export const METHOD_LABEL: Record<Method, string> = { sp: 'SP', wn: 'WN', bn: 'BN', gmp: 'GmP' };

export function checkMethod(m: string): Method {
  if (!(METHODS as readonly string[]).includes(m)) throw new Error(`unknown method ${JSON.stringify(m)}: use one of ${METHODS.join(', ')}`);
  return m as Method;
}

/** The spec's learning rates: 0.1 for GmP, 0.01 for the others (§6). */
export function defaultLr(m: Method): number {
  return m === 'gmp' ? 0.1 : 0.01;
}

export function buildMlp(method: Method, inFeatures: number, hidden: number, dtype: DType): Sequential {
  return mlp({ inFeatures, hidden, out: 1, parameterization: method, dtype });
}

/** The first hidden Linear of an mlp and the BatchNorm after it (BN variant). */
export function hiddenLayer(model: Sequential): { layer: Linear; bn?: BatchNorm } {
  const layer = model.layers[0] as Linear;
  const bn = model.layers[1] instanceof BatchNorm ? (model.layers[1] as BatchNorm) : undefined;
  return { layer, bn };
}

/** Spatial locations φ [m·n] (row-major) and, for 2-D inputs, the normal angles [m]. */
export function unitGeometry(model: Sequential): { phi: Float64Array; angle?: Float64Array; m: number; n: number } {
  const { layer, bn } = hiddenLayer(model);
  const b = characteristicBoundary(layer, bn);
  const phi = Float64Array.from(b.spatialLocation.dataSync());
  const [m, n] = b.spatialLocation.shape;
  b.normal.dispose();
  b.bias.dispose();
  b.spatialLocation.dispose();
  return { phi, angle: b.angle, m, n };
}

export interface Summary {
  mean: number;
  /** Standard error of the mean: sample std (n − 1) / sqrt(n); 0 for one value. */
  stderr: number;
  n: number;
}

export function summarize(v: number[]): Summary {
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  if (n < 2) return { mean, stderr: 0, n };
  const varS = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, stderr: Math.sqrt(varS / n), n };
}

/** Progress events of the long-running experiments (the CLI draws them as bars). */
export interface Progress {
  /** A new task starts: `total` units of work (epochs or splits). */
  start?(label: string, total: number): void;
  tick?(value: number, info?: Record<string, string | number>): void;
  stop?(): void;
}
