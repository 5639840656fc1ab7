/**
 * Module: parameters, buffers and submodules as named fields (tinygrad/PyTorch style), train/eval
 * modes, state dicts. Parameters are kept tensors with requiresGrad, so tidy() never frees them.
 */
import { GmpnnError, callNative } from '../errors';
import { native } from '../native';
import { Tensor, keep } from '../tensor';
import { fmt } from '../ops/util';

export function parameter(t: Tensor): Tensor {
  keep(t);
  t.gradFn = null; // a parameter is always a leaf
  t.requiresGrad = true;
  return t;
}

export abstract class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _modules = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Alias of forward, so a module reads like a function call. */
  call(x: Tensor): Tensor {
    return this.forward(x);
  }

  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t) parameter(t);
    this._parameters.set(name, t);
    return t;
  }

  protected registerBuffer(name: string, t: Tensor): Tensor {
    keep(t);
    this._buffers.set(name, t);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this._parameters) if (p) out.push([prefix + n, p]);
    for (const [n, m] of this._modules) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this._buffers) out.push([prefix + n, b]);
    for (const [n, m] of this._modules) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  children(): Module[] {
    return [...this._modules.values()];
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this._modules.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Disposes the gradients of every parameter (PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      if (p.grad) {
        p.grad.dispose();
        p.grad = null;
      }
    }
  }

  /** Parameters and buffers by dotted name (the tensors themselves, not copies). */
  stateDict(): Record<string, Tensor> {
    const sd: Record<string, Tensor> = {};
    for (const [n, p] of this.namedParameters()) sd[n] = p;
    for (const [n, b] of this.namedBuffers()) sd[n] = b;
    return sd;
  }

  /** Copies values into this module's tensors. strict: the key sets must match exactly. */
  loadStateDict(sd: Record<string, Tensor>, options: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !(k in own));
    if (strict && (missing.length || unexpected.length))
      throw new GmpnnError('E_ARG', `loadStateDict: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}]`);
    for (const [k, dst] of Object.entries(own)) {
      const src = sd[k];
      if (!src) continue;
      if (src.shape.join() !== dst.shape.join())
        throw new GmpnnError('E_SHAPE', `loadStateDict: ${k} has shape ${fmt(src.shape)} in the state dict but ${fmt(dst.shape)} in the module`);
      if (src.dtype !== dst.dtype) throw new GmpnnError('E_DTYPE', `loadStateDict: ${k} is ${src.dtype} in the state dict but ${dst.dtype} in the module`);
      callNative(() => native.copy(dst.buffer('loadStateDict'), src.buffer('loadStateDict')));
    }
    return { missing, unexpected };
  }

  /** Frees every parameter and buffer, and whatever else submodules hold (their dispose()). */
  dispose(): void {
    for (const p of this._parameters.values()) p?.dispose();
    for (const b of this._buffers.values()) b.dispose();
    for (const m of this._modules.values()) m.dispose();
  }
}
