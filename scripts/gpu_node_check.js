#!/usr/bin/env node
// gpu_node_check.js — the Node addon's CUDA path, end to end through the public API, against the
// same calls on the CPU (the kernel parity tests in gpu_check.sh never go through the binding,
// the tensors, the autograd or the layers).
//
//   node scripts/gpu_node_check.js            (on a machine with an NVIDIA GPU)
//   GMPNN_CHECK_DEVICE=cpu node scripts/gpu_node_check.js   (the script's own dry run: cpu vs cpu)
//
// The GPU hosts have no Node: the device tool carries a node binary, lib/ and build/Release
// (docs/GPU.md says how). Every check builds its inputs from the shared Philox stream (the same
// numbers on every device), runs on both devices and compares values and gradients with
// tolerances by dtype; then training loops (MLP, VGG-6) compare their losses step by step, a
// memory check, error paths, and a few timings. A summary table is printed last; exit status 0
// when every check passed.
'use strict';
const path = require('node:path');
const g = require(path.join(__dirname, '..'));

const DEV = process.env.GMPNN_CHECK_DEVICE || 'cuda';
const results = [];
const t0 = Date.now();

function record(name, ok, detail) {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`);
}

// max |a−b| / (atol/rtol + |b|) over all elements: ≤ 1 passes.
function compare(a, b, rtol, atol) {
  if (a.length !== b.length) return { ok: false, msg: `length ${a.length} vs ${b.length}` };
  let worst = 0, at = -1, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return { ok: false, msg: `NaN mismatch at ${i}` };
    const q = d / (atol + rtol * Math.abs(b[i]));
    if (q > worst) { worst = q; at = i; }
    maxAbs = Math.max(maxAbs, d);
  }
  return { ok: worst <= 1, msg: `max |diff| ${maxAbs.toExponential(2)}${worst > 1 ? ` (element ${at}: ${a[at]} vs ${b[at]})` : ''}` };
}

const TOL = { float32: [2e-4, 2e-5], float64: [1e-9, 1e-11] };

// fn(device) returns { name: Tensor | number[] }; both devices from the same seed.
function parity(name, dtype, fn, scale = 1) {
  try {
    const get = (device) => g.tidy(() => {
      g.manualSeed(1234);
      const out = fn(device);
      const host = {};
      for (const [k, v] of Object.entries(out)) if (k !== 'modules') host[k] = Array.from(v instanceof g.Tensor ? v.dataSync() : v);
      for (const m of out.modules || []) m.dispose();
      return host;
    });
    const want = get('cpu');
    const got = get(DEV);
    const [rtol, atol] = TOL[dtype];
    const bad = [], msgs = [];
    for (const k of Object.keys(want)) {
      const c = compare(got[k], want[k], rtol * scale, atol * scale);
      if (!c.ok) bad.push(`${k} ${c.msg}`);
      else msgs.push(`${k} ${c.msg.replace('max |diff| ', '')}`);
    }
    record(`${name} ${dtype}`, bad.length === 0, bad.length ? bad.join('; ') : msgs.join(', '));
  } catch (e) {
    record(`${name} ${dtype}`, false, `threw ${e.code || ''} ${e.message}`);
  }
}

function leaf(shape, dtype, device, opts = {}) {
  const t = g.randn(shape, { dtype, device, ...opts });
  t.requiresGrad = true;
  return t;
}
const grads = (o, ts) => { for (const [k, t] of Object.entries(ts)) o['d' + k] = t.grad; return o; };

async function main() {
console.log(`# gmpnn Node/CUDA check (device ${DEV})`);
console.log(`node ${process.version}; backends: ${JSON.stringify(g.backends())}`);
const cudaInfo = g.backends().cuda;
if (DEV === 'cuda' && !cudaInfo.available) {
  record('cuda available', false, cudaInfo.reason);
} else {
  if (DEV === 'cuda') record('cuda available', true, '');
  for (const dtype of ['float32', 'float64']) {
    // --- creation: the Philox stream gives the same numbers on every device
    try {
      const draw = (device) => { g.manualSeed(7); return g.tidy(() => [...g.randn([1001], { dtype, device }).dataSync(), ...g.randUniform([333], -2, 3, { dtype, device }).dataSync()]); };
      const a = draw('cpu'), b = draw(DEV);
      const c = compare(b, a, dtype === 'float32' ? 1e-6 : 1e-14, 0);
      record(`rng randn/randUniform ${dtype}`, c.ok, c.msg);
    } catch (e) { record(`rng ${dtype}`, false, e.message); }

    // --- elementwise, broadcasting, reductions, layout
    parity('elementwise+reduce', dtype, (device) => {
      const a = leaf([7, 33], dtype, device), b = leaf([1, 33], dtype, device), c = leaf([7, 1], dtype, device);
      const y = a.mul(b).add(c.exp()).sub(a.tanh()).div(b.abs().add(1)).relu().add(a.sigmoid().mul(a.sin()));
      const s = y.sum([0]).add(y.mean([1]).sum()).mul(y.max([1]).sum());
      g.sum(s).backward();
      return grads({ y, max: y.max([0]), argmax: g.argmax(y, 1) }, { a, b, c });
    });
    parity('layout (transpose, slice, concat, permute)', dtype, (device) => {
      const a = leaf([5, 6, 7], dtype, device);
      const t = g.permute(a, [2, 0, 1]);
      const s = g.slice(t, [1, 0, 2], [4, 5, 3]);
      const c = g.concat([s, g.transpose(s, 1, 2).reshape([4, 5, 3])], 0);
      g.sum(c.mul(c)).backward();
      return grads({ c }, { a });
    });
    parity('matmul', dtype, (device) => {
      const a = leaf([37, 65], dtype, device), b = leaf([65, 29], dtype, device);
      const y = g.matmul(a, b);
      g.sum(y.mul(y)).backward();
      return grads({ y }, { a, b });
    }, 4);
    parity('losses (mse, mae, bce, cross-entropy)', dtype, (device) => {
      const p = leaf([40, 3], dtype, device), t = g.randn([40, 3], { dtype, device });
      const labels = g.tensor(Array.from({ length: 40 }, (_, i) => (i * 7) % 3), [40], { dtype, device });
      const tb = g.randUniform([40, 3], 0, 1, { dtype, device });
      const l = g.mse(p, t).add(g.mae(p, t)).add(g.bceWithLogits(p, tb)).add(g.crossEntropy(p, labels));
      l.backward();
      return grads({ l }, { p });
    });
    // --- layers: every parameterization, forward and all gradients
    // A layer's output, dL/dx and every parameter's gradient for L = Σ y².
    const layerGrads = (layer, xShape, device) => {
      const x = leaf(xShape, dtype, device);
      const y = layer.forward(x);
      g.sum(y.mul(y)).backward();
      const out = { y, dx: x.grad, modules: [layer] };
      for (const [n, p] of layer.namedParameters()) out['d' + n] = p.grad;
      return out;
    };
    for (const parameterization of ['sp', 'wn', 'gmp']) {
      parity(`nn.Linear ${parameterization}`, dtype, (device) =>
        layerGrads(new g.nn.Linear(19, 23, { parameterization, activation: 'relu', dtype, device }), [31, 19], device), 4);
      parity(`nn.Conv2d ${parameterization} 3x3 same`, dtype, (device) =>
        layerGrads(new g.nn.Conv2d(5, 12, 3, { parameterization, activation: 'relu', padding: 'same', dtype, device }), [3, 9, 11, 5], device), 8);
    }
    parity('conv2d stride 2 valid + pools', dtype, (device) => {
      const x = leaf([2, 13, 12, 4], dtype, device), w = leaf([6, 3, 3, 4], dtype, device);
      const y = g.conv2d(x, w, { stride: 2, padding: 'valid' });
      const p = g.maxPool2d(y, { kernelSize: 2 }).add(g.avgPool2d(y, { kernelSize: 2 }));
      const q = g.globalAvgPool2d(p);
      g.sum(q.mul(q)).add(g.sum(p)).backward();
      return grads({ y, p }, { x, w });
    }, 8);
    parity('BatchNorm / MeanOnlyBatchNorm (train)', dtype, (device) => {
      const bn = new g.nn.BatchNorm(8, { dtype, device }), mbn = new g.nn.MeanOnlyBatchNorm(8, { dtype, device });
      const x = leaf([16, 8], dtype, device);
      const y = bn.forward(x).add(mbn.forward(x));
      g.sum(y.mul(y.sin())).backward();
      return grads({ y, modules: [bn, mbn] }, { x });
    }, 8);
  }

  // --- training: the same MLP / VGG-6 on both devices, losses step by step
  function trainLosses(device, build, data, steps, optim) {
    g.manualSeed(99);
    const model = build(device);
    const opt = optim(model.parameters());
    const { x, y, loss } = data(device);
    const out = [];
    for (let i = 0; i < steps; i++) out.push(g.tidy(() => { opt.zeroGrad(); const l = loss(model.forward(x), y); l.backward(); opt.step(); return l.item(); }));
    model.dispose(); opt.dispose(); g.dispose([x, y]);
    return out;
  }
  for (const [dtype, rtol] of [['float64', 1e-10], ['float32', 1e-5]]) {
    for (const parameterization of ['sp', 'gmp']) {
      try {
        const build = (device) => g.models.mlp({ inFeatures: 13, hidden: 100, out: 1, parameterization, dtype, device });
        const data = (device) => { g.manualSeed(5); return { x: g.keep(g.randn([455, 13], { dtype, device })), y: g.keep(g.randn([455, 1], { dtype, device })), loss: g.mae }; };
        const opt = (ps) => new g.optim.Adam(ps, { lr: parameterization === 'gmp' ? 0.01 : 0.001 });
        const a = trainLosses('cpu', build, data, 100, opt), b = trainLosses(DEV, build, data, 100, opt);
        // The first 20 steps step by step; then the runs may drift apart: float32 GmP layers take
        // sin/cos at float accuracy on the CPU (≤ 2 ulp) and in double on the GPU, so u(θ) differs
        // in the last bit and MAE + Adam amplify that (seen on an H200: losses equal to the bit
        // for 20 steps, 4e-6 apart at step 40, 1e-2 at step 80). The final losses must agree to 5 %.
        const c = compare(b.slice(0, 20), a.slice(0, 20), rtol, 0);
        const rel = b.map((v, i) => Math.abs(v - a[i]) / Math.abs(a[i]));
        console.log(`  ${parameterization} ${dtype} relative loss difference by step: ${[0, 1, 2, 5, 10, 20, 40, 60, 80, 99].map((i) => `${i}:${rel[i].toExponential(1)}`).join(' ')}`);
        record(`MLP ${parameterization} 100 Adam steps, losses ${dtype}`, c.ok && rel[99] < 0.05 && b[99] < b[0], `steps 0-19 ${c.msg}; step 99 ${rel[99].toExponential(1)} apart; loss ${b[0].toFixed(4)} → ${b[99].toFixed(4)}`);
      } catch (e) { record(`MLP ${parameterization} ${dtype}`, false, `threw ${e.code || ''} ${e.message}`); }
    }
  }
  for (const variant of ['sp', 'gmp_imn', 'bn']) {
    try {
      const build = (device) => g.models.vgg6({ variant, classes: 10, inChannels: 3, width: 0.125, device });
      const data = (device) => { g.manualSeed(6); return { x: g.keep(g.randn([16, 32, 32, 3], { device })), y: g.keep(g.tensor(Array.from({ length: 16 }, (_, i) => i % 10), [16], { device })), loss: g.crossEntropy }; };
      const opt = (ps) => new g.optim.SGD(ps, { lr: 0.01, momentum: 0.9 });
      const a = trainLosses('cpu', build, data, 5, opt), b = trainLosses(DEV, build, data, 5, opt);
      const c = compare(b, a, 2e-3, 0);
      record(`VGG-6 ${variant} (width 0.125) 5 SGD steps, losses float32`, c.ok, `${c.msg}; losses ${b.map((v) => v.toFixed(4)).join(' ')}`);
    } catch (e) { record(`VGG-6 ${variant}`, false, `threw ${e.code || ''} ${e.message}`); }
  }

  // --- more models and optimizers: ResNet-18 (ImageNet stem: 7×7/2 conv, max pool, stride-2
  // blocks, BatchNorm, residual adds) and every MLP variant, cuda against cpu, then eval mode
  for (const variant of ['wn_mbn', 'gmp_imn', 'bn']) {
    try {
      const build = (device) => g.models.resnet({ depth: 18, variant, classes: 5, width: 0.125, stem: 'imagenet', device });
      const data = (device) => { g.manualSeed(12); return { x: g.keep(g.randn([4, 48, 48, 3], { device })), y: g.keep(g.tensor([0, 1, 2, 4], [4], { device })), loss: g.crossEntropy }; };
      const opt = (ps) => new g.optim.SGD(ps, { lr: 0.01, momentum: 0.9, nesterov: true });
      const a = trainLosses('cpu', build, data, 4, opt), b = trainLosses(DEV, build, data, 4, opt);
      const c = compare(b, a, 2e-3, 0);
      record(`ResNet-18 ${variant} (width 0.125, 48×48) 4 SGD-Nesterov steps, losses float32`, c.ok, `${c.msg}; losses ${b.map((v) => v.toFixed(4)).join(' ')}`);
    } catch (e) { record(`ResNet-18 ${variant}`, false, `threw ${e.code || ''} ${e.message}`); }
  }
  for (const [variant, imn] of [['wn', false], ['bn', false], ['wn_mbn', false], ['gmp', true]]) {
    try {
      const outs = {};
      for (const device of ['cpu', DEV]) {
        g.manualSeed(21);
        const model = g.models.mlp({ inFeatures: 7, hidden: [32, 16], out: 3, parameterization: variant, imn, device, dtype: 'float64' });
        const opt = new g.optim.AdamW(model.parameters(), { lr: 0.01 });
        g.manualSeed(22);
        const x = g.keep(g.randn([64, 7], { device, dtype: 'float64' })), y = g.keep(g.randn([64, 3], { device, dtype: 'float64' }));
        const losses = [];
        for (let i = 0; i < 20; i++) losses.push(g.tidy(() => { opt.zeroGrad(); const l = g.mse(model.forward(x), y); l.backward(); opt.step(); return l.item(); }));
        model.eval();
        const evalOut = g.tidy(() => Array.from(model.forward(x).dataSync()));
        outs[device] = { losses, evalOut };
        model.dispose(); opt.dispose(); g.dispose([x, y]);
      }
      // Eval outputs to 1e-8 absolute, not to rounding: a bias just before BN/MBN has a zero
      // gradient in exact arithmetic, so its computed gradient is rounding noise (~3e-17) that
      // differs by device, and AdamW's m/(√v + ε) turns that into updates of ~1e-11 per step.
      // Train-mode outputs ignore that bias (the batch mean removes it); eval mode, through the
      // running mean, does not: seen on an H200 as 4e-10 (BN) and 3e-10 (WN+MBN) after 20 steps.
      const c1 = compare(outs[DEV].losses, outs.cpu.losses, 1e-9, 0), c2 = compare(outs[DEV].evalOut, outs.cpu.evalOut, 1e-9, 1e-8);
      record(`MLP ${variant}${imn ? '+IMN' : ''} (2 hidden layers) 20 AdamW steps then eval mode, float64`, c1.ok && c2.ok, `losses ${c1.msg}; eval outputs ${c2.msg}`);
    } catch (e) { record(`MLP ${variant}`, false, `threw ${e.code || ''} ${e.message}`); }
  }
  parity('toDevice gradient, geometry (toHyperspherical / toCartesian)', 'float64', (device) => {
    const w = leaf([6, 5], 'float64', 'cpu');
    const wd = g.toDevice(w, device);
    const { theta, radius } = g.geometry.toHyperspherical(wd);
    const back = g.geometry.toCartesian(theta, radius);
    g.sum(back.mul(wd)).backward();
    return { theta, radius, back, dw: w.grad };
  });

  // --- the trainer on the device: checkpoints written from device memory, a resume after a
  // "kill" mid-epoch and one at an epoch end gives the same losses to the bit (the CUDA kernels
  // must be deterministic for that), and the run agrees with the same run on the CPU.
  try {
    const fs = require('node:fs'), os = require('node:os');
    const toy = (n, seed) => {
      let st = seed * 7919 + 13;
      const rnd = () => ((st = (st * 1103515245 + 12345) % 2147483648) / 2147483648);
      const pixels = new Uint8Array(n * 64), labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = i % 3;
        for (let q = 0; q < 64; q++) {
          const x = q % 8, c = i % 3;
          pixels[i * 64 + q] = Math.floor(((c === 0 ? x < 3 : c === 1 ? x >= 5 : x >= 3 && x < 5) ? 150 : 40) + rnd() * 80);
        }
      }
      return { n, height: 8, width: 8, channels: 1, pixels, labels, classes: 3 };
    };
    const trainSet = toy(44, 1), valSet = toy(15, 2);
    const opts = (device, outDir, seed, extra = {}) => {
      g.manualSeed(seed);
      return {
        model: g.models.vgg6({ variant: 'gmp_imn', classes: 3, inChannels: 1, width: 0.0625, device }),
        modelConfig: { variant: 'gmp_imn' },
        train: new g.images.ArrayLoader(trainSet, { batchSize: 8, seed: 11, flip: true, mean: [0.4], device }),
        val: new g.images.ArrayLoader(valSet, { batchSize: 8, shuffle: false, mean: [0.4], device }),
        lr: 0.05, epochs: 4, schedule: 'plateau', plateauPatience: 1, earlyStopping: 10, outDir, quiet: true, curves: false, ...extra,
      };
    };
    const tmp = () => fs.mkdtempSync(require('node:path').join(os.tmpdir(), 'gmpnn-gpu-'));
    const run = async (o) => { const r = await g.trainClassifier(o); o.model.dispose(); return r; };
    const full = await run(opts(DEV, tmp(), 5));
    const dir = tmp();
    const p1 = await run(opts(DEV, dir, 5, { maxSteps: 5 }));
    const p2 = await run(opts(DEV, dir, 999, { resume: true, maxSteps: 12 }));
    const p3 = await run(opts(DEV, dir, 12345, { resume: true }));
    const resumed = [...p1.stepLosses, ...p2.stepLosses, ...p3.stepLosses];
    const same = resumed.length === full.stepLosses.length && resumed.every((v, i) => v === full.stepLosses[i]);
    record(`trainer on ${DEV}: resume after kills gives bit-identical losses (VGG-6 GmP+IMN, 24 steps)`, same && full.stepLosses[23] < full.stepLosses[0],
      `${resumed.length} vs ${full.stepLosses.length} steps, first difference at ${resumed.findIndex((v, i) => v !== full.stepLosses[i])}; loss ${full.stepLosses[0].toFixed(4)} → ${full.stepLosses[23].toFixed(4)}`);
    const onCpu = await run(opts('cpu', tmp(), 5));
    const c = compare(full.stepLosses, onCpu.stepLosses, 1e-3, 0);
    record(`trainer on ${DEV} vs cpu: the same 24 step losses (1e-3)`, c.ok, `${c.msg}; val top-1 ${DEV} ${full.epochs[3].val.top1} cpu ${onCpu.epochs[3].val.top1}`);
  } catch (e) { record('trainer', false, `threw ${e.code || ''} ${e.stack}`); }

  // --- async readback and state dicts across devices
  try {
    g.manualSeed(8);
    const t = g.keep(g.randn([1000, 7], { device: DEV }));
    const a = await t.data(), b = t.dataSync();
    const cpuModel = g.models.mlp({ inFeatures: 5, hidden: 9, out: 1, parameterization: 'gmp', device: 'cpu' });
    g.manualSeed(9);
    const devModel = g.models.mlp({ inFeatures: 5, hidden: 9, out: 1, parameterization: 'gmp', device: DEV });
    devModel.loadStateDict(cpuModel.stateDict());
    const x = g.keep(g.randn([4, 5])), xd = g.keep(g.toDevice(x, DEV));
    const y1 = g.tidy(() => Array.from(cpuModel.forward(x).dataSync())), y2 = g.tidy(() => Array.from(devModel.forward(xd).dataSync()));
    const c = compare(y2, y1, 1e-5, 1e-6);
    const sameDevice = devModel.parameters().every((p) => p.device === DEV);
    record('async readback; a CPU state dict loaded into a device model', a.every((v, i) => v === b[i]) && c.ok && sameDevice, `data() = dataSync(): ${a.every((v, i) => v === b[i])}; outputs ${c.msg}; parameters stay on ${DEV}: ${sameDevice}`);
    cpuModel.dispose(); devModel.dispose(); g.dispose([t, x, xd]);
  } catch (e) { record('async readback / state dict', false, `threw ${e.code || ''} ${e.stack}`); }

  // --- memory: a training loop keeps the device's live bytes flat
  try {
    g.manualSeed(3);
    const model = g.models.mlp({ inFeatures: 16, hidden: 100, out: 1, parameterization: 'gmp', device: DEV });
    const opt = new g.optim.Adam(model.parameters(), { lr: 0.01 });
    const x = g.randn([1024, 16], { device: DEV }), y = g.randn([1024, 1], { device: DEV });
    const step = () => g.tidy(() => { opt.zeroGrad(); g.mae(model.forward(x), y).backward(); opt.step(); });
    for (let i = 0; i < 20; i++) step();
    const before = g.memory();
    for (let i = 0; i < 500; i++) step();
    const after = g.memory();
    const b0 = before.byDevice[DEV].numBytes, b1 = after.byDevice[DEV].numBytes;
    record('memory flat over 500 GmP MLP steps', b0 === b1 && before.numTensors === after.numTensors, `${DEV} bytes ${b0} → ${b1}, tensors ${before.numTensors} → ${after.numTensors}`);
    model.dispose(); opt.dispose(); g.dispose([x, y]);
  } catch (e) { record('memory', false, `threw ${e.code || ''} ${e.message}`); }

  // --- errors: out of memory and mixed devices are JS Errors; the process goes on
  if (DEV === 'cuda') {
    try {
      let code = null;
      try { g.empty([1 << 30, 1 << 10], 'float32', 'cuda'); } catch (e) { code = e.code; }
      const after = g.tidy(() => g.sum(g.full([4], 2, { device: 'cuda' })).item());
      record('cuda OOM (4 TiB) is a JS Error, then work goes on', code === 'E_OOM' && after === 8, `code ${code}, then sum = ${after}`);
    } catch (e) { record('cuda OOM', false, `threw ${e.code || ''} ${e.message}`); }
  }
  try {
    let err = null;
    g.tidy(() => { try { g.add(g.zeros([3]), g.zeros([3], { device: DEV })); } catch (e) { err = e; } });
    record('mixed-device op', DEV === 'cpu' ? err === null : !!(err && err.code), DEV === 'cpu' ? 'same device (dry run)' : `${err && err.code}: ${err && err.message}`);
  } catch (e) { record('mixed-device op', false, e.message); }

  // --- timings (figures, not checks): MLP epoch and VGG-6 step on the device
  const time = (fn, reps) => { fn(); g.synchronize(); let best = Infinity; for (let r = 0; r < reps; r++) { const s = process.hrtime.bigint(); fn(); g.synchronize(); best = Math.min(best, Number(process.hrtime.bigint() - s) / 1e9); } return best; };
  try {
    for (const kind of ['sp', 'gmp']) {
      g.manualSeed(0);
      const model = g.models.mlp({ inFeatures: 16, hidden: 100, out: 1, parameterization: kind, device: DEV });
      const opt = new g.optim.Adam(model.parameters(), { lr: 1e-3 });
      const x = g.randn([10240, 16], { device: DEV }), y = g.randn([10240, 1], { device: DEV });
      const batches = [];
      for (let s = 0; s < 10240; s += 1024) batches.push([g.slice(x, [s, 0], [1024, 16]), g.slice(y, [s, 0], [1024, 1])]);
      const sec = time(() => { for (const [xb, yb] of batches) g.tidy(() => { opt.zeroGrad(); g.mae(model.forward(xb), yb).backward(); opt.step(); }); }, 20);
      console.log(`time: MLP ${kind} naval-like (10240×16, batch 1024, float32) ${(1 / sec).toFixed(0)} epochs/s on ${DEV}`);
      model.dispose(); opt.dispose(); g.dispose([x, y, batches]);
    }
    for (const variant of ['sp', 'gmp_imn']) {
      g.manualSeed(0);
      const batch = DEV === 'cuda' ? 256 : 8;
      const model = g.models.vgg6({ variant, classes: 10, inChannels: 3, width: 1, device: DEV });
      const opt = new g.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      const x = g.randn([batch, 32, 32, 3], { device: DEV });
      const y = g.tensor(Array.from({ length: batch }, (_, i) => i % 10), [batch], { device: DEV });
      const sec = time(() => g.tidy(() => { opt.zeroGrad(); g.crossEntropy(model.forward(x), y).backward(); opt.step(); }), 3);
      console.log(`time: VGG-6 ${variant} width 1, batch ${batch}, 32×32: ${(batch / sec).toFixed(0)} images/s on ${DEV}`);
      model.dispose(); opt.dispose(); g.dispose([x, y]);
    }
  } catch (e) { record('timings', false, `threw ${e.code || ''} ${e.message}`); }
}

}

main().catch((e) => record('main', false, e.stack)).finally(() => {
const failed = results.filter((r) => !r.ok);
console.log(`\n## summary (${((Date.now() - t0) / 1000).toFixed(0)} s, device ${DEV})`);
for (const r of results) console.log(`${r.ok ? 'pass' : 'FAIL'}  ${r.name}`);
console.log(`checks: ${results.length - failed.length} passed, ${failed.length} failed`);
console.log(`RESULT: ${failed.length === 0 ? 'PASS' : 'FAIL'}`);
process.exitCode = failed.length === 0 ? 0 : 1;
});
