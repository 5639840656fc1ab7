/** Datasets of the paper's MLP experiments: UCI regression folders, banana, synthetic Levy. */
export * from './table';
export * from './uci';
export * from './banana';
export * from './levy';
export * from './paths';
