import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as g from '../../../src';
import { loadMnistFolder, parseIdx, writeIdxU8 } from '../../../src/data/images/idx';
import { ArrayLoader } from '../../../src/data/images/loader';
import { ImageArray, channelMeans, splitValidation } from '../../../src/data/images/dataset';
import { NpzFile, writeNpz } from '../../../src/data/images/npz';
import { openImagenet32 } from '../../../src/data/images/imagenet32';
import { FolderLoader, openImageFolders } from '../../../src/data/images/folder';
import { expectGmpnnError } from '../../helpers';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gmpnn-img-'));
}

async function drain(it: Iterable<{ x: g.Tensor; y: g.Tensor; size: number }> | AsyncIterable<{ x: g.Tensor; y: g.Tensor; size: number }>) {
  const out: { x: number[]; shape: number[]; y: number[] }[] = [];
  for await (const b of it) {
    out.push({ x: Array.from(b.x.dataSync()), shape: [...b.x.shape], y: Array.from(b.y.dataSync()) });
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

describe('data/images: IDX (MNIST format)', () => {
  it('reads raw and gzipped IDX files written here, and an MNIST-layout folder', () => {
    const dir = tmpdir();
    const n = 5;
    const px = Uint8Array.from({ length: n * 4 * 3 }, (_, i) => (i * 7) % 256);
    const lb = Uint8Array.from([3, 1, 4, 1, 5]);
    writeIdxU8(path.join(dir, 'train-images-idx3-ubyte'), [n, 4, 3], px);
    writeIdxU8(path.join(dir, 'train-labels-idx1-ubyte.gz'), [n], lb);
    writeIdxU8(path.join(dir, 't10k-images-idx3-ubyte.gz'), [2, 4, 3], px.subarray(0, 24));
    writeIdxU8(path.join(dir, 't10k-labels-idx1-ubyte'), [2], lb.subarray(0, 2));
    const tr = loadMnistFolder(dir, 'train');
    expect([tr.n, tr.height, tr.width, tr.channels]).to.deep.equal([5, 4, 3, 1]);
    expect(Array.from(tr.pixels)).to.deep.equal(Array.from(px));
    expect(Array.from(tr.labels)).to.deep.equal([3, 1, 4, 1, 5]);
    expect(loadMnistFolder(dir, 'test').n).to.equal(2);
    const raw = fs.readFileSync(path.join(dir, 'train-images-idx3-ubyte'));
    expect(parseIdx(zlib.gzipSync(raw)).shape).to.deep.equal([5, 4, 3]);
  });

  it('refuses bad magic, truncated data and a missing file with E_IO', () => {
    const dir = tmpdir();
    writeIdxU8(path.join(dir, 'x'), [2, 2], Uint8Array.from([1, 2, 3, 4]));
    const raw = fs.readFileSync(path.join(dir, 'x'));
    expectGmpnnError(() => parseIdx(raw.subarray(0, raw.length - 1)), 'E_IO', /holds 3 bytes/);
    expectGmpnnError(() => parseIdx(Buffer.from([1, 2, 3, 4, 5])), 'E_IO', /bad magic/);
    expectGmpnnError(() => parseIdx(Buffer.from([0x1f, 0x8b, 0, 0])), 'E_IO', /gzip/);
    expectGmpnnError(() => loadMnistFolder(dir, 'train'), 'E_IO', /train-images-idx3-ubyte/);
  });
});

function toySet(n: number, h: number, w: number, c: number): ImageArray {
  return {
    n,
    height: h,
    width: w,
    channels: c,
    pixels: Uint8Array.from({ length: n * h * w * c }, (_, i) => (i * 37 + 11) % 256),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    classes: 3,
  };
}

describe('data/images: ArrayLoader', () => {
  it('yields NHWC float batches minus the channel means, labels as numbers, every row once', async () => {
    const a = toySet(10, 2, 3, 2);
    const mean = channelMeans(a);
    const loader = new ArrayLoader(a, { batchSize: 4, mean, seed: 1 });
    expect(loader.numBatches()).to.equal(3);
    const bs = await drain(loader.batches(0));
    expect(bs.map((b) => b.shape)).to.deep.equal([[4, 2, 3, 2], [4, 2, 3, 2], [2, 2, 3, 2]]);
    // Find each yielded image among the rows: all rows appear once, values are pixel/255 − mean.
    const item = 12;
    const seen = new Set<number>();
    for (const b of bs)
      for (let i = 0; i < b.y.length; i++) {
        const img = b.x.slice(i * item, (i + 1) * item);
        let match = -1;
        for (let r = 0; r < a.n; r++) {
          let ok = true;
          for (let k = 0; k < item && ok; k++) ok = Math.abs(img[k] - (a.pixels[r * item + k] / 255 - mean[k % 2])) < 1e-6;
          if (ok) match = r;
        }
        expect(match, 'row found').to.be.at.least(0);
        expect(b.y[i]).to.equal(a.labels[match]);
        seen.add(match);
      }
    expect(seen.size).to.equal(10);
  });

  it('is deterministic per (seed, epoch, batch): resuming at a batch gives the same data; epochs differ', async () => {
    const a = toySet(20, 3, 3, 1);
    const loader = new ArrayLoader(a, { batchSize: 4, seed: 5, flip: true });
    const e0 = await drain(loader.batches(0));
    const e0again = await drain(loader.batches(0, 2));
    expect(e0again).to.deep.equal(e0.slice(2));
    const e1 = await drain(loader.batches(1));
    expect(e1.map((b) => b.y)).to.not.deep.equal(e0.map((b) => b.y));
  });

  it('flips horizontally about half the images', async () => {
    const a = toySet(200, 1, 3, 1);
    const plain = await drain(new ArrayLoader(a, { batchSize: 200, shuffle: false }).batches(0));
    const flipped = await drain(new ArrayLoader(a, { batchSize: 200, shuffle: false, flip: true, seed: 2 }).batches(0));
    let nFlipped = 0;
    for (let i = 0; i < 200; i++) {
      const p = plain[0].x.slice(3 * i, 3 * i + 3);
      const f = flipped[0].x.slice(3 * i, 3 * i + 3);
      if (f[0] === p[2] && f[2] === p[0] && p[0] !== p[2]) nFlipped++;
      else expect(f).to.deep.equal(p);
    }
    expect(nFlipped).to.be.within(70, 130);
  });

  it('splits a validation set off deterministically', () => {
    const a = toySet(30, 1, 1, 1);
    const s1 = splitValidation(a, 7, 0);
    const s2 = splitValidation(a, 7, 0);
    expect(s1.val.n).to.equal(7);
    expect(s1.train.n).to.equal(23);
    expect(Array.from(s1.val.pixels)).to.deep.equal(Array.from(s2.val.pixels));
  });
});

describe('data/images: ImageNet32 .npz', () => {
  function writeSet(dir: string, compress: boolean): { data: Uint8Array[]; labels: number[][] } {
    const side = 4;
    const data: Uint8Array[] = [];
    const labels: number[][] = [];
    ['train_data_batch_1.npz', 'train_data_batch_2.npz', 'val_data.npz'].forEach((name, f) => {
      const n = f === 0 ? 7 : 5;
      const d = Uint8Array.from({ length: n * 3 * side * side }, (_, i) => (i * 13 + f * 50) % 256);
      const l = Array.from({ length: n }, (_, i) => 1 + ((i * 17 + f) % 1000));
      data.push(d);
      labels.push(l);
      writeNpz(path.join(dir, name), { data: { dtype: 'u1', shape: [n, 3 * side * side], data: d }, labels: { dtype: 'i8', shape: [n], data: BigInt64Array.from(l.map(BigInt)) } }, { compress });
    });
    return { data, labels };
  }

  for (const compress of [false, true]) {
    it(`reads ${compress ? 'deflated (savez_compressed)' : 'stored (savez)'} archives: planar -> NHWC, labels 1-based -> 0-based, every row once`, async () => {
      const dir = tmpdir();
      const { data, labels } = writeSet(dir, compress);
      const mean = [0.1, 0.2, 0.3];
      const { train, val } = openImagenet32(dir, { batchSize: 3, mean, seed: 4 });
      expect(train.length).to.equal(12);
      expect(train.numBatches()).to.equal(3 + 2);
      expect(val!.length).to.equal(5);
      const bs = await drain(train.batches(0));
      const rows = new Map<string, number>();
      for (const b of bs) {
        expect(b.shape.slice(1)).to.deep.equal([4, 4, 3]);
        for (let i = 0; i < b.y.length; i++) {
          // Map back to the planar source row and compare.
          const img = b.x.slice(i * 48, (i + 1) * 48);
          let found = '';
          for (let f = 0; f < 2 && !found; f++)
            for (let r = 0; r < data[f].length / 48 && !found; r++) {
              let ok = true;
              for (let y = 0; y < 4 && ok; y++)
                for (let x = 0; x < 4 && ok; x++)
                  for (let c = 0; c < 3 && ok; c++) ok = Math.abs(img[(y * 4 + x) * 3 + c] - (data[f][r * 48 + c * 16 + y * 4 + x] / 255 - mean[c])) < 1e-6;
              if (ok) {
                found = `${f}:${r}`;
                expect(b.y[i]).to.equal(labels[f][r] - 1);
              }
            }
          expect(found, 'image found in the archives').to.not.equal('');
          rows.set(found, (rows.get(found) ?? 0) + 1);
        }
      }
      expect(rows.size).to.equal(12);
      expect(await drain(train.batches(0, 2))).to.deep.equal(bs.slice(2));
      const vb = await drain(val!.batches(0));
      expect(vb.map((b) => b.y).flat()).to.deep.equal(labels[2].map((l) => l - 1));
    });
  }

  it('reads rows of a stored archive in place, and refuses a damaged one', () => {
    const dir = tmpdir();
    const { data } = writeSet(dir, false);
    const z = new NpzFile(path.join(dir, 'train_data_batch_1.npz'));
    expect(z.names().sort()).to.deep.equal(['data', 'labels']);
    expect(z.header('data')).to.deep.equal({ dtype: 'u1', shape: [7, 48] });
    expect(Array.from(z.rowsU8('data', 2, 2))).to.deep.equal(Array.from(data[0].subarray(96, 192)));
    z.close();
    const file = path.join(dir, 'train_data_batch_2.npz');
    const bytes = fs.readFileSync(file);
    bytes[200] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const z2 = new NpzFile(file);
    expectGmpnnError(() => z2.array('data'), 'E_IO', /CRC/);
    z2.close();
    fs.writeFileSync(file, bytes.subarray(0, 100));
    expectGmpnnError(() => new NpzFile(file), 'E_IO', /end-of-central-directory|truncated/);
    expectGmpnnError(() => openImagenet32(tmpdir(), { batchSize: 2 }), 'E_IO', /train_data_batch/);
  });
});

describe('data/images: image folders (sharp in worker threads)', () => {
  // Tiny PNG and JPEG files in class folders, written by the same library.
  async function writeFolder(dir: string): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sharp = require('sharp') as typeof import('sharp');
    const colors = [
      { r: 255, g: 0, b: 0 },
      { r: 0, g: 0, b: 255 },
    ];
    for (const split of ['train', 'val'])
      for (const [k, cls] of ['cat', 'dog'].entries()) {
        const d = path.join(dir, split, cls);
        fs.mkdirSync(d, { recursive: true });
        for (let i = 0; i < 3; i++) {
          const img = sharp({ create: { width: 12 + i, height: 10, channels: 3, background: colors[k] } });
          if (i % 2) await img.jpeg({ quality: 100 }).toFile(path.join(d, `${i}.jpg`));
          else await img.png().toFile(path.join(d, `${i}.png`));
        }
      }
    fs.writeFileSync(path.join(dir, 'train', 'cat', 'notes.txt'), 'not an image');
  }

  it('decodes, augments and normalizes PNG and JPEG files; classes from folder names', async function () {
    this.timeout(60000);
    const dir = tmpdir();
    await writeFolder(dir);
    const mean = [0.5, 0.5, 0.5];
    const { train, val } = await openImageFolders(dir, { batchSize: 4, size: 8, scaleRange: [9, 14], evalShort: 10, mean, workers: 2, seed: 3 });
    try {
      expect(train.classNames).to.deep.equal(['cat', 'dog']);
      expect(train.length).to.equal(6);
      expect(val!.length).to.equal(6);
      const vb = await drain(val!.batches(0));
      expect(vb.map((b) => b.shape)).to.deep.equal([[4, 8, 8, 3], [2, 8, 8, 3]]);
      // Evaluation is a plain resize + center crop of a solid colour: exact values (JPEG within a few levels).
      const labels = vb.flatMap((b) => b.y);
      expect(labels).to.deep.equal([0, 0, 0, 1, 1, 1]);
      const first = vb[0].x;
      for (let i = 0; i < 64; i++) {
        expect(first[i * 3]).to.be.closeTo(0.5, 0.03); // red − 0.5
        expect(first[i * 3 + 2]).to.be.closeTo(-0.5, 0.03);
      }
      // Training: lighting noise shifts each image's colour a little, deterministically per (seed, epoch, batch).
      const t1 = await drain(train.batches(0));
      const t2 = await drain(train.batches(0));
      expect(t1).to.deep.equal(t2);
      expect(await drain(train.batches(0, 1))).to.deep.equal(t1.slice(1));
      const t3 = await drain(train.batches(1));
      expect(t3).to.not.deep.equal(t1);
      for (const b of t1) for (const v of b.x) expect(Math.abs(v)).to.be.below(0.7);
    } finally {
      await train.close();
      await val!.close();
    }
  });

  it('reports an undecodable image with E_IO, and a folder without classes', async function () {
    this.timeout(30000);
    const dir = tmpdir();
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'a', 'broken.png'), Buffer.from('not a png'));
    const loader = new FolderLoader(dir, { batchSize: 1, workers: 1, size: 4, scaleRange: [5, 6] });
    let err: unknown = null;
    try {
      await drain(loader.batches(0));
    } catch (e) {
      err = e;
    }
    await loader.close();
    expect((err as g.GmpnnError).code).to.equal('E_IO');
    expect((err as Error).message).to.match(/broken\.png/);
    expectGmpnnError(() => new FolderLoader(tmpdir(), { batchSize: 1 }), 'E_IO', /class sub-folders/);
  });
});
