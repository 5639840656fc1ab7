export { Optimizer } from './optimizer';
export { SGD, SGDOptions } from './sgd';
export { Adam, AdamW, AdamOptions } from './adam';
export { ReduceLROnPlateau, EarlyStopping, StepLR, CosineAnnealingLR } from './schedulers';
