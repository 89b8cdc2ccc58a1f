/**
 * A whole GPU training step of each shipped network against the float64 reference composed from
 * the per-layer references (src/reference/network.ts): every layer output, gradient and updated
 * tensor, fused and unfused, with each optimizer.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CELU, ELU, GELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, Mish, PReLU, ReLU, Softshrink, Softsign, Threshold, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softmin, Softplus, Tanh, Tanhshrink, RReLU, GLU, LogSoftmax } from '../../src/layers/activations.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { ConvTranspose2d } from '../../src/layers/conv-transpose2d.js';
import { Upsample, UpsamplingBilinear2d } from '../../src/layers/upsample.js';
import { ChannelShuffle, PixelShuffle, PixelUnshuffle } from '../../src/layers/shuffle.js';
import { AdaptiveAvgPool1d, AvgPool1d, CircularPad1d, ConstantPad1d, Conv1d, ConvTranspose1d, MaxPool1d, ReflectionPad1d } from '../../src/layers/one-d.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/layers/batchnorm.js';
import { GroupNorm, InstanceNorm2d, LayerNorm } from '../../src/layers/normalization.js';
import { AlphaDropout, Dropout, Dropout1d, Dropout2d, FeatureAlphaDropout } from '../../src/layers/dropout.js';
import { Flatten, Identity, Unflatten } from '../../src/layers/flatten.js';
import { Linear } from '../../src/layers/linear.js';
import { Residual, Sequential } from '../../src/layers/sequential.js';
import { CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d } from '../../src/layers/padding.js';
import { parseModelFile } from '../../src/models/model-file.js';
import { SEED_CNN_INPUT, seedCnn } from '../../src/models/seed-cnn.js';
import { Adadelta, Adamax, Adagrad, Adam, AdamW, NAdam, RAdam, RMSprop, SGD, radamRectification } from '../../src/optim/optimizers.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';
import { Network } from '../../src/plan/network.js';
import { defaultWeightTile, type Conv2dParams } from '../../src/kernels/conv2d.js';
import type { TileChooser, TiledKernelName } from '../../src/layers/layer.js';
import { randomArray } from '../helpers/allclose.js';
import { describedAs, gpuTest } from '../helpers/gpu.js';
import type { GpuContext } from '../../src/gpu/context.js';

const BATCH = 12;
const images = Float32Array.from(randomArray(BATCH * 784, 31, -0.42, 2.8));
const labels = Uint32Array.from({ length: BATCH }, (_, b) => (b * 7 + 5) % 10);

const file = (path: string) => parseModelFile(readFileSync(path, 'utf8'), path);
const cases = [
  { name: 'seed CNN, SGD momentum, fused', model: seedCnn(), input: SEED_CNN_INPUT, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }), fuse: true },
  { name: 'seed CNN, SGD momentum, unfused', model: seedCnn(), input: SEED_CNN_INPUT, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }), fuse: false },
  { name: 'MLP (examples/mlp.json), AdamW', ...file('examples/mlp.json'), optimizer: new AdamW({ lr: 1e-3 }), fuse: true },
  {
    // Conv2d (bias) → ReLU → MaxPool2d twice: the bias, the ReLU and the pool in the conv's forward
    // (relu-epilogue, maxpool-epilogue), the ReLU's gradient in the pool's backward
    // (relu-grad-in-maxpool); the reference follows the ReLU's decisions at the windows' maxima.
    name: 'LeNet-5 (examples/lenet5.json), SGD Nesterov, weight decay',
    ...file('examples/lenet5.json'),
    optimizer: new SGD({ lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }),
    fuse: true,
    pools: [['0', '2'], ['3', '5']],
    reluGradInPool: [['1', '2'], ['4', '5']],
  },
  { name: 'LeNet-5, Adam, unfused (LogSoftmax and NLL kernels of their own)', ...file('examples/lenet5.json'), optimizer: new Adam({ lr: 1e-3 }), fuse: false },
  {
    name: 'BatchNorm1d, Sigmoid, Dropout, cross-entropy on logits, SGD with dampening',
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 32 }), new BatchNorm1d(), new Sigmoid(), new Dropout(0.25), new Linear({ outFeatures: 10, bias: false })),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.1, momentum: 0.5, dampening: 0.2 }),
    fuse: true,
  },
  {
    name: 'Tanh and Sigmoid outputs, MSE against one-hot targets, Adam',
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 24 }), new Tanh(), new Linear({ outFeatures: 10 }), new Sigmoid()),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 0.01 }),
    fuse: true,
    loss: 'mse',
  },
  {
    // batchnorm-stats-epilogue without a ReLU between (the batch norm right after the conv), a
    // stride of 2, and a conv with bias before a batch norm (its bias added before the statistics
    // are summed). SGD, not Adam: that bias's gradient is 0 in exact arithmetic (the batch norm
    // removes it), and Adam's m/√v would turn its f32 rounding (1e-8) into a step of the learning rate.
    name: 'Conv2d → BatchNorm2d (statistics in the conv epilogue), then a conv with bias → BatchNorm2d (the same), SGD',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2, bias: false }),
      new BatchNorm2d(),
      new ReLU(),
      new Conv2d({ outChannels: 8, kernelSize: 3 }),
      new BatchNorm2d(),
      new Tanh(),
      new AvgPool2d(),
      new Flatten(),
      new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
    statsEpilogues: [['0', '1'], ['3', '4']],
  },
  {
    // maxpool-epilogue twice: a 26 × 26 output pooled whole, an 11 × 11 one floored (its last row
    // and column dropped) from a conv with bias (added before the pool), the ReLU after the pool.
    name: 'Conv2d → MaxPool2d twice (the pool stored by the conv; the second conv with bias), ReLU after the pool, SGD',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, bias: false }),
      new MaxPool2d(2),
      new ReLU(),
      new Conv2d({ outChannels: 12, kernelSize: 3 }),
      new MaxPool2d(2),
      new ReLU(),
      new Flatten(),
      new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
    pools: [['0', '1'], ['3', '4']],
  },
  {
    // Conv2d → BatchNorm2d → ReLU → MaxPool2d (a VGG block with batch norm): the ReLU's own
    // forward pass, its gradient in the pool's backward (relu-grad-in-maxpool), 24 × 24 pooled
    // whole (VEC4) and 11 × 11 floored (scalar).
    name: 'Conv2d → BatchNorm2d → ReLU → MaxPool2d twice (the ReLU gradient in the pool backward), Adam',
    model: new Sequential(
      // Bias-free, as before a batch norm: a bias there has a gradient of 0 in exact arithmetic,
      // which Adam would turn into a step of the learning rate from its f32 rounding.
      new Conv2d({ outChannels: 4, kernelSize: 5, padding: 0, bias: false }),
      new BatchNorm2d(),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d({ outChannels: 6, kernelSize: 2, bias: false }),
      new BatchNorm2d(),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
    reluGradInPool: [['2', '3'], ['6', '7']],
  },
  {
    // A VGG block: Conv2d → ReLU → Conv2d → ReLU → MaxPool2d, convs with bias and padding: the
    // first ReLU in the first conv's forward and its gradient in the second conv's input gradient
    // (relu-grad-in-input-gradient), the second conv, ReLU and pool one forward pass.
    name: 'Conv2d → ReLU → Conv2d → ReLU → MaxPool2d (a VGG block: no ReLU pass at all), then Linear → ReLU → Linear, SGD momentum',
    model: new Sequential(
      new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1 }),
      new ReLU(),
      new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear({ outFeatures: 32 }),
      new ReLU(),
      new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
    pools: [['2', '4']],
    reluGradInInput: [['1', '2'], ['7', '8']],
  },
  {
    // Dropout(1) zeroes its input in training, as PyTorch's (scale 0): on its own and fused into a
    // batch norm's passes; every gradient before it is 0, the last layer's bias still learns.
    name: 'Dropout(1) on its own and after a batch norm (fused): zeros, as PyTorch, SGD momentum',
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 16 }), new Dropout(1), new Linear({ outFeatures: 16 }), new BatchNorm1d(), new Dropout(1), new Linear({ outFeatures: 10 })),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    // Windows other than 2×2 (the pool2d kernels, unfused: no maxpool-epilogue, no
    // relu-grad-in-maxpool): overlapping and padded (ResNet's stem pool), dilated in ceil mode, an
    // average of overlapping windows without its padding, one with divisor_override.
    name: 'MaxPool2d(3, 2, 1) after Conv2d → ReLU, a dilated ceil-mode max pool, AvgPool2d windows (count_include_pad false, divisor_override), SGD',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, padding: 1 }),
      new ReLU(),
      new MaxPool2d(3, 2, 1),
      new Conv2d({ outChannels: 8, kernelSize: 3 }),
      new MaxPool2d({ kernelSize: 2, stride: 1, dilation: 2, ceilMode: true }),
      new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
      new Tanh(),
      new AvgPool2d({ kernelSize: 2, divisorOverride: 3 }),
      new Flatten(),
      new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
    pools: [],
    reluGradInPool: [],
  },
  {
    // Convs of other geometries run the direct kernels (Conv2d.tiled false), which fuse nothing: a
    // ReLU, a batch norm and a 2×2 max pool after them, and a ReLU before one, run their own passes.
    name: "Conv2d groups, depthwise, dilation, (h, w) stride, padding 'same' of an even kernel, beside ReLU, BatchNorm2d and MaxPool2d(2), SGD momentum",
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: [1, 2], padding: 1 }), new ReLU(), new BatchNorm2d(), new MaxPool2d(2),
      new Conv2d({ outChannels: 12, kernelSize: 3, groups: 6, dilation: 2, padding: 'same' }), new ReLU(),
      new Conv2d({ outChannels: 8, kernelSize: [2, 4], groups: 4, padding: 'same', bias: false }), new BatchNorm2d(), new ReLU(),
      new Conv2d({ outChannels: 8, kernelSize: 1 }), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
    pools: [],
    statsEpilogues: [],
    // Only the plain 1×1 conv (tiled) takes the ReLU before it.
    reluGradInInput: [['8', '9']],
  },
  {
    name: 'GroupNorm (4 groups; a group a channel without affine) and LayerNorm (over [C, H, W]; over features without bias), Adam',
    model: new Sequential(
      new Conv2d({ outChannels: 8, kernelSize: 3, bias: false }), new GroupNorm(4, 8), new ReLU(), new MaxPool2d(2),
      // No bias before a per-channel normalisation: its true gradient is 0, and Adam's first step
      // turns float noise into ±lr (the kink of the notes' check --optimizer adam item).
      new Conv2d({ outChannels: 6, kernelSize: 3, bias: false }), new GroupNorm({ numGroups: 6, affine: false }), new Tanh(),
      new LayerNorm([6, 11, 11]), new Flatten(), new Linear({ outFeatures: 24 }), new LayerNorm(24, { bias: false }), new ReLU(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
  },
  {
    name: 'InstanceNorm2d (affine, then not) after convs, SGD momentum',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2, bias: false }), new InstanceNorm2d({ affine: true }), new ReLU(),
      new Conv2d({ outChannels: 8, kernelSize: 3, bias: false }), new InstanceNorm2d(), new ReLU(), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  ...(['l1', 'smooth-l1', 'huber', 'bce-with-logits'] as const).map((loss) => ({
    name: `${loss} against one-hot targets, Adam`,
    model: new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2 }), new ReLU(), new Flatten(), new Linear({ outFeatures: 10 })),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
    loss,
  })),
  {
    name: 'bce on a Sigmoid against one-hot targets, SGD',
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 16 }), new Tanh(), new Linear({ outFeatures: 10 }), new Sigmoid()),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.1 }),
    fuse: true,
    loss: 'bce' as const,
  },
  {
    name: 'LeNet-5, RMSprop (centered, momentum, weight decay)',
    ...file('examples/lenet5.json'),
    optimizer: new RMSprop({ lr: 1e-3, momentum: 0.9, centered: true, weightDecay: 1e-4 }),
    fuse: true,
  },
  { name: 'the seed CNN, RMSprop', model: seedCnn(), input: SEED_CNN_INPUT, optimizer: new RMSprop({ lr: 1e-3 }), fuse: true },
  {
    // RMSprop's first step is about ±10·lr for any gradient (g / √((1 − α)·g²)): where a gradient is
    // float noise the reference's float64 one has another sign. The update is checked on the GPU's
    // own gradients (themselves checked against float64): it failed before, at 4.weight.
    name: 'RMSprop lr 0.01, weight decay 0.1 but not on 1-D parameters, Conv2d → GroupNorm → Linear',
    model: new Sequential(new Conv2d({ outChannels: 8, kernelSize: 3 }), new GroupNorm(2), new ReLU(), new Flatten(), new Linear({ outFeatures: 10 })),
    input: [1, 28, 28],
    optimizer: new RMSprop({ lr: 0.01, weightDecay: 0.1, paramGroups: [{ params: (_name: string, shape: readonly number[]) => shape.length === 1, weightDecay: 0 }] }),
    fuse: true,
  },
  {
    name: 'cross-entropy with label smoothing 0.1 on logits, SGD momentum',
    model: new Sequential(new Flatten(), new Linear({ outFeatures: 24 }), new ReLU(), new Linear({ outFeatures: 10 })),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
    loss: 'cross-entropy',
    labelSmoothing: 0.1,
  },
  {
    name: 'LeakyReLU and SiLU (their backward from the input), Adam',
    model: new Sequential(new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2 }), new LeakyReLU(0.1), new Conv2d({ outChannels: 8, kernelSize: 3 }), new SiLU(), new Flatten(), new Linear({ outFeatures: 16 }), new LeakyReLU(-0.2), new Linear({ outFeatures: 10 })),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
  },
  {
    name: 'GELU (exact and tanh), ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh, ReLU6, SGD',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2 }), new GELU(), new Conv2d({ outChannels: 8, kernelSize: 3 }), new Mish(), new Conv2d({ outChannels: 8, kernelSize: 3, stride: 2 }), new ELU(0.5),
      new Flatten(), new Linear({ outFeatures: 24 }), new GELU('tanh'), new Linear({ outFeatures: 24 }), new SELU(), new Linear({ outFeatures: 24 }), new Softplus(2, 4),
      new Linear({ outFeatures: 24 }), new Hardswish(), new Linear({ outFeatures: 24 }), new Hardsigmoid(), new Linear({ outFeatures: 24 }), new Hardtanh(-0.2, 0.3),
      new Linear({ outFeatures: 24 }), new ReLU6(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    name: 'AdaptiveMaxPool2d and AdaptiveAvgPool2d (uneven windows, a grown map, 1×1: the global kernel), Adam with AMSGrad',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2 }), new ReLU(), new AdaptiveMaxPool2d([5, 7]), new Conv2d({ outChannels: 8, kernelSize: 3 }), new Tanh(),
      new AdaptiveAvgPool2d([4, null]), new AdaptiveAvgPool2d(6), new Conv2d({ outChannels: 10, kernelSize: 1 }), new AdaptiveAvgPool2d(1), new Flatten(),
    ),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3, amsgrad: true }),
    fuse: true,
  },
  {
    name: 'BatchNorm2d(affine=False) after a conv (statistics in its epilogue), BatchNorm1d(track_running_stats=False) and both off, with dropout after them',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2 }), new ReLU(), new BatchNorm2d({ affine: false }), new Dropout(0.2),
      new Flatten(), new Linear({ outFeatures: 24 }), new BatchNorm1d(24, 1e-5, 0.1, true, false), new ReLU(),
      new Linear({ outFeatures: 16 }), new BatchNorm1d({ affine: false, trackRunningStats: false }), new Tanh(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    name: 'Dropout2d after a conv and after a batch norm (not fused: whole channels dropped), SGD',
    model: new Sequential(
      new Conv2d({ outChannels: 8, kernelSize: 3, stride: 2 }), new ReLU(), new Dropout2d(0.3), new Conv2d({ outChannels: 8, kernelSize: 3 }), new BatchNorm2d(), new Dropout2d(0.25),
      new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    name: 'Identity (a view: no kernel, no slot) and Softmax under an MSE loss',
    model: new Sequential(new Identity(), new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2 }), new Identity(), new ReLU(), new Flatten(), new Linear({ outFeatures: 10 }), new Softmax(), new Identity()),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.1, momentum: 0.9 }),
    fuse: true,
    loss: 'mse',
  },
  {
    name: "a conv with bias, ReLU, global average pooling, the sheet's ½Σ(t − a)²",
    model: new Sequential(new Conv2d({ outChannels: 10, kernelSize: 3, stride: 2, padding: 1 }), new ReLU(), new AvgPool2d(), new Flatten()),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.1 }),
    fuse: true,
    loss: 'half-sse',
  },
  {
    // F.pad's four modes as layers and as Conv2d's padding_mode (a pass of its own before the conv,
    // `<conv>:pad`): a ReLU before a padded conv keeps its own backward (the padding is between
    // them), a conv after one runs the tiled kernels with no zeros; blocks whose body and shortcut
    // start with padding read the block's input (their input gradients summed there).
    name: "the padding layers and Conv2d's padding_mode, in and out of residual blocks, SGD momentum",
    model: new Sequential({
      stem: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 2, paddingMode: 'reflect', bias: false }),
      relu: new ReLU(),
      pad: new ReplicationPad2d([1, 2, 0, 3]),
      down: new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2, padding: [1, 2], paddingMode: 'circular' }),
      bn: new BatchNorm2d(),
      act: new ReLU(),
      block: new Residual(
        new Sequential(new ReflectionPad2d(1), new Conv2d({ outChannels: 6, kernelSize: 3, bias: false }), new BatchNorm2d(), new ReLU(), new Conv2d({ outChannels: 6, kernelSize: 3, padding: 1, paddingMode: 'replicate' })),
        { shortcut: new Conv2d({ outChannels: 6, kernelSize: 3, padding: 'same', paddingMode: 'circular' }) },
        { activation: new ReLU() },
      ),
      crop: new ConstantPad2d([-1, 1, 2, -2], 0.75),
      wrap: new CircularPad2d([3, 0, 1, 2]),
      zeros: new ZeroPad2d(1),
      last: new Conv2d({ outChannels: 5, kernelSize: 4, padding: 'same', paddingMode: 'replicate' }),
      gap: new AvgPool2d(4),
      flat: new Flatten(),
      fc: new Linear({ outFeatures: 10 }),
    }),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    // Depthwise convs of at most 3×3 (groups = in = out channels) run the direct kernels' DEPTHWISE
    // variants: stride 2, dilation 2 with 'same' padding, and a depthwise ConvTranspose2d (its
    // forward DEPTHWISE's input gradient, its input gradient DEPTHWISE's forward).
    name: 'depthwise Conv2d (stride 2; dilation 2, padding same) and depthwise ConvTranspose2d (stride 2), Adam',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new ReLU(),
      new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2, padding: 1, groups: 4 }), new ReLU(),
      new Conv2d({ outChannels: 4, kernelSize: 3, dilation: 2, padding: 'same', groups: 4, bias: false }), new Tanh(),
      new ConvTranspose2d({ outChannels: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 4 }), new ReLU(),
      new AvgPool2d(4), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
  },
  {
    // ConvTranspose2d on the conv kernels, roles turned round: the forward an input gradient
    // (then the bias), the input gradient a forward, the weight gradient with the output gradient
    // as the conv's input — the tiled kernels where its conv's geometry is theirs (the first and
    // third here), else the direct ones; output_padding past the stride (at stride 1, below the
    // dilation), groups; a batch norm after one (no conv epilogue to sum its statistics).
    name: 'ConvTranspose2d (stride 2 with output_padding, groups, dilation; first in the network too), Adam',
    model: new Sequential(
      new ConvTranspose2d({ outChannels: 3, kernelSize: 2, stride: 1 }), new Tanh(),
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2, bias: false }), new ReLU(),
      new ConvTranspose2d({ outChannels: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, bias: false }), new BatchNorm2d(), new ReLU(),
      new ConvTranspose2d({ outChannels: 4, kernelSize: [2, 3], stride: [2, 1], padding: [0, 1], groups: 2 }), new Tanh(),
      new ConvTranspose2d({ outChannels: 2, kernelSize: 3, dilation: 2, outputPadding: [1, 0], padding: 2 }),
      new AvgPool2d(4), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
  },
  {
    // The kernels generated for a layer's sizes (lavapipe's defaults), roles turned round too: a
    // ConvTranspose2d 3×3 stride 1 on a 6×6 map (its weight gradient row-wide, conv-weight-wide.ts),
    // a 1×1 ConvTranspose2d (the pointwise weight gradient, x and dy exchanged) and a 1×1 Conv2d
    // (the pointwise input and weight gradients) off a max pool's fusion.
    name: 'generated tiles with roles turned round: ConvTranspose2d 3×3 stride 1 on 6×6, 1×1 ConvTranspose2d and Conv2d, SGD',
    model: new Sequential(
      new Conv2d({ outChannels: 8, kernelSize: 3, stride: 2 }), new ReLU(),
      new Conv2d({ outChannels: 8, kernelSize: 3, stride: 2, bias: false }), new ReLU(),
      new ConvTranspose2d({ outChannels: 8, kernelSize: 3, padding: 1 }), new ReLU(),
      new ConvTranspose2d({ outChannels: 6, kernelSize: 1, bias: false }), new Tanh(),
      new Conv2d({ outChannels: 5, kernelSize: 1 }), new ReLU(),
      new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.01, momentum: 0.9 }),
    fuse: true,
  },
  {
    // ConvTranspose2d on the tiled kernels at a decoder's sizes: DCGAN's 4×4 stride 2 padding 1
    // (28 → 56), a 5×5 stride 3 with output_padding 2 (rows past its conv's last window; 18 → 54),
    // first in the network (no input gradient) and after a conv.
    name: 'ConvTranspose2d on the tiled kernels (4×4 stride 2, 5×5 stride 3 with output_padding 2), SGD momentum',
    model: new Sequential(
      new ConvTranspose2d({ outChannels: 8, kernelSize: 4, stride: 2, padding: 1 }), new ReLU(),
      new Conv2d({ outChannels: 12, kernelSize: 3, stride: 3, bias: false }), new Tanh(),
      new ConvTranspose2d({ outChannels: 12, kernelSize: 5, stride: 3, padding: 2, outputPadding: 2 }), new ReLU(),
      new AdaptiveAvgPool2d(2), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    // Upsampling on the GPU (its taps in float32, the reference's in float64: within the check's
    // tolerance): nearest by 2 after a strided conv, bilinear by an uneven factor and with
    // align_corners, a named form; first in the network too.
    name: 'Upsample (nearest, bilinear, align_corners; first in the network too), UpsamplingBilinear2d, SGD momentum',
    model: new Sequential(
      new Upsample({ scaleFactor: 1.5, mode: 'bilinear' }), new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2, bias: false }), new BatchNorm2d(), new ReLU(),
      new Upsample({ scaleFactor: 2 }), new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2 }), new Tanh(),
      new Upsample({ size: [17, 23], mode: 'bilinear', alignCorners: true }), new UpsamplingBilinear2d({ scaleFactor: 0.5 }),
      new AvgPool2d(2), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    // A decoder from a code: Linear → Unflatten (a view: the ConvTranspose2d reads the Linear's output buffer) → transposed convs.
    name: 'Linear → Unflatten → ConvTranspose2d → BatchNorm2d → Upsample → Conv2d (a decoder from a code), AdamW',
    model: new Sequential(
      new Flatten(), new Linear({ outFeatures: 64 }), new ReLU(), new Unflatten(1, [4, 4, 4]),
      new ConvTranspose2d({ outChannels: 8, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }), new BatchNorm2d(), new ReLU(),
      new Upsample({ scaleFactor: 2 }), new Conv2d({ outChannels: 3, kernelSize: 3, padding: 1 }), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new AdamW({ lr: 1e-3 }),
    fuse: true,
  },
  {
    // PReLU's slopes learnt on the GPU: per channel between a conv and a max pool, shared after a Linear.
    name: 'PReLU (a slope per channel; one shared), SGD momentum with weight decay',
    model: new Sequential(
      new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2 }), new PReLU(6), new MaxPool2d(2), new Conv2d({ outChannels: 8, kernelSize: 3 }), new BatchNorm2d(), new PReLU(8, -0.2),
      new Flatten(), new Linear({ outFeatures: 16 }), new PReLU(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9, weightDecay: 1e-3 }),
    fuse: true,
  },
  {
    name: 'CELU, Softshrink, Threshold after convs; LogSigmoid, Softsign, Hardshrink after Linears, Adam',
    model: new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2 }), new CELU(0.6), new Conv2d({ outChannels: 4, kernelSize: 3 }), new Softshrink(0.05), new Conv2d({ outChannels: 3, kernelSize: 3, stride: 2 }), new Threshold(-0.1, 0.2),
      new Flatten(), new Linear({ outFeatures: 16 }), new LogSigmoid(), new Linear({ outFeatures: 16 }), new Softsign(), new Linear({ outFeatures: 16 }), new Hardshrink(0.02), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
  },
  {
    // RReLU's slopes and the alpha dropouts' masks drawn on the GPU, the reference following them
    // (the same Philox words); GLU over a map's channels (dim 1) and over features (dim −1).
    name: 'GLU over channels, RReLU, FeatureAlphaDropout, Tanhshrink after convs; GLU, AlphaDropout, RReLU after Linears, Adam',
    model: new Sequential(
      new Conv2d({ outChannels: 8, kernelSize: 3, stride: 2 }), new GLU(1), new Conv2d({ outChannels: 6, kernelSize: 3 }), new RReLU(), new FeatureAlphaDropout(0.2),
      new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2 }), new Tanhshrink(),
      new Flatten(), new Linear({ outFeatures: 16 }), new GLU(), new AlphaDropout(0.3), new RReLU(0.05, 0.4), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
  },
  {
    name: 'GLU over [C, L] (dim 1 and −1) after a Conv1d, Tanhshrink, Softmin under an MSE loss, SGD',
    model: new Sequential(new Conv1d({ outChannels: 8, kernelSize: 3 }), new GLU(1), new GLU(-1), new Tanhshrink(), new Flatten(), new Linear({ outFeatures: 10 }), new Softmin()),
    input: [28, 28],
    optimizer: new SGD({ lr: 0.1 }),
    fuse: true,
    loss: 'mse' as const,
  },
  {
    name: 'PixelShuffle after a conv, PixelUnshuffle, ChannelShuffle between grouped convs, SGD momentum',
    model: new Sequential(
      new Conv2d({ outChannels: 8, kernelSize: 3, stride: 2 }), new ReLU(), new PixelShuffle(2), new Conv2d({ outChannels: 4, kernelSize: 3, stride: 2 }), new Tanh(),
      new PixelUnshuffle(2), new Conv2d({ outChannels: 16, kernelSize: 1, groups: 4 }), new ChannelShuffle(4), new Conv2d({ outChannels: 8, kernelSize: 1, groups: 4 }), new ReLU(),
      new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [1, 28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
  {
    // An image's rows as a sequence: [28, 28] as 28 channels of length 28, through the 1-D layers
    // (their 2-D counterparts on [C, 1, L]: the tiled conv where its geometry allows, the direct
    // one with padding, the pool kernels), a 1-D residual block with a Conv1d shortcut.
    name: 'Conv1d, BatchNorm1d, Dropout1d, MaxPool1d, AvgPool1d, ConvTranspose1d, a residual block, AdaptiveAvgPool1d over [28, 28] sequences, Adam',
    model: new Sequential({
      conv: new Conv1d({ outChannels: 16, kernelSize: 3 }), bn: new BatchNorm1d(), act: new ReLU(), drop: new Dropout1d(0.25), pool: new MaxPool1d(2),
      padded: new Conv1d({ outChannels: 12, kernelSize: 5, padding: 2, stride: 2 }), shuffle: new ChannelShuffle(4), tanh: new Tanh(), avg: new AvgPool1d(3, 1, 1),
      up: new ConvTranspose1d({ outChannels: 8, kernelSize: 2, stride: 2 }),
      block: new Residual(new Sequential(new Conv1d({ outChannels: 8, kernelSize: 3, padding: 1, bias: false }), new BatchNorm1d(), new ReLU()), { shortcut: new Conv1d({ outChannels: 8, kernelSize: 1 }) }),
      gap: new AdaptiveAvgPool1d(4), flat: new Flatten(), fc: new Linear({ outFeatures: 10 }),
    }),
    input: [28, 28],
    optimizer: new Adam({ lr: 1e-3 }),
    fuse: true,
  },
  {
    // Conv1d's padding as a node of its own: the conv tiled (stride 1) after a zero or reflect pad,
    // a circular 'same' one, and the 1-D padding layers; a ReLU before a padded conv keeps its backward.
    name: "Conv1d's padding nodes (zeros and reflect, then tiled; circular 'same'), the 1-D padding layers, Upsample over [C, L], SGD momentum",
    model: new Sequential(
      new Conv1d({ outChannels: 8, kernelSize: 3, padding: 1 }), new ReLU(), new Conv1d({ outChannels: 8, kernelSize: 5, padding: 2, paddingMode: 'reflect', bias: false }), new BatchNorm1d(), new ReLU(),
      new Conv1d({ outChannels: 6, kernelSize: 4, padding: 'same', paddingMode: 'circular' }), new Tanh(), new ReflectionPad1d([2, 1]), new ConstantPad1d([1, -3], 0.25), new CircularPad1d(2),
      new Upsample({ scaleFactor: 1.5, mode: 'linear' }), new Upsample({ size: 40 }),
      new MaxPool1d(2), new Flatten(), new Linear({ outFeatures: 10 }),
    ),
    input: [28, 28],
    optimizer: new SGD({ lr: 0.05, momentum: 0.9 }),
    fuse: true,
  },
] as const;

describe('the report', () => {
  test('says whether the reference followed the GPU’s decisions, and how many of its own differed', () => {
    const report = { batch: 4, rows: [], decisions: { relu: 1, maxpool: 3 }, followed: true, passed: true, tolerance: { atol: 1e-4, rtol: 1e-3 } };
    expect(formatCheckReport(report)).toContain("Decisions (the reference follows the GPU's): its own ReLU masks differed in 1 element, its max-pool choices in 3 windows.");
    const own = formatCheckReport({ ...report, decisions: { relu: 0, maxpool: 0 }, followed: false });
    expect(own).toContain('Decisions: the reference made its own ReLU masks and max-pool choices (--no-follow)');
    expect(own).not.toContain('follows the GPU');
  });
});

describe('one GPU training step against the float64 reference', () => {
  for (const c of cases) {
    gpuTest(c.name, async (ctx) => {
      const network = new Network(ctx, c.model, { inputShape: c.input, maxBatch: 16, seed: 3, optimizer: c.optimizer, fuse: c.fuse, loss: 'loss' in c ? c.loss : undefined, labelSmoothing: 'labelSmoothing' in c ? c.labelSmoothing : undefined });
      if ('labelSmoothing' in c) expect(network.plan.labelSmoothing, 'the plan holds the smoothing both sides read').toBe(c.labelSmoothing);
      if ('statsEpilogues' in c) expect(network.plan.fusions.filter((f) => f.rule === 'batchnorm-stats-epilogue').map((f) => f.paths)).toEqual(c.statsEpilogues);
      if ('pools' in c) expect(network.plan.fusions.filter((f) => f.rule === 'maxpool-epilogue').map((f) => f.paths)).toEqual(c.pools);
      if ('reluGradInPool' in c) expect(network.plan.fusions.filter((f) => f.rule === 'relu-grad-in-maxpool').map((f) => f.paths)).toEqual(c.reluGradInPool);
      if ('reluGradInInput' in c) expect(network.plan.fusions.filter((f) => f.rule === 'relu-grad-in-input-gradient').map((f) => f.paths)).toEqual(c.reluGradInInput);
      const report = await checkNetworkStep(network, images, labels);
      const table = formatCheckReport(report);
      expect(report.passed, table).toBe(true);
      expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
      expect(report.rows.filter((r) => r.kind === 'activation').length).toBeGreaterThanOrEqual(2);
    });
  }
});

describe("one GPU training step with PyTorch's loss options against the float64 reference", () => {
  const mlp = (...tail: InstanceType<typeof LogSoftmax>[]) => new Sequential(new Flatten(), new Linear({ outFeatures: 24 }), new ReLU(), new Linear({ outFeatures: 10 }), ...tail);
  // Class 3 weighs 0 (the batch has samples of it), the others around 1.
  const classWeights = [1, 0.5, 2, 0, 1.5, 0.75, 3, 1, 0.25, 1.25];
  // Probability targets (a third of them 0: 0·log 0 = 0), and log-probability targets.
  const probabilities = Float32Array.from(randomArray(BATCH * 10, 33, 0, 1), (v, i) => (i % 3 === 0 ? 0 : v));
  for (let b = 0; b < BATCH; b++) {
    const row = probabilities.subarray(b * 10, (b + 1) * 10);
    const sum = row.reduce((a, v) => a + v, 0);
    row.forEach((v, j) => (row[j] = v / sum));
  }
  const logTargets = Float32Array.from(randomArray(BATCH * 10, 34, -6, 0));
  const ignoring = (ignoreIndex: number) => Int32Array.from(labels, (l, b) => (b % 3 === 1 ? ignoreIndex : l));
  const cases = [
    { name: "cross-entropy with class weights and label smoothing 0.1 (PyTorch's CrossEntropyLoss(weight, label_smoothing)), SGD momentum", model: mlp(), options: { loss: 'cross-entropy', classWeights, labelSmoothing: 0.1 }, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) },
    { name: 'nll with class weights on a LogSoftmax (fused: log-softmax-nll), Adam', model: mlp(new LogSoftmax()), options: { loss: 'nll', classWeights }, optimizer: new Adam({ lr: 1e-3 }) },
    { name: 'nll with class weights on a LogSoftmax, unfused (nll_forward, nll_backward), SGD', model: mlp(new LogSoftmax()), options: { loss: 'nll', classWeights, fuse: false }, optimizer: new SGD({ lr: 0.1 }) },
    { name: "bce-with-logits with pos_weight against one-hot targets (PyTorch's BCEWithLogitsLoss(pos_weight)), SGD", model: mlp(), options: { loss: 'bce-with-logits', posWeight: [3, 0.5, 1, 0, 2, 9, 1, 1, 0.1, 4] }, optimizer: new SGD({ lr: 0.1 }) },
    { name: "kl-div on a LogSoftmax against probability targets (KLDivLoss(reduction='batchmean')), Adam", model: mlp(new LogSoftmax()), options: { loss: 'kl-div' }, targets: probabilities, optimizer: new Adam({ lr: 1e-3 }) },
    { name: "kl-div against log-probability targets (KLDivLoss('batchmean', log_target=True)), SGD", model: mlp(new LogSoftmax()), options: { loss: 'kl-div', logTarget: true }, targets: logTargets, optimizer: new SGD({ lr: 0.1 }) },
    { name: 'kl-div against the one-hot targets of class labels, SGD', model: mlp(new LogSoftmax()), options: { loss: 'kl-div' }, optimizer: new SGD({ lr: 0.1 }) },
    // ignore_index: a third of the labels −100 (outside the classes, negative: the labels' 32 bits), or a class's own index.
    { name: "cross-entropy with ignore_index -100, class weights and label smoothing 0.1 (CrossEntropyLoss(weight, ignore_index, label_smoothing)), SGD momentum", model: mlp(), options: { loss: 'cross-entropy', classWeights, labelSmoothing: 0.1, ignoreIndex: -100 }, labels: ignoring(-100), optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) },
    { name: 'cross-entropy with ignore_index -100 (weights of 1 bound), Adam', model: mlp(), options: { loss: 'cross-entropy', ignoreIndex: -100 }, labels: ignoring(-100), optimizer: new Adam({ lr: 1e-3 }) },
    { name: 'nll with ignore_index 5, a class, on a LogSoftmax (fused), SGD', model: mlp(new LogSoftmax()), options: { loss: 'nll', ignoreIndex: 5 }, labels, optimizer: new SGD({ lr: 0.1 }) },
    { name: 'nll with ignore_index -1 and class weights, unfused (nll_forward, nll_backward), SGD', model: mlp(new LogSoftmax()), options: { loss: 'nll', classWeights, ignoreIndex: -1, fuse: false }, labels: ignoring(-1), optimizer: new SGD({ lr: 0.1 }) },
  ] as const;
  for (const c of cases) {
    gpuTest(c.name, async (ctx) => {
      const network = new Network(ctx, c.model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer: c.optimizer, ...c.options });
      const report = await checkNetworkStep(network, images, 'labels' in c ? c.labels : labels, { targets: 'targets' in c ? c.targets : undefined });
      expect(report.passed, formatCheckReport(report)).toBe(true);
      expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
    });
  }
});

describe('Adagrad on the GPU', () => {
  // Three steps in a row, each checked from the state the one before left: the sum accumulates and
  // lr_decay lowers the rate (clr = lr / (1 + (step − 1)·lr_decay)); a group's own rate and weight
  // decay; the sum starting at initial_accumulator_value.
  gpuTest('LeNet-5, Adagrad (lr_decay, weight decay, an initial accumulator, a param group): three steps against float64', async (ctx) => {
    const optimizer = new Adagrad({ lr: 0.02, lrDecay: 0.5, weightDecay: 1e-3, initialAccumulatorValue: 0.1, paramGroups: [{ params: ['11.weight', '11.bias'], lr: 0.05, weightDecay: 0 }] });
    const network = new Network(ctx, file('examples/lenet5.json').model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer });
    expect(Array.from(await ctx.read(network.parameters[0]!.state.sum!)).every((v) => v === Math.fround(0.1))).toBe(true);
    for (let step = 1; step <= 3; step++) {
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    expect(network.optimizerSteps).toBe(3);
    // A file without optimizer state (a PyTorch state_dict) starts the sum afresh, at initial_accumulator_value.
    const { encodeCheckpoint, loadCheckpoint } = await import('../../src/checkpoint/checkpoint.js');
    const { decodeSafetensors, encodeSafetensors } = await import('../../src/checkpoint/safetensors.js');
    const { tensors } = decodeSafetensors(await encodeCheckpoint(network), 'x');
    const stateDict = Object.fromEntries(Object.entries(tensors).filter(([name]) => !name.startsWith('optimizer.')));
    expect(Math.max(...Array.from(await ctx.read(network.parameters[0]!.state.sum!)))).toBeGreaterThan(0.1);
    loadCheckpoint(network, encodeSafetensors(stateDict, {}), 'state_dict.safetensors');
    expect(Array.from(await ctx.read(network.parameters[0]!.state.sum!)).every((v) => v === Math.fround(0.1))).toBe(true);
  });
});

describe('NAdam and RAdam on the GPU (PyTorch 1.13)', () => {
  // Three steps in a row, each checked from the state the one before left.
  gpuTest("LeNet-5, NAdam (weight decay, a param group's own rate and decay, clip_grad_norm_): three steps against float64", async (ctx) => {
    // μ_t and mu_product move every step; the group's rate gives it its own two coefficients (GROUP_LR).
    const optimizer = new NAdam({ lr: 0.01, weightDecay: 1e-3, momentumDecay: 0.01, paramGroups: [{ params: ['11.weight', '11.bias'], lr: 0.03, weightDecay: 0 }] });
    const network = new Network(ctx, file('examples/lenet5.json').model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer, clipGradNorm: 1 });
    for (let step = 1; step <= 3; step++) {
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    expect(network.optimizerSteps).toBe(3);
  });

  gpuTest('LeNet-5, RAdam (OneCycleLR cycling β1, a no-decay group, clip_grad_value_): steps 5, 6 and 7 against float64, un-adapted then rectified', async (ctx) => {
    // From optimizer step 4 (as a checkpoint's): step 5 is un-adapted (ρ_t ≤ 5), 6 and 7 rectified.
    expect([5, 6, 7].map((t) => radamRectification(0.999, t) !== undefined)).toEqual([false, true, true]);
    const optimizer = new RAdam({ lr: 0.02, weightDecay: 1e-3, paramGroups: [{ params: (_name, shape) => shape.length === 1, weightDecay: 0 }] }, { kind: 'onecycle', maxLr: 0.02, totalSteps: 12 });
    const network = new Network(ctx, file('examples/lenet5.json').model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer, clipGradValue: 0.05 });
    network.stepsTaken = 4;
    for (let step = 5; step <= 7; step++) {
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    expect(network.optimizerSteps).toBe(7);
  });
});

describe('Adamax and Adadelta on the GPU (PyTorch 1.13)', () => {
  // Three steps in a row, each checked from the state the one before left.
  gpuTest("LeNet-5, Adamax (weight decay, a param group's own rate and decay, clip_grad_norm_): three steps against float64", async (ctx) => {
    // clr = lr/(1 − β1^t) moves every step; the group's rate gives it its own (GROUP_LR).
    const optimizer = new Adamax({ lr: 0.01, weightDecay: 1e-3, paramGroups: [{ params: ['11.weight', '11.bias'], lr: 0.03, weightDecay: 0 }] });
    const network = new Network(ctx, file('examples/lenet5.json').model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer, clipGradNorm: 1 });
    for (let step = 1; step <= 3; step++) {
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    expect(network.optimizerSteps).toBe(3);
  });

  gpuTest('LeNet-5, Adamax under OneCycleLR cycling β1 (a no-decay group, clip_grad_value_): steps 5, 6 and 7 against float64', async (ctx) => {
    const optimizer = new Adamax({ lr: 0.02, weightDecay: 1e-3, paramGroups: [{ params: (_name, shape) => shape.length === 1, weightDecay: 0 }] }, { kind: 'onecycle', maxLr: 0.02, totalSteps: 12 });
    const network = new Network(ctx, file('examples/lenet5.json').model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer, clipGradValue: 0.05 });
    network.stepsTaken = 4;
    for (let step = 5; step <= 7; step++) {
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    expect(network.optimizerSteps).toBe(7);
  });

  gpuTest("LeNet-5, Adadelta (weight decay, a param group's own rate and decay, clip_grad_norm_): three steps against float64", async (ctx) => {
    const optimizer = new Adadelta({ lr: 1, weightDecay: 1e-3, rho: 0.8, paramGroups: [{ params: ['11.weight', '11.bias'], lr: 2, weightDecay: 0 }] });
    const network = new Network(ctx, file('examples/lenet5.json').model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer, clipGradNorm: 1 });
    for (let step = 1; step <= 3; step++) {
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    expect(network.optimizerSteps).toBe(3);
  });

  gpuTest('LeNet-5, Adadelta under OneCycleLR without cycling (a no-decay group, clip_grad_value_): steps 5, 6 and 7 against float64', async (ctx) => {
    const optimizer = new Adadelta({ weightDecay: 1e-3, paramGroups: [{ params: (_name, shape) => shape.length === 1, weightDecay: 0 }] }, { kind: 'onecycle', maxLr: 2, totalSteps: 12, cycleMomentum: false });
    const network = new Network(ctx, file('examples/lenet5.json').model, { inputShape: [1, 28, 28], maxBatch: 16, seed: 3, optimizer, clipGradValue: 0.05 });
    network.stepsTaken = 4;
    for (let step = 5; step <= 7; step++) {
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    expect(network.optimizerSteps).toBe(7);
  });
});

describe('a network that starts past step 0 (loaded from a checkpoint)', () => {
  gpuTest('its first step draws the dropout masks of its steps taken, in a plain Dropout and in one fused into a batch norm', async (ctx) => {
    // The dropout kernels are made at the first forward pass, after beginStep has set the step:
    // they must take it then (check --init of a trained checkpoint once drew step 0's masks).
    for (const fuse of [true, false]) {
      const network = new Network(ctx, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: 16, seed: 3, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }), fuse });
      network.stepsTaken = 37;
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, formatCheckReport(report)).toBe(true);
      expect(network.stepsTaken).toBe(38);
    }
  });
});

describe('a step with chosen tiles', () => {
  gpuTest('the seed CNN with non-default weight-gradient tiles, splits and workgroups (what the tuner may choose): still within the reference', async (ctx) => {
    const chosen: { kernel: string; rows: number }[] = [];
    const tiles = ((kernel: TiledKernelName, params: Conv2dParams) => {
      if (kernel !== 'conv2d_backward_weight') return undefined;
      const d = defaultWeightTile(params);
      // 8 output channels × the other tap count: two register tiles the default does not use.
      const tile = { ...d, rows: Math.max(1, Math.round(d.rows / 2)), channels: 8, taps: d.taps === 9 ? 18 : 9, workgroup: 128 };
      chosen.push({ kernel, rows: tile.rows });
      return tile;
    }) as TileChooser;
    const network = new Network(ctx, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: 16, seed: 3, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }), tiles });
    // Every conv but convblock8, which runs as a Linear (1×1 on a 1×1 plane); convblock3's three
    // times (the network asks whether it folds pool1's backward, Conv2d.foldsPoolBackward, and
    // convblock2's batch norm and dropout, Conv2d.foldsNormInput).
    expect(chosen).toHaveLength(9);
    const report = await checkNetworkStep(network, images, labels);
    expect(report.passed, formatCheckReport(report)).toBe(true);
  });

  gpuTest('on a hardware adapter the convs\' default weight tiles are the GPU\'s (many more splits): the seed CNN\'s step still within the reference', async (ctx) => {
    // The same device, described as a hardware GPU (the layers read only `adapter`): the GPU's
    // default tiles run on this adapter's kernels, as they would untuned on a GPU; and described
    // as a CPU adapter, for the CPU's tiles (on a real GPU, too).
    const gpu = describedAs(ctx, false);
    const make = (c: GpuContext) => new Network(c, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: 16, seed: 3, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }) });
    const software = make(describedAs(ctx, true));
    const hardware = make(gpu);
    // convblock2 at batch 16: 16 splits → 192 (8,192 invocations), and the other convs likewise:
    // the partial sums in the shared workspace grow.
    expect(hardware.memory.workspace).toBeGreaterThan(software.memory.workspace);
    // The batch norms' sums in groups (8 of 2 samples at batch 16), merged per channel; on the
    // CPU adapter a workgroup a channel writes them with the input gradient (APPLY).
    const merges = async (network: Network) => (await network.backward(16)).filter((d) => d.label.endsWith('batchnorm sums merge')).length;
    expect(await merges(hardware)).toBe(6);
    expect(await merges(software)).toBe(0);
    const report = await checkNetworkStep(hardware, images, labels);
    expect(report.passed, formatCheckReport(report)).toBe(true);
    gpu.throwIfFailed();
  });

  gpuTest("on a hardware adapter at batch 40 the batch norms' statistics merge the conv's partial moments in two steps: the step within the reference", async (ctx) => {
    // At batch 40 (weights shared in subgroups of 8, as on this adapter) convblock1's conv writes
    // 248 slots of partial moments a channel and convblock2's 184: 3 and 2 groups first
    // (batchnorm_moments_merge), then the groups; the smaller layers' few slots stay one step.
    const batch = 40;
    const gpu = describedAs(ctx, false);
    const make = (c: GpuContext) => new Network(c, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: batch, seed: 4, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }) });
    const hardware = make(gpu);
    const firstMerges = async (network: Network) => (await network.forward(batch, 'train')).filter((d) => d.label.endsWith('batchnorm moments merge')).length;
    expect(await firstMerges(hardware)).toBeGreaterThan(0);
    expect(await firstMerges(make(describedAs(ctx, true)))).toBe(0);
    const many = Float32Array.from(randomArray(batch * 784, 37, -0.42, 2.8));
    const manyLabels = Uint32Array.from({ length: batch }, (_, b) => (b * 3 + 1) % 10);
    const report = await checkNetworkStep(hardware, many, manyLabels);
    expect(report.passed, formatCheckReport(report)).toBe(true);
    gpu.throwIfFailed();
  });
});
