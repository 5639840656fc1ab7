/** Optimizer base: a list of parameters, a learning rate, per-parameter state, and one fused
 * native update per parameter tensor (tinygrad's `_step`). */
import { GmpnnError } from '../errors';
import { Tensor, keep } from '../tensor';
import { toDevice, zerosLike } from '../ops/creation';
import { noGrad } from '../autograd';

export abstract class Optimizer {
  readonly params: Tensor[];
  lr: number;
  /** Per parameter index, its state tensors by name (momentum, Adam's moments). By index, not a
   * Map keyed by tensor: a step reads it for every parameter. */
  protected state: (Record<string, Tensor> | undefined)[] = [];
  stepCount = 0;

  constructor(params: Tensor[], lr: number, name: string) {
    if (!Array.isArray(params) || params.length === 0) throw new GmpnnError('E_ARG', `${name}: needs a non-empty array of parameters`);
    for (const p of params) if (!(p instanceof Tensor)) throw new GmpnnError('E_ARG', `${name}: parameters must be Tensors`);
    // A tensor listed twice would get two states and two updates per step (torch refuses a
    // parameter in two groups and deprecates it twice in one).
    const first = new Map<Tensor, number>();
    params.forEach((p, i) => {
      const j = first.get(p);
      if (j !== undefined) throw new GmpnnError('E_ARG', `${name}: parameter ${i} (shape [${p.shape.join(', ')}]) is the same tensor as parameter ${j}`);
      first.set(p, i);
    });
    checkHyper(name, 'lr', lr, 0);
    this.params = params;
    this.lr = lr;
  }

  /** Disposes the gradients (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) {
      if (p.grad) {
        p.grad.dispose();
        p.grad = null;
      }
    }
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    noGrad(() => {
      this.params.forEach((p, i) => {
        if (p.grad) this.update(p, p.grad, i);
      });
    });
  }

  /** One update of params[index] (= p) with grad. */
  protected abstract update(p: Tensor, grad: Tensor, index: number): void;

  /** params[index]'s state tensor `name`, zeros on first use. */
  protected slot(index: number, name: string): Tensor {
    const s = (this.state[index] ??= {});
    if (!s[name]) s[name] = keep(zerosLike(this.params[index]));
    return s[name];
  }

  /** Optimizer state for checkpoints: hyper-parameters and state tensors by parameter index. */
  stateDict(): { hyper: Record<string, number | boolean>; stepCount: number; slots: Record<string, Tensor> } {
    const slots: Record<string, Tensor> = {};
    this.state.forEach((s, i) => {
      if (s) for (const [k, v] of Object.entries(s)) slots[`${i}.${k}`] = v;
    });
    return { hyper: this.hyper(), stepCount: this.stepCount, slots };
  }

  loadStateDict(sd: { hyper: Record<string, number | boolean>; stepCount: number; slots: Record<string, Tensor> }): void {
    this.setHyper(sd.hyper);
    this.stepCount = sd.stepCount;
    for (const [key, t] of Object.entries(sd.slots)) {
      const [idx, name] = key.split('.');
      const p = this.params[Number(idx)];
      if (!p) throw new GmpnnError('E_ARG', `optimizer.loadStateDict: no parameter ${idx}`);
      if (t.shape.join() !== p.shape.join()) throw new GmpnnError('E_SHAPE', `optimizer.loadStateDict: slot ${key} shape mismatch`);
      const s = (this.state[Number(idx)] ??= {});
      s[name]?.dispose();
      // Checkpoints load onto the CPU: a slot follows its parameter's device (a resumed CUDA run
      // otherwise failed its first step with E_DEVICE, found by scripts/gpu_node_check.js).
      if (t.device !== p.device) {
        const moved = keep(toDevice(t, p.device));
        t.dispose();
        s[name] = moved;
      } else {
        s[name] = keep(t);
      }
    }
  }

  protected abstract hyper(): Record<string, number | boolean>;
  protected abstract setHyper(h: Record<string, number | boolean>): void;

  /** Frees the optimizer state. */
  dispose(): void {
    for (const s of this.state) if (s) for (const t of Object.values(s)) t.dispose();
    this.state = [];
  }
}

export function checkHyper(op: string, name: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new GmpnnError('E_ARG', `${op}: ${name} must be a finite number in [${min}, ${max}], got ${String(v)}`);
  return v;
}
