import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import * as g from '../../src';
import * as io from '../../src/io';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors';
import { expectGmpnnError } from '../helpers';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gmpnn-io-'));
}

function trainedMlp(): { model: g.nn.Module; opt: g.optim.SGD } {
  g.manualSeed(3);
  const model = g.models.mlp({ inFeatures: 4, hidden: 5, out: 2, parameterization: 'gmp', imn: true });
  const opt = new g.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const x = g.randn([8, 4]);
  const y = g.randn([8, 2]);
  for (let i = 0; i < 2; i++)
    g.tidy(() => {
      opt.zeroGrad();
      g.mse(model.forward(x), y).backward();
      opt.step();
    });
  opt.zeroGrad();
  x.dispose();
  y.dispose();
  return { model, opt };
}

describe('io: safetensors checkpoints', () => {
  it('round-trips weights, buffers, optimizer slots, metadata and the RNG state', () => {
    const dir = tmpdir();
    const { model, opt } = trainedMlp();
    const file = path.join(dir, 'ck.safetensors');
    const rng = g.getRngState();
    io.save(file, model, { optimizer: opt, config: { kind: 'mlp' }, epoch: 3, plateau: { best: -Infinity, wait: 2 } });
    const ck = io.load(file);
    const sd = model.stateDict();
    expect(Object.keys(ck.tensors).sort()).to.deep.equal(Object.keys(sd).sort());
    for (const [k, t] of Object.entries(sd)) expect(Array.from(ck.tensors[k].dataSync()), k).to.deep.equal(Array.from(t.dataSync()));
    expect(ck.meta.epoch).to.equal(3);
    expect(ck.meta.config).to.deep.equal({ kind: 'mlp' });
    expect((ck.meta.plateau as { best: number }).best).to.equal(-Infinity);
    expect(ck.meta.rng).to.deep.equal(rng);
    const os2 = opt.stateDict();
    expect(ck.optimizer!.stepCount).to.equal(os2.stepCount);
    expect(Object.keys(ck.optimizer!.slots).sort()).to.deep.equal(Object.keys(os2.slots).sort());
    for (const [k, t] of Object.entries(os2.slots)) expect(Array.from(ck.optimizer!.slots[k].dataSync()), k).to.deep.equal(Array.from(t.dataSync()));
    g.dispose([ck.tensors, ck.optimizer!.slots]);
    // loadInto a fresh model and optimizer: same values, then the same next step.
    g.manualSeed(99);
    const fresh = g.models.mlp({ inFeatures: 4, hidden: 5, out: 2, parameterization: 'gmp', imn: true });
    const freshOpt = new g.optim.SGD(fresh.parameters(), { lr: 1, momentum: 0 });
    io.loadInto(file, { model: fresh, optimizer: freshOpt, restoreRng: true });
    expect(g.getRngState()).to.deep.equal(rng);
    expect(freshOpt.lr).to.equal(0.05);
    expect(freshOpt.momentum).to.equal(0.9);
    for (const [k, t] of Object.entries(fresh.stateDict())) expect(Array.from(t.dataSync()), k).to.deep.equal(Array.from(sd[k].dataSync()));
    model.dispose();
    fresh.dispose();
    opt.dispose();
    freshOpt.dispose();
  });

  it('writes the safetensors layout: LE header length, JSON header, offsets tiling the data', () => {
    const w = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float64Array([7, 8]);
    const buf = encodeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: w }, b: { dtype: 'F64', shape: [2], data: b } }, { note: 'x' });
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).to.equal(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    expect(header.__metadata__.note).to.equal('x');
    expect(header.__metadata__['gmpnn.sha256']).to.match(/^[0-9a-f]{64}$/);
    expect(header.b).to.deep.equal({ dtype: 'F64', shape: [2], data_offsets: [0, 16] });
    expect(header.w).to.deep.equal({ dtype: 'F32', shape: [2, 3], data_offsets: [16, 40] });
    expect(buf.length).to.equal(8 + n + 40);
    expect(buf.readDoubleLE(8 + n + 8)).to.equal(8);
    expect(buf.readFloatLE(8 + n + 16 + 20)).to.equal(6);
  });

  it('reads files from other writers (no checksum, no padding)', () => {
    const json = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const data = Buffer.alloc(8);
    data.writeFloatLE(1.5, 0);
    data.writeFloatLE(-2, 4);
    const r = decodeSafetensors(Buffer.concat([len, Buffer.from(json), data]));
    expect(Array.from(r.tensors.a.data)).to.deep.equal([1.5, -2]);
  });

  it('refuses truncated, padded and tampered files with E_IO', () => {
    const dir = tmpdir();
    const { model, opt } = trainedMlp();
    const file = path.join(dir, 'ck.safetensors');
    io.save(file, model, { optimizer: opt });
    const good = fs.readFileSync(file);
    const bad = path.join(dir, 'bad.safetensors');
    const attempt = (bytes: Buffer, re: RegExp): void => {
      fs.writeFileSync(bad, bytes);
      expectGmpnnError(() => io.load(bad), 'E_IO', re);
    };
    attempt(good.subarray(0, 5), /truncated/);
    attempt(good.subarray(0, 100), /truncated/);
    attempt(good.subarray(0, good.length - 3), /truncated|cover/);
    attempt(Buffer.concat([good, Buffer.from([0, 0, 0, 0])]), /padded|cover/);
    const n = Number(good.readBigUInt64LE(0));
    const flipped = Buffer.from(good);
    flipped[8 + n + 5] ^= 0x40; // one bit of the data section
    attempt(flipped, /checksum/);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(BigInt(1) << BigInt(40), 0);
    attempt(huge, /header length/);
    const badJson = Buffer.from(good);
    badJson[8] = 'x'.charCodeAt(0);
    attempt(badJson, /damaged header/);
    // A header edited to a different shape or dtype: the sizes no longer add up.
    const text = good.subarray(8, 8 + n).toString('utf8');
    const reshaped = text.replace(/"shape":\[(\d+)\]/, (_m, d) => `"shape":[${Number(d) + 1}]`);
    expect(reshaped).to.not.equal(text);
    attempt(Buffer.concat([good.subarray(0, 8), Buffer.from(reshaped), good.subarray(8 + n)]), /bytes|offsets/);
    const retyped = text.replace('"F32"', '"I64"');
    attempt(Buffer.concat([good.subarray(0, 8), Buffer.from(retyped), good.subarray(8 + n)]), /dtype I64/);
    // A gmpnn checkpoint whose checksum entry was removed.
    const stripped = text.replace(/"gmpnn\.sha256":"[0-9a-f]+",?/, '').replace(',}', '}');
    const pad = ' '.repeat(n - Buffer.byteLength(stripped));
    attempt(Buffer.concat([good.subarray(0, 8), Buffer.from(stripped + pad), good.subarray(8 + n)]), /checksum/);
    expectGmpnnError(() => io.load(path.join(dir, 'missing.safetensors')), 'E_IO', /cannot read/);
    model.dispose();
    opt.dispose();
  });

  it('a write that fails before the rename leaves the previous checkpoint loadable and no temp file', () => {
    const dir = tmpdir();
    const file = path.join(dir, 'ck.safetensors');
    const { model, opt } = trainedMlp();
    io.save(file, model, { epoch: 1 });
    const before = fs.readFileSync(file);
    expect(() =>
      io.writeFileAtomic(file, io.encodeCheckpoint(model, { epoch: 2 }), {
        beforeRename: () => {
          throw new Error('simulated crash');
        },
      }),
    ).to.throw(/simulated crash/);
    expect(fs.readFileSync(file).equals(before)).to.equal(true);
    expect(fs.readdirSync(dir)).to.deep.equal(['ck.safetensors']);
    const ck = io.load(file);
    expect(ck.meta.epoch).to.equal(1);
    g.dispose(ck.tensors);
    // A partial temp file left by a crashed writer does not disturb the checkpoint either.
    fs.writeFileSync(path.join(dir, '.ck.safetensors.tmp-1-deadbeef'), before.subarray(0, 50));
    const ck2 = io.load(file);
    expect(ck2.meta.epoch).to.equal(1);
    g.dispose(ck2.tensors);
    model.dispose();
    opt.dispose();
  });

  it('a writer process killed mid-write leaves the previous checkpoint loadable', async function () {
    this.timeout(60000);
    const dir = tmpdir();
    const file = path.join(dir, 'ck.safetensors');
    const first = { w: { dtype: 'F32' as const, shape: [4], data: new Float32Array([1, 2, 3, 4]) } };
    io.writeSafetensors(file, first, { generation: '0' });
    // The child rewrites a 64 MB checkpoint in a loop; it is killed at an arbitrary point.
    const script = path.join(dir, 'writer.ts');
    fs.writeFileSync(
      script,
      `import { writeSafetensors } from ${JSON.stringify(path.resolve(__dirname, '../../src/io/safetensors'))};
       const data = new Float32Array(16 * 1024 * 1024).fill(0.5);
       process.stdout.write('ready\\n');
       for (let i = 1; ; i++) writeSafetensors(${JSON.stringify(file)}, { w: { dtype: 'F32', shape: [data.length], data } }, { generation: String(i) });`,
    );
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // Whatever generation it reached, the file is complete and verifies.
    const r = io.readSafetensors(file, { requireChecksum: true });
    expect(Number(r.metadata.generation)).to.be.at.least(0);
    if (r.metadata.generation === '0') expect(Array.from(r.tensors.w.data)).to.deep.equal([1, 2, 3, 4]);
    else expect(r.tensors.w.data.length).to.equal(16 * 1024 * 1024);
  });

  it("is read by the reference safetensors reader (Python), when one is installed", function () {
    const candidates = [process.env.GMPNN_PYTHON, path.resolve(__dirname, '../../.venv/bin/python'), 'python3'].filter((p): p is string => !!p);
    const py = candidates.find((p) => spawnSync(p, ['-c', 'import safetensors.numpy'], { stdio: 'ignore' }).status === 0);
    if (!py) return this.skip(); // no Python with the safetensors package here (set GMPNN_PYTHON)
    const dir = tmpdir();
    const file = path.join(dir, 'ck.safetensors');
    const { model, opt } = trainedMlp();
    io.save(file, model, { optimizer: opt, epoch: 7 });
    const r = spawnSync(py, ['-c', `import json, sys\nfrom safetensors.numpy import load_file\nfrom safetensors import safe_open\nd = load_file(sys.argv[1])\nwith safe_open(sys.argv[1], 'np') as f: meta = f.metadata()\nprint(json.dumps({'tensors': {k: [str(v.dtype), list(v.shape), [float(x) for x in v.flatten()]] for k, v in d.items()}, 'meta': json.loads(meta['gmpnn.meta'])}))`, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const got = JSON.parse(r.stdout) as { tensors: Record<string, [string, number[], number[]]>; meta: { epoch: number } };
    expect(got.meta.epoch).to.equal(7);
    for (const [k, t] of Object.entries(model.stateDict())) {
      expect(got.tensors[k][0]).to.equal('float32');
      expect(got.tensors[k][1]).to.deep.equal([...t.shape]);
      expect(got.tensors[k][2]).to.deep.equal(Array.from(t.dataSync()));
    }
    for (const k of Object.keys(opt.stateDict().slots)) expect(got.tensors, k).to.have.property(`optim.${k}`);
    model.dispose();
    opt.dispose();
  });
});
