/**
 * The paper's MLPs (GMP_SPEC.md §5–§6): hidden dense layers with ReLU under one
 * parameterization, then a plain dense head (a WN head for the WN variants).
 *   'sp'     Linear(sp, relu)
 *   'wn'     Linear(wn, relu)
 *   'bn'     Linear(sp) -> BatchNorm -> ReLU
 *   'wn_mbn' Linear(wn) -> MeanOnlyBatchNorm -> ReLU
 *   'gmp'    Linear(gmp, relu)            (+ imn: MeanOnlyBatchNorm after each hidden layer)
 */
import { GmpnnError } from '../errors';
import { DType, Device } from '../tensor';
import { Module } from '../nn/module';
import { Linear } from '../nn/linear';
import { BatchNorm, MeanOnlyBatchNorm } from '../nn/norm';
import { ReLU, Sequential } from '../nn/layers';

export type MlpVariant = 'sp' | 'wn' | 'bn' | 'wn_mbn' | 'gmp';

export interface MlpOptions {
  inFeatures: number;
  hidden: number | number[];
  out: number;
  parameterization: MlpVariant;
  /** GmP+IMN: center each hidden layer's output (the next layer's input). */
  imn?: boolean;
  dtype?: DType;
  device?: Device;
  officialAbsLast?: boolean;
}

export function mlp(options: MlpOptions): Sequential {
  const { inFeatures, out, parameterization } = options;
  const hidden = Array.isArray(options.hidden) ? options.hidden : [options.hidden];
  const o = { dtype: options.dtype ?? 'float32', device: options.device ?? 'cpu' } as const;
  if (!['sp', 'wn', 'bn', 'wn_mbn', 'gmp'].includes(parameterization))
    throw new GmpnnError('E_ARG', `mlp: parameterization must be sp, wn, bn, wn_mbn or gmp, got ${String(parameterization)}`);
  if (options.imn && parameterization !== 'gmp') throw new GmpnnError('E_ARG', 'mlp: imn applies to the gmp parameterization');
  const layers: Module[] = [];
  let width = inFeatures;
  for (const h of hidden) {
    switch (parameterization) {
      case 'sp':
      case 'wn':
        layers.push(new Linear(width, h, { parameterization, activation: 'relu', ...o }));
        break;
      case 'bn':
        layers.push(new Linear(width, h, { parameterization: 'sp', ...o }), new BatchNorm(h, o), new ReLU());
        break;
      case 'wn_mbn':
        layers.push(new Linear(width, h, { parameterization: 'wn', ...o }), new MeanOnlyBatchNorm(h, o), new ReLU());
        break;
      case 'gmp':
        layers.push(new Linear(width, h, { parameterization: 'gmp', activation: 'relu', officialAbsLast: options.officialAbsLast, ...o }));
        if (options.imn) layers.push(new MeanOnlyBatchNorm(h, o));
        break;
    }
    width = h;
  }
  const headParam = parameterization === 'wn' || parameterization === 'wn_mbn' ? 'wn' : 'sp';
  layers.push(new Linear(width, out, { parameterization: headParam, ...o }));
  return new Sequential(...layers);
}
