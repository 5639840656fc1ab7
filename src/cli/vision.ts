/**
 * The image-classification subcommands of `gmpnn`:
 *
 *   gmpnn vgg6   --data DIR --format imagenet32|folder|mnist|fashion-mnist --variant gmp_imn ...
 *   gmpnn resnet --depth 18 --data DIR --format folder --variant gmp_imn ...
 *
 * registerVisionCommands(program) adds them to a commander program; run this file directly
 * (node lib/cli/vision.js vgg6 ...) for the same commands without the rest of the CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { GmpnnError } from '../errors';
import { manualSeed } from '../random';
import { native } from '../native';
import { Module } from '../nn/module';
import { vgg6, VGG6_VARIANTS, Vgg6Variant } from '../models/vgg6';
import { resnet, RESNET_VARIANTS, ResnetVariant } from '../models/resnet';
import { trainClassifier, ScheduleKind } from '../train/classifier';
import { BatchSource } from '../data/images/loader';
import { openImageData, ImageFormat, IMAGE_FORMATS } from '../data/images/open';

interface CommonFlags {
  data?: string;
  format: ImageFormat;
  variant: string;
  batchSize: number;
  device: 'cpu' | 'cuda';
  dtype: 'float32' | 'float64';
  epochs: number;
  lr?: number;
  optimizer: 'sgd' | 'adam';
  momentum: number;
  schedule: ScheduleKind;
  patience: number;
  earlyStop: number;
  out: string;
  resume?: boolean;
  width: number;
  seed: number;
  valSize?: number;
  threads?: number;
  workers?: number;
  maxSteps?: number;
  quiet?: boolean;
  flip?: boolean;
  imageSize?: number;
}

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new GmpnnError('E_ARG', `expected an integer, got ${v}`);
  return n;
};
const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new GmpnnError('E_ARG', `expected a number, got ${v}`);
  return n;
};

function addCommon(cmd: Command, variants: readonly string[], defVariant: string): Command {
  return cmd
    .option('--data <dir>', 'dataset folder (default for mnist/fashion-mnist: the installed copy)')
    .addOption(new Option('--format <format>', 'dataset format').choices([...IMAGE_FORMATS]).default('fashion-mnist'))
    .addOption(new Option('--variant <variant>', 'parameterization').choices([...variants]).default(defVariant))
    .option('--batch-size <n>', 'batch size', int, 256)
    .addOption(new Option('--device <device>', 'device').choices(['cpu', 'cuda']).default('cpu'))
    .addOption(new Option('--dtype <dtype>', 'dtype').choices(['float32', 'float64']).default('float32'))
    .option('--epochs <n>', 'maximum epochs', int, 500)
    .option('--lr <lr>', 'learning rate (default: 0.1 for GmP variants, 0.01 otherwise, as the spec)', num)
    .addOption(new Option('--optimizer <opt>', 'optimizer').choices(['sgd', 'adam']).default('sgd'))
    .option('--momentum <m>', 'SGD momentum', num, 0.9)
    .addOption(new Option('--schedule <kind>', 'LR schedule').choices(['plateau', 'cosine', 'step', 'none']).default('plateau'))
    .option('--patience <n>', 'plateau patience (epochs without a gain in validation top-5)', int, 5)
    .option('--early-stop <n>', 'early-stopping patience on validation top-5 (0: off)', int, 10)
    .option('--out <dir>', 'output folder (checkpoints, log.jsonl, curves, result.json)', 'runs/vision')
    .option('--resume', 'continue from <out>/checkpoint.safetensors')
    .option('--width <w>', 'channel multiplier', num, 1)
    .option('--seed <n>', 'seed of initialization, data order and augmentation', int, 0)
    .option('--val-size <n>', 'validation examples held out of the training split (mnist formats; default 5000)', int)
    .option('--threads <n>', 'CPU threads of the native kernels', int)
    .option('--workers <n>', 'image decoding worker threads (folder format)', int)
    .option('--image-size <n>', 'crop size (folder format; default 224)', int)
    .option('--no-flip', 'no random horizontal flip')
    .option('--max-steps <n>', 'stop after this many steps (smoke tests)', int)
    .option('--quiet', 'no progress bar or per-epoch lines');
}

async function run(kind: 'vgg6' | 'resnet', f: CommonFlags, extra: { depth?: 18 | 34; stem?: 'imagenet' | 'small' }): Promise<void> {
  if (f.threads !== undefined) native.setNumThreads(f.threads);
  manualSeed(f.seed);
  const data = await openImageData({
    format: f.format,
    dir: f.data,
    batchSize: f.batchSize,
    seed: f.seed,
    valSize: f.valSize,
    flip: f.flip !== false,
    dtype: f.dtype,
    device: f.device,
    workers: f.workers,
    imageSize: f.imageSize,
  });
  const lr = f.lr ?? (f.variant.startsWith('gmp') ? 0.1 : 0.01);
  let model: Module;
  let config: Record<string, unknown>;
  if (kind === 'vgg6') {
    config = { model: 'vgg6', variant: f.variant, classes: data.classes, inChannels: data.channels, width: f.width, dtype: f.dtype };
    model = vgg6({ variant: f.variant as Vgg6Variant, classes: data.classes, inChannels: data.channels, width: f.width, dtype: f.dtype, device: f.device });
  } else {
    const stem = extra.stem ?? (f.format === 'folder' ? 'imagenet' : 'small');
    config = { model: 'resnet', depth: extra.depth, variant: f.variant, classes: data.classes, inChannels: data.channels, width: f.width, stem, dtype: f.dtype };
    model = resnet({ depth: extra.depth ?? 18, variant: f.variant as ResnetVariant, classes: data.classes, inChannels: data.channels, width: f.width, stem, dtype: f.dtype, device: f.device });
  }
  const out = path.resolve(f.out);
  fs.mkdirSync(out, { recursive: true });
  const command = ['gmpnn', ...process.argv.slice(2)].join(' ');
  fs.appendFileSync(path.join(out, 'command.txt'), command + '\n');
  try {
    const res = await trainClassifier({
      model,
      modelConfig: { ...config, data: { format: f.format, dir: data.dir, means: data.means }, lr, batchSize: f.batchSize, seed: f.seed },
      train: data.train,
      val: data.val,
      test: data.test,
      optimizer: f.optimizer,
      lr,
      momentum: f.momentum,
      epochs: f.epochs,
      schedule: f.schedule,
      plateauPatience: f.patience,
      earlyStopping: f.earlyStop,
      outDir: out,
      resume: f.resume,
      maxSteps: f.maxSteps,
      quiet: f.quiet,
    });
    const t = res.test;
    const line = t
      ? `test top-1 ${(100 * t.top1).toFixed(2)} %, top-5 ${(100 * t.top5).toFixed(2)} % (${t.n} images; best epoch ${res.bestEpoch + 1})`
      : `stopped after ${res.steps} steps; checkpoint in ${out}`;
    process.stdout.write(line + '\n');
  } finally {
    await Promise.all([data.train, data.val, data.test].map((s: BatchSource | undefined) => s?.close?.()));
    model.dispose();
  }
}

/** Adds `vgg6` and `resnet` to a commander program. */
export function registerVisionCommands(program: Command): void {
  addCommon(program.command('vgg6').description('train a VGG-6 (GMP_SPEC.md §6) on an image dataset'), VGG6_VARIANTS, 'gmp_imn').action(async (f: CommonFlags) => {
    await run('vgg6', f, {});
  });
  addCommon(program.command('resnet').description('train a ResNet-18/34 (GMP_SPEC.md §6) on an image dataset'), RESNET_VARIANTS, 'gmp_imn')
    .addOption(new Option('--depth <n>', 'depth').choices(['18', '34']).default('18'))
    .addOption(new Option('--stem <stem>', "stem ('imagenet': 7×7/2 + max pool; 'small': 3×3/1); default by format").choices(['imagenet', 'small']))
    .action(async (f: CommonFlags & { depth: string; stem?: 'imagenet' | 'small' }) => {
      await run('resnet', f, { depth: Number(f.depth) as 18 | 34, stem: f.stem });
    });
}

if (require.main === module) {
  const program = new Command('gmpnn');
  registerVisionCommands(program);
  program.parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`gmpnn: ${e.message}\n`);
    process.exit(1);
  });
}
