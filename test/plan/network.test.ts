/**
 * The plan compiler: shapes checked before the GPU, the fusion rules (dispatch counts, fused equals
 * unfused), and a network defined only here training with AdamW and reloading bit-exactly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { recordPass } from '../../src/gpu/context.js';
import { CELU, ELU, GELU, Hardshrink, Hardtanh, LeakyReLU, LogSoftmax, Mish, ReLU, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softplus, Softshrink, Tanh, Threshold } from '../../src/layers/activations.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/layers/batchnorm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { ConvTranspose2d } from '../../src/layers/conv-transpose2d.js';
import { AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, CircularPad1d, ConstantPad1d, Conv1d, ConvTranspose1d, MaxPool1d, ReflectionPad1d, ReplicationPad1d, ZeroPad1d } from '../../src/layers/one-d.js';
import { ChannelShuffle } from '../../src/layers/shuffle.js';
import { Dropout, Dropout1d, Dropout2d } from '../../src/layers/dropout.js';
import { Flatten, Identity, Unflatten } from '../../src/layers/flatten.js';
import { ShapeError, type Layer } from '../../src/layers/layer.js';
import { Linear } from '../../src/layers/linear.js';
import { GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm } from '../../src/layers/normalization.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { Sequential, type Module } from '../../src/layers/sequential.js';
import { modelFileText, parseModelFile, sameNetwork } from '../../src/models/model-file.js';
import { seedCnn, SEED_CNN_INPUT } from '../../src/models/seed-cnn.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { Adam, AdamW, SGD } from '../../src/optim/optimizers.js';
import { Network } from '../../src/plan/network.js';
import { planModel, summaryRows, trainingFlops, type PlanOptions } from '../../src/plan/plan.js';
import { tiledKernelsOf } from '../../src/tune/tuner.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { LossHead } from '../../src/train/loss-head.js';
import { Trainer } from '../../src/train/trainer.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';

describe('shapes are inferred once, and a mismatch names the layer and the shapes', () => {
  test('a Linear on an image without Flatten: it applies to the last dimension, as PyTorch\'s, and the loss says where to flatten', () => {
    const model = new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3 }), new ReLU(), new Linear({ outFeatures: 10 }));
    expect(() => planModel(model, { inputShape: [1, 28, 28] })).toThrow(ShapeError);
    expect(() => planModel(model, { inputShape: [1, 28, 28] })).toThrow("the model's output is [N, 4, 26, 10]; the cross-entropy loss takes [N, classes] (a Linear applies to the last dimension, as PyTorch's: put a Flatten before it)");
    const given = new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3 }), new ReLU(), new Linear(2704, 10));
    expect(() => planModel(given, { inputShape: [1, 28, 28] })).toThrow(/layer '2' \(Linear\): in_features is 2704 but the input \[4, 26, 26\] has 26 features in its last dimension \(a Linear applies to the last dimension, as PyTorch's; put a Flatten before it to take them all\)/);
  });
  test('in_features that disagree with the input', () => {
    const model = new Sequential({ body: new Sequential(new Flatten(), new Linear({ inFeatures: 100, outFeatures: 10 })) });
    expect(() => planModel(model, { inputShape: [1, 28, 28] })).toThrow(/layer 'body\.1' \(Linear\): in_features is 100 but the input has 784 features/);
  });
  test('a kernel larger than the map', () => {
    expect(() => planModel(new Sequential(new Conv2d({ outChannels: 2, kernelSize: 5 }), new Flatten()), { inputShape: [1, 3, 3] })).toThrow(/layer '0' \(Conv2d\).*\[1, 3, 3\]/);
  });
  gpuTest('a network seed out of range and an optimizer that is not one are refused when made', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 10 }));
    for (const seed of [-1, 1.5, 2 ** 32]) {
      expect(() => new Network(ctx, model(), { inputShape: [1, 28, 28], maxBatch: 2, seed })).toThrow(`seed must be a whole number from 0 to 4294967295, got ${seed}`);
    }
    expect(() => new Network(ctx, model(), { inputShape: [1, 28, 28], maxBatch: 2, optimizer: { lr: 0.1 } as never })).toThrow('optimizer: expected new SGD({ … }), new Adam({ … }), new AdamW({ … }), new RMSprop({ … }), new Adagrad({ … }), new NAdam({ … }), new RAdam({ … }), new Adamax({ … }) or new Adadelta({ … }), got {"lr":0.1}');
  });
  test('layer options of the wrong kind: PyTorch’s momentum=None, a p given as text', () => {
    expect(() => new BatchNorm1d({ momentum: null as never })).toThrow('BatchNorm1d: momentum None (a cumulative moving average) is not supported');
    expect(() => new Dropout('0.3' as never)).toThrow('Dropout: p must be a number in [0, 1], got "0.3"');
  });
  test("options a constructor does not take are refused, naming the options it does (they were dropped: a misspelt padding trained without it)", () => {
    expect(() => new Conv2d({ outChannels: 8, kernelSize: 3, pading: 1 } as never)).toThrow("Conv2d: unknown option 'pading'; the options are inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, paddingMode");
    expect(() => new Conv2d({ outChannels: 8, kernel_size: 3 } as never)).toThrow("Conv2d: unknown option 'kernel_size' (PyTorch's kernel_size is kernelSize here)");
    expect(() => new Conv2d({ outChannels: 8, kernelSize: 3, padding_mode: 'zeros' } as never)).toThrow("Conv2d: unknown option 'padding_mode' (PyTorch's padding_mode is paddingMode here)");
    expect(() => new Conv2d({ outChannels: 8, kernelSize: 3, bias: 'false' } as never)).toThrow('Conv2d: bias must be true or false, got "false"');
    expect(() => new Linear({ in_features: 784, outFeatures: 10 } as never)).toThrow("Linear: unknown option 'in_features' (PyTorch's in_features is inFeatures here)");
    expect(() => new BatchNorm2d({ afine: false } as never)).toThrow("BatchNorm2d: unknown option 'afine'; the options are numFeatures, eps, momentum, affine, trackRunningStats");
    expect(() => new SGD({ lr: 0.1, weight_decay: 1e-4 } as never)).toThrow("SGD: unknown option 'weight_decay' (PyTorch's weight_decay is weightDecay here)");
    expect(() => new SGD({ nesterov: 'true', momentum: 0.9 } as never)).toThrow('SGD: nesterov must be true or false, got "true"');
    expect(() => new AdamW({ weight_decay: 0 } as never)).toThrow("AdamW: unknown option 'weight_decay'");
    expect(() => new Adam({ betas: [0.9, 0.99, 0.1] } as never)).toThrow('Adam: betas must be two numbers [β1, β2], got [0.9,0.99,0.1]');
    expect(() => planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 2 })), { inputShape: [4], fuse: 'false' } as never)).toThrow('options: fuse must be true or false, got "false"');
    // The planner (public, and what the tuner plans with) checks its keys as the Network does.
    expect(() => planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 2 })), { inputShape: [4], los: 'mse' } as never)).toThrow("planModel: unknown option 'los'; the options are inputShape, loss, fuse");
    expect(() => planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 2 })), { input_shape: [4] } as never)).toThrow("planModel: unknown option 'input_shape' (PyTorch's input_shape is inputShape here)");
    expect(() => new SGD({ lr: 0.1 }, { kind: 'step', stepSize: 1, gama: 0.5 } as never)).toThrow("schedule step: unknown option 'gama'; the options are kind, stepSize, gamma");
    // PyTorch's arguments that would train something else are refused; those that change nothing are taken.
    expect(() => new LogSoftmax(0)).toThrow('LogSoftmax: dim must be 1 (or -1), the classes of [batch, classes]; got 0');
    expect(() => new LogSoftmax({ dim: 1 })).not.toThrow();
    expect(() => new Flatten(0)).toThrow('Flatten: only start_dim 1 and end_dim -1');
    expect(() => new ReLU({ foo: 1 } as never)).toThrow("ReLU: unknown option 'foo'; the options are inplace");
    expect(() => new ReLU(true)).not.toThrow();
    expect(() => new Tanh(1 as never)).toThrow('Tanh: takes no arguments, got [1]');
    expect(new Dropout({ p: 0.2 }).p).toBe(0.2);
    expect(new Dropout(0.2, true).p).toBe(0.2);
    expect(() => new Dropout(0.2, 'yes' as never)).toThrow('Dropout: inplace must be true or false, got "yes"');
    expect(() => new (Dropout as new (...args: unknown[]) => Dropout)(0.2, false, 3)).toThrow('Dropout: 3 arguments; expected (p, inplace) then at most an options object');
    expect(() => new Dropout(null as never)).toThrow('Dropout: p must be a number in [0, 1], got null');
    expect(new MaxPool2d({ kernelSize: 2 }).config()).toEqual(new MaxPool2d(2, 2).config());
    // PyTorch's positional arguments, all of them (padding, dilation, return_indices, ceil_mode;
    // AvgPool2d's stride, padding, ceil_mode, count_include_pad, divisor_override): taken, and
    // more are refused (JavaScript would drop them).
    const loose = <T>(layer: new (...args: never[]) => T) => layer as unknown as new (...args: unknown[]) => T;
    expect(new MaxPool2d(3, 2, 1).config()).toEqual({ kernel_size: 3, stride: 2, padding: 1 });
    expect(new MaxPool2d(2, 2, 0, 1, false, true).config()).toEqual({ kernel_size: 2, stride: 2, ceil_mode: true });
    expect(new MaxPool2d([3, 2], null, [1, 0], 2).config()).toEqual({ kernel_size: [3, 2], stride: [3, 2], padding: [1, 0], dilation: 2 });
    expect(() => new (loose(MaxPool2d))(2, 2, 0, 1, false, true, 7)).toThrow('MaxPool2d: 7 arguments; expected (kernelSize, stride, padding, dilation, returnIndices, ceilMode) then at most an options object');
    expect(() => new MaxPool2d(2, 2, 0, 1, true)).toThrow('MaxPool2d: return_indices true is not supported');
    expect(() => new MaxPool2d(3, 2, 2)).toThrow('MaxPool2d: padding 2 is more than half of kernel_size 3 (as PyTorch refuses: "pad should be at most half of effective kernel size")');
    expect(() => new MaxPool2d({ kernelSize: 2, ceilMode: 'yes' as never })).toThrow('MaxPool2d: ceil_mode must be true or false, got "yes"');
    expect(() => new MaxPool2d([2, 2, 2] as never)).toThrow('MaxPool2d: kernel_size must be a number or two (height, width), got [2,2,2]');
    expect(new AvgPool2d(4, 4, 1).config()).toEqual({ kernel_size: 4, padding: 1 });
    expect(new AvgPool2d(3, 2, 1, true, false, 4).config()).toEqual({ kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false, divisor_override: 4 });
    expect(() => new AvgPool2d({ stride: 2 })).toThrow('AvgPool2d: stride without a kernel_size (no kernel_size is the whole map: global average pooling)');
    expect(() => new (loose(AvgPool2d))(4, 4, 1, false, true, null, 1)).toThrow('AvgPool2d: 7 arguments');
    // A window that does not fit the map: said when planned, as PyTorch's "Output size is too small".
    expect(() => planModel(new Sequential(new MaxPool2d(3, 1, 0, 3)), { inputShape: [1, 6, 6] })).toThrow(/a 3×3 window \(dilation 3×3\) with padding 0×0 does not fit the 6×6 input \[1, 6, 6\] \(output 0×0\)/);
    // Dilation stepping over a small map: a window of padding only (PyTorch indexes past the plane).
    expect(() => planModel(new Sequential(new MaxPool2d({ kernelSize: 2, stride: 1, padding: 1, dilation: 3 })), { inputShape: [1, 2, 2] })).toThrow(
      /a 2×2 window \(dilation 3×3\) with padding 1×1 over the 2×2 input \[1, 2, 2\]: the window at output row 0 holds padding only, no element of the input/,
    );
    expect(() => new AvgPool2d({ kernel_size: 4 } as never)).toThrow("AvgPool2d: unknown option 'kernel_size' (PyTorch's kernel_size is kernelSize here)");
    expect(new AvgPool2d({ kernelSize: 4 }).config()).toEqual(new AvgPool2d(4).config());
    // null is PyTorch's None: the default (it was refused as "2 arguments").
    expect(new (loose(MaxPool2d))(2, null).config()).toEqual(new MaxPool2d(2, 2).config());
  });
  test("loss 'nll' on a model that does not end with LogSoftmax is refused (it trained raw outputs towards +∞)", () => {
    expect(() => planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [4], loss: 'nll' })).toThrow(
      "loss 'nll' takes log-probabilities, but the model ends with Linear, not LogSoftmax: add a LogSoftmax, or use 'cross-entropy'",
    );
    expect(planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax()), { inputShape: [4], loss: 'nll' }).loss).toBe('nll');
  });
  test("the pointwise losses: 'bce' only on probabilities, 'bce-with-logits' not after a sigmoid (it would apply one twice)", () => {
    const net = (...tail: Layer[]) => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), ...tail);
    expect(planModel(net(new Sigmoid()), { inputShape: [4], loss: 'bce' }).loss).toBe('bce');
    expect(planModel(net(), { inputShape: [4], loss: 'bce-with-logits' }).loss).toBe('bce-with-logits');
    expect(() => planModel(net(), { inputShape: [4], loss: 'bce' })).toThrow("loss 'bce' (PyTorch's BCELoss) takes probabilities, but the model ends with Linear: end with a Sigmoid, or use 'bce-with-logits'");
    expect(() => planModel(net(new Sigmoid()), { inputShape: [4], loss: 'bce-with-logits' })).toThrow("loss 'bce-with-logits' applies a sigmoid to the outputs, but the model ends with Sigmoid (probabilities already): drop the Sigmoid, or use 'bce'");
    for (const loss of ['l1', 'smooth-l1', 'huber'] as const) expect(planModel(net(), { inputShape: [4], loss }).loss).toBe(loss);
    // SmoothL1Loss's β (≥ 0) and HuberLoss's δ (> 0), each only with its loss.
    expect([planModel(net(), { inputShape: [4], loss: 'smooth-l1', smoothL1Beta: 0 }).lossBeta, planModel(net(), { inputShape: [4], loss: 'huber', huberDelta: 2.5 }).lossBeta, planModel(net(), { inputShape: [4], loss: 'huber' }).lossBeta]).toEqual([0, 2.5, 1]);
    expect(() => planModel(net(), { inputShape: [4], loss: 'huber', huberDelta: 0 })).toThrow("huberDelta must be a finite number > 0 (HuberLoss's delta), got 0");
    expect(() => planModel(net(), { inputShape: [4], loss: 'smooth-l1', smoothL1Beta: -1 })).toThrow("smoothL1Beta must be a finite number ≥ 0 (SmoothL1Loss's beta), got -1");
    expect(() => planModel(net(), { inputShape: [4], loss: 'mse', huberDelta: 2 })).toThrow("huberDelta applies to the 'huber' loss (HuberLoss's delta); the loss is 'mse'");
    expect(() => planModel(net(), { inputShape: [4], loss: 'BCELoss' as never })).toThrow("loss: expected 'nll', 'cross-entropy', 'mse', 'half-sse', 'l1', 'smooth-l1', 'huber', 'bce-with-logits', 'bce', 'kl-div', got \"BCELoss\"");
  });
  test("PyTorch's positional forms: Conv2d(1, 8, 3, 1, 1), Linear(784, 10), BatchNorm2d(16)", () => {
    expect(new Conv2d(1, 8, 3, 2, 1).config()).toEqual(new Conv2d({ inChannels: 1, outChannels: 8, kernelSize: 3, stride: 2, padding: 1 }).config());
    expect(new Linear(784, 10).config()).toEqual(new Linear({ inFeatures: 784, outFeatures: 10 }).config());
    expect(new BatchNorm2d(16).config()).toEqual(new BatchNorm2d({ numFeatures: 16 }).config());
    expect(() => new BatchNorm2d(0)).toThrow('BatchNorm2d: num_features must be a whole number ≥ 1, got 0');
    // The rest as an options object; anything more is refused (JavaScript would drop it).
    expect(new Linear(784, 10, { bias: false }).bias).toBe(false);
    expect(new BatchNorm2d(16, { momentum: 0.01 }).momentum).toBe(0.01);
    expect(new Conv2d(1, 8, 3, { padding: 1, bias: false }).config()).toEqual(new Conv2d({ inChannels: 1, outChannels: 8, kernelSize: 3, padding: 1, bias: false }).config());
    expect(new Conv2d(1, 8, 3, 2, 1, { bias: false }).config()).toMatchObject({ stride: 2, padding: 1, bias: false });
    expect(() => new Linear(784, 10, { bais: false } as never)).toThrow("Linear: unknown option 'bais'; the options are bias");
    expect(() => new Linear(784, 10, true as never)).toThrow('Linear: 3 arguments; expected (inFeatures, outFeatures) then at most an options object');
    expect(new Conv2d(4, 8, 3, 1, 2, 2, 4, false).config()).toEqual(new Conv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, padding: 2, dilation: 2, groups: 4, bias: false }).config());
    expect(() => new Conv2d(1, 8, 3, 1, 1, 1, 1, true, 'zeros', 1 as never)).toThrow('Conv2d: 10 arguments; expected (inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, paddingMode) then at most an options object');
    expect(() => new (Conv2d as unknown as new (...a: unknown[]) => Conv2d)({ outChannels: 8, kernelSize: 3 }, 1)).toThrow('Conv2d: an options object takes no other arguments');
    // The features are checked against the input, as PyTorch's.
    expect(() => planModel(new Sequential(new Conv2d(1, 8, 3), new BatchNorm2d(16)), { inputShape: [1, 8, 8] })).toThrow(/layer '1' \(BatchNorm2d\)/);
  });
  test("Conv2d's geometry as PyTorch's: groups, dilation, (h, w) stride and padding, 'same' and 'valid', checked as PyTorch checks them", () => {
    // Which kernels run it: the tiled ones for groups 1, dilation 1, one stride and padding.
    expect(new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1, stride: 2 }).tiled).toBe(true);
    expect(new Conv2d({ outChannels: 8, kernelSize: 3, padding: 'same' }).tiled).toBe(true); // 1 zero each side
    expect(new Conv2d({ outChannels: 8, kernelSize: 3, padding: 'valid' }).tiled).toBe(true);
    for (const o of [{ groups: 2 }, { dilation: 2 }, { stride: [1, 2] as const }, { padding: [1, 0] as const }, { kernelSize: 4, padding: 'same' as const }, { kernelSize: 13 }]) {
      expect(new Conv2d({ outChannels: 8, kernelSize: 3, ...o }).tiled, JSON.stringify(o)).toBe(false);
    }
    // 'same': dilation·(kernel − 1) zeros, the odd one at the bottom and right.
    expect(new Conv2d({ outChannels: 2, kernelSize: [4, 3], dilation: [1, 2], padding: 'same' }).pads).toEqual({ top: 1, bottom: 2, left: 2, right: 2 });
    expect(planModel(new Sequential(new Conv2d({ outChannels: 2, kernelSize: [4, 2], padding: 'same' }), new Flatten()), { inputShape: [1, 5, 7] }).nodes[0]!.outShape).toEqual([2, 5, 7]);
    // The weight is [out, in / groups, kH, kW]; the output size counts the dilation.
    const grouped = planModel(new Sequential(new Conv2d({ outChannels: 12, kernelSize: 3, groups: 3, dilation: [2, 1], stride: [1, 2] }), new Flatten()), { inputShape: [6, 9, 9] }).nodes[0]!;
    expect(grouped.parameters.map((p) => p.shape)).toEqual([[12, 2, 3, 3], [12]]);
    expect(grouped.outShape).toEqual([12, 5, 4]);
    expect(new Conv2d({ inChannels: 6, outChannels: 12, kernelSize: [3, 1], stride: [1, 2], padding: [0, 1], dilation: 2, groups: 3 }).config()).toEqual({ in_channels: 6, out_channels: 12, kernel_size: [3, 1], stride: [1, 2], padding: [0, 1], dilation: 2, groups: 3, bias: true });
    expect(new Conv2d({ outChannels: 2, kernelSize: 3, padding: 'same' }).config()).toMatchObject({ padding: 'same' });
    // Refused as PyTorch refuses, naming the field.
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, groups: 4 })).toThrow('Conv2d: out_channels must be divisible by groups (as PyTorch), got 6 and 4');
    expect(() => new Conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, groups: 2 })).toThrow('Conv2d: in_channels must be divisible by groups (as PyTorch), got 3 and 2');
    expect(() => planModel(new Sequential(new Conv2d({ outChannels: 6, kernelSize: 3, groups: 2 }), new Flatten()), { inputShape: [3, 8, 8] })).toThrow("layer '0' (Conv2d): in_channels must be divisible by groups (as PyTorch): the input has 3 channels, groups is 2");
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, groups: 0 })).toThrow('Conv2d: groups must be a whole number ≥ 1, got 0');
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, dilation: 0 })).toThrow('Conv2d: dilation must be a whole number ≥ 1, got 0');
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, padding: 'same', stride: 2 })).toThrow("Conv2d: padding 'same' takes stride 1 (as PyTorch), got stride 2");
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, padding: 'same', stride: [2, 1] })).toThrow("Conv2d: padding 'same' takes stride 1 (as PyTorch), got stride (2, 1)");
    expect(() => planModel(new Sequential(new Conv2d({ outChannels: 2, kernelSize: [5, 3], padding: [1, 0], dilation: [1, 2] }), new Flatten()), { inputShape: [1, 6, 4] })).toThrow("layer '0' (Conv2d): a 5×3 kernel (dilation (1, 2): a span of 5×5) with padding (1, 0) does not fit a 6×4 input");
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, padding: 'full' as never })).toThrow(`Conv2d: padding must be a number, (height, width), 'same' or 'valid', got "full"`);
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, paddingMode: 'mirror' as never })).toThrow(`Conv2d: padding_mode must be one of PyTorch's ('zeros', 'reflect', 'replicate', 'circular'), got "mirror"`);
    // A reflection needs more input than padding: named at the conv's padding node, before the GPU starts.
    expect(() => planModel(new Sequential({ conv: new Conv2d({ outChannels: 2, kernelSize: 3, padding: 3, paddingMode: 'reflect' }), flat: new Flatten() }), { inputShape: [1, 3, 8] })).toThrow(
      "layer 'conv:pad' (ReflectionPad2d): the conv's padding_mode 'reflect': reflect padding of 3 needs a height of more than 3 (a mirror image reads 3 elements past the edge); the input is [1, 3, 8]",
    );
    expect(() => planModel(new Sequential(new Conv2d({ outChannels: 2, kernelSize: 3, dilation: 3 }), new Flatten()), { inputShape: [1, 6, 6] })).toThrow("layer '0' (Conv2d): a 3×3 kernel (dilation 3: a span of 7×7) with padding 0 does not fit a 6×6 input");
  });
  test("ConvTranspose2d as PyTorch's: positional order, output size, weight [in, out / groups, kH, kW] and its init bound, checked as PyTorch checks them; a model file names it", () => {
    // PyTorch's order: (in, out, kernel, stride, padding, output_padding, groups, bias, dilation).
    const positional = new ConvTranspose2d(4, 6, 3, 2, 1, 1, 2, false, 1);
    expect([positional.stride, positional.padding, positional.outputPadding, positional.groups, positional.bias]).toEqual([[2, 2], [1, 1], [1, 1], 2, false]);
    // H' = (H − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1.
    expect(positional.outputShape([4, 5, 7])).toEqual([6, 10, 14]);
    expect(new ConvTranspose2d({ outChannels: 3, kernelSize: [2, 3], stride: [2, 1], dilation: [1, 2], outputPadding: [1, 1] }).outputShape([2, 4, 4])).toEqual([3, 9, 9]);
    const [weight, bias] = new ConvTranspose2d({ outChannels: 6, kernelSize: 3, groups: 3 }).parameterSpecs([9, 4, 4]);
    // PyTorch's fan_in for its kaiming_uniform_(a=√5): weight.size(1)·kH·kW = (6 / 3)·9.
    expect(weight).toEqual({ name: 'weight', shape: [9, 2, 3, 3], init: { uniform: 1 / Math.sqrt(18) } });
    expect(bias).toEqual({ name: 'bias', shape: [6], init: { uniform: 1 / Math.sqrt(18) } });
    expect(new ConvTranspose2d({ outChannels: 4, kernelSize: 2, stride: 2 }).config()).toEqual({ in_channels: undefined, out_channels: 4, kernel_size: [2, 2], stride: 2, padding: 0, bias: true });
    expect(() => new ConvTranspose2d({ outChannels: 4, kernelSize: 3, stride: 2, outputPadding: 2 })).toThrow('ConvTranspose2d: output_padding must be smaller than either stride or dilation (as PyTorch), got output_padding 2, stride 2, dilation 1');
    expect(() => new ConvTranspose2d({ outChannels: 4, kernelSize: 3, padding: 'same' as never })).toThrow("ConvTranspose2d: padding must be a number or (height, width) (PyTorch's ConvTranspose2d takes no 'same' or 'valid'), got \"same\"");
    expect(() => new ConvTranspose2d({ outChannels: 4, kernelSize: 3, paddingMode: 'reflect' as never })).toThrow("ConvTranspose2d: padding_mode must be 'zeros' (PyTorch's ConvTranspose2d supports no other), got \"reflect\"");
    expect(() => new ConvTranspose2d({ outChannels: 5, kernelSize: 3, groups: 2 })).toThrow('ConvTranspose2d: out_channels must be divisible by groups (as PyTorch), got 5 and 2');
    expect(() => planModel(new Sequential(new ConvTranspose2d({ outChannels: 2, kernelSize: 3, padding: 2 }), new Flatten()), { inputShape: [1, 1, 4] })).toThrow("layer '0' (ConvTranspose2d): padding 2 leaves no output of a 1×4 input (-1×2; input [1, 1, 4])");
    expect(() => planModel(new Sequential(new ConvTranspose2d({ inChannels: 3, outChannels: 2, kernelSize: 3 }), new Flatten()), { inputShape: [1, 4, 4] })).toThrow("layer '0' (ConvTranspose2d): in_channels is 3 but the input has 1 channels");
    const text = JSON.stringify({ input: [4, 5, 5], layers: [{ type: 'ConvTranspose2d', out_channels: 6, kernel_size: [3, 2], stride: [2, 1], padding: 1, output_padding: [1, 0], groups: 2, bias: false, dilation: 1 }, { type: 'Flatten', start_dim: 1 }] });
    const file = parseModelFile(text, 'up.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers[0]).toEqual({ type: 'ConvTranspose2d', out_channels: 6, kernel_size: [3, 2], stride: [2, 1], padding: 1, output_padding: [1, 0], groups: 2, bias: false });
    // Training FLOP: each input element times its weight row, of the conv it transposes.
    expect(trainingFlops(planModel(file.model, { inputShape: file.input, loss: 'mse' })).forward).toBe(2 * 4 * 5 * 5 * 3 * 3 * 2);
  });
  test("the 1-D layers as PyTorch's: positional orders, 1-D shapes and weights, refusals naming the 1-D layer; model files", () => {
    const conv = new Conv1d(4, 8, 3, 2, 1);
    expect([conv.outputShape([4, 11]), conv.parameterSpecs([4, 11]).map((p) => p.shape)]).toEqual([[8, 6], [[8, 4, 3], [8]]]);
    expect(new Conv1d({ outChannels: 2, kernelSize: [4], padding: 'same' }).outputShape([3, 9])).toEqual([2, 9]);
    const up = new ConvTranspose1d(6, 4, 3, 2, 1, 1);
    expect([up.outputShape([6, 5]), up.parameterSpecs([6, 5]).map((p) => p.shape)]).toEqual([[4, 10], [[6, 4, 3], [4]]]);
    // Unpadded (dilation 1, groups 1), its stride (s, s) on the [C, 1, L] view: the tiled kernels; padded, (1, s) on the direct ones.
    const tiledUp = new ConvTranspose1d({ outChannels: 4, kernelSize: 3, stride: 2, outputPadding: 1 });
    expect([tiledUp.inner.stride, tiledUp.inner.tiled, tiledUp.outputShape([6, 5]), tiledUp.config().stride, up.inner.stride, up.inner.tiled]).toEqual([[2, 2], true, [4, 12], 2, [1, 2], false]);
    expect(new MaxPool1d(3, 2, 1).outputShape([5, 10])).toEqual([5, 5]);
    expect(new AvgPool1d({ kernelSize: 4, ceilMode: true }).outputShape([2, 10])).toEqual([2, 3]);
    expect([new AdaptiveAvgPool1d(4).outputShape([3, 10]), new AdaptiveMaxPool1d([2]).outputShape([3, 10])]).toEqual([[3, 4], [3, 2]]);
    expect(() => new Conv1d(4, 8, [3, 3] as never)).toThrow('Conv1d: kernel_size must be a number (or a 1-tuple), got [3,3]');
    expect(() => new Conv1d({ outChannels: 5, kernelSize: 3, groups: 2 })).toThrow('Conv1d: out_channels must be divisible by groups (as PyTorch), got 5 and 2');
    expect(() => new Conv1d({ outChannels: 5, kernelSize: 3, paddingMode: 'mirror' as never })).toThrow(`Conv1d: padding_mode must be one of PyTorch's ('zeros', 'reflect', 'replicate', 'circular'), got "mirror"`);
    // Its padding a node of its own where that runs the conv tiled (stride 1) or the mode is not 'zeros'; the output PyTorch's either way.
    const padded = new Conv1d({ outChannels: 2, kernelSize: 4, padding: 'same', paddingMode: 'reflect' });
    expect([padded.paddingLayer?.type, padded.paddingLayer?.padding, padded.pads, padded.inner.tiled, padded.outputShape([3, 9])]).toEqual(['ReflectionPad1d', [1, 2], [1, 2], true, [2, 9]]);
    // A strided one too, its stride (s, s) on the [C, 1, L] view (the tiled kernels' one stride); a dilated one pads itself on the direct kernels.
    const strided = new Conv1d({ outChannels: 2, kernelSize: 3, padding: 1, stride: 2 });
    expect([strided.paddingLayer?.padding, strided.inner.stride, strided.inner.tiled, strided.outputShape([3, 9]), strided.config()]).toEqual([[1, 1], [2, 2], true, [2, 5], { in_channels: undefined, out_channels: 2, kernel_size: 3, stride: 2, padding: 1, bias: true }]);
    const dilated = new Conv1d({ outChannels: 2, kernelSize: 3, padding: 1, stride: 2, dilation: 2 });
    expect([dilated.paddingLayer, dilated.inner.stride, dilated.inner.tiled, dilated.outputShape([3, 9])]).toEqual([undefined, [1, 2], false, [2, 4]]);
    expect(new Conv1d({ outChannels: 2, kernelSize: 3, padding: 1, paddingMode: 'circular' }).config()).toMatchObject({ padding: 1, padding_mode: 'circular' });
    const pads = planModel(new Sequential({ conv: new Conv1d({ outChannels: 2, kernelSize: 3, padding: 2 }), flat: new Flatten(), fc: new Linear({ outFeatures: 2 }) }), { inputShape: [1, 9] });
    expect(pads.nodes.map((n) => `${n.path} ${n.layer.type} [${n.inShape}] → [${n.outShape}]`)).toEqual(['conv:pad ConstantPad1d [1,9] → [1,13]', 'conv [1,13] → [2,11]'.replace('conv ', 'conv Conv1d '), 'flat Flatten [2,11] → [22]', 'fc Linear [22] → [2]']);
    expect(summaryRows(pads).map((r) => r.layer)).toEqual(['Conv1d', 'Flatten', 'Linear']);
    // The 1-D padding layers: PyTorch's (left, right).
    expect([new ReflectionPad1d([2, 1]).outputShape([3, 5]), new ConstantPad1d(2, -1).config(), new ZeroPad1d([1, -2]).outputShape([1, 4]), new CircularPad1d(1).type]).toEqual([[3, 8], { padding: 2, value: -1 }, [1, 3], 'CircularPad1d']);
    expect(() => new ReplicationPad1d([1, 2, 3] as never)).toThrow("ReplicationPad1d: padding must be a whole number or two, (left, right) as PyTorch's, got [1,2,3]");
    expect(() => new ReflectionPad1d(3).outputShape([2, 3])).toThrow('reflect padding of 3 needs a width of more than 3');
    expect(() => new MaxPool1d(2, 2, 2)).toThrow('MaxPool1d: padding 2 is more than half of kernel_size 2');
    expect(() => new Conv1d(4, 8, 3).outputShape([4, 5, 5])).toThrow('expects an input of shape [C, L], got [4, 5, 5]');
    expect([new Dropout1d(0.2).channelWise, new Dropout1d(0.2).outputShape([3, 7])]).toEqual([true, [3, 7]]);
    // Messages in 1-D words, of the [C, L] input (not the inner [C, 1, L] view).
    expect(() => new Conv1d(3, 4, 3).outputShape([2, 9])).toThrow('in_channels is 3 but the input has 2 channels (input [2, 9])');
    expect(() => new Conv1d(2, 4, 10).outputShape([2, 9])).toThrow('a kernel of 10 with padding 0 does not fit a length-9 input (input [2, 9])');
    expect(() => new MaxPool1d(12).outputShape([2, 9])).toThrow('a window of 12 with padding 0 does not fit a length-9 input (input [2, 9])');
    expect(() => new ConvTranspose1d({ outChannels: 2, kernelSize: 3, stride: 2, outputPadding: 2 })).toThrow('ConvTranspose1d: output_padding must be smaller than either stride or dilation (as PyTorch), got output_padding 2, stride 2, dilation 1');
    expect(() => new Conv1d({ outChannels: 2, kernelSize: 3, stride: 2, padding: 'same' })).toThrow("Conv1d: padding 'same' takes stride 1 (as PyTorch), got stride 2");
    expect(() => new ConvTranspose1d({ outChannels: 2, kernelSize: 3, padding: 4 }).outputShape([1, 3])).toThrow('padding 4 leaves no output of a length-3 input (-3; input [1, 3])');
    // 'same' and the padding it is are one network, as Conv2d's.
    const conv1dFile = (padding: unknown) => JSON.stringify({ input: [2, 9], layers: [{ type: 'Conv1d', out_channels: 2, kernel_size: 3, padding }, { type: 'Flatten' }, { type: 'Linear', out_features: 2 }] });
    expect(sameNetwork(conv1dFile('same'), 'same', parseModelFile(conv1dFile(1), 'one.json').model, [2, 9])).toBe(true);
    expect(sameNetwork(conv1dFile('same'), 'same', parseModelFile(conv1dFile(0), 'zero.json').model, [2, 9])).toBe(false);
    expect(new ChannelShuffle(2).outputShape([4, 7])).toEqual([4, 7]);
    expect(() => new Dropout1d().outputShape([3, 4, 4])).toThrow('expects an input of shape [C, L] (channels to drop whole), got [3, 4, 4]');
    const layers = [
      { type: 'Conv1d', out_channels: 4, kernel_size: 3, stride: 1, padding: 'same', bias: false }, { type: 'MaxPool1d', kernel_size: 2, stride: 2, padding: 0, dilation: 1, ceil_mode: false },
      { type: 'ConvTranspose1d', out_channels: 2, kernel_size: 2, stride: 2, padding: 0, bias: true }, { type: 'AvgPool1d', kernel_size: 3, stride: 1, padding: 1, ceil_mode: false, count_include_pad: false },
      { type: 'AdaptiveMaxPool1d', output_size: 3 }, { type: 'AdaptiveAvgPool1d', output_size: 2 }, { type: 'Flatten', start_dim: 1 }, { type: 'Linear', out_features: 2, bias: true },
    ];
    const padLayers = [{ type: 'ZeroPad1d', padding: 1 }, { type: 'ConstantPad1d', padding: [2, 0], value: 0.5 }, { type: 'ReflectionPad1d', padding: [1, 2] }, { type: 'ReplicationPad1d', padding: 1 }, { type: 'CircularPad1d', padding: [0, 3] }, { type: 'Conv1d', out_channels: 2, kernel_size: 3, stride: 1, padding: 1, bias: true, padding_mode: 'reflect' }, { type: 'Flatten', start_dim: 1 }];
    const padFile = parseModelFile(JSON.stringify({ input: [3, 12], layers: padLayers }), 'pads1d.json');
    expect(JSON.parse(modelFileText(padFile.model, padFile.input)).layers).toEqual(padLayers);
    expect(() => parseModelFile(JSON.stringify({ input: [3, 12], layers: [{ type: 'ReflectionPad1d', padding: [1, 2, 3, 4] }] }), 'bad.json')).toThrow(`bad.json: layer '0' (ReflectionPad1d): "padding" must be a number or [left, right], got [1,2,3,4]`);
    const file = parseModelFile(JSON.stringify({ input: [3, 12], layers }), 'seq.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers).toEqual(layers);
    expect(planModel(file.model, { inputShape: file.input }).nodes.map((n) => n.outShape.join('×'))).toEqual(['3×14', '4×12', '4×6', '2×12', '2×12', '2×3', '2×2', '4', '2']);
    expect(() => parseModelFile(JSON.stringify({ input: [3, 12], layers: [{ type: 'Conv1d', out_channels: 4, kernel_size: [3, 3] }] }), 'bad.json')).toThrow(`bad.json: layer '0' (Conv1d): "kernel_size" must be a number, got [3,3]`);
    expect(parseModelFile(JSON.stringify({ input: [3, 12], layers: [{ type: 'Conv1d', out_channels: 4, kernel_size: [3] }] }), 'tuple.json').model).toBeDefined();
  });
  test("Unflatten as PyTorch's: dim counting the batch's, negative from the end, one size inferred; a view; a model file names it", () => {
    expect(new Unflatten(1, [4, 2, 2]).outputShape([16])).toEqual([4, 2, 2]);
    expect(new Unflatten(-1, [3, -1]).outputShape([2, 12])).toEqual([2, 3, 4]);
    expect(new Unflatten({ dim: 2, unflattenedSize: [2, 3] }).outputShape([5, 6, 7])).toEqual([5, 2, 3, 7]);
    expect(new Unflatten(1, [4, 4]).view).toBe(true);
    expect(() => new Unflatten(0, [2, 2])).toThrow("Unflatten: dim must be a whole number other than 0 (the batch's dimension), got 0");
    expect(() => new Unflatten(1, [-1, -1])).toThrow('Unflatten: unflattened_size must be a list of whole numbers ≥ 1 (one of them may be -1, inferred), got [-1,-1]');
    expect(() => planModel(new Sequential(new Flatten(), new Unflatten(1, [3, 5]), new Flatten(), new Linear({ outFeatures: 2 })), { inputShape: [1, 4, 4] })).toThrow(
      "layer '1' (Unflatten): unflattened_size [3, 5] does not split dimension 1 of size 16 (input [16]: the sizes' product must be 16)",
    );
    expect(() => new Unflatten(3, [2, 2]).outputShape([4])).toThrow("dim 3 is not a dimension of a sample [4] (the batch's dimension is 0)");
    const text = JSON.stringify({ input: [16], layers: [{ type: 'Unflatten', dim: 1, unflattened_size: [1, 4, 4] }, { type: 'Flatten', start_dim: 1 }, { type: 'Linear', out_features: 2, bias: true }] });
    const file = parseModelFile(text, 'u.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers).toEqual(JSON.parse(text).layers);
  });
  test("GroupNorm and LayerNorm as PyTorch's: positional forms, parameters, shapes checked as PyTorch checks them", () => {
    expect(new GroupNorm(4, 16).config()).toEqual({ num_groups: 4, num_channels: 16, eps: 1e-5 });
    expect(new GroupNorm(4, 16, 1e-3, false).config()).toEqual({ num_groups: 4, num_channels: 16, eps: 1e-3, affine: false });
    expect(new LayerNorm([6, 5]).config()).toEqual({ normalized_shape: [6, 5], eps: 1e-5 });
    expect(new LayerNorm(8, 1e-6, true, false).config()).toEqual({ normalized_shape: 8, eps: 1e-6, bias: false });
    const plan = planModel(new Sequential(new GroupNorm(2, 4), new LayerNorm([4, 3, 5], { bias: false }), new LayerNorm(5, { elementwiseAffine: false }), new Flatten()), { inputShape: [4, 3, 5] });
    expect(plan.nodes.map((n) => n.parameters.map((p) => `${p.name} [${p.shape.join(', ')}]`))).toEqual([['0.weight [4]', '0.bias [4]'], ['1.weight [4, 3, 5]'], [], []]);
    expect(plan.nodes.map((n) => n.outShape)).toEqual([[4, 3, 5], [4, 3, 5], [4, 3, 5], [60]]);
    expect(() => new GroupNorm(3, 16)).toThrow('GroupNorm: num_channels must be divisible by num_groups (as PyTorch), got 16 and 3');
    expect(() => new GroupNorm(0, 16)).toThrow('GroupNorm: num_groups must be a whole number ≥ 1, got 0');
    expect(() => new GroupNorm({ numGroups: 2, eps: 0 })).toThrow('GroupNorm: eps must be a number ≥ 1.2e-38 (float32 keeps no smaller one: a constant segment would give NaN), got 0');
    expect(() => new LayerNorm(4, 1e-50)).toThrow('LayerNorm: eps must be a number ≥ 1.2e-38');
    expect(() => planModel(new Sequential(new GroupNorm(4), new Flatten()), { inputShape: [6, 2, 2] })).toThrow("layer '0' (GroupNorm): the input's 6 channels do not split into num_groups 4");
    expect(() => planModel(new Sequential(new GroupNorm(2, 8), new Flatten()), { inputShape: [6, 2, 2] })).toThrow("layer '0' (GroupNorm): num_channels is 8 but the input has 6 channels");
    expect(() => planModel(new Sequential(new LayerNorm([3, 4]), new Flatten()), { inputShape: [2, 4, 3] })).toThrow("layer '0' (LayerNorm): normalized_shape [3, 4] must be the input's last 2 dimensions, got a sample of [2, 4, 3]");
    expect(() => new LayerNorm([])).toThrow('LayerNorm: normalized_shape must be a number or a non-empty shape, got []');
    expect(() => new LayerNorm({ normalizedShape: 4, elementwise_affine: false } as never)).toThrow("LayerNorm: unknown option 'elementwise_affine' (PyTorch's elementwise_affine is elementwiseAffine here)");
    // InstanceNorm: a group a channel, affine off by default (as PyTorch), running statistics refused.
    expect(new InstanceNorm2d(8).config()).toEqual({ num_features: 8, eps: 1e-5 });
    expect(new InstanceNorm1d(8, 1e-3, 0.1, true).config()).toEqual({ num_features: 8, eps: 1e-3, affine: true });
    const inst = planModel(new Sequential(new InstanceNorm2d({ affine: true }), new InstanceNorm2d(), new Flatten()), { inputShape: [3, 4, 4] });
    expect(inst.nodes.map((n) => n.parameters.map((p) => `${p.name} [${p.shape.join(', ')}]`))).toEqual([['0.weight [3]', '0.bias [3]'], [], []]);
    expect(() => new InstanceNorm2d(8, 1e-5, 0.1, false, true)).toThrow('InstanceNorm2d: track_running_stats=True (running statistics for eval) is not supported');
    expect(() => planModel(new Sequential(new InstanceNorm2d(), new Flatten()), { inputShape: [3, 4] })).toThrow("layer '0' (InstanceNorm2d): expects an input of shape [C, H, W], got [3, 4]");
    expect(() => planModel(new Sequential(new InstanceNorm1d(4), new Flatten()), { inputShape: [3, 4] })).toThrow("layer '0' (InstanceNorm1d): num_features is 4 but the input has 3 channels");
    expect(() => planModel(new Sequential(new Conv2d({ outChannels: 4, kernelSize: 5 }), new InstanceNorm2d(), new Flatten()), { inputShape: [1, 5, 5] })).toThrow(`layer '1' (InstanceNorm2d): each channel has 1 element (input [4, 1, 1]), as PyTorch refuses ("Expected more than 1 spatial element when training")`);
  });
  test("a Sequential object mixing integer-like and other names is refused (JavaScript runs '1' first whatever the order written)", () => {
    expect(() => new Sequential({ fc: new Linear(12, 4), 1: new ReLU() })).toThrow(
      "Sequential: children named '1' and 'fc' in one object: JavaScript puts integer-like names first, so they would run in another order than written; give them in order with Sequential.fromEntries([['fc', …], ['1', …]]) (an OrderedDict)",
    );
    // In order with fromEntries; all-named and all-indexed objects are fine.
    expect(Sequential.fromEntries([['fc', new Linear(12, 4)], ['1', new ReLU()]]).children.map(([name]) => name)).toEqual(['fc', '1']);
    expect(new Sequential({ fc: new Linear(12, 4), act: new ReLU() }).children.map(([name]) => name)).toEqual(['fc', 'act']);
    expect(new Sequential({ 0: new Linear(12, 4), 1: new ReLU() }).children.map(([name]) => name)).toEqual(['0', '1']);
    // Not integer-like: a leading zero, a name past 2³² − 2, stay in the order written.
    expect(new Sequential({ fc: new Linear(12, 4), '01': new ReLU() }).children.map(([name]) => name)).toEqual(['fc', '01']);
  });
  test("LeakyReLU and SiLU take PyTorch's arguments; a model file names them as PyTorch", () => {
    expect(new LeakyReLU().negativeSlope).toBe(0.01);
    expect(new LeakyReLU(0.2, true).negativeSlope).toBe(0.2);
    expect(new LeakyReLU({ negativeSlope: -0.5 }).config()).toEqual({ negative_slope: -0.5 });
    expect(() => new LeakyReLU('0.2' as never)).toThrow('LeakyReLU: negative_slope must be a finite number, got "0.2"');
    expect(() => new LeakyReLU({ negative_slope: 0.2 } as never)).toThrow("LeakyReLU: unknown option 'negative_slope' (PyTorch's negative_slope is negativeSlope here)");
    expect(() => new SiLU('yes' as never)).toThrow('SiLU: inplace must be true or false, got "yes"');
    const text = JSON.stringify({ input: [4], layers: [{ type: 'Linear', out_features: 3 }, { type: 'LeakyReLU', negative_slope: 0.3 }, { type: 'SiLU' }, { type: 'Linear', out_features: 2 }] });
    const file = parseModelFile(text, 'act.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers.slice(1, 3)).toEqual([{ type: 'LeakyReLU', negative_slope: 0.3 }, { type: 'SiLU' }]);
  });
  test("CELU, LogSigmoid, Softsign, Softshrink, Hardshrink and Threshold take PyTorch's arguments and defaults; a model file names them as PyTorch", () => {
    expect([new CELU().alpha, new CELU(0.5, true).alpha, new CELU({ alpha: 2 }).args]).toEqual([1, 0.5, [2, 0]]);
    expect(() => new CELU(0)).toThrow('CELU: alpha must be a finite number other than 0, got 0');
    expect([new Softshrink().lambd, new Softshrink(0.2).lambd, new Hardshrink({ lambd: 1 }).lambd, new Hardshrink(-1).lambd]).toEqual([0.5, 0.2, 1, -1]);
    expect(() => new (Softshrink as unknown as new (...a: unknown[]) => object)(0.5, 1)).toThrow('Softshrink: 2 arguments; expected (lambd) then at most an options object');
    expect(() => new Softshrink(-0.1)).toThrow('Softshrink: lambd must be a finite number ≥ 0 (PyTorch: lambda must be greater or equal to 0), got -0.1');
    expect(new Threshold(0.1, 20).args).toEqual([0.1, 20]);
    expect(new Threshold({ threshold: -Infinity, value: 0, inplace: true }).config()).toEqual({ threshold: '-inf', value: 0, inplace: true });
    expect(() => new Threshold(0.1 as never)).toThrow("Threshold: threshold and value are required (PyTorch's Threshold(threshold, value))");
    const layers = [
      { type: 'CELU', alpha: 0.5 }, { type: 'LogSigmoid' }, { type: 'Softsign' }, { type: 'Softshrink', lambd: 0.25 }, { type: 'Hardshrink', lambd: 1.5 },
      { type: 'Threshold', threshold: 0.5, value: -1 }, { type: 'Linear', out_features: 2, bias: true },
    ];
    const file = parseModelFile(JSON.stringify({ input: [4], layers }), 'acts.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers).toEqual(layers);
  });
  test("GELU, ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh and ReLU6 take PyTorch's arguments and defaults; a model file names them as PyTorch", () => {
    expect(new GELU().approximate).toBe('none');
    expect(new GELU('tanh').approximate).toBe('tanh');
    expect(new GELU({ approximate: 'tanh' }).variant).toBe('GELU_TANH');
    expect(() => new GELU('erf' as never)).toThrow("GELU: approximate must be 'none' or 'tanh', got \"erf\"");
    expect(new ELU().alpha).toBe(1);
    expect(new ELU(0.3, true).alpha).toBe(0.3);
    expect(() => new ELU(NaN)).toThrow('ELU: alpha must be a finite number, got NaN');
    expect([new Softplus().beta, new Softplus().threshold]).toEqual([1, 20]);
    expect([new Softplus(2, 5).beta, new Softplus({ threshold: 3 }).threshold]).toEqual([2, 3]);
    expect(() => new Softplus(0)).toThrow('Softplus: beta must be a finite number other than 0, got 0');
    // As PyTorch: a negative beta is computed, an infinite threshold or bound taken; a value past float32 refused.
    expect(new Softplus(-1, Infinity).args).toEqual([-1, Infinity]);
    expect(new Hardtanh(-Infinity, 2).args).toEqual([-Infinity, 2]);
    // ±∞ in a model file: "inf" and "-inf" (JSON has no number for them), read back as ±∞.
    const infinite = modelFileText(new Sequential(new Linear(4, 3), new Softplus(2, Infinity), new Hardtanh(-Infinity, 1)), [4]);
    expect(JSON.parse(infinite).layers.slice(1)).toEqual([{ type: 'Softplus', beta: 2, threshold: 'inf' }, { type: 'Hardtanh', min_val: '-inf', max_val: 1 }]);
    const read = parseModelFile(infinite, 'inf.json');
    expect(modelFileText(read.model, read.input)).toBe(infinite);
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'Softplus', threshold: 'infinity' }] }), 'bad.json')).toThrow(/"threshold" must be a number, "inf" or "-inf", got "infinity"/);
    expect(() => new ELU(1e39)).toThrow("ELU: alpha must be a finite number, got 1e+39 (past float32's range: it would be ±∞)");
    expect(() => new Hardtanh(NaN, 1)).toThrow('Hardtanh: min_val must be a number, got NaN');
    expect([new Hardtanh().minVal, new Hardtanh().maxVal]).toEqual([-1, 1]);
    // inplace kept for the model file (a layer reading a residual block's input refuses it: test/plan/residual.test.ts).
    expect(new Hardtanh(-2, 2, true).config()).toEqual({ min_val: -2, max_val: 2, inplace: true });
    expect(new Hardtanh(-2, 2).config()).toEqual({ min_val: -2, max_val: 2 });
    expect(() => new Hardtanh(1, 1)).toThrow('Hardtanh: max_val must be greater than min_val, got min_val 1, max_val 1');
    expect(new ReLU6().args).toEqual([0, 6]);
    expect(() => new ReLU6(0 as never)).toThrow('ReLU6: inplace must be true or false, got 0');
    expect(() => new (Mish as unknown as new (...a: unknown[]) => Mish)(true, true)).toThrow(/Mish: 2 arguments/);
    expect(() => new SELU({ alpha: 1 } as never)).toThrow(/SELU: unknown option 'alpha'/);
    const layers = [
      { type: 'Linear', out_features: 3 }, { type: 'GELU', approximate: 'tanh' }, { type: 'GELU' }, { type: 'ELU', alpha: 0.5 }, { type: 'SELU' },
      { type: 'Softplus', beta: 2, threshold: 10 }, { type: 'Mish' }, { type: 'Hardswish' }, { type: 'Hardsigmoid' }, { type: 'Hardtanh', min_val: -0.5, max_val: 0.5 }, { type: 'ReLU6' },
      { type: 'Linear', out_features: 2 },
    ];
    const file = parseModelFile(JSON.stringify({ input: [4], layers }), 'act.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers).toEqual(layers.map((l) => (l.type === 'Linear' ? { ...l, bias: true } : l)));
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'Softplus', beta: 0 }] }), 'bad.json')).toThrow(/bad\.json: layer '0' \(Softplus\).*beta must be a finite number other than 0, got 0/);
  });
  test("AdaptiveAvgPool2d and AdaptiveMaxPool2d take PyTorch's output_size (a number, a pair, None for a side); a model file names them as PyTorch", () => {
    expect(new AdaptiveAvgPool2d(1).outputShape([4, 7, 9])).toEqual([4, 1, 1]);
    expect(new AdaptiveAvgPool2d([3, null]).outputShape([4, 7, 9])).toEqual([4, 3, 9]);
    expect(new AdaptiveMaxPool2d({ outputSize: [10, 2] }).outputShape([4, 7, 9])).toEqual([4, 10, 2]);
    expect(new AdaptiveAvgPool2d(1).global([4, 7, 9])).toBe(true);
    expect(new AdaptiveAvgPool2d([null, null]).global([4, 1, 1])).toBe(true);
    expect(() => new AdaptiveAvgPool2d()).toThrow('AdaptiveAvgPool2d: output_size is required (as PyTorch\'s), e.g. AdaptiveAvgPool2d(1) or AdaptiveAvgPool2d([7, 7])');
    expect(() => new AdaptiveAvgPool2d(0)).toThrow('AdaptiveAvgPool2d: output_size must be a whole number ≥ 1, got 0');
    expect(() => new AdaptiveMaxPool2d([2, 2, 2] as never)).toThrow('AdaptiveMaxPool2d: output_size must be a number or two (height, width), got [2,2,2]');
    expect(() => new AdaptiveMaxPool2d(2, true)).toThrow(/return_indices true is not supported/);
    // Both sides None: written as [null, null] (a bare null would not read back).
    const both = parseModelFile(modelFileText(new Sequential(new AdaptiveAvgPool2d([null, null]), new Flatten(), new Linear(4, 2)), [1, 2, 2]), 'both.json');
    expect(JSON.parse(modelFileText(both.model, both.input)).layers[0]).toEqual({ type: 'AdaptiveAvgPool2d', output_size: [null, null] });
    // The kernels' 32-bit window arithmetic: refused where (output + 1) × input passes 2³².
    expect(() => new AdaptiveAvgPool2d([70001, 1]).outputShape([1, 100000, 1])).toThrow(/an output of 70001×1 from the 100000×1 input.*passes 2³²/);
    expect(new AdaptiveAvgPool2d([2000, 1]).outputShape([1, 3000, 1])).toEqual([1, 2000, 1]);
    expect(() => planModel(new Sequential(new Flatten(), new AdaptiveAvgPool2d(1)), { inputShape: [1, 4, 4] })).toThrow(/AdaptiveAvgPool2d.*expects an input of shape \[C, H, W\], got \[16\]/);
    const layers = [{ type: 'AdaptiveMaxPool2d', output_size: [5, null] }, { type: 'AdaptiveAvgPool2d', output_size: 1 }, { type: 'Flatten', start_dim: 1 }];
    const file = parseModelFile(JSON.stringify({ input: [2, 8, 8], layers }), 'adaptive.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers).toEqual(layers);
    expect(() => parseModelFile(JSON.stringify({ input: [2, 8, 8], layers: [{ type: 'AdaptiveAvgPool2d', output_size: '1' }] }), 'bad.json')).toThrow(/bad\.json: layer '0' \(AdaptiveAvgPool2d\): "output_size" must be a number or \[height, width\] \(null: the input's\), got "1"/);
  });
  test('Identity is a view (no kernel, no buffer of its own); Softmax refuses the losses that would misread probabilities', () => {
    const plan = planModel(new Sequential(new Identity(), new Flatten(), new Linear(9, 4), new Identity(7 as never), new Softmax()), { inputShape: [1, 3, 3], loss: 'mse' });
    expect(plan.nodes.filter((n) => n.layer.view).map((n) => n.layer.type)).toEqual(['Identity', 'Flatten', 'Identity']);
    const softmax = () => new Sequential(new Flatten(), new Linear(9, 4), new Softmax());
    expect(() => planModel(softmax(), { inputShape: [1, 3, 3] })).toThrow("the model ends with Softmax (probabilities): the default loss, 'cross-entropy', would apply a second softmax to them. End with LogSoftmax for 'nll', drop the Softmax for 'cross-entropy' (on logits, as PyTorch's CrossEntropyLoss), or give loss 'mse', 'half-sse' or 'bce' to train the probabilities against one-hot targets");
    expect(() => planModel(softmax(), { inputShape: [1, 3, 3], loss: 'nll' })).toThrow(/loss 'nll' would read them as log-probabilities/);
    expect(() => planModel(softmax(), { inputShape: [1, 3, 3], loss: 'cross-entropy' })).toThrow(/loss 'cross-entropy' would apply a second softmax/);
    expect(planModel(softmax(), { inputShape: [1, 3, 3], loss: 'half-sse' }).loss).toBe('half-sse');
    // A view after it changes nothing: the last layer that computes is what the loss reads.
    expect(() => planModel(new Sequential(new Flatten(), new Linear(9, 4), new Softmax(), new Identity()), { inputShape: [1, 3, 3] })).toThrow(/ends with Softmax/);
    expect(planModel(new Sequential(new Flatten(), new Linear(9, 4), new LogSoftmax(), new Identity()), { inputShape: [1, 3, 3] }).loss).toBe('nll');
    expect(() => new Softmax(0)).toThrow('Softmax: dim must be 1 (or -1), the classes of [batch, classes]; got 0');
    const layers = [{ type: 'Identity' }, { type: 'Flatten', start_dim: 1 }, { type: 'Linear', out_features: 3, bias: true }, { type: 'Softmax', dim: 1 }];
    const file = parseModelFile(JSON.stringify({ input: [2, 2], layers }), 'soft.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers).toEqual(layers);
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'Linear', out_features: 3 }, { type: 'Softmax', dim: 0 }] }), 'bad.json')).toThrow(/bad\.json: layer '1' \(Softmax\): "dim" must be 1/);
  });
  test('Dropout2d takes PyTorch\'s arguments, wants [C, H, W], is never fused into the batch norm before it, and a model file names it', () => {
    expect(new Dropout2d().p).toBe(0.5);
    expect(new Dropout2d(0.2, true).p).toBe(0.2);
    expect(() => new Dropout2d(1.5)).toThrow('Dropout2d: p must be a number in [0, 1], got 1.5');
    expect(() => planModel(new Sequential(new Flatten(), new Linear(16, 4), new Dropout2d(0.1)), { inputShape: [1, 4, 4] })).toThrow(/Dropout2d.*expects an input of shape \[C, H, W\]/);
    const plan = planModel(new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(), new Dropout2d(0.1), new Dropout(0.1), new Flatten(), new Linear(16, 2)), { inputShape: [1, 4, 4] });
    expect(plan.fusions.map((f) => f.rule)).not.toContain('batchnorm-dropout');
    expect(plan.nodes.filter((n) => n.stream !== 0).map((n) => n.layer.type)).toEqual(['Dropout2d', 'Dropout']);
    const file = parseModelFile(JSON.stringify({ input: [2, 4, 4], layers: [{ type: 'Dropout2d', p: 0.3 }, { type: 'Flatten', start_dim: 1 }, { type: 'Linear', out_features: 2, bias: true }] }), 'd2.json');
    expect(JSON.parse(modelFileText(file.model, file.input)).layers[0]).toEqual({ type: 'Dropout2d', p: 0.3 });
  });
  test('a layer object in two places is refused (PyTorch would tie its weights; this engine does not)', () => {
    const shared = new Linear({ outFeatures: 16 });
    const model = new Sequential(new Flatten(), shared, new ReLU(), shared, new Linear({ outFeatures: 3 }));
    expect(() => planModel(model, { inputShape: [16] })).toThrow(/layer '3' \(Linear\) is the same object as layer '1': give each place a layer of its own \(shared layers, PyTorch's tied weights, are not supported/);
  });
  test("label smoothing: cross-entropy's only (NLLLoss has none, as PyTorch), from 0 to 1", () => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax());
    expect(planModel(model(), { inputShape: [1, 4, 4], loss: 'cross-entropy', labelSmoothing: 0.1 }).labelSmoothing).toBe(0.1);
    expect(planModel(model(), { inputShape: [1, 4, 4] }).labelSmoothing).toBe(0);
    expect(() => planModel(model(), { inputShape: [1, 4, 4], labelSmoothing: 0.1 })).toThrow("labelSmoothing applies to the 'cross-entropy' loss (PyTorch's CrossEntropyLoss(label_smoothing)); the loss is 'nll' (NLLLoss has none: use 'cross-entropy', on logits or on the LogSoftmax's output alike)");
    expect(() => planModel(model(), { inputShape: [1, 4, 4], loss: 'cross-entropy', labelSmoothing: 1.5 })).toThrow('labelSmoothing must be a number from 0 to 1 (PyTorch\'s label_smoothing), got 1.5');
  });
  test("class weights (NLLLoss's and CrossEntropyLoss's weight), pos_weight (BCEWithLogitsLoss's) and log_target (KLDivLoss's): each with its loss, checked before any work", () => {
    const logits = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }));
    const logProbabilities = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), new LogSoftmax());
    const plan = (model: Module, options: Omit<PlanOptions, 'inputShape'>) => planModel(model, { inputShape: [4], ...options });
    expect(plan(logits(), { loss: 'cross-entropy', classWeights: [1, 0, 2.5] }).classWeights).toEqual([1, 0, 2.5]);
    expect(plan(logProbabilities(), { classWeights: Float32Array.from([1, 2, 3]) }).classWeights).toEqual([1, 2, 3]);
    expect(plan(logits(), {}).classWeights).toBeUndefined();
    expect(plan(logits(), { loss: 'bce-with-logits', posWeight: [0, 1, 4] }).posWeight).toEqual([0, 1, 4]);
    expect([plan(logProbabilities(), { loss: 'kl-div', logTarget: true }).logTarget, plan(logProbabilities(), { loss: 'kl-div' }).logTarget, plan(logits(), { loss: 'mse', logTarget: false }).logTarget]).toEqual([true, false, false]);
    expect(() => plan(logits(), { classWeights: [1, 2] })).toThrow('classWeights has 2 weights, but the model has 3 classes (one weight a class)');
    expect(() => plan(logits(), { classWeights: [1, -2, 1] })).toThrow("classWeights[1] must be a finite number ≥ 0 (PyTorch's CrossEntropyLoss(weight) and NLLLoss(weight)), got -2");
    expect(() => plan(logits(), { classWeights: [1, NaN, 1] })).toThrow('classWeights[1] must be a finite number ≥ 0');
    expect(() => plan(logits(), { classWeights: [0, 0, 0] })).toThrow('classWeights are all 0');
    expect(() => plan(logits(), { classWeights: '1,2,3' as never })).toThrow('classWeights must be an array of numbers');
    expect(() => plan(logits(), { loss: 'mse', classWeights: [1, 2, 3] })).toThrow("classWeights applies to the 'nll' and 'cross-entropy' losses (PyTorch's CrossEntropyLoss(weight) and NLLLoss(weight)); the loss is 'mse'");
    expect(() => plan(logits(), { loss: 'bce-with-logits', posWeight: [1, 2] })).toThrow('posWeight has 2 weights, but the model has 3 outputs (one weight an output, broadcast over the batch)');
    expect(() => plan(logits(), { loss: 'bce-with-logits', posWeight: [1, Infinity, 1] })).toThrow("posWeight[1] must be a finite number ≥ 0 (PyTorch's BCEWithLogitsLoss(pos_weight)), got Infinity");
    expect(() => plan(logits(), { loss: 'cross-entropy', posWeight: [1, 1, 1] })).toThrow("posWeight applies to the 'bce-with-logits' loss (PyTorch's BCEWithLogitsLoss(pos_weight)); the loss is 'cross-entropy'");
    expect(() => plan(logits(), { loss: 'mse', logTarget: true })).toThrow("logTarget applies to the 'kl-div' loss (PyTorch's KLDivLoss(log_target)); the loss is 'mse'");
    expect(() => plan(logProbabilities(), { loss: 'kl-div', logTarget: 1 as never })).toThrow('options: logTarget must be true or false, got 1');
    expect(() => plan(new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), new Softmax()), { loss: 'kl-div' })).toThrow("loss 'kl-div' (PyTorch's KLDivLoss) takes log-probabilities, but the model ends with Softmax (probabilities): end with LogSoftmax instead");
  });
  test("ignore_index (NLLLoss's and CrossEntropyLoss's): an integer in the labels' 32 bits, with its loss only, none by default", () => {
    const logits = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }));
    const logProbabilities = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), new LogSoftmax());
    const plan = (model: Module, options: Omit<PlanOptions, 'inputShape'>) => planModel(model, { inputShape: [4], ...options });
    expect(plan(logits(), {}).ignoreIndex).toBeUndefined();
    expect([plan(logits(), { ignoreIndex: -100 }).ignoreIndex, plan(logProbabilities(), { ignoreIndex: 1 }).ignoreIndex, plan(logits(), { ignoreIndex: 7, classWeights: [1, 2, 3], labelSmoothing: 0.1 }).ignoreIndex]).toEqual([-100, 1, 7]);
    expect([plan(logits(), { ignoreIndex: -(2 ** 31) }).ignoreIndex, plan(logits(), { ignoreIndex: 2 ** 31 - 1 }).ignoreIndex]).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    for (const bad of [1.5, NaN, Infinity, 2 ** 31, -(2 ** 31) - 1]) {
      expect(() => plan(logits(), { ignoreIndex: bad })).toThrow(`ignoreIndex must be an integer from -2147483648 to 2147483647 (PyTorch's ignore_index, such as its default -100), got ${bad}`);
    }
    expect(() => plan(logits(), { ignoreIndex: '-100' as never })).toThrow('ignoreIndex must be an integer from -2147483648 to 2147483647 (PyTorch\'s ignore_index, such as its default -100), got "-100"');
    expect(() => plan(logits(), { loss: 'mse', ignoreIndex: -100 })).toThrow("ignoreIndex applies to the 'nll' and 'cross-entropy' losses (PyTorch's NLLLoss(ignore_index) and CrossEntropyLoss(ignore_index)); the loss is 'mse'");
    expect(() => plan(logProbabilities(), { loss: 'kl-div', ignoreIndex: 0 })).toThrow("ignoreIndex applies to the 'nll' and 'cross-entropy' losses");
  });
  test('a loss name the plan does not know is refused (it would train on another loss)', () => {
    const model = new Sequential(new Flatten(), new Linear({ outFeatures: 10 }));
    for (const loss of ['cross_entropy', 'CrossEntropyLoss', 'bogus']) {
      expect(() => planModel(model, { inputShape: [1, 28, 28], loss: loss as never })).toThrow(`loss: expected 'nll', 'cross-entropy', 'mse', 'half-sse', 'l1', 'smooth-l1', 'huber', 'bce-with-logits', 'bce', 'kl-div', got "${loss}"`);
    }
    expect(planModel(model, { inputShape: [1, 28, 28], loss: 'cross-entropy' }).loss).toBe('cross-entropy');
  });
  test("the seed CNN's names are PyTorch's, and 13,808 parameters", () => {
    const plan = planModel(seedCnn(), { inputShape: SEED_CNN_INPUT });
    const names = plan.nodes.flatMap((n) => [...n.parameters, ...n.buffers].map((p) => p.name));
    expect(names.slice(0, 6)).toEqual(['convblock1.0.weight', 'convblock1.2.weight', 'convblock1.2.bias', 'convblock1.2.running_mean', 'convblock1.2.running_var', 'convblock2.0.weight']);
    expect(names).toContain('convblock8.0.weight');
    expect(plan.parameterCount).toBe(13_808);
    expect(plan.loss).toBe('nll');
  });
  test("a model that is one layer names its own parameters, as PyTorch's nn.Linear and nn.BatchNorm1d do (a Sequential of it: 0.weight)", () => {
    const names = (model: Linear | BatchNorm1d | Sequential) => planModel(model, { inputShape: [6] }).nodes.flatMap((n) => [...n.parameters, ...n.buffers].map((p) => p.name));
    expect(names(new Linear(6, 3))).toEqual(['weight', 'bias']);
    expect(names(new BatchNorm1d(6))).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
    expect(names(new Sequential(new Linear(6, 3)))).toEqual(['0.weight', '0.bias']);
    // Messages still name the layer.
    expect(() => planModel(new Linear(5, 3), { inputShape: [6] })).toThrow("layer '0' (Linear)");
  });
  test("training FLOP per sample: the seed CNN's SPEC.md figures (6.79 + 6.79 + 6.59 MFLOP)", () => {
    const flops = trainingFlops(planModel(seedCnn(), { inputShape: SEED_CNN_INPUT }));
    expect(flops.forward / 1e6).toBeCloseTo(6.79, 2);
    expect(flops.inputGradients / 1e6).toBeCloseTo(6.59, 2);
    expect(flops.total / 1e6).toBeCloseTo(20.17, 2);
  });
  test('fusion rules apply wherever the pattern is, and never rename', () => {
    const fused = planModel(seedCnn(), { inputShape: SEED_CNN_INPUT });
    const plain = planModel(seedCnn(), { inputShape: SEED_CNN_INPUT, fuse: false });
    const count = (rule: string) => fused.fusions.filter((f) => f.rule === rule).length;
    expect([count('relu-epilogue'), count('batchnorm-dropout'), count('relu-grad-in-batchnorm'), count('batchnorm-stats-epilogue'), count('log-softmax-nll')]).toEqual([6, 6, 6, 6, 1]);
    // The batch norm's statistics in the conv's epilogue: the conv and the batch norm two layers on (past the ReLU).
    expect(fused.fusions.find((f) => f.rule === 'batchnorm-stats-epilogue')!.paths).toEqual(['convblock1.0', 'convblock1.2']);
    expect(plain.fusions).toEqual([]);
    expect(fused.nodes.map((n) => n.parameters.map((p) => p.name))).toEqual(plain.nodes.map((n) => n.parameters.map((p) => p.name)));
  });
});

const BATCH = 6;

/** One training step's dispatches (forward, loss, backward) of a network on fixed images. */
async function step(network: Network, head: LossHead, images: Float32Array, labels: Uint32Array) {
  const { ctx } = network;
  ctx.write(network.input, images);
  ctx.write(head.labels, labels);
  head.reset();
  network.beginStep(BATCH, 0);
  const dispatches = [...(await network.forward(BATCH, 'train')), ...(await head.dispatches(BATCH, true)), ...(await network.backward(BATCH))];
  ctx.submit('step', (e) => recordPass(e, 'step', dispatches));
  return dispatches.length;
}

describe('the seed CNN step, fused and unfused', () => {
  gpuTest('dispatch counts, and the same loss and gradients', async (ctx) => {
    const images = Float32Array.from(randomArray(BATCH * 784, 5, -0.4, 2.8));
    const labels = Uint32Array.from({ length: BATCH }, (_, b) => (b * 3 + 1) % 10);
    const results = [];
    for (const fuse of [true, false]) {
      const network = createSeedCnn(ctx, { maxBatch: 8, seed: 9, fuse });
      const head = new LossHead(ctx, network, 'check');
      const count = await step(network, head, images, labels);
      // On a GPU a layer's partial moments of 128 slots and more are merged in two steps.
      const forward = await network.forward(BATCH, 'train');
      const momentsMerges = forward.filter((d) => d.label.endsWith('batchnorm moments merge')).length;
      // On a CPU adapter the blocks with planes of 256 elements or more merge their statistics in the batch norm's forward (batchnorm_merge_forward).
      const mergedForwards = forward.filter((d) => d.label.endsWith('(with its statistics)')).length;
      // On lavapipe convblock2's batch norm and dropout are applied on convblock3's loads (Conv2d.foldsNormInput): its pass writes the mask only, no dispatch fewer.
      const maskOnly = forward.filter((d) => d.label.includes("mask (applied on the next conv's loads)")).length;
      const updates = (await network.optimizerStep()).length;
      const grads = await Promise.all(network.parameters.map((p) => ctx.read(p.grad)));
      results.push({ count, momentsMerges, mergedForwards, maskOnly, updates, parameters: network.parameters.length, grads, loss: (await ctx.read(head.metrics))[0]! });
    }
    const [fused, plain] = results as [(typeof results)[0], (typeof results)[0]];
    // Six blocks (conv→ReLU→BN→dropout), convblock3 and convblock8 (1×1 convs), a max pool, a GAP.
    // Fused: a block is 3 forward dispatches (conv+ReLU, stats, BN+dropout; 2 where the stats and
    // BN+dropout are one, mergedForwards) and 4 backward
    // (dropout+BN sums, dropout+BN+ReLU input gradient, conv weight, conv input — none for the
    // first block), 3 on a CPU adapter, where the batch norm's sums and input gradient are one
    // dispatch (APPLY), 5 on a GPU, whose sums run in sample groups merged by a dispatch of their
    // own (and whose statistics' merge may take two: momentsMerges); a 1×1 conv 1 + 2; the max pool 0 + 1 (convblock3's forward stores it:
    // maxpool-epilogue), the GAP 1 + 1; the loss 3 (log-softmax+NLL, metrics, gradient). Every
    // conv's weights are packed in one dispatch before the forward (7 convs on the conv kernels,
    // 6 with an input gradient: 13 jobs; convblock8 runs as a Linear), and every conv's
    // weight-gradient partial sums reduced in one after the backward (7 jobs).
    const shared = 1 + 1;
    const batchnormBackward = ctx.adapter.software ? 1 : 3;
    if (ctx.adapter.software) expect(fused.momentsMerges, 'a CPU adapter merges the statistics in one step').toBe(0);
    // On lavapipe the max pool's backward is convblock3's (Conv2d.foldsPoolBackward): 0 + 0.
    const folded = ctx.adapter.software && ctx.adapter.subgroupSize === 8 ? 1 : 0;
    // convblock1 and 2 (planes of 676 and 576): one dispatch for the statistics and the batch norm.
    expect(fused.mergedForwards).toBe(ctx.adapter.software ? 2 : 0);
    expect(fused.maskOnly).toBe(folded);
    expect(plain.maskOnly).toBe(0);
    expect(fused.count).toBe(6 * 3 - fused.mergedForwards + fused.momentsMerges + 2 * 1 + 1 + 3 + (6 * (batchnormBackward + 2) - 1) + 2 * 2 + 2 * 1 - folded + shared);
    // Unfused: a block is 5 forward (conv, ReLU, stats, BN, dropout) and 4 backward besides the
    // batch norm's (dropout, ReLU, conv weight, conv input); the LogSoftmax its own forward and
    // backward; the loss NLL, metrics, NLL gradient.
    expect(plain.count).toBe(6 * 5 + 2 + 2 + 1 + 3 + (6 * (batchnormBackward + 4) - 1) + 2 * 2 + 2 + 1 + shared);
    // The 20 parameter tensors (8 conv weights, 6 batch norms' weight and bias) are updated by one
    // dispatch over their arena.
    expect(fused.parameters).toBe(8 + 6 * 2);
    expect(fused.updates).toBe(1);
    expect(fused.loss).toBeCloseTo(plain.loss, 5);
    fused.grads.forEach((g, i) => expectAllClose(`gradient ${i}, fused against unfused`, g, plain.grads[i]!, TOLERANCE.gradient));
  });
});

describe("the seed CNN's convblock8 (a 1×1 conv on the 1×1 plane after the global average pool)", () => {
  gpuTest('runs on the dense kernels, as the Linear it is in effect', async (ctx) => {
    const parts = ctx.scoped(() => createSeedCnn(ctx, { maxBatch: 8, seed: 1 }));
    try {
      const network = parts.value;
      const kernels = (list: readonly unknown[]) =>
        (list as { label: string; def?: { name: string } }[]).filter((d) => d.label.startsWith('convblock8.0 ')).map((d) => `${d.label}: ${d.def?.name}`);
      expect(kernels(await network.forward(8, 'train'))).toEqual(['convblock8.0 conv forward: dense_forward']);
      expect(kernels(await network.backward(8))).toEqual(['convblock8.0 conv weight gradient: dense_backward_weight', 'convblock8.0 conv input gradient: dense_backward_input']);
      const convs = tiledKernelsOf(seedCnn(), { inputShape: SEED_CNN_INPUT, batch: 8 }).filter((u) => u.layers.includes('convblock8.0'));
      expect(convs.map((u) => u.kernel)).toEqual(['dense_forward', 'dense_backward_weight', 'dense_backward_input']);
    } finally {
      parts.destroy();
    }
  });
});

describe('the seed CNN at batch 1024', () => {
  gpuTest("binds every kernel within the device's 65,535 workgroups per dimension", async (ctx) => {
    const parts = ctx.scoped(() => createSeedCnn(ctx, { maxBatch: 1024, seed: 1 }));
    try {
      const network = parts.value;
      const head = new LossHead(ctx, network, 'big');
      const step = [...(await network.forward(1024, 'train')), ...(await head.dispatches(1024, true)), ...(await network.backward(1024)), ...(await network.optimizerStep())];
      const evaluation = await network.forward(1024, 'eval');
      const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
      for (const d of [...step, ...evaluation]) {
        const counts = (d as unknown as { workgroups: readonly number[] }).workgroups;
        expect(Math.max(...counts), d.label).toBeLessThanOrEqual(limit);
      }
      // The activations and their gradients alone: 414.7 MB in all on a CPU adapter (445.9 elsewhere),
      // the dropout masks a bit an element, convblock3's output kept max-pooled (5,760 of its
      // 23,040 bytes a sample).
      expect(network.memory.total / 1e6).toBeGreaterThan(ctx.adapter.software ? 410 : 440);
      // The two gradient slots, each as large as the largest gradient it holds. On a CPU adapter
      // the batch norms write their input gradients over their output gradients (IN_PLACE), so
      // convblock2's gradients (32 × 24 × 24 a sample) stay in one slot and the other holds at
      // most convblock1's (16 × 26 × 26): 31 MB less at this batch. Elsewhere both hold
      // convblock2's.
      const [largest, second] = [32 * 24 * 24, 16 * 26 * 26];
      expect(network.memory.activationGradients).toBe(4 * 1024 * (largest + (ctx.adapter.software ? second : largest)));
      expect(network.outputs.get('convblock3.0')!.length, "convblock3's output, as pool1 keeps it").toBe(1024 * 10 * 12 * 12);
      expect(network.outputs.get('pool1')!.buffer, "pool1's output: convblock3's").toBe(network.outputs.get('convblock3.0')!.buffer);
    } finally {
      parts.destroy();
    }
  });
});

describe('a network defined only in this test', () => {
  gpuTest('trains with AdamW (its loss falls), and its checkpoint reloads bit-exactly', async (ctx) => {
    const model = new Sequential(
      new Flatten(),
      new Linear({ outFeatures: 48 }),
      new BatchNorm1d(),
      new Tanh(),
      new Dropout(0.2),
      new Linear({ outFeatures: 32 }),
      new ReLU(),
      new Linear({ outFeatures: 10, bias: true }),
      new LogSoftmax(),
    );
    const make = (seed: number) => new Network(ctx, model, { inputShape: [1, 28, 28], maxBatch: 32, seed, optimizer: new AdamW({ lr: 0.005 }) });
    const network = make(4);
    expect(network.plan.fusions.map((f) => f.rule)).toEqual(['relu-epilogue', 'relu-grad-in-input-gradient', 'log-softmax-nll']);
    const { train, test: testSplit } = await loadMnist();
    const trainer = new Trainer(ctx, network, uploadSplit(ctx, 'train', train, 256), uploadSplit(ctx, 'test', testSplit, 64), { batch: 32, seed: 4, augment: false });
    const first = await trainer.trainEpoch(1);
    let last = first;
    for (let epoch = 2; epoch <= 4; epoch++) last = await trainer.trainEpoch(epoch);
    expect(network.stepsTaken).toBe(32);
    expect(last.trainLoss).toBeLessThan(0.6 * first.trainLoss);

    const bytes = await encodeCheckpoint(network, { epoch: '4' });
    const copy = make(99);
    const { metadata } = loadCheckpoint(copy, bytes, 'memory');
    expect(metadata.epoch).toBe('4');
    expect(copy.stepsTaken).toBe(32);
    for (const [i, p] of network.parameters.entries()) {
      const q = copy.parameters[i]!;
      expect(q.name).toBe(p.name);
      expect(Array.from(await ctx.read(q.value))).toEqual(Array.from(await ctx.read(p.value)));
      for (const s of ['exp_avg', 'exp_avg_sq']) expect(Array.from(await ctx.read(q.state[s]!))).toEqual(Array.from(await ctx.read(p.state[s]!)));
    }
    expect(network.parameters.map((p) => p.name)).toEqual(['1.weight', '1.bias', '2.weight', '2.bias', '5.weight', '5.bias', '7.weight', '7.bias']);
  });
  gpuTest('a one-layer network saves and loads under its own names (weight, bias, their momentum buffers)', async (ctx) => {
    const make = (seed: number) => new Network(ctx, new Linear(4, 3), { inputShape: [4], maxBatch: 2, seed, optimizer: new SGD({ lr: 0.1, momentum: 0.9 }) });
    const network = make(1);
    network.parameters.forEach((p, i) => ctx.write(p.state['momentum_buffer']!, Float32Array.from({ length: p.value.length }, (_, k) => i + k / 8)));
    const bytes = await encodeCheckpoint(network, {});
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)))));
    expect(Object.keys(header).filter((k) => k !== '__metadata__' && !k.startsWith('optimizer.')).sort()).toEqual(['bias', 'weight']);
    // Its model_file reads back as one layer (not a Sequential of it, whose names are 0.weight): the
    // CLI's evaluate --init and the page's load build the network from it.
    const { metadata } = decodeSafetensors(bytes, 'memory');
    const described = parseModelFile(metadata.model_file!, 'model_file');
    expect(described.model).toBeInstanceOf(Linear);
    loadCheckpoint(new Network(ctx, described.model, { inputShape: described.input, maxBatch: 2, optimizer: new SGD({ lr: 0.1, momentum: 0.9 }) }), bytes, 'memory');
    const copy = make(2);
    loadCheckpoint(copy, bytes, 'memory');
    for (const [i, p] of network.parameters.entries()) {
      expect(Array.from(await ctx.read(copy.parameters[i]!.value))).toEqual(Array.from(await ctx.read(p.value)));
      expect(Array.from(await ctx.read(copy.parameters[i]!.state['momentum_buffer']!))).toEqual(Array.from(await ctx.read(p.state['momentum_buffer']!)));
    }
    // A one-layer BatchNorm1d trains (its running statistics move) and saves PyTorch's names, num_batches_tracked too.
    const norm = new Network(ctx, new BatchNorm1d(4), { inputShape: [4], maxBatch: 4, optimizer: new SGD({ lr: 0.1 }) });
    const images = Uint8Array.from({ length: 32 }, (_, i) => (i * 37) % 256);
    const split = uploadSplit(ctx, 'tiny', { images, labels: Uint8Array.from({ length: 8 }, (_, i) => i % 4), count: 8, rows: 2, cols: 2 });
    const result = await new Trainer(ctx, norm, split, split, { batch: 4, seed: 1, augment: false }).trainEpoch(1);
    expect(result.steps).toBe(2);
    const saved = decodeSafetensors(await encodeCheckpoint(norm, {}), 'memory').tensors;
    expect(Object.keys(saved).filter((k) => !k.startsWith('optimizer.')).sort()).toEqual(['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']);
    expect(saved['num_batches_tracked']!.data[0]).toBe(2n);
    expect(Array.from(saved['running_mean']!.data as Float32Array).every((v) => v > 0)).toBe(true);
    const back = new Network(ctx, new BatchNorm1d(4), { inputShape: [4], maxBatch: 4, optimizer: new SGD({ lr: 0.1 }) });
    loadCheckpoint(back, await encodeCheckpoint(norm, {}), 'memory');
    expect(back.stepsTaken).toBe(2);
    expect(Array.from(await ctx.read(back.buffers.find((b) => b.name === 'running_var')!.value))).toEqual(Array.from(saved['running_var']!.data as Float32Array));
  });
});

describe('plan memory', () => {
  gpuTest("counts the maps its packing and reduction dispatches make when the steps are bound", async (ctx) => {
    // Every buffer made while the training and evaluation steps are bound, by label.
    const made: { label: string; size: number }[] = [];
    const device = ctx.device;
    const createBuffer = device.createBuffer;
    device.createBuffer = ((descriptor: GPUBufferDescriptor) => {
      made.push({ label: descriptor.label ?? '', size: descriptor.size });
      return createBuffer.call(device, descriptor);
    }) as typeof device.createBuffer;
    const network = ctx.scoped(() => createSeedCnn(ctx, { maxBatch: 16, seed: 1 }));
    const lists = [];
    try {
      lists.push(await network.value.forward(16, 'train'), await network.value.backward(16), await network.value.forward(16, 'eval'));
    } finally {
      device.createBuffer = createBuffer;
    }
    const maps = made.filter((b) => / map$/.test(b.label));
    expect(maps.map((b) => b.label).sort()).toEqual(['network conv weight gradient reduce map', 'network conv weight packing (forward) map', 'network conv weight packing map']);
    // The reduction map: 4 u32 for each 4 conv weights reduced from partial sums (convblocks 1–7,
    // every layer's weights a multiple of 4: its variant VEC4; convblock8, on a 1×1 map, runs as a Linear).
    const convWeights = 16 * 1 * 9 + 32 * 16 * 9 + 10 * 32 + 16 * 10 * 9 + 3 * 16 * 16 * 9;
    expect(maps.find((b) => b.label.includes('reduce'))!.size).toBe((16 * convWeights) / 4);
    expect(network.value.memory.maps).toBe(maps.reduce((sum, b) => sum + b.size, 0));
    for (const d of lists.flat()) d.destroy?.();
    network.destroy();
  });


  gpuTest("counts a layer's own tensors (a conv's packed weights and weight-gradient partial sums) as workspace", async (ctx) => {
    const model = new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, bias: false }), new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax());
    const network = ctx.scoped(() => new Network(ctx, model, { inputShape: [1, 6, 6], maxBatch: 2 }));
    // No dropout or pooling: before, nothing counted as workspace. The forward's packed weights
    // are a whole uniform binding (64 KiB) in the shared uniform arena; the input gradient has
    // none (first layer); the weight gradient's partial sums, at least one split of 36 weights,
    // are in the shared storage arena (a 1 KiB block at least).
    expect(network.value.memory.workspace).toBeGreaterThanOrEqual(65536 + 1024);
    // …and the outer scope still owns every tensor the network made (freed with it).
    expect(network.tensors.map((t) => t.label)).toEqual(expect.arrayContaining(['shared uniform workspace', 'shared workspace']));
    network.destroy();
  });
});

describe('Conv2d (bias) → ReLU → MaxPool2d (LeNet-5, examples/lenet5.json)', () => {
  gpuTest('one forward dispatch for the three (bias, ReLU and max pool in the conv), one backward for the pool and the ReLU; no ReLU or bias-gradient passes at all', async (ctx) => {
    const { model, input } = parseModelFile(readFileSync('examples/lenet5.json', 'utf8'), 'examples/lenet5.json');
    const network = ctx.scoped(() => new Network(ctx, model, { inputShape: input, maxBatch: 4 }));
    try {
      const n = network.value;
      const forward = (await n.forward(4, 'train')).map((d) => d.label);
      const backward = (await n.backward(4)).map((d) => d.label);
      // Layers 0–2 and 3–5: Conv2d (bias) → ReLU → MaxPool2d(2); 7–12: Linear → ReLU → Linear →
      // ReLU → Linear → LogSoftmax (the ReLUs' gradients in the next Linear's input gradient).
      const block = (labels: string[]) => labels.filter((l) => /^[0-5] /.test(l));
      expect(block(forward)).toEqual(['0 conv and maxpool forward', '3 conv and maxpool forward']);
      // The biases' gradients summed by the weight-gradient kernels (their BIAS and ROW_SUMS).
      expect(block(backward)).toEqual(['5 maxpool and relu backward', '3 conv weight and bias gradient', '3 conv input gradient', '2 maxpool and relu backward', '0 conv weight and bias gradient']);
      expect(backward.filter((l) => /weight/.test(l) && /^(7|8|9|10|11) /.test(l))).toEqual(['11 linear weight and bias gradient', '9 linear weight and bias gradient', '7 linear weight and bias gradient']);
      expect(backward.filter((l) => /bias gradient$/.test(l) && !/weight and bias/.test(l)), 'no bias pass of its own').toEqual([]);
      expect(forward.filter((l) => /relu/.test(l) && /^(7|8|9|10|11) /.test(l))).toEqual(['7 linear and relu forward', '9 linear and relu forward']);
      expect(backward.filter((l) => /input gradient|relu backward/.test(l) && /^(7|8|9|10|11) /.test(l))).toEqual(['11 linear and relu input gradient', '9 linear and relu input gradient', '7 linear input gradient']);
      const rules = (rule: string) => n.plan.fusions.filter((f) => f.rule === rule).map((f) => f.paths);
      expect(rules('relu-epilogue')).toEqual(expect.arrayContaining([['0', '1'], ['3', '4']]));
      expect(rules('maxpool-epilogue')).toEqual([['0', '2'], ['3', '5']]);
      expect(rules('relu-grad-in-maxpool')).toEqual([['1', '2'], ['4', '5']]);
      expect(rules('relu-grad-in-input-gradient')).toEqual([['8', '9'], ['10', '11']]);
      // The conv's output kept max-pooled ([6, 14, 14] a sample, not [6, 28, 28]); the ReLU's
      // and the pool's outputs are views of it.
      expect(n.outputs.get('0')!.length).toBe(4 * 6 * 14 * 14);
      for (const path of ['1', '2']) expect(n.outputs.get(path)!.buffer, `${path}'s output: the conv's`).toBe(n.outputs.get('0')!.buffer);
    } finally {
      network.destroy();
    }
  });
});

describe("a Network's init option (torch.nn.init per parameter)", () => {
  gpuTest("torchvision's ResNet init: the convs' weights kaiming_normal (fan_out, relu), the batch norms' weights 0.5; the rest their defaults; refusals name the parameter", async (ctx) => {
    const { initValues } = await import('../../src/plan/init.js');
    const { initialValues } = await import('../../src/plan/plan.js');
    const model = () => new Sequential(new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1 }), new BatchNorm2d(), new ReLU(), new Flatten(), new Linear({ outFeatures: 10 }));
    const network = new Network(ctx, model(), {
      inputShape: [1, 6, 6],
      maxBatch: 4,
      seed: 7,
      init: (p) => (p.layer === 'Conv2d' && p.local === 'weight' ? { kind: 'kaiming_normal', mode: 'fan_out', nonlinearity: 'relu' } : p.layer === 'BatchNorm2d' && p.local === 'weight' ? { kind: 'constant', val: 0.5 } : undefined),
    });
    const plain = new Network(ctx, model(), { inputShape: [1, 6, 6], maxBatch: 4, seed: 7 });
    const read = async (n: Network, name: string) => Array.from(await ctx.read(n.parameters.find((p) => p.name === name)!.value));
    const conv = network.plan.nodes[0]!;
    expect(await read(network, '0.weight')).toEqual(Array.from(initValues({ kind: 'kaiming_normal', mode: 'fan_out', nonlinearity: 'relu' }, [8, 1, 3, 3], '0.weight', { seed: 7, stream: 3, normalStream: 4, key: conv.initKey, offset: 0 })));
    expect(await read(network, '0.weight')).not.toEqual(await read(plain, '0.weight'));
    expect(await read(network, '1.weight')).toEqual(new Array(8).fill(0.5));
    for (const name of ['0.bias', '1.bias', '4.weight', '4.bias']) expect(await read(network, name), name).toEqual(await read(plain, name));
    expect(Array.from(initialValues(conv, conv.parameters[1]!, 7))).toEqual((await read(plain, '0.bias')).map(Math.fround));
    expect(() => new Network(ctx, model(), { inputShape: [1, 6, 6], maxBatch: 4, init: (p) => (p.local === 'bias' ? { kind: 'xavier_uniform' } : undefined) })).toThrow("init of '0.bias': fan in and fan out can not be computed for a tensor of fewer than 2 dimensions ([8])");
    expect(() => new Network(ctx, model(), { inputShape: [1, 6, 6], maxBatch: 4, init: (() => ({ kind: 'normal', std: Number.NaN })) })).toThrow("init of '0.weight': normal's std must be a finite number ≥ 0, got NaN");
    expect(() => new Network(ctx, model(), { inputShape: [1, 6, 6], maxBatch: 4, init: 'kaiming' as never })).toThrow('init: expected a function of each parameter');
    // A JavaScript `condition && { … }` gives false where the condition fails: the default, as undefined.
    const falsy = new Network(ctx, model(), { inputShape: [1, 6, 6], maxBatch: 4, seed: 7, init: (p) => (p.local === 'weight' && p.layer === 'Linear' && ({ kind: 'zeros' } as const)) as never });
    expect(await read(falsy, '0.weight')).toEqual(await read(plain, '0.weight'));
    expect(await read(falsy, '4.weight')).toEqual(new Array(2880).fill(0));
  });
});
