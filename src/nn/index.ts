export { Module, parameter } from './module';
export { Linear, LinearOptions, Parameterization } from './linear';
export { BatchNorm, MeanOnlyBatchNorm, NormOptions } from './norm';
export { ReLU, Identity, Flatten, Sequential } from './layers';
export { glorotUniform } from './init';
