/**
 * The float64 reference of any network (src/reference/network.ts), checked by central finite
 * differences of its loss: parameters of every layer type, through every loss, with dropout masks
 * and batch norm in training mode. And it agrees with the seed CNN's own reference, which is
 * written from SPEC.md's layer table rather than from the layer API.
 */
import { describe, expect, test } from 'vitest';
import { LogSoftmax, ReLU, Sigmoid, Tanh } from '../../src/layers/activations.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/layers/batchnorm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Dropout } from '../../src/layers/dropout.js';
import { Flatten } from '../../src/layers/flatten.js';
import { Linear } from '../../src/layers/linear.js';
import { LayerNorm } from '../../src/layers/normalization.js';
import { GRU, LSTM } from '../../src/layers/recurrent.js';
import { MultiheadAttention } from '../../src/layers/attention.js';
import { AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { Residual, Sequential, type Module } from '../../src/layers/sequential.js';
import { seedCnn, SEED_CNN_INPUT } from '../../src/models/seed-cnn.js';
import type { LossKind } from '../../src/plan/fusion.js';
import { initialValues, planModel } from '../../src/plan/plan.js';
import { networkStepRef, recurrentMaskKey } from '../../src/reference/network.js';
import { dropoutMaskRef } from '../../src/reference/random.js';
import { seedCnnDropoutMaskLengths, seedCnnTrainStepRef } from '../../src/reference/seed-cnn.js';
import { expectAllClose, randomArray } from '../helpers/allclose.js';
import { FD, FD_STEP } from '../helpers/finite-differences.js';

const BATCH = 3;

function setUp(model: Module, inputShape: number[], loss?: LossKind) {
  const plan = planModel(model, { inputShape, loss });
  const params: Record<string, Float64Array> = {};
  const buffers: Record<string, Float64Array> = {};
  for (const node of plan.nodes) {
    for (const p of node.parameters) params[p.name] = Float64Array.from(initialValues(node, p, 5), (v, i) => v + 0.1 * Math.sin(i + 1));
    for (const b of node.buffers) buffers[b.name] = new Float64Array(b.shape.reduce((x, y) => x * y, 1)).fill(b.value);
  }
  const dropoutMasks: Record<string, Float64Array> = {};
  for (const node of plan.nodes) {
    if (node.layer instanceof Dropout) dropoutMasks[node.path] = dropoutMaskRef(BATCH * node.inShape.reduce((a, b) => a * b, 1), node.layer.p, 5, node.stream, 0);
    if ((node.layer instanceof LSTM || node.layer instanceof GRU) && node.layer.drawsRandom) {
      for (let k = 0; k < node.layer.numLayers - 1; k++) dropoutMasks[recurrentMaskKey(node.path, k)] = dropoutMaskRef(BATCH * node.inShape[0]! * node.outShape[1]!, node.layer.dropout, 5, node.stream + k, 0);
    }
  }
  const input = randomArray(BATCH * inputShape.reduce((a, b) => a * b, 1), 17, -1, 2);
  const labels = [1, 0, 2].map((l) => l % plan.classes);
  const step = (p: Record<string, Float64Array>) => networkStepRef({ plan, params: p, buffers, input, labels, batch: BATCH, mode: 'train', dropoutMasks });
  return { plan, params, step };
}

function checkByDifferences(model: Module, inputShape: number[], loss?: LossKind) {
  const { params, step } = setUp(model, inputShape, loss);
  const { grads } = step(params);
  const analytic: number[] = [];
  const numeric: number[] = [];
  for (const name of Object.keys(params)) {
    expect(grads[name], name).toBeDefined();
    for (const index of [0, Math.floor(params[name]!.length / 2), params[name]!.length - 1]) {
      const at = (delta: number) => {
        const t = Float64Array.from(params[name]!);
        t[index]! += delta;
        return step({ ...params, [name]: t }).loss;
      };
      analytic.push(grads[name]![index]!);
      numeric.push((at(FD_STEP) - at(-FD_STEP)) / (2 * FD_STEP));
    }
  }
  expectAllClose('∂loss/∂parameters', analytic, numeric, FD);
}

describe('the network reference against central differences', () => {
  test('conv (stride 2, padding, bias) → BatchNorm2d → Tanh → max pool → Flatten → Linear → LogSoftmax, NLL', () => {
    checkByDifferences(new Sequential(new Conv2d({ outChannels: 3, kernelSize: 3, stride: 2, padding: 1 }), new BatchNorm2d(), new Tanh(), new MaxPool2d(2), new Flatten(), new Linear({ outFeatures: 4 }), new LogSoftmax()), [2, 9, 9]);
  });
  test('Linear → BatchNorm1d → ReLU → Dropout → Linear (no bias), cross-entropy on logits', () => {
    checkByDifferences(new Sequential(new Flatten(), new Linear({ outFeatures: 6 }), new BatchNorm1d(), new ReLU(), new Dropout(0.3), new Linear({ outFeatures: 3, bias: false })), [1, 4, 4]);
  });
  test('conv → Sigmoid → global average pool → Flatten, MSE', () => {
    checkByDifferences(new Sequential(new Conv2d({ outChannels: 4, kernelSize: 2 }), new Sigmoid(), new AvgPool2d(), new Flatten()), [1, 5, 5], 'mse');
  });
  test('LSTM → GRU (no bias) → Flatten → Linear over [5, 3] sequences, cross-entropy', () => {
    checkByDifferences(new Sequential(new LSTM(3, 4, { batchFirst: true }), new GRU(4, 3, { batchFirst: true, bias: false }), new Flatten(), new Linear({ outFeatures: 3 })), [5, 3]);
  });
  test('Linear → LSTM (2 layers, bidirectional, dropout 0.3 between) → GRU (2 layers, bidirectional, no bias) → Flatten → Linear over [4, 3] sequences', () => {
    checkByDifferences(new Sequential(new Linear({ outFeatures: 3 }), new LSTM({ hiddenSize: 2, numLayers: 2, bidirectional: true, dropout: 0.3 }), new GRU({ hiddenSize: 2, numLayers: 2, bidirectional: true, bias: false }), new Flatten(), new Linear({ outFeatures: 3 })), [4, 3]);
  });
  test('Linear → MultiheadAttention (causal) in a Residual → LayerNorm → Flatten → Linear over [5, 3] sequences, cross-entropy', () => {
    checkByDifferences(new Sequential(new Linear(3, 4), new Residual(new MultiheadAttention(4, 2, { isCausal: true })), new LayerNorm(4), new Flatten(), new Linear({ outFeatures: 3 })), [5, 3]);
  });
  test("Linear → Sigmoid → Linear → Sigmoid, the sheet's ½Σ(t − a)²", () => {
    checkByDifferences(new Sequential(new Linear({ outFeatures: 3 }), new Sigmoid(), new Linear({ outFeatures: 2 }), new Sigmoid()), [2], 'half-sse');
  });
  test('residual blocks: an identity shortcut around a nested block, a conv shortcut (stride 2), one at the start', () => {
    checkByDifferences(
      new Sequential({
        first: new Residual(new Sequential(new Conv2d({ outChannels: 3, kernelSize: 3, padding: 1 }), new Tanh()), { proj: new Conv2d({ outChannels: 3, kernelSize: 1 }) }),
        outer: new Residual({ inner: new Residual(new Sequential(new Conv2d({ outChannels: 3, kernelSize: 3, padding: 1 }), new BatchNorm2d())), act: new Tanh(), conv: new Conv2d({ outChannels: 3, kernelSize: 1 }) }),
        down: new Residual(new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2, padding: 1 }), new Sigmoid()), new Sequential(new Conv2d({ outChannels: 4, kernelSize: 1, stride: 2, bias: false }), new BatchNorm2d())),
        flat: new Flatten(),
        fc: new Linear({ outFeatures: 3 }),
      }),
      [2, 5, 5],
    );
  });
});

describe('the network reference of the seed CNN', () => {
  test("agrees with the seed CNN's own reference (SPEC.md's layer table)", () => {
    const { plan, params, step } = setUp(seedCnn(), [...SEED_CNN_INPUT]);
    const ours = step(params);
    // The same masks in the seed reference's order (blocks 1, 2, 4, 5, 6, 7).
    const masks = seedCnnDropoutMaskLengths(BATCH).map((n, k) => dropoutMaskRef(n, 0.1, 5, 16 + k, 0));
    const running = Object.fromEntries(plan.nodes.flatMap((n) => n.buffers.map((b) => [b.name, new Float64Array(b.shape[0]!).fill(b.value)])));
    const input = randomArray(BATCH * 784, 17, -1, 2);
    const theirs = seedCnnTrainStepRef({ params, running, images: input, labels: [1, 0, 2], batch: BATCH, dropoutMasks: masks });
    expect(ours.loss).toBeCloseTo(theirs.loss, 12);
    for (const name of Object.keys(params)) expectAllClose(name, ours.grads[name]!, theirs.grads[name]!, FD);
    for (const name of Object.keys(running)) expectAllClose(name, ours.buffers[name]!, theirs.running[name]!, FD);
  });
});

describe("the network reference following the GPU's ReLU decisions", () => {
  // A GPU output that passed every element (1 everywhere): the followed ReLU is the identity, in
  // both directions, so the step is the network's without it. Before the mask was kept, the
  // backward read its own output (y = x ≤ 0 where it disagreed) and blocked those gradients.
  test('a ReLU whose every element the GPU passed is the identity, forward and backward', () => {
    const withRelu = setUp(new Sequential(new Flatten(), new Linear({ outFeatures: 5 }), new ReLU(), new Linear({ outFeatures: 3 })), [1, 4, 4]);
    const without = setUp(new Sequential(new Flatten(), new Linear({ outFeatures: 5 }), new Linear({ outFeatures: 3 })), [1, 4, 4]);
    const relu = withRelu.plan.nodes.find((n) => n.layer instanceof ReLU)!;
    const params = { ...withRelu.params };
    const renamed = { '1.weight': params['1.weight']!, '1.bias': params['1.bias']!, '2.weight': params['3.weight']!, '2.bias': params['3.bias']! };
    const followed = networkStepRef({ ...stepInput(withRelu.plan, params), follow: { reluOutputs: { [relu.path]: new Float64Array(BATCH * 5).fill(1) } } });
    const plain = networkStepRef(stepInput(without.plan, renamed));
    expect(followed.decisions.relu, 'elements the reference itself would have zeroed').toBeGreaterThan(0);
    expect(followed.loss).toBe(plain.loss);
    expect(Array.from(followed.grads['1.weight']!)).toEqual(Array.from(plain.grads['1.weight']!));
    expect(Array.from(followed.grads['3.weight']!)).toEqual(Array.from(plain.grads['2.weight']!));
  });
});

function stepInput(plan: ReturnType<typeof planModel>, params: Record<string, Float64Array>) {
  const input = randomArray(BATCH * 16, 17, -1, 2);
  return { plan, params, buffers: {}, input, labels: [1, 0, 2], batch: BATCH, mode: 'train' as const };
}
