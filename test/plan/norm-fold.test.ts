/**
 * A training BatchNorm2d and the Dropout after it applied by the 1×1 conv after them as it loads
 * its input (Conv2d.foldsNormInput: the conv's forward tile is the 4-column one, whose loads take
 * NORM_MASK, and its weight gradient's the pointwise kernel's): the batch norm's training forward
 * writes the mask and a per-channel affine only (MASK_ONLY: batchnorm_merge_forward's on big planes
 * of a software adapter, else batchnorm_dropout_forward's after the statistics), and the conv's
 * training forward and weight gradient read the batch norm's input, the mask and the affine. The
 * seed CNN's convblock2 into convblock3 on lavapipe: the step's loss and every gradient bit for bit
 * as without the fold (the network whose 1×1 convs' weight gradients run the plain kernel at the
 * same split, whose bits are the pointwise kernel's, so that nothing folds), and the eval forward's
 * output too. Where it does not fold: a device described without subgroups of 8 (the pointwise
 * weight gradient needs them), a 3×3 conv after the dropout, a batch norm with no dropout after it,
 * a residual block's 1×1 shortcut after a body that ends with them; eval (the batch norm writes its output and the conv reads it).
 */
import { describe, expect } from 'vitest';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import { pointwiseWeightTile } from '../../src/kernels/conv2d.js';
import { ReLU } from '../../src/layers/activations.js';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Dropout } from '../../src/layers/dropout.js';
import { Flatten } from '../../src/layers/flatten.js';
import type { TileChooser } from '../../src/layers/layer.js';
import { Linear } from '../../src/layers/linear.js';
import { MaxPool2d } from '../../src/layers/pooling.js';
import { Residual, Sequential, type Module } from '../../src/layers/sequential.js';
import { seedCnn, SEED_CNN_INPUT } from '../../src/models/seed-cnn.js';
import { SGD } from '../../src/optim/optimizers.js';
import { Network } from '../../src/plan/network.js';
import { LossHead } from '../../src/train/loss-head.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

const BATCH = 6;

/** One training step of `network` on fixed images, then an eval forward: the dispatches' labels, the loss, the gradients and the eval output. */
async function step(network: Network) {
  const { ctx } = network;
  const size = network.plan.inputShape.reduce((a, b) => a * b, 1);
  const head = new LossHead(ctx, network, 'check');
  ctx.write(network.input, Float32Array.from(randomArray(BATCH * size, 5, -0.4, 2.8)));
  ctx.write(head.labels, Uint32Array.from({ length: BATCH }, (_, b) => (b * 3 + 1) % network.plan.classes));
  head.reset();
  network.beginStep(BATCH, 0);
  const train = await network.forward(BATCH, 'train');
  const backward = await network.backward(BATCH);
  const dispatches = [...train, ...(await head.dispatches(BATCH, true)), ...backward];
  ctx.submit('step', (e) => recordPass(e, 'step', dispatches));
  const grads = await Promise.all(network.parameters.map((p) => ctx.read(p.grad)));
  const loss = (await ctx.read(head.metrics))[0]!;
  const evaluation = await network.forward(BATCH, 'eval');
  ctx.submit('eval', (e) => recordPass(e, 'eval', evaluation));
  const output = await ctx.read(network.output);
  return { labels: [...train, ...backward].map((d) => d.label), evalLabels: evaluation.map((d) => d.label), grads, loss, output };
}

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

/**
 * A 1×1 conv's weight gradient on the plain kernel at the pointwise tile's split (conv2d_backward_weight:
 * the pointwise kernel's bits), so that its layer folds in neither the batch norm before it nor the
 * max pool after it.
 */
const plainWeight = ((kernel: string, params: Parameters<typeof pointwiseWeightTile>[0]) =>
  kernel === 'conv2d_backward_weight' && params.kernelH === 1 ? { ...pointwiseWeightTile(params), taps: 9, pointwise: false } : undefined) as TileChooser;

const network = (ctx: GpuContext, model: Module, inputShape: readonly number[], tiles?: TileChooser) =>
  new Network(ctx, model, { inputShape: [...inputShape], maxBatch: 8, seed: 9, tiles, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }) });

/** The same bits with and without the fold: loss, every gradient, the eval output. */
function expectSameStep(folded: Awaited<ReturnType<typeof step>>, plain: Awaited<ReturnType<typeof step>>) {
  expect(folded.loss).toBe(plain.loss);
  folded.grads.forEach((g, i) => expect(sameBits(g, plain.grads[i]!), `gradient ${i} bit for bit`).toBe(true));
  expect(sameBits(folded.output, plain.output), 'the eval output bit for bit').toBe(true);
}

describe("a batch norm and dropout applied on the 1×1 conv's loads", () => {
  gpuTest("the seed CNN's convblock2 into convblock3 (lavapipe): no output written, the same loss and gradients bit for bit", async (ctx) => {
    const folds = ctx.adapter.software && ctx.adapter.subgroupSize === 8;
    const foldedNetwork = network(ctx, seedCnn(), SEED_CNN_INPUT);
    const folded = await step(foldedNetwork);
    const plainNetwork = network(ctx, seedCnn(), SEED_CNN_INPUT, plainWeight);
    const plain = await step(plainNetwork);
    expect([...plainNetwork.unwrittenInTraining]).toEqual([]);
    expect([...foldedNetwork.unwrittenInTraining]).toEqual(folds ? ['convblock2.2', 'convblock2.3'] : []);
    // The batch norm's pass: its statistics merged and the mask drawn in one dispatch (planes of 576), no output.
    expect(folded.labels.includes("convblock2.2 batchnorm and dropout mask (applied on the next conv's loads) (with its statistics)")).toBe(folds);
    expect(plain.labels).toContain('convblock2.2 batchnorm and dropout (with its statistics)');
    expect(folded.labels.includes('convblock3.0 conv and maxpool forward (batchnorm and dropout on load)')).toBe(folds);
    expect(folded.labels.includes('convblock3.0 conv weight gradient (batchnorm and dropout on load)')).toBe(folds);
    // The batch norm's backward as before; the same number of dispatches (the max pool's backward folded in too, where this folds).
    expect(folded.labels).toContain('convblock2.2 dropout, batchnorm and relu backward (with its sums)');
    expect(folded.labels.length).toBe(plain.labels.length - (folds ? 1 : 0));
    // Eval: the batch norm writes its output, the conv reads it.
    expect(folded.evalLabels).toEqual(plain.evalLabels);
    expect(folded.evalLabels).toContain('convblock3.0 conv and maxpool forward');
    expectSameStep(folded, plain);
    // Without subgroups of 8 (the pointwise weight gradient needs them): the batch norm writes its output.
    const other = network(withoutSubgroups(ctx), seedCnn(), SEED_CNN_INPUT);
    expect([...other.unwrittenInTraining]).toEqual([]);
    expect((await step(other)).labels).toContain('convblock2.2 batchnorm and dropout (with its statistics)');
  });

  gpuTest('small planes (the statistics merged apart, then the mask-only pass), the same bits; not after a 3×3 conv or with no dropout', async (ctx) => {
    const folds = ctx.adapter.software && ctx.adapter.subgroupSize === 8;
    // Planes of 10 × 10 (below batchnorm_merge_forward's 256): batchnorm_stats_merge, then batchnorm_dropout_forward's MASK_ONLY.
    const model = (kernel: number, dropout: boolean) =>
      new Sequential(
        new Conv2d({ outChannels: 6, kernelSize: 3, bias: false }),
        new ReLU(),
        new BatchNorm2d(),
        ...(dropout ? [new Dropout(0.3)] : []),
        new Conv2d({ outChannels: 4, kernelSize: kernel, bias: true }),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(4 * ((11 - kernel) >> 1) ** 2, 10),
      );
    const folded = await step(network(ctx, model(1, true), [1, 12, 12]));
    const plain = await step(network(ctx, model(1, true), [1, 12, 12], plainWeight));
    expect(folded.labels.includes("2 batchnorm and dropout mask (applied on the next conv's loads)")).toBe(folds);
    expect(folded.labels.includes('4 conv and maxpool forward (batchnorm and dropout on load)')).toBe(folds);
    expect(folded.labels.includes('4 conv weight and bias gradient (batchnorm and dropout on load)')).toBe(folds);
    expect(plain.labels).toContain('2 batchnorm and dropout');
    expectSameStep(folded, plain);
    // A 3×3 conv after the dropout.
    const three = network(ctx, model(3, true), [1, 12, 12]);
    expect([...three.unwrittenInTraining]).toEqual([]);
    expect((await step(three)).labels).toContain('2 batchnorm and dropout');
    // No dropout after the batch norm.
    const none = network(ctx, model(1, false), [1, 12, 12]);
    expect([...none.unwrittenInTraining]).toEqual([]);
    expect((await step(none)).labels).toContain('2 batchnorm');
  });

  gpuTest("not into a residual block's 1×1 shortcut after a body that ends with the batch norm and dropout (the shortcut reads the block's input)", async (ctx) => {
    const model = () =>
      new Sequential(
        new Conv2d({ outChannels: 4, kernelSize: 3, bias: false }),
        new Residual(
          new Sequential(new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1, bias: false }), new BatchNorm2d(), new Dropout(0.3)),
          { downsample: new Conv2d({ outChannels: 8, kernelSize: 1, bias: false }) },
        ),
        new Flatten(),
        new Linear(8 * 10 * 10, 10),
      );
    const residual = network(ctx, model(), [1, 12, 12]);
    expect(residual.plan.scheduled.map((n) => n.layer.type).slice(3, 6)).toEqual(['BatchNorm2d', 'Dropout', 'Conv2d']);
    expect([...residual.unwrittenInTraining]).toEqual([]);
    const plain = await step(network(ctx, model(), [1, 12, 12], plainWeight));
    expectSameStep(await step(residual), plain);
  });
});
