import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as g from '../../src';
import { vgg6, Vgg6Variant } from '../../src/models/vgg6';
import { trainClassifier, ClassifierOptions } from '../../src/train/classifier';
import { topKCorrect } from '../../src/train/classifier_metrics';
import { ArrayLoader } from '../../src/data/images/loader';
import { ImageArray } from '../../src/data/images/dataset';
import * as io from '../../src/io';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gmpnn-train-'));
}

/** 8×8 grey images whose class sets where the bright blob sits. */
function toyImages(n: number, seed: number): ImageArray {
  let s = seed * 7919 + 13;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pixels = new Uint8Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let p = 0; p < 64; p++) {
      const x = p % 8;
      const inBlob = c === 0 ? x < 3 : c === 1 ? x >= 5 : x >= 3 && x < 5;
      pixels[i * 64 + p] = Math.floor((inBlob ? 150 : 40) + rnd() * 80);
    }
  }
  return { n, height: 8, width: 8, channels: 1, pixels, labels, classes: 3 };
}

const trainSet = toyImages(44, 1);
const valSet = toyImages(15, 2);

function setup(variant: Vgg6Variant, seed: number) {
  g.manualSeed(seed);
  const model = vgg6({ variant, classes: 3, inChannels: 1, width: 0.0625 });
  const train = new ArrayLoader(trainSet, { batchSize: 8, seed: 11, flip: true, mean: [0.4] });
  const val = new ArrayLoader(valSet, { batchSize: 8, shuffle: false, mean: [0.4] });
  return { model, train, val };
}

function opts(variant: Vgg6Variant, outDir: string, seed: number, extra: Partial<ClassifierOptions> = {}): ClassifierOptions {
  const { model, train, val } = setup(variant, seed);
  return {
    model,
    modelConfig: { variant },
    train,
    val,
    test: val,
    lr: variant.startsWith('gmp') ? 0.05 : 0.02,
    epochs: 4,
    schedule: 'plateau',
    plateauPatience: 1,
    earlyStopping: 10,
    outDir,
    quiet: true,
    curves: false,
    ...extra,
  };
}

describe('train/classifier', () => {
  it('top-k counting, ties against the label', () => {
    const logits = [0.1, 0.9, 0.5, /**/ 0.3, 0.3, 0.2, /**/ 1, 2, 3];
    expect(topKCorrect(logits, [1, 1, 0], 3, 3, [1, 2])).to.deep.equal([1, 2]);
  });

  for (const variant of ['gmp_imn', 'bn'] as const) {
    it(`${variant}: resume after a kill mid-epoch and at an epoch end gives bit-identical losses`, async function () {
      this.timeout(120000);
      // Uninterrupted run.
      const a = opts(variant, tmpdir(), 5);
      const full = await trainClassifier(a);
      a.model.dispose();
      expect(full.stepLosses.length).to.equal(24); // 4 epochs × 6 batches
      expect(full.stepLosses[23]).to.be.below(full.stepLosses[0]);

      // Interrupted twice: after 5 steps (mid-epoch) and after 12 (an epoch end); each "kill" drops
      // every object, and the resumed model starts from different random weights.
      const dir = tmpdir();
      const b1 = opts(variant, dir, 5, { maxSteps: 5 });
      const part1 = await trainClassifier(b1);
      b1.model.dispose();
      expect(part1.steps).to.equal(5);
      const b2 = opts(variant, dir, 999, { resume: true, maxSteps: 12 });
      const part2 = await trainClassifier(b2);
      b2.model.dispose();
      const b3 = opts(variant, dir, 12345, { resume: true });
      const part3 = await trainClassifier(b3);
      const resumed = [...part1.stepLosses, ...part2.stepLosses, ...part3.stepLosses];
      expect(resumed).to.deep.equal(full.stepLosses);
      expect(part3.epochs.map((e) => [e.trainLoss, e.lr, e.val])).to.deep.equal(full.epochs.map((e) => [e.trainLoss, e.lr, e.val]));
      expect(part3.test).to.deep.equal(full.test);
      // The plateau schedule acted in this run (LR changed), so its state went through the checkpoint.
      expect(new Set(full.epochs.map((e) => e.lr)).size).to.be.greaterThan(0);
      // Outputs: checkpoint, best weights, log, result.
      for (const f of ['checkpoint.safetensors', 'best.safetensors', 'log.jsonl', 'result.json']) expect(fs.existsSync(path.join(dir, f)), f).to.equal(true);
      const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(log.filter((r) => r.event === 'epoch').length).to.equal(4);
      expect(log.filter((r) => r.event === 'resume').length).to.equal(2);
      const ck = io.load(path.join(dir, 'checkpoint.safetensors'));
      expect((ck.meta.trainer as { epoch: number }).epoch).to.equal(4);
      expect(ck.meta.config).to.deep.equal({ variant });
      g.dispose([ck.tensors, ck.optimizer?.slots]);
      b3.model.dispose();
    });
  }

  it('a finished run resumed with more epochs continues where it ended', async function () {
    this.timeout(120000);
    const dir = tmpdir();
    const a = opts('gmp', dir, 2, { epochs: 1, schedule: 'none' });
    const r1 = await trainClassifier(a);
    a.model.dispose();
    const b = opts('gmp', dir, 3, { epochs: 2, schedule: 'none', resume: true });
    const r2 = await trainClassifier(b);
    b.model.dispose();
    const c = opts('gmp', tmpdir(), 2, { epochs: 2, schedule: 'none' });
    const full = await trainClassifier(c);
    c.model.dispose();
    expect(r1.steps).to.equal(6);
    expect(r2.steps).to.equal(12);
    expect([...r1.stepLosses, ...r2.stepLosses]).to.deep.equal(full.stepLosses);
  });

  it('restores the best top-5 epoch, ties broken by top-1 (top-5 of 3 classes is always 1)', async function () {
    this.timeout(120000);
    const dir = tmpdir();
    const o = opts('sp', dir, 3, { epochs: 4, earlyStopping: 10, plateauPatience: 10 });
    const r = await trainClassifier(o);
    o.model.dispose();
    const top1 = r.epochs.map((e) => e.val!.top1);
    const best = top1.indexOf(Math.max(...top1));
    expect(r.epochs.every((e) => e.val!.top5 === 1)).to.equal(true);
    expect(best).to.be.greaterThan(0, `top-1 by epoch ${top1.join(', ')}: this seed must improve after epoch 1`);
    expect(r.bestEpoch).to.equal(best);
    expect(r.stoppedEarly).to.equal(false);
  });

  it('writes curves as SVG and PNG, and stops early when validation top-5 stalls', async function () {
    this.timeout(120000);
    const dir = tmpdir();
    const o = opts('sp', dir, 1, { epochs: 6, earlyStopping: 1, curves: true, lr: 0 + 1e-9 });
    const r = await trainClassifier(o);
    o.model.dispose();
    // top-5 of 3 classes is always 1: no gain after the first epoch, so it stops after the second.
    expect(r.stoppedEarly).to.equal(true);
    expect(r.epochs.length).to.equal(2);
    expect(fs.readFileSync(path.join(dir, 'curves.svg'), 'utf8')).to.match(/<svg/);
    expect(fs.statSync(path.join(dir, 'curves.png')).size).to.be.greaterThan(1000);
  });
});
