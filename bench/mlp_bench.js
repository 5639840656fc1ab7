#!/usr/bin/env node
// UCI-size MLP training throughput (issue 3): epochs/s of SP and GmP in gmpnn, and the same GmP
// and SP MLPs in PyTorch CPU eager measured in the same run (when a Python with torch is found:
// GMPNN_PYTHON, else .venv/bin/python, else python3). One hidden layer of 100 ReLU units, MAE
// loss, Adam, batches in a fixed order. Ours: GmP/SP is the median of the ratios of 32 pairs of
// 0.1 s SP/GmP windows after warm-up; epochs/s, ours and PyTorch's alike, the best of 3 windows
// of 1 s.
//   node bench/mlp_bench.js [--quick] [--threads N] [--repeat N] [--ratio-runs N] [--only TEXT] [--write]
// (--only: the rows whose name contains TEXT, e.g. "boston-like float32"; --write updates the
// generated block of bench/RESULTS.md's MLP section, and refuses with --only)
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawnSync } = require('node:child_process');
const g = require('..');
const { parseArgs } = require('node:util');
const { findPython, median, quantile, mlpSetup } = require('./common');

// Node's own parser (strict: an unknown option or a missing value is an error, printed as one line).
let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      threads: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'ratio-runs': { type: 'string', default: '1' },
      only: { type: 'string' },
      write: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  console.error(`mlp_bench: ${err.message}`);
  process.exit(2);
}
const positiveInt = (name, text) => {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`mlp_bench: --${name} must be a positive integer, got ${text}`);
    process.exit(2);
  }
  return v;
};
const quick = opt.quick;
// --threads N: kernel threads for gmpnn and for PyTorch alike (default: gmpnn's default).
if (opt.threads !== undefined) g.setNumThreads(positiveInt('threads', opt.threads));
const seconds = quick ? 0.3 : 1.0; // PyTorch's timed windows
const pairs = quick ? 8 : 32; // our SP/GmP window pairs (more, shorter pairs: a steadier median)
const pairSeconds = quick ? 0.05 : 0.1;
const shapes = [
  { set: 'boston-like', rows: 455, features: 13, batch: 1024 },
  { set: 'yacht-like', rows: 277, features: 6, batch: 1024 }, // the smallest UCI set: the largest ratio at full batch
  { set: 'power-like', rows: 8611, features: 4, batch: 1024 },
  { set: 'naval-like', rows: 10740, features: 16, batch: 1024 },
  { set: 'boston, batch 32', rows: 455, features: 13, batch: 32 },
];
const dtypes = ['float64', 'float32'];

// Epochs/s of SP and GmP on the same configuration, measured in pairs of short windows (SP then
// GmP, GmP then SP on alternate pairs, so drift hits both): the step-time ratio is the median
// over pairs of GmP's time per epoch over SP's. On a shared
// machine a single window swings by ±20 %, more than the ratio is judged on; a pair's two windows
// see nearly the same machine, so the median of pair ratios is the steadier estimate.
function timeOursPair(cfg, dtype, withEpochs = true) {
  const runs = { sp: mlpSetup(g, 'sp', cfg, dtype), gmp: mlpSetup(g, 'gmp', cfg, dtype) };
  for (const r of Object.values(runs)) for (let i = 0; i < 5; i++) r.epoch();
  const ratios = [];
  // Seconds per epoch of `kind` over one window of at least `len` seconds.
  const window = (kind, len) => {
    const t0 = process.hrtime.bigint();
    let n = 0;
    let dt = 0;
    do {
      runs[kind].epoch();
      n++;
      dt = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (dt < len);
    return dt / n;
  };
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 ? ['gmp', 'sp'] : ['sp', 'gmp'];
    const t = {};
    for (const kind of order) t[kind] = window(kind, pairSeconds);
    ratios.push(t.gmp / t.sp);
  }
  // Epochs/s as the PyTorch peer measures them (bench/peers/mlp_torch.py): the best of 3 windows
  // of `seconds`, so the ÷ PyTorch column compares like with like.
  const best = { sp: 0, gmp: 0 };
  for (const kind of withEpochs ? ['sp', 'gmp'] : [])
    for (let w = 0; w < 3; w++) best[kind] = Math.max(best[kind], 1 / window(kind, seconds));
  for (const r of Object.values(runs)) r.dispose();
  return { sp: best.sp, gmp: best.gmp, ratio: median(ratios) };
}

// --repeat N: the whole measurement (ours, then PyTorch) N times; the table gives per-row
// medians (epochs/s, and the ratios taken run by run), since runs on a shared machine swing.
const repeats = positiveInt('repeat', opt.repeat);
// --ratio-runs N: the paired measurement N times per row in each repeat (fresh models each time,
// no epochs/s windows for the extra ones). GmP/SP is the median over all repeats × N runs, with
// their interquartile range beside it: on a shared VM one run's median moves with the minute by
// more than the ratio is judged on (boston-like float32: 1.003–1.052 over 12 runs of one
// process), and a median over 3 runs moved with it.
const ratioRuns = positiveInt('ratio-runs', opt['ratio-runs']);

const only = opt.only ?? null;
if (only !== null && (only === '' || only.startsWith('--'))) {
  console.error('mlp_bench: --only needs the text of a row name, e.g. --only "boston-like float32"');
  process.exit(2);
}
if (only !== null && opt.write) {
  console.error('mlp_bench: --write records the whole table; run it without --only');
  process.exit(2);
}

const rows = [];
const configs = [];
for (const cfg of shapes)
  for (const dtype of dtypes) {
    const name = `${cfg.set} ${dtype}`;
    if (only !== null && !name.includes(only)) continue;
    rows.push({ name, cfg, dtype, sp: [], gmp: [], ratio: [], tg: [], ts: [] });
    for (const kind of ['gmp', 'sp']) configs.push({ name: `${name} ${kind}`, kind, rows: cfg.rows, features: cfg.features, hidden: 100, batch: cfg.batch, dtype, seconds });
  }

if (rows.length === 0) {
  console.error(`mlp_bench: no row name contains "${only}" (rows: ${shapes.flatMap((c) => dtypes.map((d) => `${c.set} ${d}`)).join('; ')})`);
  process.exit(2);
}

const py = findPython();
if (!py) console.log('PyTorch not found: install it to compare (python3 -m venv .venv && PIP_INDEX_URL=<local mirror> .venv/bin/pip install torch); timing gmpnn only');
for (let rep = 0; rep < repeats; rep++) {
  for (const r of rows) {
    const t = timeOursPair(r.cfg, r.dtype);
    r.sp.push(t.sp);
    r.gmp.push(t.gmp);
    r.ratio.push(t.ratio);
    for (let k = 1; k < ratioRuns; k++) r.ratio.push(timeOursPair(r.cfg, r.dtype, false).ratio);
  }
  if (py) {
    const out = spawnSync(py.python, [path.join(__dirname, 'peers', 'mlp_torch.py'), JSON.stringify(configs), String(g.backends().cpu.threads)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (out.status !== 0) console.error(out.stderr);
    const torch = {};
    for (const line of out.stdout.split('\n').filter(Boolean)) {
      const o = JSON.parse(line);
      torch[o.name] = o.epochsPerSec;
    }
    for (const r of rows) {
      r.tg.push(torch[`${r.name} gmp`]);
      r.ts.push(torch[`${r.name} sp`]);
    }
  }
}

const f = (x) => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const lines = [
  `| shape (rows × features, batch) | dtype | gmpnn SP ep/s | gmpnn GmP ep/s | GmP/SP step-time ratio | PyTorch GmP ep/s | PyTorch SP ep/s | gmpnn GmP ÷ PyTorch GmP |`,
  `|---|---|---|---|---|---|---|---|`,
];
for (const r of rows) {
  const ratio = median(r.ratio).toFixed(3) + (r.ratio.length >= 4 ? ` (${quantile(r.ratio, 0.25).toFixed(3)}–${quantile(r.ratio, 0.75).toFixed(3)})` : '');
  const vsTorch = median(r.gmp.map((x, i) => (r.tg[i] ? x / r.tg[i] : undefined)));
  lines.push(`| ${r.cfg.set} (${r.cfg.rows}×${r.cfg.features}, ${r.cfg.batch}) | ${r.dtype} | ${f(median(r.sp))} | ${f(median(r.gmp))} | ${ratio} | ${f(median(r.tg))} | ${f(median(r.ts))} | ${vsTorch ? vsTorch.toFixed(1) + '×' : '–'} |`);
}
const cpu = (os.cpus()[0] || { model: 'unknown' }).model;
const header = `Machine: ${cpu}, ${os.cpus().length} cores, gmpnn ${g.backends().cpu.threads} threads (GEMM ${g.backends().cpu.gemmIsa})` + (py ? `, PyTorch ${py.version} (${g.backends().cpu.threads} threads)` : '') + `. Date: ${new Date().toISOString().slice(0, 10)}.` + (repeats > 1 ? ` Medians of ${repeats} runs.` : '') + (repeats * ratioRuns > 1 ? ` GmP/SP is the median over ${repeats * ratioRuns} runs of each run's median over ${pairs} paired SP/GmP windows` + (repeats * ratioRuns >= 4 ? ' (interquartile range of the runs in brackets).' : '.') : ` GmP/SP: median over ${pairs} paired SP/GmP windows.`);
const table = [header, '', ...lines].join('\n');
console.log(table);

if (opt.write) {
  // Replaces the generated block of the MLP section of bench/RESULTS.md (the prose around it stays).
  const file = path.join(__dirname, 'RESULTS.md');
  const block = `<!-- mlp_bench:begin -->\nCommand: \`node ${process.argv.slice(1).map((a) => path.relative(process.cwd(), a) || a).join(' ')}\`\n\n${table}\n<!-- mlp_bench:end -->`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const re = /<!-- mlp_bench:begin -->[\s\S]*?<!-- mlp_bench:end -->/;
  text = re.test(text) ? text.replace(re, block) : text.trimEnd() + '\n\n## MLP training throughput (UCI sizes; issue 3)\n\n' + block + '\n';
  fs.writeFileSync(file, text);
}
