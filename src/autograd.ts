/**
 * Reverse-mode autodiff on a dynamic graph (PyTorch style): ops record a GradNode on their output
 * when grad mode is on and an input requires grad; backward() walks the graph in reverse
 * topological order and accumulates into the .grad of leaves.
 */
import { GmpnnError } from './errors';
import { GradNode, Tensor, keep, sameShape } from './tensor';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with gradient recording on, whatever the enclosing mode. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op with these inputs must record its backward. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return anyNeedsGrad(inputs);
}

// needsGrad on an array: record() runs for every op, and a rest parameter allocated an array there.
function anyNeedsGrad(inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/**
 * Attaches a backward rule to `out` when needed. `backward` receives dL/dout and returns one
 * gradient per input, shaped like that input (null where not needed).
 */
export function record(
  out: Tensor,
  name: string,
  inputs: Tensor[],
  backward: (grad: Tensor) => (Tensor | null)[],
): Tensor {
  if (!anyNeedsGrad(inputs)) return out;
  const node: GradNode = { name, inputs, backward };
  out.gradFn = node;
  out.requiresGrad = true;
  return out;
}

// Accumulation is injected by ops (it needs the add kernel); this keeps autograd below ops.
let accumulate: (into: Tensor, g: Tensor) => void = () => {
  throw new GmpnnError('E_ARG', 'autograd: ops not loaded');
};
let cloneTensor: (t: Tensor) => Tensor = () => {
  throw new GmpnnError('E_ARG', 'autograd: ops not loaded');
};
let onesLike: (t: Tensor) => Tensor = () => {
  throw new GmpnnError('E_ARG', 'autograd: ops not loaded');
};
export function setAutogradKernels(k: {
  accumulate: (into: Tensor, g: Tensor) => void;
  clone: (t: Tensor) => Tensor;
  onesLike: (t: Tensor) => Tensor;
}): void {
  accumulate = k.accumulate;
  cloneTensor = k.clone;
  onesLike = k.onesLike;
}

// A pass's bookkeeping lives on the tensors it visits (Tensor._pass, Tensor._pending) rather than
// in a Map and a Set per pass, a Set per node and a tuple per visited tensor: those were about a
// quarter of a small MLP step's JavaScript (kernels stubbed out). So backward() is not reentrant;
// no rule calls it.
let passCount = 0;
const NO_INPUTS: readonly Tensor[] = [];

function topoOrder(root: Tensor, pass: number): Tensor[] {
  const order: Tensor[] = [];
  // Iterative DFS: graphs of deep networks exceed the JS call stack otherwise. stack[k]'s next
  // input to visit is next[k].
  const stack: Tensor[] = [root];
  const next: number[] = [0];
  root._pass = pass;
  while (stack.length > 0) {
    const top = stack.length - 1;
    const t = stack[top];
    const inputs = t.gradFn ? t.gradFn.inputs : NO_INPUTS;
    const i = next[top];
    if (i < inputs.length) {
      next[top] = i + 1;
      const input = inputs[i];
      if (input.requiresGrad && input._pass !== pass) {
        input._pass = pass;
        stack.push(input);
        next.push(0);
      }
    } else {
      stack.pop();
      next.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

function heldBy(inputs: readonly Tensor[], t: Tensor): boolean {
  for (const input of inputs) if (input._pending === t) return true;
  return false;
}

/**
 * Computes d(root)/d(leaf) for every leaf that requires grad and adds it to leaf.grad.
 * `grad` defaults to ones for a one-element root.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  root.assertAlive('backward');
  if (!root.requiresGrad)
    throw new GmpnnError('E_ARG', 'backward: tensor does not require grad (no recorded op reaches a parameter)');
  if (!grad && root.size !== 1)
    throw new GmpnnError('E_SHAPE', `backward: grad can be implied only for one-element outputs, got [${root.shape.join(', ')}]`);
  if (grad && !sameShape(grad.shape, root.shape))
    throw new GmpnnError('E_SHAPE', `backward: grad shape [${grad.shape.join(', ')}] does not match output [${root.shape.join(', ')}]`);
  noGrad(() => {
    const order = topoOrder(root, ++passCount);
    // Every tensor a gradient can reach is in `order`: its pending gradient starts empty.
    for (const t of order) t._pending = null;
    try {
      root._pending = grad ? cloneTensor(grad) : onesLike(root);
      for (const t of order) {
        const g = t._pending;
        if (!g) continue;
        t._pending = null;
        const node = t.gradFn;
        if (!node) {
          // A leaf: the gradient lands in .grad, which the leaf owns (kept across tidy).
          if (t.grad) {
            accumulate(t.grad, g);
            g.dispose();
          } else {
            t.grad = keep(g);
          }
          continue;
        }
        const inputs = node.inputs;
        const inputGrads = node.backward(g);
        if (inputGrads.length !== inputs.length)
          throw new GmpnnError('E_ARG', `backward of ${node.name}: ${inputGrads.length} gradients for ${inputs.length} inputs`);
        // The gradients this rule handed out, each once (a rule may hand the same tensor to
        // several inputs, or g itself: those are copied so that each accumulator owns its buffer).
        let owned: Tensor[] | null = null;
        for (let i = 0; i < inputs.length; i++) {
          const input = inputs[i];
          const gi = inputGrads[i];
          if (!gi || !input.requiresGrad) continue;
          if (!sameShape(gi.shape, input.shape))
            throw new GmpnnError('E_SHAPE', `backward of ${node.name}: gradient [${gi.shape.join(', ')}] for input [${input.shape.join(', ')}]`);
          const mine = gi === g || (owned !== null && owned.includes(gi)) ? cloneTensor(gi) : gi;
          (owned ??= []).push(gi);
          const prev = input._pending;
          if (prev) {
            accumulate(prev, mine);
            mine.dispose();
          } else {
            input._pending = mine;
          }
        }
        // A handed-out tensor that no input holds as its pending gradient (accumulated, or copied)
        // is done with; only this rule's inputs can hold it.
        if (owned)
          for (const gi of owned) if (gi !== g && !heldBy(inputs, gi)) gi.dispose();
        g.dispose();
      }
    } finally {
      for (const t of order) t._pending = null;
    }
  });
}
