/**
 * The figures of the MLP experiments as Vega-Lite specs (GMP_SPEC.md §6, paper Figs. 1–3):
 * Levy stability, φ strips and predictions; banana unit trajectories, CAB angle changes and
 * decision boundaries; the 2-D perturbation panels.
 */
import type { LevyResult, LevyRun } from '../experiments/levy';
import type { BananaResult } from '../experiments/banana';
import type { PerturbationResult } from '../experiments/perturbation';
import { METHOD_LABEL } from '../experiments/common';
import { VlSpec, writeFigure } from './render';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const COLORS = { domain: ['SP', 'WN', 'BN', 'GmP'], range: ['#1f77b4', '#2ca02c', '#ff7f0e', '#d62728'] };

/** Max over consecutive bins so that spikes survive thinning to at most `maxPoints`. */
function binMax(v: number[], maxPoints: number): { epoch: number; value: number }[] {
  const k = Math.max(1, Math.ceil(v.length / maxPoints));
  const out: { epoch: number; value: number }[] = [];
  for (let i = 0; i < v.length; i += k) {
    let m = 0;
    for (let j = i; j < Math.min(v.length, i + k); j++) m = Math.max(m, v[j]);
    out.push({ epoch: i + 1, value: m });
  }
  return out;
}

export function levyStabilitySpec(r: LevyResult): VlSpec {
  const floor = 2 ** -30;
  const values = r.stability.flatMap((run) =>
    binMax(run.maxPhiChange, 1000).map((p) => ({ method: METHOD_LABEL[run.method], epoch: p.epoch, change: Math.max(p.value, floor) })),
  );
  return {
    $schema: SCHEMA,
    title: { text: 'Levy: stability of the characteristic boundaries (all methods at LR 0.1)', subtitle: 'max_i |φ_i(t+1) − φ_i(t)| per epoch (max over bins when thinned)' },
    width: 620,
    height: 300,
    data: { values },
    mark: { type: 'line', strokeWidth: 1, opacity: 0.85 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'change', type: 'quantitative', title: 'max |Δφ| (log₂)', scale: { type: 'log', base: 2 }, axis: { format: '.0e' } },
      color: { field: 'method', type: 'nominal', scale: COLORS, title: null },
    },
  };
}

export function levyPhiSpec(r: LevyResult, runs: LevyRun[] = r.runs): VlSpec {
  const lim = 15;
  const values: object[] = [];
  for (const run of runs) {
    const step = Math.max(1, Math.ceil(run.phiEpochs.length / 150));
    for (let j = 0; j < run.phiEpochs.length; j += step)
      run.phi[j].forEach((p, i) => values.push({ method: `${METHOD_LABEL[run.method]} (LR ${run.lr})`, epoch: run.phiEpochs[j], unit: i, phi: Math.max(-lim, Math.min(lim, p)) }));
  }
  return {
    $schema: SCHEMA,
    title: { text: 'Levy: spatial location φ_i of each hidden unit during training', subtitle: `clipped to [−${lim}, ${lim}]; the data lie in [−10, 10]` },
    data: { values },
    facet: { field: 'method', type: 'nominal', title: null, header: { labelFontSize: 13 } },
    columns: 2,
    spec: {
      width: 300,
      height: 200,
      mark: { type: 'line', strokeWidth: 0.6, opacity: 0.6 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative' },
        y: { field: 'phi', type: 'quantitative', title: 'φ', scale: { domain: [-lim, lim] } },
        detail: { field: 'unit', type: 'nominal' },
        color: { value: '#444' },
      },
    },
  };
}

export function levyPredictionSpec(r: LevyResult): VlSpec {
  const values: object[] = [];
  for (const run of r.runs) {
    const m = `${METHOD_LABEL[run.method]} (test RMSE ${run.testRmse.toFixed(3)})`;
    r.data.testX.forEach((x, i) => {
      values.push({ method: m, x, y: r.data.testY[i], kind: 'truth' });
      values.push({ method: m, x, y: run.prediction[i], kind: 'prediction' });
    });
    r.data.trainX.forEach((x, i) => values.push({ method: m, x, y: r.data.trainY[i], kind: 'train' }));
  }
  return {
    $schema: SCHEMA,
    title: 'Levy: predictions on the test grid',
    data: { values },
    facet: { field: 'method', type: 'nominal', title: null },
    columns: 2,
    spec: {
      width: 300,
      height: 200,
      layer: [
        {
          transform: [{ filter: "datum.kind !== 'train'" }],
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'y', type: 'quantitative', title: 'f(x)' },
            color: { field: 'kind', type: 'nominal', scale: { domain: ['truth', 'prediction', 'train'], range: ['#999', '#d62728', '#1f77b4'] }, title: null },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'train'" }],
          mark: { type: 'point', filled: true, size: 14 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 'kind', type: 'nominal' } },
        },
      ],
    },
  };
}

export function bananaTrajectorySpec(r: BananaResult): VlSpec {
  const lim = 3;
  const values: object[] = [];
  for (const run of r.runs) {
    const m = `${METHOD_LABEL[run.method]} (test acc ${run.testAccuracy.toFixed(3)})`;
    r.train.x.forEach((p, i) => values.push({ method: m, kind: 'data', x: p[0], y: p[1], cls: r.train.y[i] }));
    const step = Math.max(1, Math.ceil(run.locations.length / 300));
    for (let t = 0; t < run.locations.length; t += step)
      run.locations[t].forEach((p, u) => values.push({ method: m, kind: 'path', unit: u, t, x: clip(p[0], lim), y: clip(p[1], lim) }));
    run.finalLocations.forEach((p, u) => values.push({ method: m, kind: 'end', unit: u, x: clip(p[0], lim), y: clip(p[1], lim) }));
  }
  return {
    $schema: SCHEMA,
    title: { text: 'Banana: trajectories of the units’ spatial locations φ_i during training', subtitle: 'grey/blue: training data; lines: φ_i per epoch; crosses: final locations (clipped to ±3)' },
    data: { values },
    facet: { field: 'method', type: 'nominal', title: null },
    columns: 2,
    spec: {
      width: 280,
      height: 280,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'data'" }],
          mark: { type: 'circle', size: 8, opacity: 0.35 },
          encoding: {
            x: { field: 'x', type: 'quantitative', scale: { domain: [-lim, lim] } },
            y: { field: 'y', type: 'quantitative', scale: { domain: [-lim, lim] } },
            color: { field: 'cls', type: 'nominal', scale: { range: ['#9ecae1', '#bbbbbb'] }, legend: null },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'path'" }],
          mark: { type: 'line', strokeWidth: 1.2 },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'y', type: 'quantitative' },
            order: { field: 't', type: 'quantitative' },
            detail: { field: 'unit', type: 'nominal' },
            color: { value: '#d62728' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'end'" }],
          mark: { type: 'point', shape: 'cross', filled: true, size: 60, color: 'black' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
      ],
    },
  };
}

export function bananaAngleSpec(r: BananaResult): VlSpec {
  const floor = 1e-8;
  const values = r.runs.flatMap((run) =>
    binMax(run.maxAngleChange, 800).map((p) => ({ method: METHOD_LABEL[run.method], epoch: p.epoch, change: Math.max(p.value, floor) })),
  );
  return {
    $schema: SCHEMA,
    title: { text: 'Banana: per-epoch change of the boundary direction', subtitle: 'max_i |wrap(angle_i(t+1) − angle_i(t))|, radians, wrapped to (−π, π]' },
    width: 620,
    height: 300,
    data: { values },
    mark: { type: 'line', strokeWidth: 1 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' },
      y: { field: 'change', type: 'quantitative', title: 'max |Δangle| (rad, log)', scale: { type: 'log' }, axis: { format: '.0e' } },
      color: { field: 'method', type: 'nominal', scale: COLORS, title: null },
    },
  };
}

export function bananaDecisionSpec(r: BananaResult): VlSpec {
  const values: object[] = [];
  const n = r.grid.xs.length;
  const step = Math.max(1, Math.round(n / 60));
  const cell = (r.grid.xs[1] - r.grid.xs[0]) * step;
  for (const run of r.runs) {
    const m = `${METHOD_LABEL[run.method]} (test acc ${run.testAccuracy.toFixed(3)})`;
    for (let i = 0; i < n; i += step)
      for (let j = 0; j < n; j += step)
        values.push({ method: m, kind: 'grid', x: r.grid.xs[j], y: r.grid.ys[i], x2: r.grid.xs[j] + cell, y2: r.grid.ys[i] + cell, p: run.gridProb[i * n + j] });
    r.test.x.forEach((p, i) => values.push({ method: m, kind: 'test', x: p[0], y: p[1], cls: r.test.y[i] ? 'class 1' : 'class 0' }));
    run.finalLocations.forEach((p) => {
      if (Math.abs(p[0]) <= 3 && Math.abs(p[1]) <= 3) values.push({ method: m, kind: 'unit', x: p[0], y: p[1] });
    });
  }
  return {
    $schema: SCHEMA,
    title: { text: 'Banana: decision boundary, test points and unit locations', subtitle: 'background: predicted P(class 1); stars: units’ spatial locations φ_i' },
    data: { values },
    facet: { field: 'method', type: 'nominal', title: null },
    columns: 2,
    resolve: { scale: { color: 'independent' } },
    spec: {
      width: 280,
      height: 280,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'grid'" }],
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'x', type: 'quantitative', scale: { domain: [-3, 3] } },
            x2: { field: 'x2' },
            y: { field: 'y', type: 'quantitative', scale: { domain: [-3, 3] } },
            y2: { field: 'y2' },
            color: { field: 'p', type: 'quantitative', scale: { domain: [0, 1], scheme: 'blueorange' }, title: 'P(1)' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'test'" }],
          mark: { type: 'point', size: 14, strokeWidth: 1 },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'y', type: 'quantitative' },
            shape: { field: 'cls', type: 'nominal', scale: { range: ['circle', 'triangle'] }, title: null },
            stroke: { value: 'black' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'unit'" }],
          mark: { type: 'point', shape: 'diamond', filled: true, size: 90, color: '#2ca02c', stroke: 'white', strokeWidth: 1 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
      ],
    },
  };
}

export function perturbationSpec(r: PerturbationResult): VlSpec {
  const values: object[] = [];
  for (const p of r.panels) {
    const label = `${p.parameterization === 'gmp' ? 'GmP' : 'SP'}, ‖w‖=${p.norm}: |Δangle| ${p.meanAngleChange.toFixed(3)}, ‖Δφ‖ ${p.meanLocationShift.toFixed(3)}`;
    p.lines.forEach((seg, i) => {
      values.push({ panel: label, line: i, kind: i === 0 ? 'original' : 'perturbed', x: seg[0][0], y: seg[0][1], o: 0 });
      values.push({ panel: label, line: i, kind: i === 0 ? 'original' : 'perturbed', x: seg[1][0], y: seg[1][1], o: 1 });
    });
  }
  const lim = r.extent;
  return {
    $schema: SCHEMA,
    title: { text: 'Characteristic boundaries of a 2-D ReLU unit under small parameter perturbations', subtitle: [`every parameter + N(0, ${r.sigma}²), ${r.draws} draws; SP perturbs (w, b), GmP perturbs (θ, λ, r)`, 'black: unperturbed boundary (distance 1 from the origin); titles: mean |Δangle| (rad) and mean ‖Δφ‖'] },
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, header: { labelFontSize: 11, labelLimit: 400 } },
    columns: 2,
    spec: {
      width: 260,
      height: 260,
      layer: ['perturbed', 'original'].map((kind) => ({
        transform: [{ filter: `datum.kind === '${kind}'` }],
        mark: { type: 'line', clip: true, strokeWidth: kind === 'original' ? 2.5 : 1, opacity: kind === 'original' ? 1 : 0.35, color: kind === 'original' ? 'black' : '#d62728' },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [-lim, lim] } },
          y: { field: 'y', type: 'quantitative', scale: { domain: [-lim, lim] } },
          order: { field: 'o', type: 'quantitative' },
          detail: { field: 'line', type: 'nominal' },
        },
      })),
    },
  };
}

function clip(v: number, lim: number): number {
  return Math.max(-lim, Math.min(lim, v));
}

export async function levyFigures(r: LevyResult, dir: string): Promise<string[]> {
  const files: string[] = [];
  if (r.stability.length) files.push(...(await writeFigure(levyStabilitySpec(r), dir, 'levy_stability')));
  files.push(...(await writeFigure(levyPhiSpec(r), dir, 'levy_phi')));
  if (r.stability.length) files.push(...(await writeFigure(levyPhiSpec(r, r.stability), dir, 'levy_phi_lr0.1')));
  files.push(...(await writeFigure(levyPredictionSpec(r), dir, 'levy_predictions')));
  return files;
}

export async function bananaFigures(r: BananaResult, dir: string): Promise<string[]> {
  return [
    ...(await writeFigure(bananaTrajectorySpec(r), dir, 'banana_trajectories')),
    ...(await writeFigure(bananaAngleSpec(r), dir, 'banana_angle_change')),
    ...(await writeFigure(bananaDecisionSpec(r), dir, 'banana_decision')),
  ];
}

export async function perturbationFigures(r: PerturbationResult, dir: string): Promise<string[]> {
  return writeFigure(perturbationSpec(r), dir, 'perturbation');
}
