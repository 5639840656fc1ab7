/**
 * The global random stream: one Philox seed and a running offset. Every draw takes the next
 * `n` elements of the stream, so a run is reproduced from (seed, offset), which checkpoints save.
 */
let seed = 0;
let offset = 0;

/** Resets the global stream (like torch.manual_seed). */
export function manualSeed(s: number): void {
  if (!Number.isInteger(s) || s < 0 || s > Number.MAX_SAFE_INTEGER)
    throw new Error(`manualSeed: seed must be a non-negative integer, got ${s}`);
  seed = s;
  offset = 0;
}

export function getRngState(): { seed: number; offset: number } {
  return { seed, offset };
}

export function setRngState(state: { seed: number; offset: number }): void {
  seed = state.seed;
  offset = state.offset;
}

/** Reserves n stream elements; offsets stay multiples of 4 so draws never share a Philox block. */
export function nextRandomOffset(n: number): { seed: number; offset: number } {
  const start = offset;
  offset += Math.ceil(n / 4) * 4;
  return { seed, offset: start };
}
