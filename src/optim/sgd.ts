/** SGD with momentum, dampening, Nesterov and weight decay (torch.optim.SGD semantics). */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor } from '../tensor';
import { Optimizer, checkHyper } from './optimizer';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;

  constructor(params: Tensor[], options: SGDOptions) {
    super(params, options?.lr, 'SGD');
    this.momentum = checkHyper('SGD', 'momentum', options.momentum ?? 0, 0);
    this.dampening = checkHyper('SGD', 'dampening', options.dampening ?? 0, 0, 1);
    this.weightDecay = checkHyper('SGD', 'weightDecay', options.weightDecay ?? 0, 0);
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new GmpnnError('E_ARG', 'SGD: Nesterov momentum requires momentum > 0 and dampening 0');
  }

  protected update(p: Tensor, grad: Tensor, index: number): void {
    checkHyper('SGD', 'lr', this.lr, 0);
    // A first step (no momentum buffer yet: none taken, none loaded) copies the gradient into it.
    const first = !this.state[index]?.momentum;
    const buf = this.momentum !== 0 ? this.slot(index, 'momentum') : null;
    callNative(() =>
      native.sgdStep(p.buffer('SGD'), buf ? buf.buffer() : null, grad.buffer('SGD'), this.lr, this.momentum, this.dampening, this.weightDecay, this.nesterov, first),
    );
  }

  protected hyper(): Record<string, number | boolean> {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }
  protected setHyper(h: Record<string, number | boolean>): void {
    this.lr = h.lr as number;
    this.momentum = h.momentum as number;
    this.dampening = h.dampening as number;
    this.weightDecay = h.weightDecay as number;
    this.nesterov = h.nesterov as boolean;
  }
}
