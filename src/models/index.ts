export { mlp, MlpOptions, MlpVariant } from './mlp';
export { vgg6, vgg6Channels, Vgg6Options, Vgg6Variant, VGG6_VARIANTS } from './vgg6';
export { resnet, ResnetOptions, ResnetVariant, RESNET_VARIANTS, ResnetStem } from './resnet';
