import { expect } from 'chai';
import * as g from '../../src';
import { vgg6, vgg6Channels, VGG6_VARIANTS } from '../../src/models/vgg6';
import { resnet, RESNET_VARIANTS } from '../../src/models/resnet';
import { Conv2d } from '../../src/nn/conv2d';
import { MaxPool2d } from '../../src/nn/pool';
import { expectGmpnnError } from '../helpers';

function stepLosses(model: g.nn.Module, x: g.Tensor, y: g.Tensor, lr: number, steps: number): number[] {
  const opt = new g.optim.SGD(model.parameters(), { lr, momentum: 0.9 });
  const out: number[] = [];
  for (let i = 0; i < steps; i++)
    out.push(
      g.tidy(() => {
        opt.zeroGrad();
        const l = g.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
        return l.item();
      }),
    );
  opt.zeroGrad();
  opt.dispose();
  return out;
}

describe('models.vgg6', () => {
  it('has the spec layout: six 3×3 same convs, pools after every second, GAP, dense', () => {
    expect(vgg6Channels()).to.deep.equal([128, 128, 256, 256, 512, 512]);
    expect(vgg6Channels(0.25)).to.deep.equal([32, 32, 64, 64, 128, 128]);
    const m = vgg6({ variant: 'gmp_imn', classes: 10, inChannels: 1, width: 0.125 });
    const kinds = m.layers.map((l) => l.constructor.name);
    expect(kinds).to.deep.equal([
      'Conv2d', 'MeanOnlyBatchNorm', 'Conv2d', 'MeanOnlyBatchNorm', 'MaxPool2d',
      'Conv2d', 'MeanOnlyBatchNorm', 'Conv2d', 'MeanOnlyBatchNorm', 'MaxPool2d',
      'Conv2d', 'MeanOnlyBatchNorm', 'Conv2d', 'MeanOnlyBatchNorm', 'MaxPool2d',
      'GlobalAvgPool2d', 'Linear',
    ]);
    const convs = m.layers.filter((l): l is Conv2d => l instanceof Conv2d);
    expect(convs.map((c) => [c.inChannels, c.outChannels, c.kernelSize[0], c.padding, c.parameterization, c.activation])).to.deep.equal([
      [1, 16, 3, 'same', 'gmp', 'relu'], [16, 16, 3, 'same', 'gmp', 'relu'], [16, 32, 3, 'same', 'gmp', 'relu'],
      [32, 32, 3, 'same', 'gmp', 'relu'], [32, 64, 3, 'same', 'gmp', 'relu'], [64, 64, 3, 'same', 'gmp', 'relu'],
    ]);
    expect((m.layers[4] as MaxPool2d).kernelSize).to.deep.equal([2, 2]);
    m.dispose();
    expectGmpnnError(() => vgg6({ variant: 'xx' as 'sp', classes: 3 }), 'E_ARG', /variant/);
  });

  for (const variant of VGG6_VARIANTS) {
    it(`${variant}: forward shape [N, classes] and a few SGD steps lower the loss on a tiny batch`, () => {
      g.manualSeed(1);
      const m = vgg6({ variant, classes: 5, inChannels: 3, width: 0.0625 });
      const x = g.randn([6, 16, 16, 3]);
      const y = g.tensor([0, 1, 2, 3, 4, 0], [6]);
      const shape = g.tidy(() => m.forward(x).shape);
      expect(shape).to.deep.equal([6, 5]);
      const lr = variant.startsWith('gmp') ? 0.1 : variant === 'sp' || variant === 'wn' ? 0.05 : 0.05;
      const losses = stepLosses(m, x, y, lr, 8);
      expect(losses.every(Number.isFinite)).to.equal(true);
      expect(losses[losses.length - 1]).to.be.below(losses[0]);
      m.eval();
      expect(g.tidy(() => g.noGrad(() => m.forward(x).shape))).to.deep.equal([6, 5]);
      m.dispose();
      g.dispose([x, y]);
    });
  }
});

describe('models.resnet', () => {
  for (const variant of RESNET_VARIANTS)
    for (const stem of ['imagenet', 'small'] as const)
      it(`resnet18 ${variant}, ${stem} stem: output [N, classes]`, () => {
        g.manualSeed(2);
        const m = resnet({ depth: 18, variant, classes: 7, stem, width: 0.0625 });
        const side = stem === 'imagenet' ? 64 : 16;
        const x = g.randn([2, side, side, 3]);
        expect(g.tidy(() => m.forward(x).shape)).to.deep.equal([2, 7]);
        m.dispose();
        x.dispose();
      });

  it('resnet18 has 8 basic blocks, resnet34 16; the GmP+IMN block has IMN after conv1 and after the sum', () => {
    const r18 = resnet({ depth: 18, variant: 'gmp_imn', classes: 3, stem: 'small', width: 0.0625 });
    const blocks = r18.layers.filter((l) => l.constructor.name === 'BasicBlock');
    expect(blocks.length).to.equal(8);
    const b = blocks[2] as unknown as { conv1: Conv2d; conv2: Conv2d; shortcut: Conv2d; imn1: unknown; imnOut: unknown };
    expect([b.conv1.parameterization, b.conv1.activation, b.conv1.stride[0]]).to.deep.equal(['gmp', 'relu', 2]);
    expect([b.conv2.parameterization, b.conv2.activation]).to.deep.equal(['gmp', 'none']);
    expect([b.shortcut.kernelSize[0], b.shortcut.stride[0], b.shortcut.parameterization]).to.deep.equal([1, 2, 'gmp']);
    expect(b.imn1).to.not.equal(null);
    expect(b.imnOut).to.not.equal(null);
    r18.dispose();
    const r34 = resnet({ depth: 34, variant: 'bn', classes: 3, stem: 'small', width: 0.03125 });
    expect(r34.layers.filter((l) => l.constructor.name === 'BasicBlock').length).to.equal(16);
    r34.dispose();
    expectGmpnnError(() => resnet({ depth: 50 as 18, variant: 'bn', classes: 3 }), 'E_ARG', /depth/);
  });

  it('gmp_imn resnet18: SGD steps lower the loss on a tiny batch', () => {
    g.manualSeed(4);
    const m = resnet({ depth: 18, variant: 'gmp_imn', classes: 4, stem: 'small', width: 0.0625 });
    const x = g.randn([4, 8, 8, 3]);
    const y = g.tensor([0, 1, 2, 3], [4]);
    const losses = stepLosses(m, x, y, 0.05, 6);
    expect(losses[losses.length - 1]).to.be.below(losses[0]);
    m.dispose();
    g.dispose([x, y]);
  });
});
