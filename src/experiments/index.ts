/** The paper's MLP experiments as library functions returning plain result objects. */
export * from './common';
export * from './levy';
export * from './banana';
export * from './perturbation';
export * from './uci';
export * from './table1';
