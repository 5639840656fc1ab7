/** All differentiable ops, and their installation as Tensor methods (x.add(y), x.sum() ...). */
import { Tensor, DType, Device } from '../tensor';
import { setAutogradKernels, backward } from '../autograd';
import * as creation from './creation';
import * as elementwise from './elementwise';
import * as reduction from './reduction';
import * as layout from './layout';
import * as linalg from './linalg';
import * as loss from './loss';

export * from './creation';
export * from './elementwise';
export { sum, mean, max, min, argmax, sumToShape } from './reduction';
export * from './layout';
export { matmul, linear } from './linalg';
export { gmpDirection, gmpLinear, gmpFromCartesian, Activation } from './gmp';
export { conv2d, conv2dBiasAct, gmpConv2d, Conv2dOptions, FusedConv2dOptions, GmpConv2dOptions, Padding } from './conv';
export { maxPool2d, avgPool2d, globalAvgPool2d, Pool2dOptions, AvgPool2dOptions } from './pool';
export { meanOnlyBatchNorm, batchNormTrain, weightNorm } from './norm';
export * from './loss';

setAutogradKernels({ accumulate: elementwise.addInPlace, clone: creation.clone, onesLike: creation.onesLike });

type Operand = Tensor | number;

declare module '../tensor' {
  interface Tensor {
    add(b: Operand): Tensor;
    sub(b: Operand): Tensor;
    mul(b: Operand): Tensor;
    div(b: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    square(): Tensor;
    pow(p: number): Tensor;
    maximum(b: Tensor): Tensor;
    minimum(b: Tensor): Tensor;
    matmul(b: Tensor): Tensor;
    sum(axes?: number | number[], keepDims?: boolean): Tensor;
    mean(axes?: number | number[], keepDims?: boolean): Tensor;
    max(axes?: number | number[], keepDims?: boolean): Tensor;
    min(axes?: number | number[], keepDims?: boolean): Tensor;
    argmax(axis?: number): Tensor;
    transpose(axis0?: number, axis1?: number): Tensor;
    permute(perm: readonly number[]): Tensor;
    flatten(startAxis?: number): Tensor;
    slice(begin: readonly number[], size?: readonly number[]): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    clone(): Tensor;
    detach(): Tensor;
    to(target: Device | DType): Tensor;
    float(): Tensor;
    double(): Tensor;
    backward(grad?: Tensor): void;
  }
}

const P = Tensor.prototype;
P.add = function (b) { return elementwise.add(this, b); };
P.sub = function (b) { return elementwise.sub(this, b); };
P.mul = function (b) { return elementwise.mul(this, b); };
P.div = function (b) { return elementwise.div(this, b); };
P.neg = function () { return elementwise.neg(this); };
P.exp = function () { return elementwise.exp(this); };
P.log = function () { return elementwise.log(this); };
P.sqrt = function () { return elementwise.sqrt(this); };
P.abs = function () { return elementwise.abs(this); };
P.relu = function () { return elementwise.relu(this); };
P.sigmoid = function () { return elementwise.sigmoid(this); };
P.tanh = function () { return elementwise.tanh(this); };
P.sin = function () { return elementwise.sin(this); };
P.cos = function () { return elementwise.cos(this); };
P.square = function () { return elementwise.square(this); };
P.pow = function (p) { return elementwise.pow(this, p); };
P.maximum = function (b) { return elementwise.maximum(this, b); };
P.minimum = function (b) { return elementwise.minimum(this, b); };
P.matmul = function (b) { return linalg.matmul(this, b); };
P.sum = function (axes, keepDims) { return reduction.sum(this, axes, keepDims); };
P.mean = function (axes, keepDims) { return reduction.mean(this, axes, keepDims); };
P.max = function (axes, keepDims) { return reduction.max(this, axes, keepDims); };
P.min = function (axes, keepDims) { return reduction.min(this, axes, keepDims); };
P.argmax = function (axis) { return reduction.argmax(this, axis); };
P.transpose = function (a0, a1) { return layout.transpose(this, a0, a1); };
P.permute = function (perm) { return layout.permute(this, perm); };
P.flatten = function (start) { return layout.flatten(this, start); };
P.slice = function (begin, size) { return layout.slice(this, begin, size); };
P.broadcastTo = function (shape) { return layout.broadcastTo(this, shape); };
P.squeeze = function (axis) { return layout.squeeze(this, axis); };
P.unsqueeze = function (axis) { return layout.unsqueeze(this, axis); };
P.clone = function () { return creation.clone(this); };
P.detach = function () { return creation.detach(this); };
P.to = function (target) {
  return target === 'float32' || target === 'float64' ? creation.cast(this, target) : creation.toDevice(this, target);
};
P.float = function () { return creation.cast(this, 'float32'); };
P.double = function () { return creation.cast(this, 'float64'); };
P.backward = function (grad) { backward(this, grad); };

