/**
 * A 2×2 max pool's backward folded into the 1×1 conv before it (Conv2d.foldsPoolBackward: the
 * conv stores the pool, maxpool-epilogue, with no ReLU between, and both its backward tiles are
 * the pointwise kernels', which read the pool's gradient and argmax: variant POOL). The seed CNN's
 * convblock3 → pool1 on lavapipe: no pool backward, and the step's loss and every gradient bit for
 * bit as with the pool's backward and the full gradient (the network with convblock3's input
 * gradient on the tiled kernel, whose bits are the pointwise kernel's, so that nothing folds).
 * Where it does not fold: a device described without subgroups of 8 (the pointwise weight
 * gradient needs them), a plane the octets do not fill (12 × 12), a ReLU between the conv and the
 * pool, a conv that is not 1×1.
 */
import { describe, expect } from 'vitest';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import { defaultConvTile } from '../../src/kernels/conv2d.js';
import { ReLU } from '../../src/layers/activations.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Flatten } from '../../src/layers/flatten.js';
import type { TileChooser } from '../../src/layers/layer.js';
import { Linear } from '../../src/layers/linear.js';
import { MaxPool2d } from '../../src/layers/pooling.js';
import { Sequential } from '../../src/layers/sequential.js';
import { seedCnn, SEED_CNN_INPUT } from '../../src/models/seed-cnn.js';
import { SGD } from '../../src/optim/optimizers.js';
import { Network } from '../../src/plan/network.js';
import { LossHead } from '../../src/train/loss-head.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

const BATCH = 6;

/** One training step of `network` on fixed images: its backward's labels, its loss and gradients. */
async function step(network: Network, input: readonly number[]) {
  const { ctx } = network;
  const size = input.reduce((a, b) => a * b, 1);
  const head = new LossHead(ctx, network, 'check');
  ctx.write(network.input, Float32Array.from(randomArray(BATCH * size, 5, -0.4, 2.8)));
  ctx.write(head.labels, Uint32Array.from({ length: BATCH }, (_, b) => (b * 3 + 1) % 10));
  head.reset();
  network.beginStep(BATCH, 0);
  const backward = await network.backward(BATCH);
  const dispatches = [...(await network.forward(BATCH, 'train')), ...(await head.dispatches(BATCH, true)), ...backward];
  ctx.submit('step', (e) => recordPass(e, 'step', dispatches));
  const grads = await Promise.all(network.parameters.map((p) => ctx.read(p.grad)));
  return { labels: backward.map((d) => d.label), grads, loss: (await ctx.read(head.metrics))[0]! };
}

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

/** A 1×1 conv's input gradient on the tiled kernel (conv2d_backward_input: the pointwise kernel's bits), so that its layer does not fold the pool. */
const tiledInput = ((kernel: string, params: Parameters<typeof defaultConvTile>[0]) => (kernel === 'conv2d_backward_input' && params.kernelH === 1 ? defaultConvTile(params, 'input') : undefined)) as TileChooser;

const seedNetwork = (ctx: GpuContext, tiles?: TileChooser) => new Network(ctx, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: 8, seed: 9, tiles, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }) });

describe("the max pool's backward folded into the 1×1 conv before it", () => {
  gpuTest("the seed CNN's pool1 into convblock3 (lavapipe): no pool backward, the same loss and gradients bit for bit", async (ctx) => {
    const folds = ctx.adapter.software && ctx.adapter.subgroupSize === 8;
    const folded = await step(seedNetwork(ctx), SEED_CNN_INPUT);
    const plain = await step(seedNetwork(ctx, tiledInput), SEED_CNN_INPUT);
    expect(plain.labels).toContain('pool1 maxpool backward');
    expect(folded.labels.includes('pool1 maxpool backward'), 'the pool runs no backward where the conv folds it in').toBe(!folds);
    expect(folded.labels.length).toBe(plain.labels.length - (folds ? 1 : 0));
    expect(folded.loss).toBe(plain.loss);
    folded.grads.forEach((g, i) => expect(sameBits(g, plain.grads[i]!), `gradient ${i} bit for bit`).toBe(true));
    // Without subgroups of 8 (the pointwise weight gradient needs them): the pool's own backward.
    const other = await step(seedNetwork(withoutSubgroups(ctx)), SEED_CNN_INPUT);
    expect(other.labels).toContain('pool1 maxpool backward');
  });

  gpuTest('not where the plane is not whole octets of windows, a ReLU is between, or the conv is not 1×1', async (ctx) => {
    const folds = ctx.adapter.software && ctx.adapter.subgroupSize === 8;
    const model = (between: boolean, kernel: number, side: number) =>
      new Sequential(new Conv2d({ outChannels: 8, kernelSize: 3, bias: false }), new Conv2d({ outChannels: 4, kernelSize: kernel, bias: false }), ...(between ? [new ReLU()] : []), new MaxPool2d(2), new Flatten(), new Linear(4 * ((side - 1 - kernel) >> 1) ** 2, 10));
    const labels = async (between: boolean, kernel: number, side: number) => {
      const network = new Network(ctx, model(between, kernel, side), { inputShape: [1, side, side], maxBatch: 8, seed: 2, optimizer: new SGD({ lr: 0.01 }) });
      return (await step(network, [1, side, side])).labels;
    };
    // 16 × 16 after the 3×3 conv: whole octets.
    expect((await labels(false, 1, 18)).includes('2 maxpool backward')).toBe(!folds);
    // 12 × 12: quads, not octets.
    expect(await labels(false, 1, 14)).toContain('2 maxpool backward');
    // A ReLU between: the pool applies its gradient (relu-grad-in-maxpool).
    expect(await labels(true, 1, 18)).toContain('3 maxpool and relu backward');
    // A 3×3 conv before the pool.
    expect(await labels(false, 3, 20)).toContain('2 maxpool backward');
  });
});
