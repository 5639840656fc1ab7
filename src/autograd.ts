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
  if (!needsGrad(...inputs)) return out;
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

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: graphs of deep networks exceed the JS call stack otherwise.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
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
    const order = topoOrder(root);
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, grad ? cloneTensor(grad) : onesLike(root));
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.gradFn) {
        // A leaf: the gradient lands in .grad, which the leaf owns (kept across tidy).
        if (t.grad) {
          accumulate(t.grad, g);
          g.dispose();
        } else {
          t.grad = keep(g);
        }
        continue;
      }
      const inputGrads = t.gradFn.backward(g);
      if (inputGrads.length !== t.gradFn.inputs.length)
        throw new GmpnnError('E_ARG', `backward of ${t.gradFn.name}: ${inputGrads.length} gradients for ${t.gradFn.inputs.length} inputs`);
      const owned = new Set<Tensor>();
      t.gradFn.inputs.forEach((input, i) => {
        const gi = inputGrads[i];
        if (!gi || !input.requiresGrad) return;
        if (!sameShape(gi.shape, input.shape))
          throw new GmpnnError('E_SHAPE', `backward of ${t.gradFn!.name}: gradient [${gi.shape.join(', ')}] for input [${input.shape.join(', ')}]`);
        // A rule may hand the same tensor to several inputs (add, or g itself): copy so that
        // each accumulator owns its buffer.
        const mine = gi === g || owned.has(gi) ? cloneTensor(gi) : gi;
        owned.add(gi);
        const prev = grads.get(input);
        if (prev) {
          accumulate(prev, mine);
          mine.dispose();
        } else {
          grads.set(input, mine);
        }
      });
      for (const gi of owned) if (gi !== g && !isHeld(grads, gi)) gi.dispose();
      g.dispose();
    }
  });
}

function isHeld(grads: Map<Tensor, Tensor>, t: Tensor): boolean {
  for (const v of grads.values()) if (v === t) return true;
  return false;
}
