/** The UCI folder reader on the real files in ../shared/data, standardization and the splits. */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadUci, uciSplit, splitTables, UCI_DATASETS } from '../../src/data/uci';
import { standardizeInputs, carveValidation, fitStandardizer, Table } from '../../src/data/table';

const DATA = path.resolve(__dirname, '../../../shared/data');

const EXPECTED: Record<string, [number, number]> = {
  bostonHousing: [506, 13],
  concrete: [1030, 8],
  energy: [768, 8],
  'naval-propulsion-plant': [11934, 16],
  'power-plant': [9568, 4],
  'wine-quality-red': [1599, 11],
  yacht: [308, 6],
};

describe('data: UCI reader', function () {
  before(function () {
    if (!fs.existsSync(path.join(DATA, 'uci'))) {
      console.log(`    skipped: no UCI data at ${DATA}/uci (CI keeps shared/ beside its clone)`);
      this.skip();
    }
  });

  for (const name of UCI_DATASETS) {
    it(`${name}: rows, features, 20 splits covering the rows without overlap`, () => {
      const ds = loadUci(path.join(DATA, 'uci', name));
      expect([ds.table.n, ds.table.d]).to.deep.equal(EXPECTED[name]);
      expect(ds.nSplits).to.equal(20);
      const s = uciSplit(ds, 0);
      const test = new Set(s.test);
      expect(s.train.some((i) => test.has(i))).to.equal(false);
      expect(s.train.length + s.test.length).to.equal(ds.table.n);
      expect(s.test.length).to.be.closeTo(ds.table.n / 10, 1);
    });
  }

  it('naval: the target is column 16 and column 17 is not an input', () => {
    const ds = loadUci(path.join(DATA, 'uci', 'naval-propulsion-plant'));
    expect(ds.targetColumn).to.equal(16);
    expect(ds.featureColumns).to.not.include(17);
    const first = fs.readFileSync(path.join(DATA, 'uci', 'naval-propulsion-plant', 'data.txt'), 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    expect(ds.table.y[0]).to.equal(first[16]);
    expect(Array.from(ds.table.x.subarray(0, 16))).to.deep.equal(first.slice(0, 16));
  });

  it('validation rows come from the training split only (disjoint from test)', () => {
    const ds = loadUci(path.join(DATA, 'uci', 'concrete'));
    const split = uciSplit(ds, 3);
    const { train } = splitTables(ds, split);
    const carved = carveValidation(train, 0.1, 3);
    const valRows = Array.from(carved.valIdx, (i) => split.train[i]);
    const fitRows = Array.from(carved.fitIdx, (i) => split.train[i]);
    const test = new Set(split.test);
    expect(valRows.some((r) => test.has(r))).to.equal(false);
    expect(new Set([...valRows, ...fitRows]).size).to.equal(split.train.length);
    expect(valRows.length).to.equal(Math.round(split.train.length * 0.1));
    expect(fitRows.some((r) => valRows.includes(r))).to.equal(false);
  });
});

describe('data: standardization', () => {
  const tab = (rows: number[][]): Table => ({ x: Float64Array.from(rows.flat()), y: new Float64Array(rows.length), n: rows.length, d: rows[0].length, k: 1 });

  it('uses the training statistics only', () => {
    const train = tab([[1, 10], [3, 10], [5, 10]]);
    const test = tab([[100, -5], [3, 7]]);
    const s = standardizeInputs(train, { test });
    const sd = Math.sqrt(8 / 3);
    expect(Array.from(s.stats.mean)).to.deep.equal([3, 10]);
    expect(s.stats.std[0]).to.be.closeTo(sd, 1e-12);
    expect(s.stats.std[1]).to.equal(1); // constant column: no division by zero
    expect(s.test.x[0]).to.be.closeTo((100 - 3) / sd, 1e-12);
    expect(s.test.x[1]).to.equal(-15);
    expect(s.train.x[0]).to.be.closeTo(-2 / sd, 1e-12);
    // Changing the test rows must not change the statistics.
    const s2 = standardizeInputs(train, { test: tab([[1e6, 1e6]]) });
    expect(Array.from(s2.stats.mean)).to.deep.equal([3, 10]);
  });

  it('training inputs come out with mean 0 and standard deviation 1', () => {
    const rows = Array.from({ length: 50 }, (_, i) => [Math.sin(i) * 7 + 3, i * i]);
    const s = standardizeInputs(tab(rows), {});
    const st = fitStandardizer(s.train.x, 50, 2);
    for (let j = 0; j < 2; j++) {
      expect(st.mean[j]).to.be.closeTo(0, 1e-12);
      expect(st.std[j]).to.be.closeTo(1, 1e-12);
    }
  });
});
