/**
 * Accuracy at the real size: one training step of the seed CNN at batch 128 on real MNIST images,
 * from its own initial weights, against the float64 reference that follows the GPU's discrete
 * decisions (ReLU masks, max-pool choices: an f32 value a hair from zero may fall the other way,
 * a kink, not arithmetic error). Every activation and gradient within 1e-5 of its tensor's scale;
 * the decisions that differed are counted, and few.
 */
import { describe, expect } from 'vitest';
import { loadMnist } from '../../src/node/mnist-files.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';
import { normalizePixelRef } from '../../src/reference/mnist-input.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';

const BATCH = 128;
/** f32 over reductions of up to 128 × 26 × 26 terms, measured at 1e-6 to 7e-6 of each tensor's largest value. */
const SCALED = 1e-5;

describe('the seed CNN at batch 128 on real images', () => {
  gpuTest('every activation and gradient within 1e-5 of the decision-following float64 reference', async (ctx) => {
    const { train } = await loadMnist();
    const images = Float32Array.from(train.images.subarray(0, BATCH * 784), normalizePixelRef);
    const labels = Uint32Array.from(train.labels.subarray(0, BATCH));
    const network = createSeedCnn(ctx, { maxBatch: BATCH, seed: 1 });
    const report = await checkNetworkStep(network, images, labels);
    const table = formatCheckReport(report);
    expect(report.passed, table).toBe(true);
    for (const row of report.rows.filter((r) => r.kind === 'activation' || r.kind === 'gradient')) {
      expect(row.scaledError, `${row.tensor}\n${table}`).toBeLessThanOrEqual(SCALED);
    }
    // Over 4.5 million ReLU inputs and 184,320 windows, a handful of kinks at most.
    expect(report.decisions.relu + report.decisions.maxpool, table).toBeLessThan(20);
  }, 180_000);
});
