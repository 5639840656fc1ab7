#!/usr/bin/env node
// VGG-6 training step on 32×32 inputs on the CPU (issue 4): images/s for SP and GmP+IMN in gmpnn
// and, in the same run, PyTorch CPU eager (channels-last) when a Python with torch is found
// (GMPNN_PYTHON, .venv/bin/python, python3). Best of `reps` steps after one warm-up step.
//   node bench/vgg6_bench.js [--quick] [--write]
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawnSync } = require('node:child_process');
const g = require('..');

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

function findPython() {
  for (const p of [process.env.GMPNN_PYTHON, path.join(__dirname, '..', '.venv', 'bin', 'python'), 'python3'].filter(Boolean)) {
    const r = spawnSync(p, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python: p, version: r.stdout.trim() };
  }
  return null;
}

const rows = configs.map((cfg) => ({ cfg, sp: ours('sp', cfg), gmp: ours('gmp_imn', cfg) }));
const py = findPython();
const torch = {};
if (py) {
  const list = configs.flatMap((cfg) => ['sp', 'gmp_imn'].map((kind) => ({ name: `${cfg.width}/${cfg.batch}/${kind}`, kind, ...cfg })));
  const r = spawnSync(py.python, [path.join(__dirname, 'peers', 'vgg6_torch.py'), JSON.stringify(list), String(g.backends().cpu.threads)], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  for (const line of (r.stdout || '').split('\n').filter(Boolean)) { const o = JSON.parse(line); torch[o.name] = o.imagesPerSec; }
} else {
  console.log('PyTorch not found: timing gmpnn only (see bench/mlp_bench.js for how to install it)');
}
const f = (x) => (x === undefined ? '–' : x.toFixed(1));
const lines = ['| width (channels) | batch | gmpnn SP img/s | gmpnn GmP+IMN img/s | PyTorch SP img/s | PyTorch GmP+IMN img/s | ours ÷ PyTorch (SP, GmP+IMN) |', '|---|---|---|---|---|---|---|'];
for (const { cfg, sp, gmp } of rows) {
  const ts = torch[`${cfg.width}/${cfg.batch}/sp`], tg = torch[`${cfg.width}/${cfg.batch}/gmp_imn`];
  lines.push(`| ${cfg.width} (${g.models.vgg6Channels(cfg.width).join('-')}) | ${cfg.batch} | ${f(sp)} | ${f(gmp)} | ${f(ts)} | ${f(tg)} | ${ts ? (sp / ts).toFixed(2) : '–'}×, ${tg ? (gmp / tg).toFixed(2) : '–'}× |`);
}
const header = `Machine: ${(os.cpus()[0] || {}).model}, ${os.cpus().length} cores, ${g.backends().cpu.threads} threads (GEMM ${g.backends().cpu.gemmIsa})${py ? `, PyTorch ${py.version}` : ''}. Date: ${new Date().toISOString().slice(0, 10)}.`;
const table = [header, '', ...lines].join('\n');
console.log(table);
if (process.argv.includes('--write')) {
  const file = path.join(__dirname, 'RESULTS.md');
  const section = `## VGG-6 training step, 32×32, CPU\n\nForward + backward + SGD momentum, cross-entropy, 10 classes; best of a few steps. Command: \`node bench/vgg6_bench.js --write\`.\n\n${table}\n`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const re = /## VGG-6 training step, 32×32, CPU\n[\s\S]*?(?=\n## |$)/;
  text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : text.trimEnd() + '\n\n' + section;
  fs.writeFileSync(file, text);
}
