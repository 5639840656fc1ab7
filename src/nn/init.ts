/** Initializers drawn from the global Philox stream. */
import { DType, Device, Tensor } from '../tensor';
import { randUniform } from '../ops/creation';

/** Glorot/Xavier uniform: U(−t, t), t = sqrt(6 / (fanIn + fanOut)). */
export function glorotUniform(shape: number[], fanIn: number, fanOut: number, dtype: DType, device: Device): Tensor {
  const t = Math.sqrt(6 / (fanIn + fanOut));
  return randUniform(shape, -t, t, { dtype, device });
}
