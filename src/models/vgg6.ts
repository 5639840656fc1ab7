/**
 * VGG-6 of the paper's ImageNet32 experiment (GMP_SPEC.md §6, the official imagenet32.py):
 * six 3×3 'same' convolutions 128, 128, pool, 256, 256, pool, 512, 512, pool (2×2 max),
 * global average pooling, dense(classes). NHWC input [N, H, W, inChannels].
 *
 *   'sp'      Conv(sp, bias, relu)
 *   'wn'      Conv(wn, relu)                              head: WN dense
 *   'wn_mbn'  Conv(wn) -> MeanOnlyBatchNorm -> ReLU       head: WN dense
 *   'bn'      Conv(sp, bias) -> BatchNorm -> ReLU
 *   'gmp'     Conv(gmp, relu)
 *   'gmp_imn' Conv(gmp, relu) -> MeanOnlyBatchNorm (IMN: centers the next layer's input)
 *
 * The order conv -> activation -> normalization -> max pool is the official code's. `width`
 * scales every conv's channel count (0.25 gives 32, 32, 64, 64, 128, 128) for small CPU runs.
 */
import { GmpnnError } from '../errors';
import { DType, Device } from '../tensor';
import { Module } from '../nn/module';
import { Linear } from '../nn/linear';
import { Conv2d } from '../nn/conv2d';
import { MaxPool2d, GlobalAvgPool2d } from '../nn/pool';
import { BatchNorm, MeanOnlyBatchNorm } from '../nn/norm';
import { ReLU, Sequential } from '../nn/layers';

export type Vgg6Variant = 'sp' | 'wn' | 'wn_mbn' | 'bn' | 'gmp' | 'gmp_imn';
export const VGG6_VARIANTS: readonly Vgg6Variant[] = ['sp', 'wn', 'wn_mbn', 'bn', 'gmp', 'gmp_imn'];

export interface Vgg6Options {
  variant: Vgg6Variant;
  classes: number;
  /** Input channels (3 for RGB, 1 for MNIST). Default 3. */
  inChannels?: number;
  /** Channel multiplier (default 1: 128, 128, 256, 256, 512, 512). */
  width?: number;
  dtype?: DType;
  device?: Device;
  /** GmP: the official code's |x_n| in the last angle at initialization. */
  officialAbsLast?: boolean;
}

/** The channel counts of the six convolutions at a width multiplier. */
export function vgg6Channels(width = 1): number[] {
  if (!(width > 0) || !Number.isFinite(width)) throw new GmpnnError('E_ARG', `vgg6: width must be a positive number, got ${width}`);
  return [128, 128, 256, 256, 512, 512].map((c) => Math.max(1, Math.round(c * width)));
}

/** One conv unit of a variant: the conv and what follows it up to (not including) pooling. */
export function convUnit(variant: Vgg6Variant, inC: number, outC: number, o: { dtype: DType; device: Device; officialAbsLast?: boolean }): Module[] {
  const base = { padding: 'same' as const, dtype: o.dtype, device: o.device };
  switch (variant) {
    case 'sp':
      return [new Conv2d(inC, outC, 3, { ...base, parameterization: 'sp', activation: 'relu' })];
    case 'wn':
      return [new Conv2d(inC, outC, 3, { ...base, parameterization: 'wn', activation: 'relu' })];
    case 'wn_mbn':
      return [new Conv2d(inC, outC, 3, { ...base, parameterization: 'wn' }), new MeanOnlyBatchNorm(outC, o), new ReLU()];
    case 'bn':
      return [new Conv2d(inC, outC, 3, { ...base, parameterization: 'sp' }), new BatchNorm(outC, o), new ReLU()];
    case 'gmp':
      return [new Conv2d(inC, outC, 3, { ...base, parameterization: 'gmp', activation: 'relu', officialAbsLast: o.officialAbsLast })];
    case 'gmp_imn':
      return [new Conv2d(inC, outC, 3, { ...base, parameterization: 'gmp', activation: 'relu', officialAbsLast: o.officialAbsLast }), new MeanOnlyBatchNorm(outC, o)];
    default:
      throw new GmpnnError('E_ARG', `vgg6: variant must be one of ${VGG6_VARIANTS.join(', ')}, got ${String(variant)}`);
  }
}

export function vgg6(options: Vgg6Options): Sequential {
  const { variant, classes } = options;
  if (!VGG6_VARIANTS.includes(variant)) throw new GmpnnError('E_ARG', `vgg6: variant must be one of ${VGG6_VARIANTS.join(', ')}, got ${String(variant)}`);
  if (!Number.isInteger(classes) || classes < 1) throw new GmpnnError('E_ARG', `vgg6: classes must be a positive integer, got ${classes}`);
  const inChannels = options.inChannels ?? 3;
  if (!Number.isInteger(inChannels) || inChannels < 1) throw new GmpnnError('E_ARG', `vgg6: inChannels must be a positive integer, got ${inChannels}`);
  const o = { dtype: options.dtype ?? 'float32', device: options.device ?? 'cpu', officialAbsLast: options.officialAbsLast } as const;
  const ch = vgg6Channels(options.width ?? 1);
  const layers: Module[] = [];
  let c = inChannels;
  ch.forEach((outC, i) => {
    layers.push(...convUnit(variant, c, outC, o));
    c = outC;
    if (i % 2 === 1) layers.push(new MaxPool2d(2, { stride: 2 }));
  });
  layers.push(new GlobalAvgPool2d());
  const head = variant === 'wn' || variant === 'wn_mbn' ? 'wn' : 'sp';
  layers.push(new Linear(c, classes, { parameterization: head, dtype: o.dtype, device: o.device }));
  return new Sequential(...layers);
}
