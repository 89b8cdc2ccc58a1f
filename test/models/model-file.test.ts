/** Model files: PyTorch's constructor names in, PyTorch's state_dict names out; bad files named. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { modelFileText, parseModelFile, sameNetwork, ModelFileError } from '../../src/models/model-file.js';
import { SEED_CNN_INPUT, seedCnn } from '../../src/models/seed-cnn.js';
import { planModel, summaryRows } from '../../src/plan/plan.js';

const ISSUE_EXAMPLE = JSON.stringify({
  input: [1, 28, 28],
  layers: [
    { type: 'Conv2d', out_channels: 8, kernel_size: 5, stride: 2, padding: 0, bias: true },
    { type: 'ReLU' },
    { type: 'BatchNorm2d' },
    { name: 'block', layers: [{ type: 'Conv2d', out_channels: 16, kernel_size: 3, padding: 1 }, { type: 'Tanh' }] },
    { type: 'MaxPool2d', kernel_size: 2 },
    { type: 'Flatten' },
    { type: 'Linear', out_features: 32 },
    { type: 'Dropout', p: 0.1 },
    { type: 'Linear', out_features: 10 },
    { type: 'LogSoftmax' },
  ],
});

const names = (text: string) => {
  const { model, input } = parseModelFile(text, 'net.json');
  return planModel(model, { inputShape: input }).nodes.flatMap((n) => [...n.parameters, ...n.buffers].map((p) => `${p.name} [${p.shape.join(', ')}]`));
};

describe('model files', () => {
  test("the issue's example: names by index, or by name inside a named Sequential", () => {
    expect(names(ISSUE_EXAMPLE)).toEqual([
      '0.weight [8, 1, 5, 5]',
      '0.bias [8]',
      '2.weight [8]',
      '2.bias [8]',
      '2.running_mean [8]',
      '2.running_var [8]',
      'block.0.weight [16, 8, 3, 3]',
      'block.0.bias [16]',
      '6.weight [32, 576]',
      '6.bias [32]',
      '8.weight [10, 32]',
      '8.bias [10]',
    ]);
  });

  test('a model written back as a model file plans the same (what checkpoints carry)', () => {
    expect(names(modelFileText(parseModelFile(ISSUE_EXAMPLE, 'net.json').model, [1, 28, 28]))).toEqual(names(ISSUE_EXAMPLE));
    const seed = modelFileText(seedCnn(), SEED_CNN_INPUT);
    expect(names(seed)).toContain('convblock7.2.running_var [16]');
    expect(JSON.parse(seed).layers[0]).toEqual({ name: 'convblock1', layers: [
      { type: 'Conv2d', out_channels: 16, kernel_size: [3, 3], stride: 1, padding: 0, bias: false },
      { type: 'ReLU' },
      { type: 'BatchNorm2d', eps: 1e-5, momentum: 0.1 },
      { type: 'Dropout', p: 0.1 },
    ] });
  });

  test("pools of any window: PyTorch's field names, written back as given, and the seed CNN's old text is the same network", () => {
    const text = JSON.stringify({
      input: [3, 32, 32],
      layers: [
        { type: 'MaxPool2d', kernel_size: 3, stride: 2, padding: 1 },
        { type: 'MaxPool2d', kernel_size: [2, 3], stride: [1, 2], dilation: 2, ceil_mode: true },
        { type: 'AvgPool2d', kernel_size: 3, stride: 1, padding: 1, count_include_pad: false, divisor_override: 7, ceil_mode: true },
        { type: 'AvgPool2d' },
        { type: 'Flatten' },
        { type: 'Linear', out_features: 2 },
      ],
    });
    const { model, input } = parseModelFile(text, 'pools.json');
    expect(planModel(model, { inputShape: input }).nodes.map((n) => n.outShape)).toEqual([[3, 16, 16], [3, 14, 7], [3, 14, 7], [3, 1, 1], [3], [2]]); // torch.nn gives 16×16, 14×7, 14×7
    // The pools written back as given.
    expect(JSON.parse(modelFileText(model, input)).layers.slice(0, 4)).toEqual(JSON.parse(text).layers.slice(0, 4));
    // A checkpoint's model_file from before (MaxPool2d had kernel_size and stride only).
    expect(sameNetwork(JSON.stringify({ input: [3, 8, 8], layers: [{ type: 'MaxPool2d', kernel_size: 2, stride: 2 }] }), 'old', parseModelFile(JSON.stringify({ input: [3, 8, 8], layers: [{ type: 'MaxPool2d', kernel_size: 2 }] }), 'x').model, [3, 8, 8])).toBe(true);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'MaxPool2d', kernel_size: 2, ceil_mode: 1 }] }), 'bad.json')).toThrow(/bad\.json: layer '0' \(MaxPool2d\): "ceil_mode" must be true or false, got 1/);
  });

  test("Conv2d's groups, dilation, (h, w) stride and padding, 'same' and 'valid': PyTorch's field names, written back as given", () => {
    const text = JSON.stringify({
      input: [4, 9, 10],
      layers: [
        { type: 'Conv2d', out_channels: 8, kernel_size: [3, 3], stride: [1, 2], padding: [2, 1], dilation: 2, groups: 4, bias: true },
        { type: 'Conv2d', out_channels: 8, kernel_size: [2, 4], stride: 1, padding: 'same', groups: 8, bias: false },
        { type: 'Conv2d', out_channels: 3, kernel_size: [1, 1], stride: 1, padding: 'valid', bias: true },
        { type: 'Flatten', start_dim: 1 },
      ],
    });
    const { model, input } = parseModelFile(text, 'convs.json');
    expect(planModel(model, { inputShape: input }).nodes.map((n) => n.outShape)).toEqual([[8, 9, 4], [8, 9, 4], [3, 9, 4], [108]]); // torch.nn gives the same (torch 1.13)
    expect(JSON.parse(modelFileText(model, input)).layers).toEqual(JSON.parse(text).layers);
    // One network however its padding is spelt (a checkpoint's model file against --model's).
    const conv = (padding: unknown, kernel = 3) => JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'Conv2d', out_channels: 2, kernel_size: kernel, padding }] });
    const [valid, same] = [parseModelFile(conv('valid'), 'v.json'), parseModelFile(conv('same'), 's.json')];
    expect(sameNetwork(conv(0), 'old', valid.model, valid.input)).toBe(true);
    expect(sameNetwork(conv(1), 'old', same.model, same.input)).toBe(true);
    expect(sameNetwork(conv(1), 'old', valid.model, valid.input)).toBe(false);
    expect(sameNetwork(conv(1, 4), 'old', parseModelFile(conv('same', 4), 's4.json').model, [1, 8, 8])).toBe(false); // 'same' of 4: 1 and 2 zeros
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'Conv2d', out_channels: 2, kernel_size: 3, padding: 'full' }] }), 'bad.json')).toThrow(`bad.json: layer '0' (Conv2d): "padding" must be a number, [height, width], "same" or "valid", got "full"`);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'Conv2d', out_channels: 2, kernel_size: 3, padding: true }] }), 'bad.json')).toThrow(`bad.json: layer '0' (Conv2d): "padding" must be a number, [height, width], "same" or "valid", got true`);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'MaxPool2d', kernel_size: 3, padding: 'same' }] }), 'bad.json')).toThrow(`bad.json: layer '0' (MaxPool2d): "padding" must be a number or [height, width], got "same"`);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'Conv2d', out_channels: 2, kernel_size: 3, padding_mode: 'mirror' }] }), 'bad.json')).toThrow(`bad.json: layer '0' (Conv2d): padding_mode must be one of PyTorch's ('zeros', 'reflect', 'replicate', 'circular'), got "mirror"`);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'ReflectionPad2d', padding: [1, 2] }] }), 'bad.json')).toThrow(`bad.json: layer '0' (ReflectionPad2d): "padding" must be a number or [left, right, top, bottom], got [1,2]`);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'ConstantPad2d', padding: 1 }] }), 'bad.json')).toThrow(`bad.json: layer '0' (ConstantPad2d): value is required (PyTorch's ConstantPad2d(padding, value))`);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'ZeroPad2d', padding: 1, value: 2 }] }), 'bad.json')).toThrow(`bad.json: layer '0' (ZeroPad2d): unknown field "value" (it takes padding)`);
  });

  test("the padding layers and Conv2d's padding_mode: PyTorch's field names, written back as given; another mode is another network", () => {
    const text = JSON.stringify({
      input: [2, 6, 7],
      layers: [
        { type: 'Conv2d', out_channels: 3, kernel_size: [3, 3], stride: 1, padding: [1, 2], bias: true, padding_mode: 'reflect' },
        { type: 'ZeroPad2d', padding: 1 },
        { type: 'ConstantPad2d', padding: [1, 0, -1, 2], value: 0.5 },
        { type: 'ReflectionPad2d', padding: [2, 1, 0, 3] },
        { type: 'ReplicationPad2d', padding: 2 },
        { type: 'CircularPad2d', padding: [0, 1, 1, 0] },
        { type: 'Flatten', start_dim: 1 },
      ],
    });
    const { model, input } = parseModelFile(text, 'pads.json');
    const plan = planModel(model, { inputShape: input, loss: 'mse' });
    expect(plan.nodes.map((n) => `${n.path} ${n.layer.type}`)).toEqual(['0:pad ReflectionPad2d', '0 Conv2d', '1 ZeroPad2d', '2 ConstantPad2d', '3 ReflectionPad2d', '4 ReplicationPad2d', '5 CircularPad2d', '6 Flatten']);
    // The conv's padding is F.pad inside PyTorch's Conv2d: no row of the summary (torchsummary's).
    expect(summaryRows(plan).map((r) => r.layer)).toEqual(['Conv2d', 'ZeroPad2d', 'ConstantPad2d', 'ReflectionPad2d', 'ReplicationPad2d', 'CircularPad2d', 'Flatten']);
    // Height 6, padded to 8, conv'd to 6, then 8, 9 (cropped by 1, 2 more), 12, 16, 17; width 7, 11, 9, 11, 12, 15, 19, 20.
    expect(plan.lossInputShape).toEqual([3 * 17 * 20]);
    expect(JSON.parse(modelFileText(model, input)).layers).toEqual(JSON.parse(text).layers);
    const other = text.replace('"reflect"', '"circular"');
    expect(sameNetwork(other, 'other', model, input)).toBe(false);
    expect(sameNetwork(text, 'same', model, input)).toBe(true);
  });

  test("Upsample and its named forms, PixelShuffle, PixelUnshuffle, ChannelShuffle: PyTorch's field names, written back as given", () => {
    const text = JSON.stringify({
      input: [2, 5, 6],
      layers: [
        { type: 'Upsample', scale_factor: 2, mode: 'nearest' },
        { type: 'Upsample', size: [9, 14], mode: 'bilinear', align_corners: false },
        { type: 'Upsample', scale_factor: [1.5, 0.5], mode: 'bilinear', align_corners: false, recompute_scale_factor: true },
        { type: 'UpsamplingNearest2d', size: 12 },
        { type: 'UpsamplingBilinear2d', scale_factor: 0.5 },
        { type: 'PixelUnshuffle', downscale_factor: 2 },
        { type: 'ChannelShuffle', groups: 4 },
        { type: 'PixelShuffle', upscale_factor: 2 },
        { type: 'Flatten', start_dim: 1 },
        { type: 'Linear', out_features: 3, bias: true },
      ],
    });
    const { model, input } = parseModelFile(text, 'up.json');
    // 5×6 doubled, then 9×14, then ⌊13.5⌋×7, 12×12, 6×6.
    expect(planModel(model, { inputShape: input }).nodes.map((n) => n.outShape.join('×'))).toEqual(['2×10×12', '2×9×14', '2×13×7', '2×12×12', '2×6×6', '8×3×3', '8×3×3', '2×6×6', '72', '3']);
    expect(JSON.parse(modelFileText(model, input)).layers).toEqual(JSON.parse(text).layers);
    // Bilinear's align_corners left out is false (PyTorch's None): the same network either way.
    expect(sameNetwork(text.replace('"align_corners":false,', ''), 'omitted', model, input)).toBe(true);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 4, 4], layers: [{ type: 'Upsample', scale_factor: 'two' }] }), 'bad.json')).toThrow(`bad.json: layer '0' (Upsample): "scale_factor" must be a number or [height, width], got "two"`);
    expect(() => parseModelFile(JSON.stringify({ input: [1, 4, 4], layers: [{ type: 'UpsamplingBilinear2d', scale_factor: 2, mode: 'nearest' }] }), 'bad.json')).toThrow(`bad.json: layer '0' (UpsamplingBilinear2d): unknown field "mode" (it takes size, scale_factor)`);
  });

  test('every example model file parses, plans, and is written back as the same network', () => {
    const files = readdirSync('examples').filter((f) => f.endsWith('.json'));
    expect(files).toEqual(expect.arrayContaining(['mlp.json', 'lenet5.json', 'resnet.json', 'depthwise.json', 'sequence.json']));
    for (const f of files) {
      const text = readFileSync(`examples/${f}`, 'utf8');
      const { model, input } = parseModelFile(text, f);
      expect(planModel(model, { inputShape: input }).parameterCount, f).toBeGreaterThan(0);
      expect(sameNetwork(modelFileText(model, input), f, model, input), f).toBe(true);
    }
    // The sequence example: 28 rows of 28 pixels, 12,682 parameters (README).
    expect(planModel(parseModelFile(readFileSync('examples/sequence.json', 'utf8'), 's').model, { inputShape: [28, 28] }).parameterCount).toBe(12_682);
  });

  test("GroupNorm, LayerNorm and InstanceNorm2d: PyTorch's field names, written back as given", () => {
    const text = JSON.stringify({
      input: [4, 3, 5],
      layers: [
        { type: 'GroupNorm', num_groups: 2, num_channels: 4, eps: 1e-5 },
        { type: 'GroupNorm', num_groups: 4, eps: 0.001, affine: false },
        { type: 'LayerNorm', normalized_shape: [4, 3, 5], eps: 1e-5 },
        { type: 'LayerNorm', normalized_shape: 5, eps: 1e-5, elementwise_affine: false },
        { type: 'LayerNorm', normalized_shape: [3, 5], eps: 1e-6, bias: false },
        { type: 'InstanceNorm2d', num_features: 4, eps: 1e-5, affine: true },
        { type: 'InstanceNorm2d', eps: 0.001 },
        { type: 'Flatten', start_dim: 1 },
      ],
    });
    const { model, input } = parseModelFile(text, 'norms.json');
    expect(planModel(model, { inputShape: input }).parameterCount).toBe(8 + 0 + 120 + 0 + 15 + 8 + 0);
    expect(JSON.parse(modelFileText(model, input)).layers).toEqual(JSON.parse(text).layers);
    // num_channels inferred (left out) or given: the same network for --init, as in_channels.
    const group = (extra: object) => JSON.stringify({ input: [4, 3, 5], layers: [{ type: 'GroupNorm', num_groups: 2, ...extra }, { type: 'Flatten' }] });
    expect(sameNetwork(group({ num_channels: 4 }), 'given', parseModelFile(group({}), 'inferred').model, [4, 3, 5])).toBe(true);
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'LayerNorm', normalized_shape: '4' }] }), 'bad.json')).toThrow(`bad.json: layer '0' (LayerNorm): "normalized_shape" must be a number or a list of numbers (the trailing dimensions), got "4"`);
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'GroupNorm', num_groups: 3, num_channels: 4 }] }), 'bad.json')).toThrow(/bad\.json: layer '0' \(GroupNorm\): num_channels must be divisible by num_groups/);
  });

  test('the shipped examples plan: the MLP 784-256-128-10, LeNet-5 and the depthwise-separable network', () => {
    // depthwise.json: 16·9 + 2·16 (GroupNorm) + 16·9 + 32·16 + 2·32 + 32·9 + 64·32 + 2·64 + 64·10 + 10.
    for (const [file, count] of [['examples/mlp.json', 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10], ['examples/lenet5.json', 61_706], ['examples/depthwise.json', 4_010]] as const) {
      const { model, input } = parseModelFile(readFileSync(file, 'utf8'), file);
      expect(planModel(model, { inputShape: input }).parameterCount, file).toBe(count);
    }
  });

  test.each([
    ['not JSON', '{', /net\.json: not valid JSON/],
    // V8 says "at position 23", or quotes the whole file over several lines: one line with a place.
    ['a missing comma', '{"input": [1, 28, 28] "layers": []}', /^net\.json: not valid JSON \(Expected ',' or '\}' after property value at line 1, column 23\)$/],
    ['a trailing comma', '{"input": [1, 28, 28],\n "layers": [\n  {"type": "Flatten"},\n ]\n}', /^net\.json: not valid JSON \(unexpected '\]' at line 4, column 2\)$/],
    ['thousands of nested blocks', `{"input": [4], "layers": [${'{"layers": ['.repeat(20_000)}${']}'.repeat(20_000)}]}`, /^net\.json: its blocks are nested too deeply to read$/],
    // JSON.parse keeps the last of two: 32 channels built where the file also says 16.
    ['a field given twice', '{"input": [1, 4, 4],\n "layers": [{"type": "Conv2d", "out_channels": 16, "kernel_size": 3,\n  "out_channels": 32}]}', /^net\.json: "out_channels" is given twice in one object \(again at line 3, column 3\); give each field once$/],
    ['a field given twice, spelt with an escape', '{"input": [4], "\\u006cayers": [], "layers": []}', /^net\.json: "layers" is given twice in one object \(again at line 1, column 35\)/],
    ['no input', '{"layers": []}', /net\.json: "input" must be the shape of one sample/],
    ['an unknown type', '{"input": [4], "layers": [{"type": "Linaer", "out_features": 3}]}', /net\.json: layer '0': "type" is "Linaer", expected one of Conv2d, ConvTranspose2d, Linear/],
    ['an unknown field', '{"input": [4], "layers": [{"type": "Linear", "out_feature": 3}]}', /net\.json: layer '0' \(Linear\): unknown field "out_feature"/],
    ['a wrong type of value', '{"input": [4], "layers": [{"name": "head", "layers": [{"type": "Linear", "out_features": "3"}]}]}', /net\.json: layer 'head\.0' \(Linear\): "out_features" must be a number, got "3"/],
    ['a bad value', '{"input": [4], "layers": [{"type": "Dropout", "p": 1.5}]}', /net\.json: layer '0' \(Dropout\): p must be a number in \[0, 1\], got 1\.5/],
    ['a missing field', '{"input": [4], "layers": [{"type": "Linear"}]}', /net\.json: layer '0' \(Linear\): out_features must be a whole number ≥ 1, got undefined/],
    ['two children with one name', '{"input": [4], "layers": [{"name": "a", "type": "ReLU"}, {"name": "a", "type": "ReLU"}]}', /net\.json: the model: Sequential: two children are named 'a'/],
  ])('%s', (_, text, message) => {
    expect(() => parseModelFile(text, 'net.json')).toThrow(ModelFileError);
    expect(() => parseModelFile(text, 'net.json')).toThrow(message);
  });
});

describe('sameNetwork: whether a checkpoint’s model_file is this network', () => {
  const mlp = readFileSync('examples/mlp.json', 'utf8');
  const { model, input } = parseModelFile(mlp, 'mlp.json');
  test('the sizes a layer infers from its input may be spelt out or left out (resuming with them was refused)', () => {
    const spelt = mlp.replace('"out_features": 256 }', '"in_features": 784, "out_features": 256 }');
    expect(spelt).not.toBe(mlp);
    expect(sameNetwork(spelt, 'spelt.json', model, input)).toBe(true);
    expect(sameNetwork(modelFileText(model, input), 'saved', model, input)).toBe(true);
  });
  test('another size, another p, another input, or a text that does not parse: another network', () => {
    expect(sameNetwork(mlp.replace('"out_features": 128', '"out_features": 64'), 'a.json', model, input)).toBe(false);
    expect(sameNetwork(mlp.replace('"p": 0.2 },\n    { "type": "Linear", "out_features": 10', '"p": 0.3 },\n    { "type": "Linear", "out_features": 10'), 'b.json', model, input)).toBe(false);
    expect(sameNetwork(mlp.replace('[1, 28, 28]', '[1, 14, 56]'), 'c.json', model, input)).toBe(false);
    expect(sameNetwork('{ not json', 'd.json', model, input)).toBe(false);
  });
});
