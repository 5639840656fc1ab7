/**
 * Checkpoints: a model's parameters and buffers as safetensors tensors under their state-dict
 * names (so `safetensors.torch.load_file` reads them), the optimizer's state tensors under
 * `optim.<param index>.<slot>`, and JSON metadata (model config, optimizer hyper-parameters,
 * epoch, schedule state, RNG state, anything the caller adds) in the string metadata.
 *
 *   g.io.save('ckpt.safetensors', model, { config, optimizer, epoch: 3 });
 *   const ck = g.io.load('ckpt.safetensors');          // { tensors, meta, optimizer }
 *   g.io.loadInto('ckpt.safetensors', { model, optimizer, restoreRng: true });
 *
 * Written atomically (safetensors.ts). Non-finite numbers in the metadata survive the JSON round
 * trip (a plateau schedule's best value starts at ±Infinity).
 */
import { GmpnnError } from '../errors';
import { DType, Device, Tensor, dispose } from '../tensor';
import { tensor } from '../ops/creation';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { getRngState, setRngState } from '../random';
import { RawTensor, readSafetensors, writeFileAtomic, encodeSafetensors } from './safetensors';

export const FORMAT = 'gmpnn-checkpoint';
export const FORMAT_VERSION = '1';
const OPTIM_PREFIX = 'optim.';

export type OptimizerState = ReturnType<Optimizer['stateDict']>;

export interface SaveMeta {
  /** The optimizer (or its stateDict()) to store beside the weights. */
  optimizer?: Optimizer | OptimizerState;
  /** The global RNG state to record (default: the current getRngState()). */
  rng?: { seed: number; offset: number };
  [key: string]: unknown;
}

export interface Checkpoint {
  /** Model tensors by state-dict name (caller owns them: dispose, or use loadInto). */
  tensors: Record<string, Tensor>;
  /** Everything passed in `meta` except the optimizer, plus `rng`. */
  meta: Record<string, unknown> & { rng?: { seed: number; offset: number } };
  /** The optimizer state (hyper-parameters, step count, slot tensors), when one was saved. */
  optimizer: OptimizerState | null;
  /** The raw string metadata of the file. */
  metadata: Record<string, string>;
}

function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return { $nonfinite: String(v) };
  return v;
}
function reviver(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && '$nonfinite' in v) return Number((v as { $nonfinite: string }).$nonfinite);
  return v;
}
export const jsonStringify = (v: unknown): string => JSON.stringify(v, replacer);
export const jsonParse = (s: string): unknown => JSON.parse(s, reviver);

function toRaw(name: string, t: Tensor): RawTensor {
  t.assertAlive(`io.save(${name})`);
  const data = t.dataSync();
  return { dtype: t.dtype === 'float64' ? 'F64' : 'F32', shape: [...t.shape], data };
}

function isOptimizer(o: unknown): o is Optimizer {
  return o instanceof Optimizer;
}

/** Encodes a checkpoint into bytes (used by save; exposed for tests and custom sinks). */
export function encodeCheckpoint(model: Module | Record<string, Tensor>, meta: SaveMeta = {}): Buffer {
  const sd = model instanceof Module ? model.stateDict() : model;
  const raw: Record<string, RawTensor> = {};
  for (const [k, t] of Object.entries(sd)) {
    if (k.startsWith(OPTIM_PREFIX)) throw new GmpnnError('E_ARG', `io.save: model tensor name ${k} collides with the optimizer prefix "${OPTIM_PREFIX}"`);
    raw[k] = toRaw(k, t);
  }
  const { optimizer, rng, ...rest } = meta;
  const metadata: Record<string, string> = { format: FORMAT, 'gmpnn.version': FORMAT_VERSION };
  if (optimizer) {
    const os = isOptimizer(optimizer) ? optimizer.stateDict() : optimizer;
    for (const [k, t] of Object.entries(os.slots)) raw[OPTIM_PREFIX + k] = toRaw(OPTIM_PREFIX + k, t);
    metadata['gmpnn.optim'] = jsonStringify({ hyper: os.hyper, stepCount: os.stepCount, slots: Object.keys(os.slots) });
  }
  metadata['gmpnn.meta'] = jsonStringify({ ...rest, rng: rng ?? getRngState() });
  return encodeSafetensors(raw, metadata);
}

/** Saves a model's state dict, optional optimizer state and JSON metadata, atomically. */
export function save(file: string, model: Module | Record<string, Tensor>, meta: SaveMeta = {}): void {
  writeFileAtomic(file, encodeCheckpoint(model, meta));
}

export interface LoadOptions {
  /** Cast tensors to this dtype (default: as stored). */
  dtype?: DType;
  device?: Device;
}

/** Reads and validates a checkpoint; refuses damaged files with GmpnnError('E_IO'). */
export function load(file: string, options: LoadOptions = {}): Checkpoint {
  const { tensors: raw, metadata } = readSafetensors(file);
  const ours = metadata.format === FORMAT;
  if (ours && metadata['gmpnn.sha256'] === undefined) throw new GmpnnError('E_IO', `${file}: gmpnn checkpoint without its checksum (tampered)`);
  if (ours && metadata['gmpnn.version'] !== FORMAT_VERSION)
    throw new GmpnnError('E_IO', `${file}: checkpoint format version ${metadata['gmpnn.version']} is not supported (expected ${FORMAT_VERSION})`);
  let meta: Checkpoint['meta'] = {};
  type OptimInfo = { hyper: Record<string, number | boolean>; stepCount: number; slots: string[] };
  let optimInfo = null as OptimInfo | null;
  try {
    if (metadata['gmpnn.meta']) meta = jsonParse(metadata['gmpnn.meta']) as Checkpoint['meta'];
    if (metadata['gmpnn.optim']) optimInfo = jsonParse(metadata['gmpnn.optim']) as OptimInfo;
  } catch (e) {
    throw new GmpnnError('E_IO', `${file}: damaged checkpoint metadata: ${(e as Error).message}`);
  }
  const make = (r: RawTensor): Tensor =>
    tensor(r.data, r.shape, { dtype: options.dtype ?? (r.dtype === 'F64' ? 'float64' : 'float32'), device: options.device ?? 'cpu' });
  const tensors: Record<string, Tensor> = {};
  const slots: Record<string, Tensor> = {};
  try {
    for (const [k, r] of Object.entries(raw)) {
      if (k.startsWith(OPTIM_PREFIX)) slots[k.slice(OPTIM_PREFIX.length)] = make(r);
      else tensors[k] = make(r);
    }
    if (optimInfo) {
      const missing = optimInfo.slots.filter((s) => !(s in slots));
      if (missing.length) throw new GmpnnError('E_IO', `${file}: optimizer slots [${missing.join(', ')}] listed in the metadata are missing`);
    }
  } catch (e) {
    dispose([tensors, slots]);
    throw e;
  }
  const optimizer = optimInfo ? { hyper: optimInfo.hyper, stepCount: optimInfo.stepCount, slots } : null;
  if (!optimizer) dispose(slots);
  return { tensors, meta, optimizer, metadata };
}

/**
 * Loads a checkpoint into a live model (and optimizer), optionally restoring the global RNG.
 * Returns the metadata. The file's tensors are freed once copied.
 */
export function loadInto(
  file: string,
  target: { model: Module; optimizer?: Optimizer; restoreRng?: boolean; strict?: boolean },
): Checkpoint['meta'] {
  const ck = load(file);
  try {
    target.model.loadStateDict(ck.tensors, { strict: target.strict ?? true });
    if (target.optimizer) {
      if (!ck.optimizer) throw new GmpnnError('E_IO', `${file}: no optimizer state in this checkpoint`);
      const os = ck.optimizer;
      for (const [k, t] of Object.entries(os.slots)) {
        const p = target.optimizer.params[Number(k.split('.')[0])];
        if (p && p.dtype !== t.dtype) {
          dispose(os.slots);
          throw new GmpnnError('E_DTYPE', `${file}: optimizer slot ${k} is ${t.dtype} but the parameter is ${p.dtype}`);
        }
      }
      target.optimizer.loadStateDict(os); // takes ownership of the slot tensors
      ck.optimizer = null;
    }
    if (target.restoreRng && ck.meta.rng) setRngState(ck.meta.rng);
    return ck.meta;
  } finally {
    dispose(ck.tensors);
    if (ck.optimizer) dispose(ck.optimizer.slots);
  }
}
