/** Pooling layers (NHWC), parameter-free wrappers of ops/pool.ts. */
import { Tensor } from '../tensor';
import { Module } from './module';
import { Padding, Size2, pair } from '../ops/conv';
import { avgPool2d, globalAvgPool2d, maxPool2d } from '../ops/pool';

export interface Pool2dLayerOptions {
  /** Defaults to the kernel size. */
  stride?: Size2;
  padding?: Padding;
}

export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: Padding;
  constructor(kernelSize: Size2, options: Pool2dLayerOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize, 'MaxPool2d', 'kernelSize');
    this.stride = pair(options.stride ?? this.kernelSize, 'MaxPool2d', 'stride');
    this.padding = options.padding ?? 'valid';
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding });
  }
}

export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: Padding;
  readonly countIncludePad: boolean;
  constructor(kernelSize: Size2, options: Pool2dLayerOptions & { countIncludePad?: boolean } = {}) {
    super();
    this.kernelSize = pair(kernelSize, 'AvgPool2d', 'kernelSize');
    this.stride = pair(options.stride ?? this.kernelSize, 'AvgPool2d', 'stride');
    this.padding = options.padding ?? 'valid';
    this.countIncludePad = options.countIncludePad ?? true;
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, countIncludePad: this.countIncludePad });
  }
}

/** Mean over H and W: [N, H, W, C] -> [N, C]. */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
}
