/** Learning-rate schedules and early stopping, as the paper's protocol needs them (§6). */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, keep } from '../tensor';
import { clone } from '../ops/creation';
import { noGrad } from '../autograd';
import { Optimizer } from './optimizer';

export type Mode = 'min' | 'max';

function improved(mode: Mode, value: number, best: number, minDelta: number): boolean {
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

/** Multiplies the LR by `factor` after `patience` epochs without improvement (Keras semantics:
 * improvement means beating the best by more than minDelta). */
export class ReduceLROnPlateau {
  readonly mode: Mode;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly minLr: number;
  best: number;
  wait = 0;

  constructor(
    readonly optimizer: Optimizer,
    options: { mode?: Mode; factor?: number; patience?: number; minDelta?: number; minLr?: number } = {},
  ) {
    this.mode = options.mode ?? 'min';
    this.factor = options.factor ?? 0.1;
    this.patience = options.patience ?? 10;
    this.minDelta = options.minDelta ?? 0;
    this.minLr = options.minLr ?? 0;
    if (!(this.factor > 0 && this.factor < 1)) throw new GmpnnError('E_ARG', `ReduceLROnPlateau: factor must be in (0, 1), got ${this.factor}`);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Call once per epoch with the monitored value; returns true when the LR was reduced. */
  step(value: number): boolean {
    if (improved(this.mode, value, this.best, this.minDelta)) {
      this.best = value;
      this.wait = 0;
      return false;
    }
    if (++this.wait >= this.patience) {
      this.wait = 0;
      const next = Math.max(this.optimizer.lr * this.factor, this.minLr);
      const changed = next < this.optimizer.lr;
      this.optimizer.lr = next;
      return changed;
    }
    return false;
  }

  stateDict(): { best: number; wait: number } {
    return { best: this.best, wait: this.wait };
  }
  loadStateDict(s: { best: number; wait: number }): void {
    this.best = s.best;
    this.wait = s.wait;
  }
}

/** Stops after `patience` epochs without improvement; can snapshot and restore the best weights. */
export class EarlyStopping {
  readonly mode: Mode;
  readonly patience: number;
  readonly minDelta: number;
  best: number;
  bestEpoch = -1;
  wait = 0;
  private snapshot: Map<Tensor, Tensor> | null = null;

  constructor(options: { mode?: Mode; patience?: number; minDelta?: number } = {}) {
    this.mode = options.mode ?? 'min';
    this.patience = options.patience ?? 10;
    this.minDelta = options.minDelta ?? 0;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Records an epoch's value; snapshots `weights` on improvement. Returns true to stop. */
  step(value: number, epoch: number, weights?: Tensor[]): boolean {
    if (improved(this.mode, value, this.best, this.minDelta)) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (weights) this.save(weights);
      return false;
    }
    return ++this.wait >= this.patience;
  }

  private save(weights: Tensor[]): void {
    noGrad(() => {
      if (!this.snapshot) this.snapshot = new Map();
      for (const w of weights) {
        const prev = this.snapshot.get(w);
        if (prev) callNative(() => native.copy(prev.buffer(), w.buffer('EarlyStopping')));
        else this.snapshot.set(w, keep(clone(w)));
      }
    });
  }

  /** Copies the best snapshot back into the weights; false when no snapshot was taken. */
  restoreBest(): boolean {
    if (!this.snapshot) return false;
    for (const [w, s] of this.snapshot) callNative(() => native.copy(w.buffer('EarlyStopping'), s.buffer()));
    return true;
  }

  dispose(): void {
    if (this.snapshot) for (const s of this.snapshot.values()) s.dispose();
    this.snapshot = null;
  }
}

/** LR ← base·gamma^floor(epoch / stepSize). */
export class StepLR {
  private readonly base: number;
  constructor(readonly optimizer: Optimizer, readonly stepSize: number, readonly gamma = 0.1) {
    this.base = optimizer.lr;
  }
  step(epoch: number): void {
    this.optimizer.lr = this.base * Math.pow(this.gamma, Math.floor(epoch / this.stepSize));
  }
}

/** Cosine annealing from the base LR to minLr over tMax epochs. */
export class CosineAnnealingLR {
  private readonly base: number;
  constructor(readonly optimizer: Optimizer, readonly tMax: number, readonly minLr = 0) {
    this.base = optimizer.lr;
  }
  step(epoch: number): void {
    const t = Math.min(epoch, this.tMax);
    this.optimizer.lr = this.minLr + 0.5 * (this.base - this.minLr) * (1 + Math.cos((Math.PI * t) / this.tMax));
  }
}
