/**
 * ResNet-18/34 (basic blocks 2-2-2-2 / 3-4-6-3, widths 64-128-256-512) in three variants
 * (GMP_SPEC.md §6; the official resnet34_{gmp,batchnorm,weightnorm}.py). NHWC input.
 *
 *   'gmp_imn' block:  h = IMN(ReLU(GmPConv3×3(x)))         (ReLU fused into the GmP conv)
 *                     h = GmPConv3×3(h)                     (no activation)
 *                     s = GmPConv1×1/2(x) on downsampling blocks, else x
 *                     out = IMN(ReLU(h + s))
 *             stem:  GmPConv7×7/2 -> ReLU -> IMN -> maxpool 3×3/2   ('imagenet')
 *                    GmPConv3×3/1 -> ReLU -> IMN                    ('small', e.g. 32×32 inputs)
 *   'bn'      block: conv-BN-ReLU, conv-BN, shortcut conv1×1/2-BN, add, ReLU (convs without bias)
 *   'wn_mbn'  block: the same with WN convs and MeanOnlyBatchNorm in place of BN
 * Head: global average pooling, dense(classes) (SP; WN for 'wn_mbn').
 * `width` scales the channel counts (tests and small CPU runs).
 */
import { GmpnnError } from '../errors';
import { DType, Device, Tensor } from '../tensor';
import { Module } from '../nn/module';
import { Linear } from '../nn/linear';
import { Conv2d } from '../nn/conv2d';
import { MaxPool2d, GlobalAvgPool2d } from '../nn/pool';
import { BatchNorm, MeanOnlyBatchNorm } from '../nn/norm';
import { ReLU, Sequential } from '../nn/layers';
import { add, relu } from '../ops/elementwise';

export type ResnetVariant = 'bn' | 'wn_mbn' | 'gmp_imn';
export const RESNET_VARIANTS: readonly ResnetVariant[] = ['bn', 'wn_mbn', 'gmp_imn'];
export type ResnetStem = 'imagenet' | 'small';

export interface ResnetOptions {
  depth: 18 | 34;
  variant: ResnetVariant;
  classes: number;
  /** 'imagenet': 7×7/2 conv + 3×3/2 max pool; 'small': one 3×3/1 conv (32×32 inputs). */
  stem?: ResnetStem;
  inChannels?: number;
  /** Channel multiplier (default 1: 64, 128, 256, 512). */
  width?: number;
  dtype?: DType;
  device?: Device;
}

const BLOCKS: Record<number, number[]> = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3] };

interface Ctx {
  variant: ResnetVariant;
  dtype: DType;
  device: Device;
}

/** conv (+ norm) of a variant, no activation unless `act` and GmP (where ReLU fuses into the conv). */
function conv(ctx: Ctx, inC: number, outC: number, k: number, stride: number, act: boolean): Module {
  const o = { dtype: ctx.dtype, device: ctx.device };
  const padding = (k - 1) / 2;
  if (ctx.variant === 'gmp_imn')
    return new Conv2d(inC, outC, k, { stride, padding, parameterization: 'gmp', activation: act ? 'relu' : 'none', ...o });
  const norm = ctx.variant === 'bn' ? new BatchNorm(outC, o) : new MeanOnlyBatchNorm(outC, o);
  const c = new Conv2d(inC, outC, k, { stride, padding, parameterization: ctx.variant === 'bn' ? 'sp' : 'wn', bias: false, ...o });
  return act ? new Sequential(c, norm, new ReLU()) : new Sequential(c, norm);
}

export class BasicBlock extends Module {
  readonly conv1: Module;
  readonly imn1: Module | null;
  readonly conv2: Module;
  readonly shortcut: Module | null;
  readonly imnOut: Module | null;

  constructor(ctx: Ctx, inC: number, outC: number, stride: number) {
    super();
    const gmp = ctx.variant === 'gmp_imn';
    const o = { dtype: ctx.dtype, device: ctx.device };
    this.conv1 = this.registerModule('conv1', conv(ctx, inC, outC, 3, stride, true));
    this.imn1 = gmp ? this.registerModule('imn1', new MeanOnlyBatchNorm(outC, o)) : null;
    this.conv2 = this.registerModule('conv2', conv(ctx, outC, outC, 3, 1, false));
    this.shortcut = stride !== 1 || inC !== outC ? this.registerModule('shortcut', conv(ctx, inC, outC, 1, stride, false)) : null;
    this.imnOut = gmp ? this.registerModule('imnOut', new MeanOnlyBatchNorm(outC, o)) : null;
  }

  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    if (this.imn1) h = this.imn1.forward(h);
    h = this.conv2.forward(h);
    const s = this.shortcut ? this.shortcut.forward(x) : x;
    const out = relu(add(h, s));
    return this.imnOut ? this.imnOut.forward(out) : out;
  }
}

export function resnet(options: ResnetOptions): Sequential {
  const { depth, variant, classes } = options;
  if (!(depth in BLOCKS)) throw new GmpnnError('E_ARG', `resnet: depth must be 18 or 34, got ${String(depth)}`);
  if (!RESNET_VARIANTS.includes(variant)) throw new GmpnnError('E_ARG', `resnet: variant must be one of ${RESNET_VARIANTS.join(', ')}, got ${String(variant)}`);
  if (!Number.isInteger(classes) || classes < 1) throw new GmpnnError('E_ARG', `resnet: classes must be a positive integer, got ${classes}`);
  const stem = options.stem ?? 'imagenet';
  if (stem !== 'imagenet' && stem !== 'small') throw new GmpnnError('E_ARG', `resnet: stem must be 'imagenet' or 'small', got ${String(stem)}`);
  const width = options.width ?? 1;
  if (!(width > 0) || !Number.isFinite(width)) throw new GmpnnError('E_ARG', `resnet: width must be a positive number, got ${width}`);
  const ctx: Ctx = { variant, dtype: options.dtype ?? 'float32', device: options.device ?? 'cpu' };
  const o = { dtype: ctx.dtype, device: ctx.device };
  const widths = [64, 128, 256, 512].map((c) => Math.max(1, Math.round(c * width)));
  const inC = options.inChannels ?? 3;
  const layers: Module[] = [];
  // Stem.
  if (stem === 'imagenet') layers.push(conv(ctx, inC, widths[0], 7, 2, true));
  else layers.push(conv(ctx, inC, widths[0], 3, 1, true));
  if (variant === 'gmp_imn') layers.push(new MeanOnlyBatchNorm(widths[0], o));
  if (stem === 'imagenet') layers.push(new MaxPool2d(3, { stride: 2, padding: 1 }));
  // Stages.
  let c = widths[0];
  BLOCKS[depth].forEach((n, stage) => {
    for (let b = 0; b < n; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      layers.push(new BasicBlock(ctx, c, widths[stage], stride));
      c = widths[stage];
    }
  });
  layers.push(new GlobalAvgPool2d());
  layers.push(new Linear(c, classes, { parameterization: variant === 'wn_mbn' ? 'wn' : 'sp', ...o }));
  return new Sequential(...layers);
}
