// Helpers shared by the JS benchmarks: the PyTorch peer's interpreter, --repeat, medians.
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');

// A Python with torch: GMPNN_PYTHON, else .venv/bin/python, else python3 (null when none has it).
function findPython() {
  for (const p of [process.env.GMPNN_PYTHON, path.join(__dirname, '..', '.venv', 'bin', 'python'), 'python3'].filter(Boolean)) {
    const r = spawnSync(p, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python: p, version: r.stdout.trim() };
  }
  return null;
}

// --repeat N from argv (default 1).
function repeatsFromArgv(argv = process.argv) {
  const i = argv.indexOf('--repeat');
  return i > 0 ? Math.max(1, Number(argv[i + 1]) || 1) : 1;
}

// The p-quantile of the finite values, interpolating between order statistics (undefined when
// there are none).
function quantile(xs, p) {
  const v = xs.filter((x) => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const h = (v.length - 1) * p, lo = Math.floor(h);
  return lo + 1 < v.length ? v[lo] + (h - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

// Median of the finite values (undefined when there are none): the middle one, or the midpoint
// of the two middle ones.
function median(xs) {
  return quantile(xs, 0.5);
}

// The MLP benchmarks' training setup (issue 3; g: the gmpnn package): one hidden layer of 100 ReLU
// units + dense(1), MAE, Adam, random data of cfg.rows × cfg.features cut into batches of cfg.batch
// in a fixed order. epoch() runs one pass over the batches; model, opt and batches are there for
// benchmarks that step by hand.
function mlpSetup(g, kind, cfg, dtype) {
  g.manualSeed(0);
  const model = g.models.mlp({ inFeatures: cfg.features, hidden: 100, out: 1, parameterization: kind, dtype });
  const opt = new g.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = g.keep(g.randn([cfg.rows, cfg.features], { dtype }));
  const y = g.keep(g.randn([cfg.rows, 1], { dtype }));
  const batches = [];
  for (let s = 0; s < cfg.rows; s += cfg.batch) {
    const n = Math.min(cfg.batch, cfg.rows - s);
    batches.push([g.keep(g.slice(x, [s, 0], [n, cfg.features])), g.keep(g.slice(y, [s, 0], [n, 1]))]);
  }
  const epoch = () => {
    for (const [xb, yb] of batches)
      g.tidy(() => {
        opt.zeroGrad();
        g.mae(model.forward(xb), yb).backward();
        opt.step();
      });
  };
  const dispose = () => {
    g.dispose([x, y, batches]);
    model.dispose();
    opt.dispose();
  };
  return { epoch, dispose, model, opt, batches };
}

module.exports = { findPython, repeatsFromArgv, median, quantile, mlpSetup };
