/** Image datasets: MNIST/Fashion-MNIST (IDX), ImageNet32 (.npz), image folders, batch loaders. */
export * from './dataset';
export * from './idx';
export * from './loader';
export * from './npz';
export * from './imagenet32';
export * from './folder';
export * from './open';
export { DataRng, mixSeed } from './rng';
