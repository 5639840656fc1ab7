export { Module, parameter } from './module';
export { Linear, LinearOptions, Parameterization } from './linear';
export { Conv2d, Conv2dLayerOptions } from './conv2d';
export { MaxPool2d, AvgPool2d, GlobalAvgPool2d, Pool2dLayerOptions } from './pool';
export { BatchNorm, MeanOnlyBatchNorm, NormOptions } from './norm';
export { ReLU, Identity, Flatten, Sequential } from './layers';
export { glorotUniform } from './init';
