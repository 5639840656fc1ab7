#!/usr/bin/env node
// Where an MLP training step's time goes, SP against GmP (issue 3's step-time ratio): every native
// call of the step timed in place (the binding's argument handling included), and the rest of each
// phase of the step (zeroGrad, forward, loss, backward, optimizer step: JavaScript, and garbage
// collection where it lands) as that phase's remainder. SP and GmP steps alternate in one process,
// so the paired differences see the same machine; medians over the steps after warm-up.
//   node bench/mlp_step_breakdown.js [--dtype float32|float64] [--rows 455] [--features 13]
//                                    [--batch ROWS] [--steps 20000] [--threads 1] [--block 1]
// --block N: SP and GmP alternate in blocks of N steps (1: step by step, where the two models share
// the caches; a long block is a user's run, one model at a time), steps paired by index.
// The model and data are mlp_bench's (bench/common.js mlpSetup); every step trains on the first
// batch (default: one batch of all rows). The clock reads (~0.1 µs per native call and phase) are
// charged to both models alike.
'use strict';
const g = require('..');
const { native } = require('../lib/native');
const { parseArgs } = require('node:util');
const { median, mlpSetup } = require('./common');

// Node's own parser (strict: an unknown option or a missing value is an error).
const { values: opt } = parseArgs({
  options: {
    dtype: { type: 'string', default: 'float32' },
    rows: { type: 'string', default: '455' },
    features: { type: 'string', default: '13' },
    batch: { type: 'string' },
    steps: { type: 'string', default: '20000' },
    threads: { type: 'string', default: '1' },
    block: { type: 'string', default: '1' },
  },
});
const dtype = opt.dtype;
if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`--dtype must be float32 or float64, got ${dtype}`);
const rows = Number(opt.rows), features = Number(opt.features);
const batch = Number(opt.batch ?? opt.rows);
const steps = Number(opt.steps), threads = Number(opt.threads), block = Number(opt.block);
for (const [k, v] of Object.entries({ rows, features, batch, steps, threads, block }))
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer, got ${v}`);
g.setNumThreads(threads);

// Every kernel entry of the binding, wrapped: each call appends [name, ns] to the current step's
// record (nothing outside a timed step). Constructors and the thread setting stay as they are.
let calls = null;
for (const name of Object.keys(native)) {
  const f = native[name];
  if (typeof f !== 'function' || /^[A-Z]/.test(name) || name === 'setNumThreads') continue;
  native[name] = function timed(...a) {
    const t0 = process.hrtime.bigint();
    const r = f.apply(this, a);
    const ns = Number(process.hrtime.bigint() - t0);
    if (calls) calls.push([name, ns]);
    return r;
  };
}

const PHASES = ['zeroGrad', 'forward', 'loss', 'backward', 'optimizer step'];

// One step, timed by phase: { calls: [name, ns, phase][], phase: ns[], total }.
function timedStep(run) {
  const [x, y] = run.batches[0];
  const phase = [];
  calls = [];
  let mark = 0;
  const tick = (t) => {
    const now = process.hrtime.bigint();
    for (let i = mark; i < calls.length; i++) calls[i].push(phase.length);
    mark = calls.length;
    phase.push(Number(now - t));
    return process.hrtime.bigint();
  };
  const t0 = process.hrtime.bigint();
  g.tidy(() => {
    let t = t0;
    run.opt.zeroGrad();
    t = tick(t);
    const out = run.model.forward(x);
    t = tick(t);
    const loss = g.mae(out, y);
    t = tick(t);
    loss.backward();
    t = tick(t);
    run.opt.step();
    tick(t);
  });
  const total = Number(process.hrtime.bigint() - t0);
  const c = calls;
  calls = null;
  return { calls: c, phase, total };
}

const cfg = { rows, features, batch: Math.min(batch, rows) };
const runs = { sp: mlpSetup(g, 'sp', cfg, dtype), gmp: mlpSetup(g, 'gmp', cfg, dtype) };
const warm = Math.min(2000, Math.ceil(steps / 10));
const rec = { sp: [], gmp: [] };
for (let i = 0; i < warm + steps; i += block) {
  for (const kind of (i / block) % 2 ? ['sp', 'gmp'] : ['gmp', 'sp'])
    for (let k = i; k < Math.min(i + block, warm + steps); k++) {
      const s = timedStep(runs[kind]);
      if (k >= warm) rec[kind].push(s);
    }
}
for (const r of Object.values(runs)) r.dispose();

// The call sequence is the same every step (fixed model and batch); SP and GmP pair call by call.
const seq = { sp: rec.sp[0].calls.map(([n]) => n), gmp: rec.gmp[0].calls.map(([n]) => n) };
for (const kind of ['sp', 'gmp'])
  for (const s of rec[kind])
    if (s.calls.length !== seq[kind].length || s.calls.some(([n], j) => n !== seq[kind][j]))
      throw new Error(`${kind}: the native calls changed between steps`);
const spSeq = seq.sp, gmpSeq = seq.gmp;
if (spSeq.length !== gmpSeq.length)
  throw new Error(`SP makes ${spSeq.length} native calls per step and GmP ${gmpSeq.length}: no call-by-call pairing`);

// A row: SP's and GmP's medians and the median of the paired (same step index) differences, µs.
const us = (ns) => (ns / 1e3).toFixed(2);
const out = [];
const row = (label, pick) => {
  const a = rec.sp.map(pick), b = rec.gmp.map(pick);
  out.push(`| ${label} | ${us(median(a))} | ${us(median(b))} | ${us(median(b.map((v, i) => v - a[i])))} |`);
};
spSeq.forEach((name, j) => {
  const where = PHASES[rec.sp[0].calls[j][2]];
  row(`${j + 1}. ${where}: ${name === gmpSeq[j] ? name : `${name} / ${gmpSeq[j]}`}`, (s) => s.calls[j][1]);
});
const nativeIn = (s, p) => s.calls.reduce((t, c) => t + (p === undefined || c[2] === p ? c[1] : 0), 0);
PHASES.forEach((name, p) => row(`${name}: the rest (JavaScript, GC)`, (s) => s.phase[p] - nativeIn(s, p)));
row('native calls, together', (s) => nativeIn(s));
row('the rest, together', (s) => s.total - nativeIn(s));
row('**step**', (s) => s.total);
const spStep = median(rec.sp.map((s) => s.total)), gmpStep = median(rec.gmp.map((s) => s.total));
const ratio = median(rec.gmp.map((s, i) => s.total / rec.sp[i].total));

console.log(`MLP step breakdown: ${rows}×${features} → 100 ReLU → 1, ${dtype}, batch ${cfg.batch}, ${threads} thread(s), ${steps} steps each, SP and GmP alternating ${block === 1 ? 'step by step' : `in blocks of ${block} steps`}. ${new Date().toISOString().slice(0, 16)}Z\n`);
console.log('| call. phase: native call (SP / GmP where they differ) | SP µs | GmP µs | GmP − SP µs (paired median) |');
console.log('|---|---|---|---|');
for (const r of out) console.log(r);
console.log(`\nStep: SP ${us(spStep)} µs, GmP ${us(gmpStep)} µs; GmP/SP over paired steps: median ${ratio.toFixed(3)}.`);
