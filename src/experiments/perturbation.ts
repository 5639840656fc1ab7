/**
 * The 2-D perturbation panels (paper Fig. 1, GMP_SPEC.md §1): how far a ReLU unit's
 * characteristic activation boundary (CAB) moves when its parameters get a small random push,
 * under SP (w, b) and under GmP (θ, λ, r).
 *
 * Setting chosen here (the spec leaves the details open): one unit in R², normal at angle α₀ = π/4,
 * boundary at distance 1 from the origin (φ = u(α₀)), with weight norm ‖w‖ = r ∈ {1, 0.1}. Every
 * parameter gets independent N(0, σ²) noise (σ = 0.05 by default), `draws` times. For SP the
 * boundary's direction moves by about σ/‖w‖ and its location by about σ(1 + 1/‖w‖), so a
 * small-norm unit (common during training) jumps far; for GmP the direction moves by exactly δθ
 * and the location by δλ, independent of r — the property GmP is built on.
 */
import { randn } from '../ops/creation';
import { wrapAngle } from '../geometry';

export interface PerturbationOptions {
  sigma?: number;
  draws?: number;
  norms?: number[];
  seed?: number;
  /** Half-width of the plotted square. */
  extent?: number;
}

export interface PerturbationPanel {
  parameterization: 'sp' | 'gmp';
  norm: number;
  /** Mean over draws of |wrap(angle − α₀)|. */
  meanAngleChange: number;
  /** Mean over draws of ‖φ − φ₀‖. */
  meanLocationShift: number;
  /** Boundary segments [[x0, y0], [x1, y1]]; index 0 is the unperturbed one. */
  lines: number[][][];
}

export interface PerturbationResult {
  sigma: number;
  draws: number;
  extent: number;
  alpha0: number;
  panels: PerturbationPanel[];
}

function segment(normal: [number, number], b: number, extent: number): { seg: number[][]; phi: [number, number]; angle: number } {
  const n2 = normal[0] ** 2 + normal[1] ** 2;
  const phi: [number, number] = [(-b * normal[0]) / n2, (-b * normal[1]) / n2];
  const len = Math.sqrt(n2);
  const t: [number, number] = [-normal[1] / len, normal[0] / len];
  const L = 4 * extent;
  return { seg: [[phi[0] - L * t[0], phi[1] - L * t[1]], [phi[0] + L * t[0], phi[1] + L * t[1]]], phi, angle: Math.atan2(normal[1], normal[0]) };
}

export function runPerturbation(options: PerturbationOptions = {}): PerturbationResult {
  const sigma = options.sigma ?? 0.05;
  const draws = options.draws ?? 40;
  const norms = options.norms ?? [1, 0.1];
  const extent = options.extent ?? 3;
  const alpha0 = Math.PI / 4;
  const noiseT = randn([norms.length * draws * 3], { dtype: 'float64', seed: options.seed ?? 0, std: sigma });
  const noise = noiseT.dataSync();
  noiseT.dispose();
  const panels: PerturbationPanel[] = [];
  for (const param of ['sp', 'gmp'] as const) {
    norms.forEach((s, ni) => {
      // Unperturbed unit: w = s·u(α₀), b = −s (boundary at distance 1); GmP: θ = α₀, λ = −1, r = s.
      const base = segment([s * Math.cos(alpha0), s * Math.sin(alpha0)], -s, extent);
      const lines = [base.seg];
      let dA = 0;
      let dL = 0;
      for (let k = 0; k < draws; k++) {
        // The same noise draws for SP and GmP, so the panels differ only by the parameterization.
        const e = noise.subarray((ni * draws + k) * 3, (ni * draws + k) * 3 + 3);
        let normal: [number, number];
        let b: number;
        if (param === 'sp') {
          normal = [s * Math.cos(alpha0) + e[0], s * Math.sin(alpha0) + e[1]];
          b = -s + e[2];
        } else {
          // GmP: y = r·ReLU(u(θ)ᵀx + λ); the boundary is u(θ)ᵀx + λ = 0, r does not move it
          // (a sign flip of r only changes which side is scaled). e[1] perturbs r.
          const theta = alpha0 + e[0];
          normal = [Math.cos(theta), Math.sin(theta)];
          b = -1 + e[2];
        }
        const sgm = segment(normal, b, extent);
        lines.push(sgm.seg);
        dA += Math.abs(wrapAngle(sgm.angle - alpha0));
        dL += Math.hypot(sgm.phi[0] - base.phi[0], sgm.phi[1] - base.phi[1]);
      }
      panels.push({ parameterization: param, norm: s, meanAngleChange: dA / draws, meanLocationShift: dL / draws, lines });
    });
  }
  return { sigma, draws, extent, alpha0, panels };
}
