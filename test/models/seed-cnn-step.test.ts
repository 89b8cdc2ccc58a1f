/**
 * One whole training step of the seed CNN on the GPU against the float64 full-model reference:
 * same weights, same batch, same dropout masks (the reference draws them with its own Philox),
 * then the SGD update; and the eval-mode forward pass.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { DROPOUT_STREAM } from '../../src/plan/plan.js';
import { dropoutMaskRef } from '../../src/reference/random.js';
import { seedCnnDropoutMaskLengths, seedCnnEvalRef, seedCnnParameterShapes, seedCnnTrainStepRef } from '../../src/reference/seed-cnn.js';
import { sgdMomentumRef } from '../../src/reference/sgd-momentum.js';
import { LossHead } from '../../src/train/loss-head.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';
import type { GpuContext } from '../../src/gpu/context.js';

/** f32 through the ten layers stays within the per-kernel gradient preset (measured). */
const WHOLE_MODEL = TOLERANCE.gradient;

const BATCH = 5;
const SEED = 7;
const STEP = 3;

async function setUp(ctx: GpuContext) {
  const model = createSeedCnn(ctx, { maxBatch: 8, seed: SEED });
  const head = new LossHead(ctx, model, 'test');
  const images = Float32Array.from(randomArray(BATCH * 784, 21, -0.5, 2.5));
  const labels = Uint32Array.from({ length: BATCH }, (_, b) => (b * 7 + 3) % 10);
  ctx.write(model.input, images);
  ctx.write(head.labels, labels);
  head.reset();
  const params: Record<string, Float32Array> = {};
  for (const p of model.parameters) params[p.name] = await ctx.read(p.value);
  const running: Record<string, Float32Array> = {};
  for (const b of model.buffers) running[b.name] = await ctx.read(b.value);
  return { model, head, images, labels, params, running };
}

describe('seed CNN: a whole training step on the GPU against the full-model reference', () => {
  gpuTest('forward, loss, backward, running statistics and the SGD update', async (ctx) => {
    const { model, head, images, labels, params, running } = await setUp(ctx);
    expect(Object.keys(params).sort()).toEqual(Object.keys(seedCnnParameterShapes()).sort());

    const dispatches = [...(await model.forward(BATCH, 'train')), ...(await head.dispatches(BATCH, true)), ...(await model.backward(BATCH))];
    model.beginStep(BATCH, 0);
    model.setDropoutStep(BATCH, STEP);
    ctx.submit('step', (e) => recordPass(e, 'step', dispatches));

    const masks = seedCnnDropoutMaskLengths(BATCH).map((n, k) => dropoutMaskRef(n, 0.1, SEED, DROPOUT_STREAM + k, STEP));
    const ref = seedCnnTrainStepRef({ params, running, images, labels, batch: BATCH, dropoutMasks: masks });

    const [metrics, counts] = [await ctx.read(head.metrics), await ctx.read(head.counts)];
    expect(metrics[0]).toBeCloseTo(ref.loss, 5);
    expect(counts[0]).toBe(ref.correct);
    expectAllClose('logits', (await ctx.read(model.output)).subarray(0, BATCH * 10), ref.logits, WHOLE_MODEL);
    for (const p of model.parameters) expectAllClose(`∂loss/∂${p.name}`, await ctx.read(p.grad), ref.grads[p.name]!, WHOLE_MODEL);
    for (const b of model.buffers) expectAllClose(b.name, await ctx.read(b.value), ref.running[b.name]!, WHOLE_MODEL);

    // The SGD update from the GPU's own gradients (the update itself is checked, not the gradients again).
    const before = new Map<string, { grad: Float32Array; velocity: Float32Array }>();
    for (const p of model.parameters) before.set(p.name, { grad: await ctx.read(p.grad), velocity: await ctx.read(p.state.momentum_buffer!) });
    const sgd = await model.optimizerStep();
    ctx.submit('sgd', (e) => recordPass(e, 'sgd', sgd));
    for (const p of model.parameters) {
      const { grad, velocity } = before.get(p.name)!;
      const expected = sgdMomentumRef(params[p.name]!, grad, velocity, 0.01, 0.9);
      expectAllClose(`${p.name} after SGD`, await ctx.read(p.value), expected.param, { atol: 1e-7, rtol: 1e-6 });
      expectAllClose(`${p.name} momentum_buffer`, await ctx.read(p.state.momentum_buffer!), expected.velocity, { atol: 1e-7, rtol: 1e-6 });
    }
  });

  gpuTest('eval mode: running statistics, no dropout', async (ctx) => {
    const { model, head, images, labels, params } = await setUp(ctx);
    // Running statistics away from their initial (0, 1), so eval really uses them.
    const running: Record<string, Float32Array> = {};
    model.buffers.forEach((b, i) => {
      const data = Float32Array.from(randomArray(b.value.length, 40 + i, 0.1, 0.6));
      running[b.name] = data;
      ctx.write(b.value, data);
    });
    const dispatches = [...(await model.forward(BATCH, 'eval')), ...(await head.dispatches(BATCH, false))];
    ctx.submit('eval', (e) => recordPass(e, 'eval', dispatches));
    const ref = seedCnnEvalRef({ params, running, images, labels, batch: BATCH });
    expectAllClose('eval logits', (await ctx.read(model.output)).subarray(0, BATCH * 10), ref.logits, WHOLE_MODEL);
    const [metrics, counts] = [await ctx.read(head.metrics), await ctx.read(head.counts)];
    expect(metrics[1]).toBeCloseTo(ref.lossSum, 4);
    expect(counts[0]).toBe(ref.correct);
    expect(counts[1]).toBe(BATCH);
  });
});
