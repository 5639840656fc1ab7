/** Optimizer base: a list of parameters, a learning rate, per-parameter state, and one fused
 * native update per parameter tensor (tinygrad's `_step`). */
import { GmpnnError } from '../errors';
import { Tensor, keep } from '../tensor';
import { toDevice, zerosLike } from '../ops/creation';
import { noGrad } from '../autograd';

export abstract class Optimizer {
  readonly params: Tensor[];
  lr: number;
  protected state = new Map<Tensor, Record<string, Tensor>>();
  /** Bumped whenever state records may be replaced wholesale (loadStateDict, dispose), for
   * subclasses that keep references to them. */
  protected stateEpoch = 0;
  stepCount = 0;

  constructor(params: Tensor[], lr: number, name: string) {
    if (!Array.isArray(params) || params.length === 0) throw new GmpnnError('E_ARG', `${name}: needs a non-empty array of parameters`);
    for (const p of params) if (!(p instanceof Tensor)) throw new GmpnnError('E_ARG', `${name}: parameters must be Tensors`);
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
      for (const p of this.params) if (p.grad) this.update(p, p.grad);
    });
  }

  protected abstract update(p: Tensor, grad: Tensor): void;

  protected slot(p: Tensor, name: string): Tensor {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    if (!s[name]) s[name] = keep(zerosLike(p));
    return s[name];
  }

  /** Optimizer state for checkpoints: hyper-parameters and state tensors by parameter index. */
  stateDict(): { hyper: Record<string, number | boolean>; stepCount: number; slots: Record<string, Tensor> } {
    const slots: Record<string, Tensor> = {};
    this.params.forEach((p, i) => {
      const s = this.state.get(p);
      if (s) for (const [k, v] of Object.entries(s)) slots[`${i}.${k}`] = v;
    });
    return { hyper: this.hyper(), stepCount: this.stepCount, slots };
  }

  loadStateDict(sd: { hyper: Record<string, number | boolean>; stepCount: number; slots: Record<string, Tensor> }): void {
    this.stateEpoch++;
    this.setHyper(sd.hyper);
    this.stepCount = sd.stepCount;
    for (const [key, t] of Object.entries(sd.slots)) {
      const [idx, name] = key.split('.');
      const p = this.params[Number(idx)];
      if (!p) throw new GmpnnError('E_ARG', `optimizer.loadStateDict: no parameter ${idx}`);
      if (t.shape.join() !== p.shape.join()) throw new GmpnnError('E_SHAPE', `optimizer.loadStateDict: slot ${key} shape mismatch`);
      let s = this.state.get(p);
      if (!s) this.state.set(p, (s = {}));
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
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
    this.stateEpoch++;
  }
}

export function checkHyper(op: string, name: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new GmpnnError('E_ARG', `${op}: ${name} must be a finite number in [${min}, ${max}], got ${String(v)}`);
  return v;
}
