export { mlp, MlpOptions, MlpVariant } from './mlp';
