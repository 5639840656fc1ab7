/** Adam and AdamW (torch.optim semantics; AdamW decouples the weight decay). */
import { callNative } from '../errors';
import { native, NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { Optimizer, checkHyper } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  protected readonly decoupled: boolean = false;
  // Step count per parameter index (read and advanced for every parameter of every step).
  private steps: number[];

  constructor(params: Tensor[], options: AdamOptions = {}, name = 'Adam', defaultDecay = 0) {
    super(params, options.lr ?? 1e-3, name);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    this.beta1 = checkHyper(name, 'beta1', b1, 0, 0.999999);
    this.beta2 = checkHyper(name, 'beta2', b2, 0, 0.999999);
    this.eps = checkHyper(name, 'eps', options.eps ?? 1e-8, 0);
    this.weightDecay = checkHyper(name, 'weightDecay', options.weightDecay ?? defaultDecay, 0);
    this.steps = params.map(() => 0);
  }

  /** One native call for every parameter with a gradient (torch's foreach path). */
  override step(): void {
    this.stepCount++;
    this.apply(0, this.params.length);
  }

  protected update(_p: Tensor, grad: Tensor, index: number): void {
    this.apply(index, index + 1, grad);
  }

  /**
   * adam_step on each parameter of params[lo, hi) that has a gradient (`grad` for a single one,
   * else its .grad), in one binding call; step counts advance after it. The arguments go straight
   * into the call's list (no pairs array): this runs every training step.
   */
  private apply(lo: number, hi: number, grad?: Tensor): void {
    checkHyper('Adam', 'lr', this.lr, 0);
    const args: (NativeHandle | number | boolean)[] = [this.lr, this.beta1, this.beta2, this.eps, this.weightDecay, this.decoupled, 0];
    let count = 0;
    for (let i = lo; i < hi; i++) {
      const p = this.params[i];
      const g = grad ?? p.grad;
      if (!g) continue;
      args.push(p.buffer('Adam'), this.slot(i, 'm').buffer(), this.slot(i, 'v').buffer(), g.buffer('Adam'), this.steps[i] + 1);
      count++;
    }
    if (count === 0) return;
    args[6] = count;
    callNative(() => native.adamStepMany(...args));
    for (let i = lo; i < hi; i++) if (grad ?? this.params[i].grad) this.steps[i]++;
  }

  protected hyper(): Record<string, number | boolean> {
    const perParam: Record<string, number> = {};
    this.steps.forEach((step, i) => (perParam[`step${i}`] = step));
    return { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, ...perParam };
  }
  protected setHyper(h: Record<string, number | boolean>): void {
    this.lr = h.lr as number;
    this.beta1 = h.beta1 as number;
    this.beta2 = h.beta2 as number;
    this.eps = h.eps as number;
    this.weightDecay = h.weightDecay as number;
    this.steps.forEach((_, i) => {
      const s = h[`step${i}`];
      if (typeof s === 'number' && s > 0) this.steps[i] = s;
    });
  }
}

export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(params: Tensor[], options: AdamOptions = {}) {
    super(params, options, 'AdamW', 0.01);
  }
}
