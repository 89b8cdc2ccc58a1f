/**
 * The float64 reference of a whole training step against PyTorch's own float64 step (Debian's
 * python3-torch, test/pytorch/torch_step.py): the loss, every gradient and the running statistics,
 * for the seed CNN, LeNet-5 and networks with every other layer type and loss. Both sides compute
 * in float64 from the same weights, inputs and dropout masks, so they agree to rounding (the sums
 * run in different orders). Skipped, saying so, where PyTorch is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Sigmoid, Tanh } from '../../src/layers/activations.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/layers/batchnorm.js';
import { GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm } from '../../src/layers/normalization.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { ConvTranspose2d } from '../../src/layers/conv-transpose2d.js';
import { Upsample, UpsamplingBilinear2d, UpsamplingNearest2d } from '../../src/layers/upsample.js';
import { ChannelShuffle, PixelShuffle, PixelUnshuffle } from '../../src/layers/shuffle.js';
import { AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, CircularPad1d, ConstantPad1d, Conv1d, ConvTranspose1d, MaxPool1d, ReflectionPad1d, ReplicationPad1d, ZeroPad1d } from '../../src/layers/one-d.js';
import { AlphaDropout, Dropout, Dropout1d, Dropout2d, FeatureAlphaDropout } from '../../src/layers/dropout.js';
import { rreluSlopesRef } from '../../src/reference/rrelu.js';
import { Flatten, Identity, Unflatten } from '../../src/layers/flatten.js';
import { Linear } from '../../src/layers/linear.js';
import { Embedding } from '../../src/layers/embedding.js';
import { Permute } from '../../src/layers/permute.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d } from '../../src/layers/padding.js';
import { CELU, ELU, GELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, Mish, PReLU, ReLU, Softshrink, Softsign, Threshold, ReLU6, SELU, SiLU, Softmax, Softmin, Softplus, Tanhshrink, RReLU, GLU, LogSoftmax } from '../../src/layers/activations.js';
import { Residual, Sequential, type Module } from '../../src/layers/sequential.js';
import { modelFileText, parseModelFile } from '../../src/models/model-file.js';
import { seedCnn, SEED_CNN_INPUT } from '../../src/models/seed-cnn.js';
import type { LossKind } from '../../src/plan/fusion.js';
import { initialValues, planModel } from '../../src/plan/plan.js';
import { networkStepRef } from '../../src/reference/network.js';
import { channelDropoutMaskRef, dropoutMaskRef } from '../../src/reference/random.js';
import { randomArray } from '../helpers/allclose.js';

const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const script = new URL('./torch_step.py', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'webgpu-backprop-torch-'));
const BATCH = 4;
/** float64 on both sides, sums in different orders: agreement to about 1e-15 of each tensor's scale. */
const SCALED = 1e-12;

function maxScaledError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let [err, scale] = [0, 0];
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  // A gradient that is zero in exact arithmetic (a bias just before a batch norm) is rounding noise
  // of about 1e-17 on both sides: its scale is taken as at least 1e-4.
  return got.length === want.length ? err / Math.max(scale, 1e-4) : Infinity;
}

const lenet = parseModelFile(readFileSync('examples/lenet5.json', 'utf8'), 'examples/lenet5.json');
const resnet = parseModelFile(readFileSync('examples/resnet.json', 'utf8'), 'examples/resnet.json');
const cases: { name: string; model: Module; input: readonly number[]; ids?: number; loss?: LossKind; labelSmoothing?: number; targets?: boolean; smoothL1Beta?: number; huberDelta?: number; classWeights?: number[]; posWeight?: number[]; logTarget?: boolean; ignoreIndex?: number }[] = [
  { name: 'the seed CNN (NLL on LogSoftmax)', model: seedCnn(), input: SEED_CNN_INPUT },
  { name: 'LeNet-5', model: lenet.model, input: lenet.input },
  // PyTorch's side is a Module whose forward is body(x) + shortcut(x) (torch_step.py's Residual), under the same state_dict names.
  { name: 'a small ResNet (examples/resnet.json: BasicBlocks, an identity shortcut and a downsample)', model: resnet.model, input: resnet.input },
  {
    name: 'residual blocks: one at the start (a conv shortcut), nested identity blocks with a Dropout in the body, a Linear shortcut',
    model: new Sequential({
      stem: new Residual(new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new ReLU()), { proj: new Conv2d({ outChannels: 4, kernelSize: 1, bias: false }) }),
      outer: new Residual({ inner: new Residual(new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, bias: false }), new BatchNorm2d(), new Dropout(0.3))), act: new Tanh() }),
      flat: new Flatten(),
      mlp: new Residual(new Sequential(new Linear({ outFeatures: 6 }), new GELU(), new Linear({ outFeatures: 5 })), { shortcut: new Linear({ outFeatures: 5 }) }),
    }),
    input: [2, 5, 6],
    loss: 'cross-entropy',
  },
  {
    // torchvision's BasicBlock whole: relu(bn2(conv2(…)) + downsample(x)) inside the block, a stage indexed 0, 1.
    name: "blocks with their activation inside (torchvision's relu(out + identity)), a stage of two",
    model: new Sequential({
      conv1: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, bias: false }), bn1: new BatchNorm2d(), relu: new ReLU(),
      layer1: new Sequential(
        new Residual(new Sequential({ conv1: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, bias: false }), bn1: new BatchNorm2d(), relu: new ReLU(), conv2: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, bias: false }), bn2: new BatchNorm2d() }), undefined, { activation: new ReLU() }),
        new Residual(new Sequential({ conv1: new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2, padding: 1, bias: false }), bn1: new BatchNorm2d(), relu: new ReLU(), conv2: new Conv2d({ outChannels: 6, kernelSize: 3, padding: 1, bias: false }), bn2: new BatchNorm2d() }), { downsample: new Sequential(new Conv2d({ outChannels: 6, kernelSize: 1, stride: 2, bias: false }), new BatchNorm2d()) }, { activation: new ReLU() }),
      ),
      pool: new AdaptiveAvgPool2d(1), flat: new Flatten(), fc: new Linear({ outFeatures: 5 }),
    }),
    input: [1, 8, 8],
    loss: 'cross-entropy',
  },
  {
    name: 'Linear, BatchNorm1d, Sigmoid, Dropout, cross-entropy on logits',
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 12 }), new BatchNorm1d(), new Sigmoid(), new Dropout(0.3), new Linear({ outFeatures: 5, bias: false })),
    input: [1, 6, 6],
  },
  {
    name: 'a strided conv with bias, Tanh, global average pooling, MSE',
    model: new Sequential(new Conv2d({ outChannels: 6, kernelSize: [3, 2], stride: 2, padding: 1 }), new Tanh(), new AvgPool2d(), new Flatten()),
    input: [2, 9, 8],
    loss: 'mse',
  },
  {
    // Overlapping, padded, dilated and ceil-mode windows, and an average that excludes its padding.
    name: 'max and average pools of any window: 3×3 stride 2 padding 1, dilation 2, ceil mode, count_include_pad false, divisor_override',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new ReLU(), new MaxPool2d(3, 2, 1),
      new Conv2d({ outChannels: 5, kernelSize: 1 }), new MaxPool2d({ kernelSize: 2, stride: 1, dilation: 2, ceilMode: true }),
      new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), new Tanh(),
      new AvgPool2d({ kernelSize: [2, 1], stride: 1, divisorOverride: 3 }), new Flatten(), new Linear({ outFeatures: 3 }),
    ),
    input: [2, 13, 11],
  },
  {
    // Conv2d's whole geometry: groups, depthwise (a multiplier of 2), dilation, each direction's
    // stride and padding, padding 'same' of an even kernel (PyTorch pads the odd zero at the bottom
    // and right) and 'valid', a bias on the direct kernels.
    name: "Conv2d's groups, depthwise, dilation, (h, w) stride and padding, padding 'same' (even kernel) and 'valid'",
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, padding: 'same', bias: false }), new Tanh(),
      new Conv2d({ outChannels: 12, kernelSize: 3, groups: 6, dilation: 2, padding: [2, 1] }), new ReLU(),
      new Conv2d({ outChannels: 8, kernelSize: [2, 4], groups: 4, padding: 'same' }), new Tanh(),
      new Conv2d({ outChannels: 4, kernelSize: [3, 2], stride: [2, 1], dilation: [1, 2], padding: 'valid', bias: false }), new BatchNorm2d(), new ReLU(),
      new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [3, 9, 10],
  },
  {
    // F.pad's four modes: the padding layers (PyTorch's 4-tuples (left, right, top, bottom), a
    // negative count cropping in constant mode, each side's reflection one below the input's
    // size, a circular wrap of the whole input) and Conv2d's padding_mode (the input padded before
    // the conv: reflect with (h, w) padding and a stride, circular, replicate with 'same' of an
    // even kernel, whose odd row and column go at the bottom and right).
    name: "the padding layers (ZeroPad2d, ConstantPad2d cropping, ReflectionPad2d, ReplicationPad2d, CircularPad2d) and Conv2d's padding_mode reflect, circular, replicate ('same')",
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3, padding: [2, 1], stride: [1, 2], paddingMode: 'reflect', bias: false }), new Tanh(),
      new ReflectionPad2d([3, 0, 1, 2]), new ReplicationPad2d([0, 2, 3, 1]), new ConstantPad2d([-1, 2, 1, -2], -0.5),
      new Conv2d({ outChannels: 5, kernelSize: 3, padding: 1, paddingMode: 'circular' }), new ReLU(),
      new CircularPad2d([4, 1, 0, 5]), new ZeroPad2d(1),
      new Conv2d({ outChannels: 3, kernelSize: [2, 4], padding: 'same', paddingMode: 'replicate' }), new Tanh(),
      new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 6, 9],
  },
  {
    // A decoder's upsampling: strides of 2 and (2, 1), output_padding below the stride and (stride 1)
    // below the dilation, groups, dilation, (h, w) padding, with and without bias.
    name: 'ConvTranspose2d: stride, padding, output_padding (below the stride; below the dilation at stride 1), groups, dilation, bias or not',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2, bias: false }), new Tanh(),
      new ConvTranspose2d({ outChannels: 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }), new ReLU(),
      new ConvTranspose2d({ outChannels: 4, kernelSize: [2, 3], stride: [2, 1], padding: [0, 1], groups: 2, bias: false }), new Tanh(),
      new ConvTranspose2d({ outChannels: 3, kernelSize: 3, dilation: 2, outputPadding: [1, 0], padding: 2 }), new Tanh(),
      new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 7, 8],
  },
  {
    name: 'CELU, LogSigmoid, Softsign, Softshrink, Hardshrink, Threshold',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3 }), new CELU(0.6), new Conv2d({ outChannels: 4, kernelSize: 3 }), new Softshrink(0.1), new Conv2d({ outChannels: 3, kernelSize: 2 }), new Threshold(-0.2, 0.3),
      new Flatten(), new Linear({ outFeatures: 8 }), new LogSigmoid(), new Linear({ outFeatures: 8 }), new Softsign(), new Linear({ outFeatures: 8 }), new Hardshrink(0.05), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 8, 7],
  },
  {
    // Sub-pixel upsampling (ESPCN's PixelShuffle after a conv), PixelUnshuffle, ShuffleNet's channel shuffle between grouped convs.
    name: 'PixelShuffle, PixelUnshuffle, ChannelShuffle between grouped convs',
    model: new Sequential(
      new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1 }), new Tanh(), new PixelShuffle(2), new Conv2d({ outChannels: 6, kernelSize: 2, stride: 2 }), new ReLU(),
      new PixelUnshuffle(2), new Conv2d({ outChannels: 12, kernelSize: 1, groups: 3 }), new ChannelShuffle(3), new Conv2d({ outChannels: 6, kernelSize: 1, groups: 3 }), new Tanh(),
      new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 6, 6],
  },
  {
    // Sequences: [C, L] samples through the 1-D layers (each its 2-D counterpart on [C, 1, L]),
    // with BatchNorm1d over [C, L], 'same' padding, dilation, groups, ceil mode, a decoder's
    // transposed conv and adaptive pools; one of them a residual block's shortcut.
    name: 'Conv1d, Dropout1d, MaxPool1d, AvgPool1d, ConvTranspose1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d over [C, L] sequences',
    model: new Sequential({
      conv: new Conv1d(2, 6, 5, 1, 'same', { bias: false }), bn: new BatchNorm1d(), act: new ReLU(), drop: new Dropout1d(0.3), pool: new MaxPool1d(3, 2, 1),
      dilated: new Conv1d({ outChannels: 6, kernelSize: 3, dilation: 2, groups: 2 }), shuffle: new ChannelShuffle(3), tanh: new Tanh(), avg: new AvgPool1d({ kernelSize: 2, ceilMode: true, countIncludePad: false, padding: 1 }),
      up: new ConvTranspose1d({ outChannels: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }),
      block: new Residual(new Sequential(new Conv1d({ outChannels: 4, kernelSize: 3, padding: 1 }), new Tanh()), { shortcut: new Conv1d({ outChannels: 4, kernelSize: 1 }) }),
      gap: new AdaptiveAvgPool1d(5), gmp: new AdaptiveMaxPool1d(3), flat: new Flatten(), fc: new Linear({ outFeatures: 5 }),
    }),
    input: [2, 23],
  },
  {
    // Conv1d's padding as a node before it (the conv then tiled where stride, dilation and groups
    // are 1): zeros, reflect, circular, replicate with 'same' of an even kernel; the 1-D padding
    // layers, cropping too.
    name: "Conv1d's padding_mode (zeros, reflect, circular, replicate 'same'), ZeroPad1d, ConstantPad1d, ReflectionPad1d, ReplicationPad1d, CircularPad1d, Upsample over [C, L] (linear, nearest, nearest-exact)",
    model: new Sequential(
      new Conv1d({ outChannels: 4, kernelSize: 3, padding: 2 }), new Tanh(), new Conv1d({ outChannels: 4, kernelSize: 3, padding: 1, paddingMode: 'reflect', bias: false }), new ReLU(),
      new Conv1d({ outChannels: 3, kernelSize: 5, padding: 3, paddingMode: 'circular', stride: 2 }), new Tanh(), new Conv1d({ outChannels: 3, kernelSize: 4, padding: 'same', paddingMode: 'replicate' }),
      new ZeroPad1d([1, -2]), new ConstantPad1d(2, -0.5), new ReflectionPad1d([3, 1]), new ReplicationPad1d(2), new CircularPad1d([4, 0]), new Tanh(),
      new Upsample({ scaleFactor: 1.7, mode: 'linear' }), new Upsample({ size: 31, mode: 'linear', alignCorners: true }), new Upsample({ scaleFactor: [0.6] }), new Upsample({ size: [25], mode: 'nearest-exact' }),
      new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 11],
  },
  {
    // PReLU's learnt slopes: one per channel after a conv (BatchNorm2d between), one shared after a Linear.
    name: 'PReLU, a slope per channel and one shared',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3, bias: false }), new BatchNorm2d(), new PReLU(4, 0.1), new Conv2d({ outChannels: 3, kernelSize: 3 }), new PReLU(),
      new Flatten(), new Linear({ outFeatures: 6 }), new PReLU({ numParameters: 6, init: -0.3 }), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 7, 6],
  },
  {
    // A generator's shape: a Linear to a code, unflattened to [C, H, W] (one size inferred), then
    // transposed convs up to an image; Unflatten by a negative dim.
    name: 'Linear → Unflatten → ConvTranspose2d → Upsample (a decoder from a code); Unflatten of dim −1',
    model: new Sequential(
      new Flatten(), new Linear({ outFeatures: 48 }), new Tanh(), new Unflatten(1, [3, -1, 4]),
      new ConvTranspose2d({ outChannels: 4, kernelSize: 2, stride: 2 }), new ReLU(), new Upsample({ scaleFactor: 2, mode: 'bilinear' }),
      new Conv2d({ outChannels: 2, kernelSize: 3, stride: 2 }), new Flatten(), new Unflatten(-1, [14, 7]), new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [1, 6, 6],
  },
  {
    // A decoder's upsampling by interpolation: nearest by 2, nearest-exact to a size, bilinear by an
    // uneven factor (its scale 1 / factor) and recomputed from the sizes, align_corners, the named forms.
    name: 'Upsample (nearest, nearest-exact, bilinear with and without align_corners, recompute_scale_factor), UpsamplingNearest2d, UpsamplingBilinear2d',
    model: new Sequential(
      new Conv2d({ outChannels: 3, kernelSize: 3, stride: 2, bias: false }), new Upsample({ scaleFactor: 2 }), new Tanh(),
      new Upsample({ size: [9, 11], mode: 'nearest-exact' }), new Conv2d({ outChannels: 4, kernelSize: 3 }), new Upsample({ scaleFactor: [1.5, 2.7], mode: 'bilinear' }), new ReLU(),
      new Upsample({ scaleFactor: 1.3, mode: 'bilinear', alignCorners: true }), new Tanh(), new Upsample({ scaleFactor: 0.7, mode: 'bilinear', recomputeScaleFactor: true }),
      new UpsamplingNearest2d({ size: [8, 9] }), new UpsamplingBilinear2d(null, 1.5), new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 9, 8],
  },
  {
    // Per-sample normalisation: groups of channels, a group a channel, over [C, H, W], over the
    // last dimension of [C, L] features; without affine, without LayerNorm's bias (torch ≥ 2.1).
    name: 'GroupNorm (2 groups; a group a channel, no affine) and LayerNorm (over [C, H, W]; over the last dimension, no bias; no elementwise affine)',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, bias: false }), new GroupNorm(2, 6), new Tanh(),
      new Conv2d({ outChannels: 4, kernelSize: 3, bias: false }), new GroupNorm({ numGroups: 4, affine: false }), new ReLU(),
      new LayerNorm([4, 4, 5]), new Conv2d({ outChannels: 3, kernelSize: 2 }), new Flatten(),
      new Linear({ outFeatures: 8 }), new LayerNorm(8, { bias: false }), new Tanh(), new LayerNorm({ normalizedShape: 8, elementwiseAffine: false, eps: 1e-3 }), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 8, 9],
  },
  {
    name: 'InstanceNorm2d, affine and not',
    model: new Sequential(
      new Conv2d({ outChannels: 5, kernelSize: 3, bias: false }), new InstanceNorm2d(5, { affine: true }), new ReLU(),
      new Conv2d({ outChannels: 4, kernelSize: 3, bias: false }), new InstanceNorm2d(), new Tanh(), new Flatten(), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 8, 9],
  },
  {
    // [C, L] samples reach a layer only as the input (no layer here reshapes to them).
    name: 'InstanceNorm1d (affine, eps 1e-3) over [C, L] inputs, then BatchNorm1d over [C, L]',
    model: new Sequential(new InstanceNorm1d(3, 1e-3, 0.1, true), new BatchNorm1d(), new Flatten(), new Linear({ outFeatures: 6 }), new Tanh(), new Linear({ outFeatures: 4 })),
    input: [3, 10],
  },
  {
    name: "cross-entropy with label smoothing 0.1 (PyTorch's CrossEntropyLoss(label_smoothing=0.1))",
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 7 }), new Tanh(), new Linear({ outFeatures: 5 })),
    input: [1, 4, 4],
    loss: 'cross-entropy',
    labelSmoothing: 0.1,
  },
  {
    name: 'LeakyReLU (0.2) and SiLU after convs and a Linear, cross-entropy',
    model: new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3 }), new LeakyReLU(0.2), new Conv2d({ outChannels: 3, kernelSize: 3, stride: 2 }), new SiLU(), new Flatten(), new Linear({ outFeatures: 6 }), new LeakyReLU(), new Linear({ outFeatures: 4 })),
    input: [2, 9, 9],
    loss: 'cross-entropy',
  },
  {
    // Inputs spread over several units so that each activation's curved and flat parts are reached.
    name: 'GELU (exact and tanh), ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh and ReLU6, cross-entropy',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3 }), new GELU(), new Conv2d({ outChannels: 4, kernelSize: 3 }), new ELU(0.7), new Flatten(),
      new Linear({ outFeatures: 12 }), new GELU('tanh'), new Linear({ outFeatures: 12 }), new SELU(), new Linear({ outFeatures: 12 }), new Softplus(2, 1.5),
      new Linear({ outFeatures: 12 }), new Mish(), new Linear({ outFeatures: 12 }), new Hardswish(), new Linear({ outFeatures: 12 }), new Hardsigmoid(),
      new Linear({ outFeatures: 12 }), new Hardtanh(-0.3, 0.4), new Linear({ outFeatures: 12 }), new ReLU6(), new Linear({ outFeatures: 4 }),
    ),
    input: [2, 7, 7],
    loss: 'cross-entropy',
  },
  {
    name: 'AdaptiveAvgPool2d and AdaptiveMaxPool2d (uneven, overlapping and growing windows, a kept side, 1×1)',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3 }), new AdaptiveMaxPool2d([5, 4]), new ReLU(), new Conv2d({ outChannels: 3, kernelSize: 2 }),
      new AdaptiveAvgPool2d([7, null]), new Tanh(), new AdaptiveAvgPool2d(2), new Conv2d({ outChannels: 5, kernelSize: 1 }), new AdaptiveAvgPool2d(1), new Flatten(),
    ),
    input: [2, 11, 9],
    loss: 'cross-entropy',
  },
  {
    name: 'BatchNorm2d(affine=False), BatchNorm1d(track_running_stats=False), and both off',
    model: new Sequential(
      new Conv2d({ outChannels: 3, kernelSize: 3 }), new BatchNorm2d({ affine: false }), new ReLU(), new Flatten(),
      new Linear({ outFeatures: 8 }), new BatchNorm1d({ trackRunningStats: false }), new Tanh(), new Linear({ outFeatures: 6, bias: false }), new BatchNorm1d({ affine: false, trackRunningStats: false }), new Linear({ outFeatures: 4 }),
    ),
    input: [1, 6, 6],
    loss: 'cross-entropy',
  },
  {
    name: 'Dropout2d (whole channels, the masks given to both sides) after a conv and a batch norm',
    model: new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3 }), new Dropout2d(0.4), new BatchNorm2d(), new Dropout2d(0.3), new ReLU(), new Flatten(), new Linear({ outFeatures: 3 })),
    input: [2, 6, 6],
    loss: 'cross-entropy',
  },
  {
    // RReLU's slopes and the alpha dropouts' masks given to both sides (PyTorch's formulas with them: torch_step.py).
    name: 'GLU over channels and features, RReLU, FeatureAlphaDropout, AlphaDropout, Tanhshrink',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3 }), new GLU(1), new RReLU(0.1, 0.3), new FeatureAlphaDropout(0.3), new Conv2d({ outChannels: 4, kernelSize: 2 }), new Tanhshrink(),
      new Flatten(), new Linear({ outFeatures: 10 }), new GLU(), new AlphaDropout(0.2), new RReLU(), new Linear({ outFeatures: 5 }),
    ),
    input: [2, 7, 6],
  },
  {
    name: 'GLU over [C, L] (dim 1, then −1) after a Conv1d, Softmin before an MSE loss',
    model: new Sequential(new Conv1d({ outChannels: 8, kernelSize: 3 }), new GLU(1), new GLU(-1), new Tanhshrink(), new Flatten(), new Linear({ outFeatures: 4 }), new Softmin()),
    input: [3, 10],
    loss: 'mse',
  },
  {
    name: 'Identity in three places, Softmax before an MSE loss',
    model: new Sequential(new Identity(), new Flatten(), new Linear({ outFeatures: 6 }), new Identity(), new Tanh(), new Linear({ outFeatures: 4 }), new Softmax(), new Identity()),
    input: [1, 3, 3],
    loss: 'mse',
  },
  // The pointwise losses against one-hot targets, and against float targets (regression, multi-label).
  ...(['l1', 'smooth-l1', 'huber', 'bce-with-logits'] as const).flatMap((loss) => [false, true].map((targets) => ({
    name: `${loss}${targets ? ' against float targets' : ' against one-hot targets'}`,
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 })),
    input: [2, 3],
    loss,
    targets,
  }))),
  // β and δ other than 1: both sides of the kinks move (β 0 is L1 itself).
  ...[0.3, 0].map((beta) => ({ name: `smooth-l1 with β ${beta}`, model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 })), input: [2, 3], loss: 'smooth-l1' as const, targets: true, smoothL1Beta: beta })),
  { name: 'huber with δ 0.4', model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 })), input: [2, 3], loss: 'huber' as const, targets: true, huberDelta: 0.4 },
  ...[false, true].map((targets) => ({ name: `bce on a Sigmoid${targets ? ' against float targets' : ' against one-hot targets'}`, model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 }), new Sigmoid()), input: [2, 3], loss: 'bce' as const, targets })),
  // PyTorch's loss options: per-class weights (one 0) with and without label smoothing, pos_weight, KLDivLoss('batchmean') either way.
  ...[0, 0.2].map((labelSmoothing) => ({ name: `cross-entropy with class weights${labelSmoothing ? ` and label smoothing ${labelSmoothing}` : ''} (CrossEntropyLoss(weight${labelSmoothing ? ', label_smoothing' : ''}))`, model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 })), input: [2, 3], loss: 'cross-entropy' as const, labelSmoothing, classWeights: [0.5, 2, 0, 1.25, 3] })),
  // ignore_index: every second sample's label −100 (negative, outside the classes), or a class's own index.
  ...[0, 0.2].map((labelSmoothing) => ({ name: `cross-entropy with ignore_index -100 and class weights${labelSmoothing ? ` and label smoothing ${labelSmoothing}` : ''}`, model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 })), input: [2, 3], loss: 'cross-entropy' as const, labelSmoothing, classWeights: [0.5, 2, 0, 1.25, 3], ignoreIndex: -100 })),
  { name: 'nll with ignore_index 4, a class, on a LogSoftmax (NLLLoss(ignore_index))', model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 }), new LogSoftmax()), input: [2, 3], loss: 'nll', ignoreIndex: 4 },
  { name: 'nll with class weights on a LogSoftmax (NLLLoss(weight))', model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 }), new LogSoftmax()), input: [2, 3], loss: 'nll', classWeights: [1, 0.2, 4, 1, 0.7] },
  ...[false, true].map((targets) => ({ name: `bce-with-logits with pos_weight${targets ? ' against float targets' : ' against one-hot targets'} (BCEWithLogitsLoss(pos_weight))`, model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 })), input: [2, 3], loss: 'bce-with-logits' as const, targets, posWeight: [0.3, 1, 5, 0, 2] })),
  ...[false, true].map((logTarget) => ({ name: `kl-div on a LogSoftmax (KLDivLoss(reduction='batchmean'${logTarget ? ', log_target=True' : ''}))`, model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 }), new LogSoftmax()), input: [2, 3], loss: 'kl-div' as const, targets: true, logTarget })),
  { name: 'kl-div against one-hot targets (0·log 0 = 0)', model: new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new Tanh(), new Linear({ outFeatures: 5 }), new LogSoftmax()), input: [2, 3], loss: 'kl-div' },
 {
    // A token model: ids in (the padding row among them), a Linear over [L, D], the sequence turned to [D, L] for a Conv1d.
    name: 'Embedding (padding_idx) → Linear over [L, D] → ReLU → Permute([1, 0]) → Conv1d → AdaptiveAvgPool1d(1) → Flatten → Linear, cross-entropy',
    model: new Sequential(new Embedding(11, 6, { paddingIdx: 2 }), new Linear(6, 8), new ReLU(), new Permute([1, 0]), new Conv1d(8, 5, 3, { padding: 1 }), new AdaptiveAvgPool1d(1), new Flatten(), new Linear(5, 4)),
    input: [9],
    ids: 11,
    loss: 'cross-entropy',
  },
  {
    // max_norm (rows of 6 drawn N(0, 1): most named ones renormed) and scale_grad_by_freq (ids repeat: (i · 3) mod 11).
    name: 'Embedding with max_norm 1.2 and scale_grad_by_freq (padding_idx) → Linear over [L, D] → ReLU → Flatten → Linear, cross-entropy',
    model: new Sequential(new Embedding(11, 6, { paddingIdx: 2, maxNorm: 1.2, scaleGradByFreq: true }), new Linear(6, 8), new ReLU(), new Flatten(), new Linear(72, 4)),
    input: [9],
    ids: 11,
    loss: 'cross-entropy',
  },
  {
    name: 'Embedding with max_norm 2, norm_type 3 → Tanh → Flatten → Linear, cross-entropy',
    model: new Sequential(new Embedding(13, 5, { maxNorm: 2, normType: 3 }), new Tanh(), new Flatten(), new Linear(35, 3)),
    input: [7],
    ids: 13,
    loss: 'cross-entropy',
  },
  {
    // ConvNeXt's channels-last Linear: torchvision's Permute([0, 2, 3, 1]) (the batch counted), a Linear over [H, W, C], back with the sample's dims.
    name: "Permute in torchvision's form [0, 2, 3, 1] and the sample's [2, 0, 1], a Linear over two leading dimensions, Embedding with a negative padding_idx",
    model: new Sequential(new Embedding(7, 12, { paddingIdx: -1 }), new Unflatten(2, [3, 4]), new Permute([0, 2, 3, 1]), new Linear(5, 6), new Tanh(), new Permute([2, 0, 1]), new Flatten(), new Linear(72, 3)),
    input: [5],
    ids: 7,
    loss: 'cross-entropy',
  },
  { name: "Linear, Sigmoid, the sheet's ½Σ(t − a)²", model: new Sequential(new Linear({ outFeatures: 3 }), new Sigmoid(), new Linear({ outFeatures: 2 }), new Sigmoid()), input: [2], loss: 'half-sse' },
];

describe('the float64 reference against PyTorch (float64)', () => {
  for (const c of cases) {
    test(c.name, (ctx) => {
      if (!hasTorch) ctx.skip(`${python} has no PyTorch (apt-get install python3-torch)`);
      const plan = planModel(c.model, { inputShape: c.input, loss: c.loss, labelSmoothing: c.labelSmoothing, smoothL1Beta: c.smoothL1Beta, huberDelta: c.huberDelta, classWeights: c.classWeights, posWeight: c.posWeight, logTarget: c.logTarget, ignoreIndex: c.ignoreIndex });
      const params: Record<string, Float64Array> = {};
      const buffers: Record<string, Float64Array> = {};
      const masks: Record<string, Float64Array> = {};
      for (const node of plan.nodes) {
        for (const p of node.parameters) params[p.name] = Float64Array.from(initialValues(node, p, 9), (v, i) => v + 0.05 * Math.sin(3 * i + 1));
        for (const b of node.buffers) buffers[b.name] = Float64Array.from({ length: b.shape[0]! }, (_, i) => (b.name.endsWith('var') ? 0.8 + 0.1 * i : 0.05 * i));
        const elements = BATCH * node.inShape.reduce((a, b) => a * b, 1);
        if (node.layer instanceof RReLU) masks[node.path] = rreluSlopesRef(elements, node.layer.lowerBound, node.layer.upperBound, 9, node.stream, 2);
        if (node.layer instanceof Dropout && node.layer.channelWise) masks[node.path] = channelDropoutMaskRef(elements, node.inShape.slice(1).reduce((a, b) => a * b, 1), node.layer.p, 9, node.stream, 2);
        else if (node.layer instanceof Dropout) masks[node.path] = dropoutMaskRef(elements, node.layer.p, 9, node.stream, 2);
      }
      // Token ids (whole numbers below the vocabulary, every id and the padding row among them), else values.
      const input = c.ids !== undefined ? Float64Array.from({ length: BATCH * c.input.reduce((a, b) => a * b, 1) }, (_, i) => (i * 3) % c.ids!) : randomArray(BATCH * c.input.reduce((a, b) => a * b, 1), 23, -1, 2);
      const labels = Array.from({ length: BATCH }, (_, b) => (c.ignoreIndex !== undefined && c.ignoreIndex < 0 && b % 2 === 1 ? c.ignoreIndex : (b * 3 + 1) % plan.classes));
      // Float targets: spread over the losses' curved and straight parts (probabilities for the BCE losses
      // and KLDivLoss, some of them 0; log-probabilities for KLDivLoss(log_target=True)).
      const targets = !c.targets ? undefined
        : c.loss === 'kl-div' ? randomArray(BATCH * plan.classes, 29, 0, 1).map((v, i) => (c.logTarget ? Math.log(v) : i % 4 === 0 ? 0 : v))
        : randomArray(BATCH * plan.classes, 29, c.loss?.startsWith('bce') ? 0 : -2, c.loss?.startsWith('bce') ? 1 : 2);
      const ours = networkStepRef({ plan, params, buffers, input, labels, targets, batch: BATCH, mode: 'train', dropoutMasks: masks });

      const file = join(dir, 'step.json');
      const list = (r: Record<string, Float64Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
      writeFileSync(file, JSON.stringify({ model_file: modelFileText(c.model, c.input), params: list(params), buffers: list(buffers), input: Array.from(input), labels, ...(targets ? { targets: Array.from(targets) } : {}), batch: BATCH, masks: list(masks), loss: plan.loss, label_smoothing: plan.labelSmoothing, loss_beta: c.smoothL1Beta ?? c.huberDelta ?? 1, class_weights: c.classWeights, pos_weight: c.posWeight, log_target: c.logTarget ?? false, ignore_index: c.ignoreIndex }));
      const run = spawnSync(python, [script, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(run.status, run.stderr).toBe(0);
      const torch = JSON.parse(run.stdout) as { loss: number; grads: Record<string, number[]>; buffers: Record<string, number[]>; params: Record<string, number[]> };

      expect(Math.abs(ours.loss - torch.loss) / Math.abs(torch.loss)).toBeLessThan(SCALED);
      expect(Object.keys(torch.grads).sort()).toEqual(Object.keys(params).sort());
      for (const [name, g] of Object.entries(torch.grads)) expect(maxScaledError(ours.grads[name]!, g), `∂loss/∂${name}`).toBeLessThan(SCALED);
      for (const [name, b] of Object.entries(torch.buffers)) expect(maxScaledError(ours.buffers[name]!, b), name).toBeLessThan(SCALED);
      // The parameters after the forward pass: an Embedding's max_norm renorms its weight in place; the others as given.
      for (const [name, p] of Object.entries(torch.params)) expect(maxScaledError(ours.renormed[name] ?? params[name]!, p), `${name} after the forward pass`).toBeLessThan(SCALED);
      for (const [name, p] of Object.entries(ours.renormed)) expect(maxScaledError(p, params[name]!), `${name}: renormed`).toBeGreaterThan(0.01);
    }, 60_000);
  }
});
