#!/usr/bin/env node
/**
 * The `gmpnn` command: the paper's MLP experiments (GMP_SPEC.md §6).
 *   gmpnn levy | banana | perturbation | uci --dataset D --param M | table1
 * Defaults follow the spec's official hyper-parameters; see `gmpnn <command> --help`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { setNumThreads } from '../index';
import { makeProgress } from './progress';
import { runLevy } from '../experiments/levy';
import { runBanana } from '../experiments/banana';
import { runPerturbation } from '../experiments/perturbation';
import { runUci } from '../experiments/uci';
import { runTable1, TABLE1_DATASETS } from '../experiments/table1';
import { Method, METHODS, METHOD_LABEL, checkMethod, defaultLr } from '../experiments/common';
import { uciDir, bananaCsv } from '../data/paths';
import { levyFigures, bananaFigures, perturbationFigures } from '../analysis/figures';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got ${v}`);
  return n;
}
function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got ${v}`);
  return n;
}
/** "0-19", "3", "0,2,5-7" → [0..19] etc. */
export function parseRange(v: string): number[] {
  const out: number[] = [];
  for (const part of v.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new InvalidArgumentError(`expected split indices like 0-19 or 0,3,5-7, got ${v}`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new InvalidArgumentError(`empty range ${part}`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}
function methods(v: string): Method[] {
  try {
    return v.split(',').map((s) => checkMethod(s.trim()));
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

interface Common {
  epochs?: number;
  lr?: number;
  seed: number;
  json?: string;
  out: string;
  quiet?: boolean;
  threads: number;
}

function common(cmd: Command, defaultOut: string): Command {
  return cmd
    .option('--epochs <n>', 'maximum epochs (default: the spec protocol)', int)
    .option('--lr <lr>', "learning rate for every method (default: the spec's 0.1 GmP / 0.01 others)", num)
    .option('--seed <n>', 'random seed', int, 0)
    .option('--json <file>', 'write the full result as JSON')
    .option('--out <dir>', 'output folder (figures, caches)', defaultOut)
    .option('--quiet', 'no progress bar and less output')
    .option('--threads <n>', 'CPU threads for the kernels (small MLPs run best on 1)', int, 1);
}

function setup(o: Common): { progress: ReturnType<typeof makeProgress>; log: (s: string) => void } {
  setNumThreads(o.threads);
  const progress = makeProgress(!o.quiet && !!process.stdout.isTTY);
  return { progress, log: (s: string) => console.log(s) };
}

function writeJson(file: string | undefined, obj: unknown): void {
  if (!file) return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(obj, null, 1));
  console.log(`wrote ${file}`);
}

export function buildProgram(): Command {
  const program = new Command('gmpnn')
    .description('Geometric Parameterization (GmP) for ReLU networks: the paper\'s MLP experiments')
    .showHelpAfterError();

  common(program.command('levy').description('1-D Levy regression (synthetic): trains SP, WN, BN, GmP, prints test RMSE, writes figures'), 'out/levy')
    .option('--methods <list>', 'comma-separated methods', methods, [...METHODS])
    .option('--no-stability', 'skip the extra LR-0.1 runs of the stability figure')
    .option('--no-figures', 'skip the figures')
    .action(async (o: Common & { methods: Method[]; stability: boolean; figures: boolean }) => {
      const { progress } = setup(o);
      const t0 = Date.now();
      const r = runLevy({ methods: o.methods, epochs: o.epochs, lr: o.lr, seed: o.seed, stability: o.stability, progress });
      console.log('Levy regression, test RMSE on the grid −10:0.1:10');
      for (const run of r.runs) console.log(`  ${METHOD_LABEL[run.method].padEnd(4)} lr ${run.lr}  test RMSE ${run.testRmse.toFixed(4)}  (epochs ${run.epochs}, best ${run.bestEpoch + 1})`);
      if (r.stability.length) {
        console.log('Stability at LR 0.1: median / max over epochs of max_i |Δφ_i|');
        for (const run of r.stability) {
          const s = [...run.maxPhiChange].sort((a, b) => a - b);
          console.log(`  ${METHOD_LABEL[run.method].padEnd(4)} ${s[Math.floor(s.length / 2)].toExponential(2)} / ${s[s.length - 1].toExponential(2)}`);
        }
      }
      if (o.figures) {
        const files = await levyFigures(r, o.out);
        console.log(`figures: ${files.join(', ')}`);
      }
      if (!o.quiet) console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
      writeJson(o.json, r);
    });

  common(program.command('banana').description('2-D banana classification: SP, WN, BN, GmP test accuracy and figures'), 'out/banana')
    .option('--data-file <csv>', 'banana.csv (default: $GMPNN_DATA/banana/banana.csv or ../shared/data)')
    .option('--methods <list>', 'comma-separated methods', methods, [...METHODS])
    .addOption(new Option('--protocol <p>', 'standard: validation carved from the 800 training rows; official: watch the test rows (peeks)').choices(['standard', 'official']).default('standard'))
    .option('--no-figures', 'skip the figures')
    .action(async (o: Common & { dataFile?: string; methods: Method[]; protocol: 'standard' | 'official'; figures: boolean }) => {
      const { progress } = setup(o);
      const r = runBanana({ csv: bananaCsv(o.dataFile), methods: o.methods, epochs: o.epochs, lr: o.lr, seed: o.seed, protocol: o.protocol, progress });
      console.log(`Banana classification (${o.protocol} protocol), test accuracy on 200 rows`);
      for (const run of r.runs) console.log(`  ${METHOD_LABEL[run.method].padEnd(4)} lr ${run.lr}  test accuracy ${run.testAccuracy.toFixed(3)}  (epochs ${run.epochs}, best ${run.bestEpoch + 1})`);
      if (o.figures) console.log(`figures: ${(await bananaFigures(r, o.out)).join(', ')}`);
      writeJson(o.json, r);
    });

  program
    .command('perturbation')
    .description('2-D perturbation panels (paper Fig. 1): CAB movement under small parameter noise, SP vs GmP')
    .option('--sigma <s>', 'noise standard deviation per parameter', num, 0.05)
    .option('--draws <n>', 'perturbations per panel', int, 40)
    .option('--seed <n>', 'random seed', int, 0)
    .option('--out <dir>', 'output folder', 'out/perturbation')
    .option('--json <file>', 'write the result as JSON')
    .option('--no-figures', 'skip the figures')
    .action(async (o: { sigma: number; draws: number; seed: number; out: string; json?: string; figures: boolean }) => {
      const r = runPerturbation({ sigma: o.sigma, draws: o.draws, seed: o.seed });
      for (const p of r.panels)
        console.log(`  ${p.parameterization === 'gmp' ? 'GmP' : 'SP '} ‖w‖ = ${String(p.norm).padEnd(4)} mean |Δangle| ${p.meanAngleChange.toFixed(4)} rad  mean ‖Δφ‖ ${p.meanLocationShift.toFixed(4)}`);
      if (o.figures) console.log(`figures: ${(await perturbationFigures(r, o.out)).join(', ')}`);
      writeJson(o.json, r);
    });

  common(program.command('uci').description('UCI regression for one dataset and method: test RMSE per split, mean ± standard error'), 'out/uci')
    .requiredOption('--dataset <name>', `dataset (${TABLE1_DATASETS.join(', ')} or a folder name under the data root)`)
    .addOption(new Option('--param <m>', 'method').choices([...METHODS]).makeOptionMandatory())
    .option('--splits <range>', 'split indices, e.g. 0-19', parseRange)
    .addOption(new Option('--protocol <p>', 'standard: standard splits + validation; official: random 80/20 per seed, watches the test split (peeks)').choices(['standard', 'official']).default('standard'))
    .option('--data-dir <dir>', 'a folder in the UCI_Datasets layout (data.txt, index_*.txt)')
    .action((o: Common & { dataset: string; param: Method; splits?: number[]; protocol: 'standard' | 'official'; dataDir?: string }) => {
      const { progress } = setup(o);
      const dir = uciDir(o.dataset, o.dataDir);
      const r = runUci({
        dir,
        method: o.param,
        splits: o.splits,
        protocol: o.protocol,
        epochs: o.epochs,
        lr: o.lr,
        seed: o.seed,
        progress,
        onSplit: (s) => {
          if (!o.quiet) console.log(`  split ${s.split}: test RMSE ${s.testRmse.toPrecision(5)} (epochs ${s.epochs}, ${s.seconds.toFixed(1)} s)`);
        },
      });
      console.log(`${r.dataset} ${METHOD_LABEL[o.param]} (${r.protocol}, lr ${r.lr}): test RMSE ${r.rmse.mean.toPrecision(5)} ± ${r.rmse.stderr.toPrecision(3)} (standard error over ${r.rmse.n} splits)`);
      writeJson(o.json, r);
    });

  common(program.command('table1').description('Table 1: the 7 UCI datasets × SP, WN, BN, GmP (test RMSE mean ± standard error); resumable cache in --out'), 'out/table1')
    .option('--datasets <list>', 'comma-separated datasets', (v: string) => v.split(','), [...TABLE1_DATASETS])
    .option('--methods <list>', 'comma-separated methods', methods, [...METHODS])
    .option('--splits <range>', 'split indices, e.g. 0-19', parseRange)
    .addOption(new Option('--protocol <p>', 'standard or official').choices(['standard', 'official']).default('standard'))
    .option('--data-dir <dir>', 'a folder holding one UCI_Datasets folder per dataset (default: <data root>/uci)')
    .option('--markdown <file>', 'also write the markdown table to a file')
    .option('--cache-only', 'do not train; build the table from the cache in --out')
    .action((o: Common & { datasets: string[]; methods: Method[]; splits?: number[]; protocol: 'standard' | 'official'; dataDir?: string; markdown?: string; cacheOnly?: boolean }) => {
      const { progress } = setup(o);
      if (o.lr) throw new InvalidArgumentError('table1 uses the spec learning rates; use `gmpnn uci --lr` for other values');
      const r = runTable1({
        datasets: o.datasets,
        methods: o.methods,
        splits: o.splits,
        protocol: o.protocol,
        epochs: o.epochs,
        seed: o.seed,
        uciRoot: o.dataDir,
        out: o.out,
        progress,
        cacheOnly: o.cacheOnly,
        log: o.quiet ? undefined : (l) => (progress.tick ? process.stderr.write(`\n${l}\n`) : console.log(l)),
      });
      console.log(`\nTest RMSE, mean ± standard error (${r.protocol} protocol; LR ${METHODS.map((m) => `${METHOD_LABEL[m]} ${defaultLr(m)}`).join(', ')}):\n`);
      console.log(r.markdown);
      fs.mkdirSync(o.out, { recursive: true });
      fs.writeFileSync(path.join(o.out, 'table1.md'), r.markdown + '\n');
      fs.writeFileSync(path.join(o.out, 'table1.json'), JSON.stringify(r, null, 1));
      if (o.markdown) fs.writeFileSync(o.markdown, r.markdown + '\n');
      writeJson(o.json, r);
    });

  require('./vision').registerVisionCommands(program); // eslint-disable-line @typescript-eslint/no-require-imports
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`gmpnn: ${e.message}`);
    process.exit(1);
  });
}
