/**
 * The 1-D Levy regression (GMP_SPEC.md §6): w = 1 + (x − 1)/4,
 * f(x) = sin²(πw) + (w − 1)²(1 + sin²(2πw)). 50 training inputs x ~ U(−10, 10) with labels
 * f(x) + N(0, 0.1²); the test set is the noise-free grid −10:0.1:10 (201 points).
 */
import { randUniform, randn } from '../ops/creation';
import { Table } from './table';

export function levy(x: number): number {
  const w = 1 + (x - 1) / 4;
  const a = Math.sin(Math.PI * w);
  const b = Math.sin(2 * Math.PI * w);
  return a * a + (w - 1) * (w - 1) * (1 + b * b);
}

export function levyData(options: { seed?: number; nTrain?: number; noise?: number } = {}): { train: Table; test: Table } {
  const seed = options.seed ?? 0;
  const n = options.nTrain ?? 50;
  const noise = options.noise ?? 0.1;
  const xt = randUniform([n], -10, 10, { dtype: 'float64', seed });
  // A second, independent stream position for the noise: seed + 1 at offset 0 would collide with
  // another run's x draw, so use a distinct seed space.
  const et = randn([n], { dtype: 'float64', seed: seed + 0x9e3779b1, std: noise });
  const x = Float64Array.from(xt.dataSync());
  const e = et.dataSync();
  xt.dispose();
  et.dispose();
  const y = x.map((v, i) => levy(v) + e[i]);
  const m = 201;
  const gx = new Float64Array(m);
  const gy = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    gx[i] = Math.round((-10 + 0.1 * i) * 10) / 10;
    gy[i] = levy(gx[i]);
  }
  return { train: { x, y, n, d: 1, k: 1 }, test: { x: gx, y: gy, n: m, d: 1, k: 1 } };
}
