#!/usr/bin/env node
// VGG-6 training step on 32×32 inputs on the CPU (issue 4): images/s for SP and GmP+IMN in gmpnn
// and, in the same run, PyTorch CPU eager (channels-last) when a Python with torch is found
// (GMPNN_PYTHON, .venv/bin/python, python3). Best of `reps` steps after one warm-up step.
//   node bench/vgg6_bench.js [--quick] [--repeat N] [--write]
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawnSync } = require('node:child_process');
const g = require('..');
const { findPython, repeatsFromArgv, median } = require('./common');

const quick = process.argv.includes('--quick');
const configs = quick
  ? [{ width: 0.25, batch: 16, reps: 2 }]
  : [{ width: 0.25, batch: 64, reps: 3 }, { width: 1, batch: 32, reps: 2 }];

function ours(variant, cfg) {
  g.manualSeed(0);
  const model = g.models.vgg6({ variant, classes: 10, inChannels: 3, width: cfg.width });
  const opt = new g.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = g.randn([cfg.batch, 32, 32, 3]);
  const y = g.tensor(Array.from({ length: cfg.batch }, (_, i) => i % 10), [cfg.batch]);
  const step = () => g.tidy(() => { opt.zeroGrad(); g.crossEntropy(model.forward(x), y).backward(); opt.step(); });
  step();
  let best = 0;
  for (let r = 0; r < cfg.reps; r++) {
    const t0 = process.hrtime.bigint();
    step();
    best = Math.max(best, cfg.batch / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  model.dispose(); opt.dispose(); g.dispose([x, y]);
  return best;
}

// --repeat N: the whole measurement (ours, then PyTorch) N times; the table gives medians of the
// images/s and of the ratios taken run by run (runs on a shared machine swing by ±20 %).
const repeats = repeatsFromArgv();
const py = findPython();
if (!py) console.log('PyTorch not found: timing gmpnn only (see bench/mlp_bench.js for how to install it)');
const rows = configs.map((cfg) => ({ cfg, sp: [], gmp: [], ts: [], tg: [] }));
for (let rep = 0; rep < repeats; rep++) {
  for (const r of rows) {
    r.sp.push(ours('sp', r.cfg));
    r.gmp.push(ours('gmp_imn', r.cfg));
  }
  const torch = {};
  if (py) {
    const list = configs.flatMap((cfg) => ['sp', 'gmp_imn'].map((kind) => ({ name: `${cfg.width}/${cfg.batch}/${kind}`, kind, ...cfg })));
    const out = spawnSync(py.python, [path.join(__dirname, 'peers', 'vgg6_torch.py'), JSON.stringify(list), String(g.backends().cpu.threads)], { encoding: 'utf8' });
    if (out.status !== 0) console.error(out.stderr);
    for (const line of (out.stdout || '').split('\n').filter(Boolean)) { const o = JSON.parse(line); torch[o.name] = o.imagesPerSec; }
  }
  for (const r of rows) {
    r.ts.push(torch[`${r.cfg.width}/${r.cfg.batch}/sp`]);
    r.tg.push(torch[`${r.cfg.width}/${r.cfg.batch}/gmp_imn`]);
  }
}
const f = (x) => (x === undefined ? '–' : x.toFixed(1));
const ratio = (a, b) => { const m = median(a.map((x, i) => (b[i] ? x / b[i] : undefined))); return m === undefined ? '–' : `${m.toFixed(2)}×`; };
const lines = ['| width (channels) | batch | gmpnn SP img/s | gmpnn GmP+IMN img/s | PyTorch SP img/s | PyTorch GmP+IMN img/s | ours ÷ PyTorch (SP, GmP+IMN) |', '|---|---|---|---|---|---|---|'];
for (const r of rows) {
  lines.push(`| ${r.cfg.width} (${g.models.vgg6Channels(r.cfg.width).join('-')}) | ${r.cfg.batch} | ${f(median(r.sp))} | ${f(median(r.gmp))} | ${f(median(r.ts))} | ${f(median(r.tg))} | ${ratio(r.sp, r.ts)}, ${ratio(r.gmp, r.tg)} |`);
}
const header = `Machine: ${(os.cpus()[0] || {}).model}, ${os.cpus().length} cores, ${g.backends().cpu.threads} threads (GEMM ${g.backends().cpu.gemmIsa})${py ? `, PyTorch ${py.version}` : ''}. Date: ${new Date().toISOString().slice(0, 10)}.${repeats > 1 ? ` Medians of ${repeats} runs (ratios taken run by run).` : ''}`;
const table = [header, '', ...lines].join('\n');
console.log(table);
if (process.argv.includes('--write')) {
  // Replaces the generated block in the VGG-6 section of bench/RESULTS.md (the prose around it stays).
  const file = path.join(__dirname, 'RESULTS.md');
  const cmd = `node ${process.argv.slice(1).map((a) => path.relative(process.cwd(), a) || a).join(' ')}`;
  const block = `<!-- vgg6_bench:begin -->\nCommand: \`${cmd}\` (forward + backward + SGD momentum, cross-entropy, 10 classes; best of a few steps per run).\n\n${table}\n<!-- vgg6_bench:end -->`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const re = /<!-- vgg6_bench:begin -->[\s\S]*?<!-- vgg6_bench:end -->/;
  text = re.test(text) ? text.replace(re, block) : text.trimEnd() + '\n\n## VGG-6 training step, 32×32, CPU\n\n' + block + '\n';
  fs.writeFileSync(file, text);
}
