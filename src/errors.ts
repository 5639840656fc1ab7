/** One error class for everything gmpnn throws; `code` is stable and machine-readable. */
export type ErrorCode =
  | 'E_ARG'
  | 'E_SHAPE'
  | 'E_DTYPE'
  | 'E_DEVICE'
  | 'E_DISPOSED'
  | 'E_OOM'
  | 'E_CUDA'
  | 'E_NO_DEVICE'
  | 'E_UNSUPPORTED'
  | 'E_IO'
  | 'E_NATIVE';

export class GmpnnError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'GmpnnError';
    this.code = code;
  }
}

/** Runs a native call and re-throws its error as a GmpnnError (stack from the JS call site). */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GmpnnError) throw e;
    const err = e as { code?: string; message?: string };
    const code = (typeof err.code === 'string' ? err.code : 'E_NATIVE') as ErrorCode;
    throw new GmpnnError(code, err.message ?? String(e));
  }
}
