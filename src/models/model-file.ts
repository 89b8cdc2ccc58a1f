/**
 * Model files: a network described in JSON with PyTorch's constructor names, e.g.
 *
 *   { "input": [1, 28, 28],
 *     "layers": [ { "type": "Conv2d", "out_channels": 8, "kernel_size": 5 }, { "type": "ReLU" },
 *                 { "name": "block", "layers": [ … ] }, { "type": "Flatten" },
 *                 { "type": "Linear", "out_features": 10 }, { "type": "LogSoftmax" } ] }
 *
 * `{ "layers": [...] }` is a Sequential; an entry's state_dict key is its `name` if it has one,
 * else its index in its list (nn.Sequential). `{ "type": "Residual", "layers": [...], "shortcut":
 * { "name": "downsample", "layers": [...] }, "activation": { "type": "ReLU" } }` is a residual block
 * (src/layers/sequential.ts): the body's layers, the shortcut (optional: the identity; named
 * "shortcut" unless named) and a layer applied to the sum (optional). `{ "input": …, "layer": { "type": … } }` is a model
 * that is that one layer (its tensors `weight`, `bias`: what `modelFileText` writes for one). `{ "type": "TransformerEncoderLayer", … }` and
 * `{ "type": "TransformerEncoder", "encoder_layer": { … }, "num_layers": N, "norm": { … } }` are PyTorch's modules by their keywords. in_channels / in_features / num_features / input_size may be left
 * out (inferred). Defaults are PyTorch's. Errors name the file, the layer's path and the field.
 */
import { CELU, ELU, GELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, Softshrink, Softsign, Threshold, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softmin, Softplus, Tanh, Tanhshrink, RReLU, GLU } from '../layers/activations.js';
import { BatchNorm1d, BatchNorm2d } from '../layers/batchnorm.js';
import { GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm, type InstanceNormOptions } from '../layers/normalization.js';
import { Conv2d, type ConvPaddingMode } from '../layers/conv2d.js';
import { ConvTranspose2d } from '../layers/conv-transpose2d.js';
import { AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, CircularPad1d, ConstantPad1d, Conv1d, ConvTranspose1d, MaxPool1d, ReflectionPad1d, ReplicationPad1d, ZeroPad1d, type Padding1d, type Single } from '../layers/one-d.js';
import { ChannelShuffle, PixelShuffle, PixelUnshuffle } from '../layers/shuffle.js';
import { Embedding } from '../layers/embedding.js';
import { Permute } from '../layers/permute.js';
import { Upsample, UpsamplingBilinear2d, UpsamplingNearest2d, type UpsampleLayerMode } from '../layers/upsample.js';
import { CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d, type Padding2d } from '../layers/padding.js';
import { AlphaDropout, Dropout, Dropout1d, Dropout2d, FeatureAlphaDropout } from '../layers/dropout.js';
import { Flatten, Identity, Unflatten } from '../layers/flatten.js';
import { Linear } from '../layers/linear.js';
import { GRU, LSTM } from '../layers/recurrent.js';
import { MultiheadAttention } from '../layers/attention.js';
import { TransformerEncoder, TransformerEncoderLayer } from '../layers/transformer.js';
import { Layer, type SampleShape } from '../layers/layer.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d, type AdaptiveSize, type Pair } from '../layers/pooling.js';
import { Residual, Sequential, type Module } from '../layers/sequential.js';

export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

export interface ModelFile {
  readonly input: SampleShape;
  /** A Sequential; a single Layer where the file's model is one layer ("layer"). */
  readonly model: Module;
}

type Json = Record<string, unknown>;

/** A layer's `inplace` field (checked a boolean before the build), kept by the layer (Layer.inplace). */
const inplaceOf = (f: Json) => f.inplace as boolean | undefined;

/** The fields each layer type takes (besides `type` and `name`), and how to build it. */
/** nn.LSTM's and nn.GRU's shared keywords (LSTM adds proj_size), and their options. */
const RECURRENT_FIELDS = ['input_size', 'hidden_size', 'num_layers', 'bias', 'batch_first', 'dropout', 'bidirectional'] as const;
const recurrentOptionsOf = (f: Json) => ({
  inputSize: f.input_size as number | undefined,
  hiddenSize: f.hidden_size as number,
  numLayers: f.num_layers as number | undefined,
  bias: f.bias as boolean | undefined,
  batchFirst: f.batch_first as boolean | undefined,
  dropout: f.dropout as number | undefined,
  bidirectional: f.bidirectional as boolean | undefined,
});

const LAYERS: Record<string, { fields: readonly string[]; build: (f: Json) => Layer }> = {
  Conv2d: {
    fields: ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode'],
    build: (f) =>
      new Conv2d({
        inChannels: f.in_channels as number | undefined,
        outChannels: f.out_channels as number,
        kernelSize: f.kernel_size as Pair,
        stride: f.stride as Pair | undefined,
        padding: f.padding as Pair | 'same' | 'valid' | undefined,
        dilation: f.dilation as Pair | undefined,
        groups: f.groups as number | undefined,
        bias: f.bias as boolean | undefined,
        paddingMode: f.padding_mode as ConvPaddingMode | undefined,
      }),
  },
  ConvTranspose2d: {
    fields: ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'output_padding', 'groups', 'bias', 'dilation', 'padding_mode'],
    build: (f) =>
      new ConvTranspose2d({
        inChannels: f.in_channels as number | undefined,
        outChannels: f.out_channels as number,
        kernelSize: f.kernel_size as Pair,
        stride: f.stride as Pair | undefined,
        padding: f.padding as Pair | undefined,
        outputPadding: f.output_padding as Pair | undefined,
        groups: f.groups as number | undefined,
        bias: f.bias as boolean | undefined,
        dilation: f.dilation as Pair | undefined,
        paddingMode: f.padding_mode as 'zeros' | undefined,
      }),
  },
  Linear: {
    fields: ['in_features', 'out_features', 'bias'],
    build: (f) => new Linear({ inFeatures: f.in_features as number | undefined, outFeatures: f.out_features as number, bias: f.bias as boolean | undefined }),
  },
  LSTM: {
    fields: [...RECURRENT_FIELDS, 'proj_size'],
    build: (f) => new LSTM({ ...recurrentOptionsOf(f), projSize: f.proj_size as number | undefined }),
  },
  GRU: { fields: RECURRENT_FIELDS, build: (f) => new GRU(recurrentOptionsOf(f)) },
  MultiheadAttention: {
    fields: ['embed_dim', 'num_heads', 'dropout', 'bias', 'add_bias_kv', 'add_zero_attn', 'kdim', 'vdim', 'batch_first', 'is_causal'],
    build: (f) =>
      new MultiheadAttention({
        embedDim: f.embed_dim as number,
        numHeads: f.num_heads as number,
        dropout: f.dropout as number | undefined,
        bias: f.bias as boolean | undefined,
        addBiasKv: f.add_bias_kv as boolean | undefined,
        addZeroAttn: f.add_zero_attn as boolean | undefined,
        kdim: f.kdim as number | undefined,
        vdim: f.vdim as number | undefined,
        batchFirst: f.batch_first as boolean | undefined,
        isCausal: f.is_causal as boolean | undefined,
      }),
  },
  ReLU: { fields: ['inplace'], build: (f) => new ReLU({ inplace: inplaceOf(f) }) },
  Sigmoid: { fields: [], build: () => new Sigmoid() },
  Tanh: { fields: [], build: () => new Tanh() },
  LeakyReLU: { fields: ['negative_slope', 'inplace'], build: (f) => new LeakyReLU({ negativeSlope: f.negative_slope as number | undefined, inplace: inplaceOf(f) }) },
  PReLU: { fields: ['num_parameters', 'init'], build: (f) => new PReLU({ numParameters: f.num_parameters as number | undefined, init: f.init as number | undefined }) },
  SiLU: { fields: ['inplace'], build: (f) => new SiLU({ inplace: inplaceOf(f) }) },
  GELU: { fields: ['approximate'], build: (f) => new GELU({ approximate: f.approximate as 'none' | 'tanh' | undefined }) },
  ELU: { fields: ['alpha', 'inplace'], build: (f) => new ELU({ alpha: f.alpha as number | undefined, inplace: inplaceOf(f) }) },
  SELU: { fields: ['inplace'], build: (f) => new SELU({ inplace: inplaceOf(f) }) },
  Softplus: { fields: ['beta', 'threshold'], build: (f) => new Softplus({ beta: f.beta as number | undefined, threshold: extended(f.threshold) }) },
  Mish: { fields: ['inplace'], build: (f) => new Mish({ inplace: inplaceOf(f) }) },
  Hardswish: { fields: ['inplace'], build: (f) => new Hardswish({ inplace: inplaceOf(f) }) },
  Hardsigmoid: { fields: ['inplace'], build: (f) => new Hardsigmoid({ inplace: inplaceOf(f) }) },
  Hardtanh: { fields: ['min_val', 'max_val', 'inplace'], build: (f) => new Hardtanh({ minVal: extended(f.min_val), maxVal: extended(f.max_val), inplace: inplaceOf(f) }) },
  CELU: { fields: ['alpha', 'inplace'], build: (f) => new CELU({ alpha: f.alpha as number | undefined, inplace: inplaceOf(f) }) },
  LogSigmoid: { fields: [], build: () => new LogSigmoid() },
  Softsign: { fields: [], build: () => new Softsign() },
  Tanhshrink: { fields: [], build: () => new Tanhshrink() },
  RReLU: { fields: ['lower', 'upper', 'inplace'], build: (f) => new RReLU({ lower: f.lower as number | undefined, upper: f.upper as number | undefined, inplace: inplaceOf(f) }) },
  GLU: { fields: ['dim'], build: (f) => new GLU({ dim: f.dim as number | undefined }) },
  Softshrink: { fields: ['lambd'], build: (f) => new Softshrink({ lambd: f.lambd as number | undefined }) },
  Hardshrink: { fields: ['lambd'], build: (f) => new Hardshrink({ lambd: f.lambd as number | undefined }) },
  Threshold: { fields: ['threshold', 'value', 'inplace'], build: (f) => new Threshold({ threshold: extended(f.threshold) as number, value: f.value as number, inplace: inplaceOf(f) }) },
  ReLU6: { fields: ['inplace'], build: (f) => new ReLU6({ inplace: inplaceOf(f) }) },
  BatchNorm2d: {
    fields: ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats'],
    build: (f) => new BatchNorm2d({ numFeatures: f.num_features as number | undefined, eps: f.eps as number | undefined, momentum: f.momentum as number | undefined, affine: f.affine as boolean | undefined, trackRunningStats: f.track_running_stats as boolean | undefined }),
  },
  GroupNorm: {
    fields: ['num_groups', 'num_channels', 'eps', 'affine'],
    build: (f) => new GroupNorm({ numGroups: f.num_groups as number, numChannels: f.num_channels as number | undefined, eps: f.eps as number | undefined, affine: f.affine as boolean | undefined }),
  },
  LayerNorm: {
    fields: ['normalized_shape', 'eps', 'elementwise_affine', 'bias'],
    build: (f) => new LayerNorm({ normalizedShape: f.normalized_shape as number | number[], eps: f.eps as number | undefined, elementwiseAffine: f.elementwise_affine as boolean | undefined, bias: f.bias as boolean | undefined }),
  },
  InstanceNorm2d: { fields: ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats'], build: (f) => new InstanceNorm2d(instanceOptions(f)) },
  InstanceNorm1d: { fields: ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats'], build: (f) => new InstanceNorm1d(instanceOptions(f)) },
  BatchNorm1d: {
    fields: ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats'],
    build: (f) => new BatchNorm1d({ numFeatures: f.num_features as number | undefined, eps: f.eps as number | undefined, momentum: f.momentum as number | undefined, affine: f.affine as boolean | undefined, trackRunningStats: f.track_running_stats as boolean | undefined }),
  },
  Dropout: { fields: ['p', 'inplace'], build: (f) => new Dropout({ p: f.p as number | undefined, inplace: inplaceOf(f) }) },
  Dropout2d: { fields: ['p', 'inplace'], build: (f) => new Dropout2d({ p: f.p as number | undefined, inplace: inplaceOf(f) }) },
  Dropout1d: { fields: ['p', 'inplace'], build: (f) => new Dropout1d({ p: f.p as number | undefined, inplace: inplaceOf(f) }) },
  AlphaDropout: { fields: ['p', 'inplace'], build: (f) => new AlphaDropout({ p: f.p as number | undefined, inplace: inplaceOf(f) }) },
  FeatureAlphaDropout: { fields: ['p', 'inplace'], build: (f) => new FeatureAlphaDropout({ p: f.p as number | undefined, inplace: inplaceOf(f) }) },
  MaxPool2d: {
    fields: ['kernel_size', 'stride', 'padding', 'dilation', 'return_indices', 'ceil_mode'],
    build: (f) =>
      new MaxPool2d({ kernelSize: f.kernel_size as Pair, stride: f.stride as Pair | undefined, padding: f.padding as Pair | undefined, dilation: f.dilation as Pair | undefined, returnIndices: f.return_indices as boolean | undefined, ceilMode: f.ceil_mode as boolean | undefined }),
  },
  AvgPool2d: {
    fields: ['kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override'],
    build: (f) =>
      new AvgPool2d({
        kernelSize: f.kernel_size as Pair | undefined, stride: f.stride as Pair | undefined, padding: f.padding as Pair | undefined, ceilMode: f.ceil_mode as boolean | undefined,
        countIncludePad: f.count_include_pad as boolean | undefined, divisorOverride: f.divisor_override as number | undefined,
      }),
  },
  AdaptiveAvgPool2d: { fields: ['output_size'], build: (f) => new AdaptiveAvgPool2d(f.output_size as AdaptiveSize) },
  AdaptiveMaxPool2d: { fields: ['output_size', 'return_indices'], build: (f) => new AdaptiveMaxPool2d({ outputSize: f.output_size as AdaptiveSize, returnIndices: f.return_indices as boolean | undefined }) },
  ZeroPad2d: { fields: ['padding'], build: (f) => new ZeroPad2d({ padding: f.padding as Padding2d }) },
  ConstantPad2d: { fields: ['padding', 'value'], build: (f) => new ConstantPad2d({ padding: f.padding as Padding2d, value: f.value as number }) },
  ReflectionPad2d: { fields: ['padding'], build: (f) => new ReflectionPad2d({ padding: f.padding as Padding2d }) },
  ReplicationPad2d: { fields: ['padding'], build: (f) => new ReplicationPad2d({ padding: f.padding as Padding2d }) },
  CircularPad2d: { fields: ['padding'], build: (f) => new CircularPad2d({ padding: f.padding as Padding2d }) },
  Upsample: {
    fields: ['size', 'scale_factor', 'mode', 'align_corners', 'recompute_scale_factor'],
    build: (f) =>
      new Upsample({
        size: f.size as Pair | undefined,
        scaleFactor: f.scale_factor as Pair | undefined,
        mode: f.mode as UpsampleLayerMode | undefined,
        alignCorners: f.align_corners as boolean | undefined,
        recomputeScaleFactor: f.recompute_scale_factor as boolean | undefined,
      }),
  },
  UpsamplingNearest2d: { fields: ['size', 'scale_factor'], build: (f) => new UpsamplingNearest2d({ size: f.size as Pair | undefined, scaleFactor: f.scale_factor as Pair | undefined }) },
  UpsamplingBilinear2d: { fields: ['size', 'scale_factor'], build: (f) => new UpsamplingBilinear2d({ size: f.size as Pair | undefined, scaleFactor: f.scale_factor as Pair | undefined }) },
  PixelShuffle: { fields: ['upscale_factor'], build: (f) => new PixelShuffle(f.upscale_factor as number) },
  PixelUnshuffle: { fields: ['downscale_factor'], build: (f) => new PixelUnshuffle(f.downscale_factor as number) },
  ChannelShuffle: { fields: ['groups'], build: (f) => new ChannelShuffle(f.groups as number) },
  Embedding: {
    fields: ['num_embeddings', 'embedding_dim', 'padding_idx', 'max_norm', 'norm_type', 'scale_grad_by_freq', 'sparse'],
    build: (f) =>
      new Embedding({
        numEmbeddings: f.num_embeddings as number, embeddingDim: f.embedding_dim as number, paddingIdx: f.padding_idx as number | null | undefined, maxNorm: f.max_norm as number | null | undefined,
        normType: f.norm_type as number | undefined, scaleGradByFreq: f.scale_grad_by_freq as boolean | undefined, sparse: f.sparse as boolean | undefined,
      }),
  },
  Permute: { fields: ['dims'], build: (f) => new Permute(f.dims as number[]) },
  Conv1d: {
    fields: ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode'],
    build: (f) =>
      new Conv1d({
        inChannels: f.in_channels as number | undefined, outChannels: f.out_channels as number, kernelSize: f.kernel_size as Single, stride: f.stride as Single | undefined,
        padding: f.padding as Single | 'same' | 'valid' | undefined, dilation: f.dilation as Single | undefined, groups: f.groups as number | undefined, bias: f.bias as boolean | undefined, paddingMode: f.padding_mode as ConvPaddingMode | undefined,
      }),
  },
  ConvTranspose1d: {
    fields: ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'output_padding', 'groups', 'bias', 'dilation', 'padding_mode'],
    build: (f) =>
      new ConvTranspose1d({
        inChannels: f.in_channels as number | undefined, outChannels: f.out_channels as number, kernelSize: f.kernel_size as Single, stride: f.stride as Single | undefined, padding: f.padding as Single | undefined,
        outputPadding: f.output_padding as Single | undefined, groups: f.groups as number | undefined, bias: f.bias as boolean | undefined, dilation: f.dilation as Single | undefined, paddingMode: f.padding_mode as 'zeros' | undefined,
      }),
  },
  MaxPool1d: {
    fields: ['kernel_size', 'stride', 'padding', 'dilation', 'return_indices', 'ceil_mode'],
    build: (f) => new MaxPool1d({ kernelSize: f.kernel_size as Single, stride: f.stride as Single | undefined, padding: f.padding as Single | undefined, dilation: f.dilation as Single | undefined, returnIndices: f.return_indices as boolean | undefined, ceilMode: f.ceil_mode as boolean | undefined }),
  },
  AvgPool1d: {
    fields: ['kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad'],
    build: (f) => new AvgPool1d({ kernelSize: f.kernel_size as Single, stride: f.stride as Single | undefined, padding: f.padding as Single | undefined, ceilMode: f.ceil_mode as boolean | undefined, countIncludePad: f.count_include_pad as boolean | undefined }),
  },
  ZeroPad1d: { fields: ['padding'], build: (f) => new ZeroPad1d({ padding: f.padding as Padding1d }) },
  ConstantPad1d: { fields: ['padding', 'value'], build: (f) => new ConstantPad1d({ padding: f.padding as Padding1d, value: f.value as number }) },
  ReflectionPad1d: { fields: ['padding'], build: (f) => new ReflectionPad1d({ padding: f.padding as Padding1d }) },
  ReplicationPad1d: { fields: ['padding'], build: (f) => new ReplicationPad1d({ padding: f.padding as Padding1d }) },
  CircularPad1d: { fields: ['padding'], build: (f) => new CircularPad1d({ padding: f.padding as Padding1d }) },
  AdaptiveAvgPool1d: { fields: ['output_size'], build: (f) => new AdaptiveAvgPool1d(f.output_size as Single) },
  AdaptiveMaxPool1d: { fields: ['output_size', 'return_indices'], build: (f) => new AdaptiveMaxPool1d({ outputSize: f.output_size as Single, returnIndices: f.return_indices as boolean | undefined }) },
  Flatten: { fields: ['start_dim'], build: () => new Flatten() },
  Unflatten: { fields: ['dim', 'unflattened_size'], build: (f) => new Unflatten(f.dim as number, f.unflattened_size as number[]) },
  Identity: { fields: [], build: () => new Identity() },
  Softmax: { fields: ['dim'], build: () => new Softmax() },
  Softmin: { fields: ['dim'], build: () => new Softmin() },
  LogSoftmax: { fields: ['dim'], build: () => new LogSoftmax() },
};

function instanceOptions(f: Json): InstanceNormOptions {
  return { numFeatures: f.num_features as number | undefined, eps: f.eps as number | undefined, momentum: f.momentum as number | undefined, affine: f.affine as boolean | undefined, trackRunningStats: f.track_running_stats as boolean | undefined };
}

const TYPES: Record<string, string> = { boolean: 'true or false', number: 'a number', string: 'a string', extended: 'a number, "inf" or "-inf"', nullable: 'a number or null', list: 'a list of numbers' };

/** A number field that may be ±∞, written "inf" / "-inf" (JSON has no number for them). */
const extended = (v: unknown): number | undefined => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number | undefined));
/** Expected JSON types of the fields. */
const FIELD_TYPES: Record<string, 'number' | 'boolean' | 'string' | 'kernel' | 'padding' | 'size' | 'shape' | 'extended' | 'sides' | 'nullable' | 'list'> = {
  // nullable: a number or null (PyTorch's None); list: a list of numbers.
  num_embeddings: 'number', embedding_dim: 'number', padding_idx: 'nullable', max_norm: 'nullable', norm_type: 'number', scale_grad_by_freq: 'boolean', sparse: 'boolean', dims: 'list',
  // stride and padding as a number or [height, width]; padding also 'same' or 'valid' (Conv2d's: a pool refuses them).
  in_channels: 'number', out_channels: 'number', kernel_size: 'kernel', stride: 'kernel', padding: 'padding', output_padding: 'kernel', bias: 'boolean', groups: 'number', padding_mode: 'string',
  negative_slope: 'number', dilation: 'kernel', return_indices: 'boolean', ceil_mode: 'boolean', count_include_pad: 'boolean', divisor_override: 'number',
  num_groups: 'number', num_channels: 'number', normalized_shape: 'shape', elementwise_affine: 'boolean',
  in_features: 'number', out_features: 'number', input_size: 'number', hidden_size: 'number', num_layers: 'number', batch_first: 'boolean', bidirectional: 'boolean', dropout: 'number', proj_size: 'number', embed_dim: 'number', num_heads: 'number', add_bias_kv: 'boolean', add_zero_attn: 'boolean', kdim: 'number', vdim: 'number', is_causal: 'boolean', inplace: 'boolean', num_features: 'number', eps: 'number', momentum: 'number',
  p: 'number', value: 'number', size: 'kernel', scale_factor: 'kernel', mode: 'string', align_corners: 'boolean', recompute_scale_factor: 'boolean', unflattened_size: 'shape', num_parameters: 'number', init: 'number', lambd: 'number', upscale_factor: 'number', downscale_factor: 'number', start_dim: 'number', dim: 'number', approximate: 'string', output_size: 'size', affine: 'boolean', track_running_stats: 'boolean', alpha: 'number', beta: 'number', threshold: 'extended', min_val: 'extended', max_val: 'extended', lower: 'number', upper: 'number',
};

/** Parses a model file's text; `source` names it in errors. */
/**
 * V8's JSON error as one line with a line and column: "… at position 70" becomes "… at line 3,
 * column 5"; "Unexpected token ']', "<the whole file>" is not valid JSON" loses the file's text
 * (many lines of it) and gets the token's place instead.
 */
function jsonErrorText(message: string, text: string): string {
  const place = (offset: number) => lineColumn(text, offset);
  const at = /^(.*) in JSON at position (\d+)(?: \(line \d+ column \d+\))?$/s.exec(message);
  if (at) return `${at[1]} at ${place(Number(at[2]))}`;
  const token = /^Unexpected token '(.+?)', (?:\.\.\.)?".*" is not valid JSON$/s.exec(message);
  if (token) {
    const offset = firstUnparsable(text, token[1]!);
    return `unexpected '${token[1]}'${offset !== undefined ? ` at ${place(offset)}` : ''}`;
  }
  return message.split('\n')[0]!;
}

/** `line L, column C` of a character of the text (both from 1). */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** Where JSON.parse stops: the shortest prefix that fails at its end with `token`, found by a search from the start. */
function firstUnparsable(text: string, token: string): number | undefined {
  for (let i = text.indexOf(token); i >= 0; i = text.indexOf(token, i + 1)) {
    try {
      JSON.parse(text.slice(0, i));
    } catch (e) {
      // The prefix fails only at its end (unexpected end of input): the token at i is where it broke.
      if (/Unexpected end of JSON input/.test((e as Error).message)) {
        try {
          JSON.parse(text.slice(0, i + token.length));
        } catch (f) {
          if (!/Unexpected end of JSON input/.test((f as Error).message)) return i;
        }
      }
    }
  }
  return undefined;
}

/**
 * The first key given twice in one object of valid JSON text, and where: JSON.parse keeps the last
 * silently (`"out_channels": 16, …, "out_channels": 32` builds 32 channels).
 */
function firstDuplicateKey(text: string): { key: string; offset: number } | undefined {
  const objects: (Set<string> | undefined)[] = []; // one per open bracket; undefined for an array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') {
      objects.push(c === '{' ? new Set() : undefined);
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      objects.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = objects.at(-1) !== undefined;
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = objects.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return { key, offset: i };
        keys.add(key);
      }
      expectKey = false;
      i = end;
    }
  }
  return undefined;
}

export function parseModelFile(text: string, source: string): ModelFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${source}: not valid JSON (${jsonErrorText((e as Error).message, text)})`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate) {
    throw new ModelFileError(`${source}: "${duplicate.key}" is given twice in one object (again at ${lineColumn(text, duplicate.offset)}); give each field once`);
  }
  if (!isObject(json)) throw new ModelFileError(`${source}: expected an object { "input": [...], "layers": [...] }`);
  const input = json.input;
  if (!Array.isArray(input) || input.length === 0 || !input.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new ModelFileError(`${source}: "input" must be the shape of one sample, whole numbers ≥ 1 such as [1, 28, 28], got ${JSON.stringify(input)}`);
  }
  for (const key of Object.keys(json)) if (key !== 'input' && key !== 'layers' && key !== 'layer') throw new ModelFileError(`${source}: unknown top-level field "${key}" (expected "input" and "layers")`);
  // "layer": a model that is one layer, not a Sequential of it (its tensors are `weight`, not `0.weight`).
  if (json.layer !== undefined) {
    if (json.layers !== undefined) throw new ModelFileError(`${source}: "layer" (a model that is one layer) and "layers" together; give one`);
    if (!isObject(json.layer) || json.layer.layers !== undefined || json.layer.name !== undefined) {
      throw new ModelFileError(`${source}: "layer" must be one layer such as { "type": "Linear", "out_features": 10 }, got ${JSON.stringify(json.layer)}`);
    }
    return { input, model: layer(json.layer, source, '0') };
  }
  try {
    return { input, model: sequential(json, source, '') };
  } catch (e) {
    // Thousands of nested blocks: the walk's own stack, said as the file's fault.
    if (e instanceof RangeError && /call stack/.test(e.message)) throw new ModelFileError(`${source}: its blocks are nested too deeply to read`);
    throw e;
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sequential(entry: Json, source: string, path: string): Sequential {
  const where = path ? `layer '${path}'` : 'the model';
  if (!Array.isArray(entry.layers)) throw new ModelFileError(`${source}: ${where}: "layers" must be a list of layers`);
  const children = entry.layers.map((child: unknown, i: number): [string, Module] => {
    const name = isObject(child) && child.name !== undefined ? child.name : String(i);
    const childPath = path ? `${path}.${String(name)}` : String(name);
    if (!isObject(child)) throw new ModelFileError(`${source}: layer '${childPath}': expected an object such as { "type": "ReLU" }, got ${JSON.stringify(child)}`);
    if (typeof name !== 'string' || !/^[A-Za-z0-9_]+$/.test(name)) {
      throw new ModelFileError(`${source}: layer ${i} of ${where}: "name" must be letters, digits or '_', got ${JSON.stringify(child.name)}`);
    }
    return [name, child.layers !== undefined || child.type === 'Residual' || child.type === 'TransformerEncoderLayer' || child.type === 'TransformerEncoder' ? container(child, source, childPath) : layer(child, source, childPath)];
  });
  try {
    return Sequential.fromEntries(children);
  } catch (e) {
    throw new ModelFileError(`${source}: ${where}: ${(e as Error).message}`);
  }
}

function container(entry: Json, source: string, path: string): Sequential | Residual {
  if (entry.type === 'Residual') return residual(entry, source, path);
  if (entry.type === 'TransformerEncoderLayer') return transformerEncoderLayer(entry, source, path);
  if (entry.type === 'TransformerEncoder') return transformerEncoder(entry, source, path);
  for (const key of Object.keys(entry)) {
    if (key !== 'name' && key !== 'layers' && !(key === 'type' && entry.type === 'Sequential')) {
      throw new ModelFileError(`${source}: layer '${path}': unknown field "${key}" for a Sequential (it takes "name" and "layers")`);
    }
  }
  return sequential(entry, source, path);
}

/** nn.TransformerEncoderLayer's keywords and their types (src/layers/transformer.ts). */
const ENCODER_FIELDS: Record<string, 'number' | 'string' | 'boolean'> = { d_model: 'number', nhead: 'number', dim_feedforward: 'number', dropout: 'number', activation: 'string', layer_norm_eps: 'number', batch_first: 'boolean', norm_first: 'boolean' };

/** A TransformerEncoderLayer: PyTorch's keyword arguments; its layers and their names follow from them. */
function transformerEncoderLayer(entry: Json, source: string, path: string, where = `${source}: layer '${path}' (TransformerEncoderLayer)`): TransformerEncoderLayer {
  for (const [key, value] of Object.entries(entry)) {
    if (key === 'name' || (key === 'type' && value === 'TransformerEncoderLayer')) continue;
    const expected = ENCODER_FIELDS[key];
    if (!expected) throw new ModelFileError(`${where}: unknown field "${key}" (it takes ${Object.keys(ENCODER_FIELDS).join(', ')})`);
    if (typeof value !== expected) throw new ModelFileError(`${where}: "${key}" must be ${TYPES[expected]}, got ${JSON.stringify(value)}`);
  }
  try {
    return new TransformerEncoderLayer({
      dModel: entry.d_model as number,
      nhead: entry.nhead as number,
      dimFeedforward: entry.dim_feedforward as number | undefined,
      dropout: entry.dropout as number | undefined,
      activation: entry.activation as 'relu' | 'gelu' | undefined,
      layerNormEps: entry.layer_norm_eps as number | undefined,
      batchFirst: entry.batch_first as boolean | undefined,
      normFirst: entry.norm_first as boolean | undefined,
    });
  } catch (e) {
    throw new ModelFileError(`${where}: ${(e as Error).message.replace(/^\w+: /, '')}`);
  }
}

/** nn.TransformerEncoder's keywords besides encoder_layer and norm. */
const STACK_FIELDS: Record<string, 'number' | 'boolean'> = { num_layers: 'number', enable_nested_tensor: 'boolean', mask_check: 'boolean' };

/**
 * A TransformerEncoder: "encoder_layer" (a TransformerEncoderLayer's keywords), "num_layers", an
 * optional "norm" (one layer, such as { "type": "LayerNorm", "normalized_shape": 64 }) and PyTorch's
 * enable_nested_tensor and mask_check.
 */
function transformerEncoder(entry: Json, source: string, path: string): TransformerEncoder {
  const where = `${source}: layer '${path}' (TransformerEncoder)`;
  for (const [key, value] of Object.entries(entry)) {
    if (key === 'type' || key === 'name' || key === 'encoder_layer' || key === 'norm') continue;
    const expected = STACK_FIELDS[key];
    if (!expected) throw new ModelFileError(`${where}: unknown field "${key}" (it takes encoder_layer, ${Object.keys(STACK_FIELDS).join(', ')}, norm)`);
    if (typeof value !== expected) throw new ModelFileError(`${where}: "${key}" must be ${TYPES[expected]}, got ${JSON.stringify(value)}`);
  }
  if (!isObject(entry.encoder_layer)) throw new ModelFileError(`${where}: "encoder_layer" must be a TransformerEncoderLayer's keywords such as { "d_model": 64, "nhead": 4 }, got ${JSON.stringify(entry.encoder_layer)}`);
  if (entry.num_layers === undefined) throw new ModelFileError(`${where}: "num_layers" is required (how many copies of encoder_layer)`);
  if (entry.encoder_layer.name !== undefined) throw new ModelFileError(`${where}: encoder_layer: unknown field "name" (its copies are named layers.0, layers.1, …)`);
  const encoderLayer = transformerEncoderLayer(entry.encoder_layer, source, `${path}.encoder_layer`, `${where}: encoder_layer`);
  let norm: Layer | undefined;
  if (entry.norm !== undefined && entry.norm !== null) {
    if (!isObject(entry.norm) || entry.norm.layers !== undefined || entry.norm.name !== undefined) throw new ModelFileError(`${where}: "norm" must be one layer such as { "type": "LayerNorm", "normalized_shape": 64 }, got ${JSON.stringify(entry.norm)}`);
    norm = layer(entry.norm, source, `${path}.norm`);
  }
  try {
    return new TransformerEncoder(encoderLayer, entry.num_layers as number, { norm, enableNestedTensor: entry.enable_nested_tensor as boolean | undefined, maskCheck: entry.mask_check as boolean | undefined });
  } catch (e) {
    throw new ModelFileError(`${where}: ${(e as Error).message.replace(/^\w+: /, '')}`);
  }
}

/** A residual block: "layers" (the body, whose children are the block's) and an optional "shortcut" entry. */
function residual(entry: Json, source: string, path: string): Residual {
  for (const key of Object.keys(entry)) {
    if (key !== 'name' && key !== 'type' && key !== 'layers' && key !== 'shortcut' && key !== 'activation') throw new ModelFileError(`${source}: layer '${path}' (Residual): unknown field "${key}" (it takes "name", "layers", "shortcut" and "activation")`);
  }
  if (!Array.isArray(entry.layers)) throw new ModelFileError(`${source}: layer '${path}' (Residual): "layers" must be the list of its body's layers`);
  const body = sequential(entry, source, path);
  let shortcut: Record<string, Module> | undefined;
  if (entry.shortcut !== undefined) {
    const s = entry.shortcut;
    if (!isObject(s)) throw new ModelFileError(`${source}: layer '${path}' (Residual): "shortcut" must be a layer or { "layers": [...] }, got ${JSON.stringify(s)}`);
    const name = s.name ?? 'shortcut';
    if (typeof name !== 'string' || !/^[A-Za-z0-9_]+$/.test(name)) throw new ModelFileError(`${source}: layer '${path}' (Residual): the shortcut's "name" must be letters, digits or '_', got ${JSON.stringify(s.name)}`);
    const shortcutPath = `${path}.${name}`;
    shortcut = { [name]: s.layers !== undefined || s.type === 'Residual' ? container(s, source, shortcutPath) : layer(s, source, shortcutPath) };
  }
  let activation: Layer | undefined;
  if (entry.activation !== undefined) {
    if (!isObject(entry.activation) || entry.activation.layers !== undefined || entry.activation.name !== undefined) {
      throw new ModelFileError(`${source}: layer '${path}' (Residual): "activation" must be one layer such as { "type": "ReLU" }, got ${JSON.stringify(entry.activation)}`);
    }
    activation = layer(entry.activation, source, `${path}:activation`);
  }
  try {
    return new Residual(body, shortcut, activation ? { activation } : {});
  } catch (e) {
    throw new ModelFileError(`${source}: layer '${path}' (Residual): ${(e as Error).message.replace(/^\w+: /, '')}`);
  }
}

function layer(entry: Json, source: string, path: string): Layer {
  const type = entry.type;
  const spec = typeof type === 'string' ? LAYERS[type] : undefined;
  if (!spec) throw new ModelFileError(`${source}: layer '${path}': "type" is ${JSON.stringify(type)}, expected one of ${Object.keys(LAYERS).join(', ')} (or "layers" for a Sequential, "type": "Residual" with "layers" for a residual block, "type": "TransformerEncoderLayer" with PyTorch's keywords, "type": "TransformerEncoder" with "encoder_layer" and "num_layers")`);
  const fields: Json = {};
  for (const [key, value] of Object.entries(entry)) {
    if (key === 'type' || key === 'name') continue;
    if (!spec.fields.includes(key)) throw new ModelFileError(`${source}: layer '${path}' (${type}): unknown field "${key}" (it takes ${spec.fields.join(', ') || 'no fields'})`);
    // A padding layer's padding: each side's count, PyTorch's (left, right, top, bottom).
    const expected = key === 'padding' && /Pad[12]d$/.test(type as string) ? 'sides' : FIELD_TYPES[key]!;
    const sides = (type as string).endsWith('Pad1d') ? 2 : 4;
    // A 1-D layer's sizes: a number or PyTorch's 1-tuple; a 2-D layer's: a number or (height, width).
    const oneD = (type as string).endsWith('1d') && ['kernel', 'padding', 'size'].includes(expected);
    const pairOf = (ok: (v: unknown) => boolean) => typeof value === 'number' || (Array.isArray(value) && value.length === (oneD ? 1 : 2) && value.every(ok));
    const ok = expected === 'sides' ? typeof value === 'number' || (Array.isArray(value) && value.length === sides && value.every((v) => typeof v === 'number')) : expected === 'kernel' ? pairOf((v) => typeof v === 'number') : expected === 'padding' ? pairOf((v) => typeof v === 'number') || ((type === 'Conv2d' || type === 'Conv1d') && (value === 'same' || value === 'valid')) : expected === 'size' ? pairOf((v) => typeof v === 'number' || v === null) : expected === 'shape' ? typeof value === 'number' || (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number')) : expected === 'extended' ? typeof value === 'number' || value === 'inf' || value === '-inf' : expected === 'nullable' ? typeof value === 'number' || value === null : expected === 'list' ? Array.isArray(value) && value.every((v) => typeof v === 'number') : typeof value === expected;
    const wanted = expected === 'sides' ? (sides === 2 ? 'a number or [left, right]' : 'a number or [left, right, top, bottom]') : oneD ? `a number${type === 'Conv1d' && expected === 'padding' ? ', "same" or "valid"' : ''}` : expected === 'kernel' || (expected === 'padding' && type !== 'Conv2d') ? 'a number or [height, width]' : expected === 'padding' ? 'a number, [height, width], "same" or "valid"' : expected === 'size' ? 'a number or [height, width] (null: the input\'s)' : expected === 'shape' ? 'a number or a list of numbers (the trailing dimensions)' : TYPES[expected];
    if (!ok) throw new ModelFileError(`${source}: layer '${path}' (${type}): "${key}" must be ${wanted}, got ${JSON.stringify(value)}`);
    fields[key] = value;
  }
  if ((type === 'LogSoftmax' || type === 'Softmax' || type === 'Softmin') && fields.dim !== undefined && fields.dim !== 1 && fields.dim !== -1) {
    throw new ModelFileError(`${source}: layer '${path}' (${type}): "dim" must be 1 (the classes of [N, classes]), got ${JSON.stringify(fields.dim)}`);
  }
  if (type === 'Flatten' && fields.start_dim !== undefined && fields.start_dim !== 1) {
    throw new ModelFileError(`${source}: layer '${path}' (Flatten): "start_dim" must be 1, got ${JSON.stringify(fields.start_dim)}`);
  }
  try {
    return spec.build(fields);
  } catch (e) {
    throw new ModelFileError(`${source}: layer '${path}' (${type}): ${(e as Error).message.replace(/^\w+: /, '')}`);
  }
}

/**
 * The model file of a network: the inverse of `parseModelFile` (children named by their index are
 * written without a name). Checkpoints carry it, so a checkpoint alone rebuilds its network.
 */
export function modelFileText(model: Module, input: SampleShape): string {
  return modelText(model, input, () => true);
}

/** Sizes a layer infers from its input (and checks against it where given): the same network with them or without. */
const INFERRED_FIELDS = new Set(['in_channels', 'in_features', 'num_features', 'num_channels', 'input_size']);
/** Fields that change no network: `inplace` (refused where it would: src/plan/plan.ts). */
const SAME_NETWORK_ANYWAY = new Set(['inplace']);

/**
 * Whether a model file's text (a checkpoint's `model_file`) describes the same network as a
 * model: the same layers, names and settings, whether or not the sizes a layer infers from its
 * input are spelt out (`in_features: 784`). A text that does not parse is another network.
 */
export function sameNetwork(text: string, source: string, model: Module, input: SampleShape): boolean {
  let other: ModelFile;
  try {
    other = parseModelFile(text, source);
  } catch {
    return false;
  }
  const key = (m: Module, i: SampleShape) => modelText(m, i, (field) => !INFERRED_FIELDS.has(field) && !SAME_NETWORK_ANYWAY.has(field), true);
  return key(other.model, other.input) === key(model, input);
}

/**
 * A model's text; `canonical`: one spelling for each network (a Conv2d's padding as its zeros on
 * each side, so that 0 and 'valid', or 1 and 'same' of a 3×3 kernel, are the same network).
 */
function modelText(model: Module, input: SampleShape, keep: (field: string) => boolean, canonical = false): string {
  const entry = (module: Module): Json => {
    if (module instanceof Layer) {
      const fields = Object.fromEntries(Object.entries(module.config()).filter(([k, v]) => v !== undefined && keep(k)));
      if (canonical && module instanceof Conv2d) fields.padding = { ...module.pads };
      if (canonical && module instanceof Conv1d) fields.padding = [...module.pads];
      return { type: module.type, ...fields };
    }
    // A composite written as PyTorch's constructor call: its layers follow from the arguments.
    if (module instanceof TransformerEncoderLayer) return { type: 'TransformerEncoderLayer', ...module.config };
    if (module instanceof TransformerEncoder) {
      const { encoder_layer, ...rest } = module.config;
      return { type: 'TransformerEncoder', encoder_layer, ...rest, ...(module.norm ? { norm: entry(module.norm) } : {}) };
    }
    const layers = module.children.map(([name, child], i) => (name === String(i) ? entry(child) : { name, ...entry(child) }));
    if (module instanceof Sequential) return { layers };
    const shortcut = module.shortcut && (module.shortcut[0] === 'shortcut' ? entry(module.shortcut[1]) : { name: module.shortcut[0], ...entry(module.shortcut[1]) });
    return { type: 'Residual', layers, ...(shortcut ? { shortcut } : {}), ...(module.activation ? { activation: entry(module.activation) } : {}) };
  };
  // A model that is one layer names its tensors as that layer does: "layer", which reads back as one.
  const root = model instanceof Layer ? { layer: entry(model) } : entry(model);
  return JSON.stringify({ input: [...input], ...root });
}
