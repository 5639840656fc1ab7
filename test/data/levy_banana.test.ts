/** The synthetic Levy generator and the banana loader. */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { levy, levyData } from '../../src/data/levy';
import { loadBananaCsv, bananaSplit } from '../../src/data/banana';
import { permutation } from '../../src/data/table';

const DATA = path.resolve(__dirname, '../../../shared/data');

describe('data: Levy', () => {
  it('matches the formula f(x) = sin²(πw) + (w − 1)²(1 + sin²(2πw)), w = 1 + (x − 1)/4', () => {
    expect(levy(1)).to.be.closeTo(0, 1e-15); // w = 1: the global minimum
    expect(levy(-3)).to.be.closeTo(1, 1e-12); // w = 0: sin²0 + 1·(1 + 0)
    expect(levy(3)).to.be.closeTo(1 + 0.25 * (1 + 0), 1e-12); // w = 1.5: sin²(1.5π) = 1
    expect(levy(-10)).to.be.closeTo(Math.sin(-1.75 * Math.PI) ** 2 + 7.5625 * (1 + Math.sin(-3.5 * Math.PI) ** 2), 1e-12);
  });

  it('50 noisy training points in [−10, 10] and the noise-free grid −10:0.1:10', () => {
    const { train, test } = levyData({ seed: 0 });
    expect(train.n).to.equal(50);
    expect(test.n).to.equal(201);
    expect(test.x[0]).to.equal(-10);
    expect(test.x[200]).to.equal(10);
    expect(test.x[137]).to.be.closeTo(3.7, 1e-12);
    for (let i = 0; i < test.n; i++) expect(test.y[i]).to.equal(levy(test.x[i]));
    const res = Array.from(train.x, (x, i) => train.y[i] - levy(x));
    for (const x of train.x) expect(Math.abs(x)).to.be.at.most(10);
    const sd = Math.sqrt(res.reduce((a, r) => a + r * r, 0) / res.length);
    expect(sd).to.be.within(0.06, 0.14);
    // Seeded: the same seed gives the same data, another seed other data.
    expect(Array.from(levyData({ seed: 0 }).train.x)).to.deep.equal(Array.from(train.x));
    expect(levyData({ seed: 1 }).train.x[0]).to.not.equal(train.x[0]);
  });
});

describe('data: permutation and banana', function () {
  it('permutation is a seeded permutation', () => {
    const p = permutation(1000, 5);
    expect(new Set(p).size).to.equal(1000);
    expect(Math.min(...p)).to.equal(0);
    expect(Math.max(...p)).to.equal(999);
    expect(Array.from(permutation(1000, 5))).to.deep.equal(Array.from(p));
    expect(Array.from(permutation(1000, 6))).to.not.deep.equal(Array.from(p));
  });

  it('banana.csv: 5300 rows, labels 0/1, an 800/200 split of distinct rows', function () {
    const file = path.join(DATA, 'banana', 'banana.csv');
    if (!fs.existsSync(file)) {
      console.log(`    skipped: no ${file}`);
      this.skip();
    }
    const all = loadBananaCsv(file);
    expect(all.n).to.equal(5300);
    expect(new Set(all.y)).to.deep.equal(new Set([0, 1]));
    const { train, test } = bananaSplit(all, { seed: 0 });
    expect([train.n, test.n]).to.deep.equal([800, 200]);
    const key = (t: typeof train, i: number) => `${t.x[2 * i]},${t.x[2 * i + 1]}`;
    const trainKeys = new Set(Array.from({ length: train.n }, (_, i) => key(train, i)));
    const overlap = Array.from({ length: test.n }, (_, i) => key(test, i)).filter((k) => trainKeys.has(k));
    // banana.csv has a few duplicated points; distinct rows may still coincide in value
    expect(overlap.length).to.be.below(5);
  });
});
