/** Losses on fused kernels: mean squared error, mean absolute error, binary cross-entropy with
 * logits, softmax cross-entropy. Each returns a scalar mean. */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { record } from '../autograd';
import { assertSameKind, assertTensor, fmt, sameShape } from './util';

const KIND = { mse: 0, mae: 1, bce: 2 } as const;

function pointwise(pred: Tensor, target: Tensor, kind: number, op: string): Tensor {
  assertTensor(pred, op, 'pred');
  assertTensor(target, op, 'target');
  assertSameKind(op, pred, target);
  if (!sameShape(pred.shape, target.shape))
    throw new GmpnnError('E_SHAPE', `${op}: pred ${fmt(pred.shape)} and target ${fmt(target.shape)} differ`);
  if (pred.size === 0) throw new GmpnnError('E_SHAPE', `${op}: empty input`);
  const loss = empty([], pred.dtype, pred.device);
  callNative(() => native.lossForward(loss.buffer(), pred.buffer(op), target.buffer(op), kind));
  return record(loss, op, [pred, target], (g) => {
    // Targets are data: their gradient is not computed (as with detached labels in PyTorch).
    const dp = empty(pred.shape, pred.dtype, pred.device);
    callNative(() => native.lossBackward(dp.buffer(), g.buffer(), pred.buffer(op), target.buffer(op), kind));
    return [dp, null];
  });
}

export const mse = (pred: Tensor, target: Tensor): Tensor => pointwise(pred, target, KIND.mse, 'mse');
export const mae = (pred: Tensor, target: Tensor): Tensor => pointwise(pred, target, KIND.mae, 'mae');
/** mean(softplus(z) - t·z): the numerically stable sigmoid + BCE. */
export const bceWithLogits = (logits: Tensor, target: Tensor): Tensor => pointwise(logits, target, KIND.bce, 'bceWithLogits');

/** Softmax cross-entropy: logits [N, C], labels [N] holding class indices (as numbers). */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const op = 'crossEntropy';
  assertTensor(logits, op, 'logits');
  assertTensor(labels, op, 'labels');
  assertSameKind(op, logits, labels);
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0])
    throw new GmpnnError('E_SHAPE', `${op}: expected logits [N, C] and labels [N], got ${fmt(logits.shape)} and ${fmt(labels.shape)}`);
  const [n, c] = logits.shape;
  const loss = empty([], logits.dtype, logits.device);
  const probs = empty([n, c], logits.dtype, logits.device);
  callNative(() => native.softmaxXentForward(loss.buffer(), probs.buffer(), logits.buffer(op), labels.buffer(op), n, c));
  const out = record(loss, op, [logits, labels], (g) => {
    const d = empty([n, c], logits.dtype, logits.device);
    callNative(() => native.softmaxXentBackward(d.buffer(), g.buffer(), probs.buffer(op), labels.buffer(op), n, c));
    return [d, null];
  });
  if (!out.gradFn) probs.dispose();
  return out;
}
