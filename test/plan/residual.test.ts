/**
 * Residual blocks (src/layers/sequential.ts's Residual, src/layers/residual.ts's two ends): PyTorch's
 * state_dict names, the plan's chain and its checks, model files, and whole GPU training steps
 * against the float64 reference (which test/pytorch/reference-vs-pytorch.test.ts holds against
 * PyTorch's own Module with forward body(x) + shortcut(x)).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { GELU, ReLU, Tanh } from '../../src/layers/activations.js';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Dropout } from '../../src/layers/dropout.js';
import { Flatten, Identity } from '../../src/layers/flatten.js';
import { Linear } from '../../src/layers/linear.js';
import { MaxPool2d } from '../../src/layers/pooling.js';
import { Residual, Sequential } from '../../src/layers/sequential.js';
import { ModelFileError, modelFileText, parseModelFile, sameNetwork } from '../../src/models/model-file.js';
import { Adam, SGD } from '../../src/optim/optimizers.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';
import { Network } from '../../src/plan/network.js';
import { planModel, summaryRows } from '../../src/plan/plan.js';
import { randomArray } from '../helpers/allclose.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { gpuTest } from '../helpers/gpu.js';

const basicBlock = (channels: number, stride = 1, downsample = false, activation?: () => ReLU) =>
  new Residual(
    new Sequential({
      conv1: new Conv2d({ outChannels: channels, kernelSize: 3, stride, padding: 1, bias: false }),
      bn1: new BatchNorm2d(),
      relu: new ReLU(),
      conv2: new Conv2d({ outChannels: channels, kernelSize: 3, padding: 1, bias: false }),
      bn2: new BatchNorm2d(),
    }),
    downsample ? { downsample: new Sequential(new Conv2d({ outChannels: channels, kernelSize: 1, stride, bias: false }), new BatchNorm2d()) } : undefined,
    activation ? { activation: activation() } : {},
  );
const resnetFile = readFileSync('examples/resnet.json', 'utf8');
const resnet = () => parseModelFile(resnetFile, 'examples/resnet.json');

describe('a residual block in the plan', () => {
  test("its tensors carry the names of PyTorch's BasicBlock (the body's children the block's own, the shortcut one more)", () => {
    const plan = planModel(new Sequential({ conv: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), layer1: new Sequential(basicBlock(8, 2, true)), flat: new Flatten(), fc: new Linear({ outFeatures: 3 }) }), { inputShape: [1, 8, 8] });
    const names = plan.nodes.flatMap((n) => [...n.parameters, ...n.buffers].map((t) => t.name));
    expect(names.filter((n) => n.startsWith('layer1.'))).toEqual([
      'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias', 'layer1.0.bn1.running_mean', 'layer1.0.bn1.running_var',
      'layer1.0.conv2.weight', 'layer1.0.bn2.weight', 'layer1.0.bn2.bias', 'layer1.0.bn2.running_mean', 'layer1.0.bn2.running_var',
      'layer1.0.downsample.0.weight', 'layer1.0.downsample.1.weight', 'layer1.0.downsample.1.bias', 'layer1.0.downsample.1.running_mean', 'layer1.0.downsample.1.running_var',
    ]);
    // The chain: the block's input node, the body, the shortcut (from the block's input again), the sum.
    expect(plan.nodes.map((n) => n.path).slice(1, 10)).toEqual(['layer1.0:input', 'layer1.0.conv1', 'layer1.0.bn1', 'layer1.0.relu', 'layer1.0.conv2', 'layer1.0.bn2', 'layer1.0.downsample.0', 'layer1.0.downsample.1', 'layer1.0']);
    expect(plan.nodes.find((n) => n.path === 'layer1.0.downsample.0')!.inShape).toEqual([4, 8, 8]);
    expect(plan.residuals.map((r) => [r.path, r.depth, r.input.path, r.bodyEnd.path, r.shortcut?.path, r.add.path])).toEqual([['layer1.0', 0, 'layer1.0:input', 'layer1.0.bn2', 'layer1.0.downsample.0', 'layer1.0']]);
    // The summary shows the block after its layers, as torchsummary does, and not its input node.
    expect(summaryRows(plan).map((r) => r.layer).slice(1, 10)).toEqual(['Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'BatchNorm2d', 'Conv2d', 'BatchNorm2d', 'Residual', 'Flatten']);
  });

  test("a block's activation (torchvision's relu(out + identity)) is inside it: a stage of blocks is indexed 0, 1 as torchvision's, and the ReLU is fused into the sum", () => {
    const stage = new Sequential(basicBlock(4, 1, false, () => new ReLU()), basicBlock(8, 2, true, () => new ReLU()));
    const plan = planModel(new Sequential({ conv1: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), layer1: stage, flat: new Flatten(), fc: new Linear({ outFeatures: 3 }) }), { inputShape: [1, 8, 8] });
    const names = plan.nodes.flatMap((n) => n.parameters.map((p) => p.name));
    expect(names.filter((n) => n.endsWith('conv1.weight'))).toEqual(['conv1.weight', 'layer1.0.conv1.weight', 'layer1.1.conv1.weight']);
    expect(names).toContain('layer1.1.downsample.0.weight');
    expect(plan.nodes.map((n) => n.path).slice(7, 9)).toEqual(['layer1.0', 'layer1.0:activation']);
    expect(plan.fusions.filter((f) => f.rule === 'residual-relu').map((f) => f.paths)).toEqual([['layer1.0', 'layer1.0:activation'], ['layer1.1', 'layer1.1:activation']]);
    expect(summaryRows(plan).map((r) => r.layer).slice(6, 8)).toEqual(['Residual', 'ReLU']);
    const text = modelFileText(stage, [4, 8, 8]);
    expect(JSON.parse(text).layers[0].activation).toEqual({ type: 'ReLU' });
    expect(modelFileText(parseModelFile(text, 'x.json').model, [4, 8, 8])).toBe(text);
    expect(() => new Residual(new ReLU(), undefined, { activation: 'relu' as never })).toThrow('Residual: activation must be a layer such as new ReLU(), got "relu"');
    expect(() => new Residual(new ReLU(), undefined, { act: new ReLU() } as never)).toThrow("Residual: unknown option 'act'; the options are activation");
    expect(() => parseModelFile(JSON.stringify({ input: [2, 3, 3], layers: [{ type: 'Residual', layers: [{ type: 'Tanh' }], activation: { layers: [] } }, { type: 'Flatten' }] }), 'y.json')).toThrow(`y.json: layer '0' (Residual): "activation" must be one layer such as { "type": "ReLU" }`);
    // An activation with tensors would be named '<block>:activation.weight', which no PyTorch module has: refused.
    expect(() => planModel(new Sequential(new Residual(new Conv2d({ outChannels: 2, kernelSize: 1 }), undefined, { activation: new BatchNorm2d() }), new Flatten()), { inputShape: [2, 3, 3] })).toThrow(
      "layer '0:activation' (BatchNorm2d): a residual block's activation has no tensors of its own (it is applied to the sum, as torchvision's relu); put a BatchNorm2d in the body, or after the block",
    );
    // One ReLU object used twice (torchvision's self.relu) is two layers here.
    const relu = new ReLU();
    expect(() => planModel(new Sequential(new Residual(new Sequential(new Conv2d({ outChannels: 2, kernelSize: 1 }), relu), undefined, { activation: relu }), new Flatten()), { inputShape: [2, 3, 3] })).toThrow(
      "layer '0:activation' (ReLU) is the same object as layer '0.1': give each place a layer of its own (shared layers, PyTorch's tied weights, are not supported; a module PyTorch calls twice, as torchvision's self.relu, is two layers here)",
    );
  });

  test("no fusion rule reaches across a block's ends or branches; its sum takes the ReLU after it", () => {
    // Inside the body a conv → batch norm pair fuses; the body's last conv and the shortcut's first
    // batch norm are adjacent in the chain but not in the network, nor are a ReLU before the block
    // and the body's first conv. The ReLU after the block is applied as the sum is stored.
    const model = new Sequential(
      new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new ReLU(),
      new Residual(new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new BatchNorm2d(), new Conv2d({ outChannels: 4, kernelSize: 1 })), new BatchNorm2d()),
      new ReLU(), new Flatten(), new Linear({ outFeatures: 3 }),
    );
    const plan = planModel(model, { inputShape: [1, 6, 6] });
    expect(plan.fusions).toEqual([
      { rule: 'relu-epilogue', paths: ['0', '1'] },
      { rule: 'batchnorm-stats-epilogue', paths: ['2.0', '2.1'] },
      { rule: 'residual-relu', paths: ['2', '3'] },
    ]);
    // examples/resnet.json: conv → batch norm → ReLU in the stem and each body, the blocks' sums → ReLU.
    const fused = planModel(resnet().model, { inputShape: [1, 28, 28] }).fusions;
    expect(fused.filter((f) => f.rule === 'batchnorm-relu').map((f) => f.paths)).toEqual([['bn1', 'relu'], ['layer1.0.bn1', 'layer1.0.relu'], ['layer2.0.bn1', 'layer2.0.relu']]);
    expect(fused.filter((f) => f.rule === 'residual-relu').map((f) => f.paths)).toEqual([['layer1.0', 'layer1.1'], ['layer2.0', 'layer2.1']]);
    expect(planModel(model, { inputShape: [1, 6, 6], fuse: false }).fusions).toEqual([]);
  });

  test('two outputs of different shapes, a shared block, a block as the whole model, an empty body or two shortcuts: refused, saying what to do', () => {
    expect(() => planModel(new Sequential(basicBlock(8, 2)), { inputShape: [8, 8, 8] })).toThrow(
      "residual block '0': its body gives [N, 8, 4, 4] and its input (the identity shortcut) is [N, 8, 8, 8]; the two are added, so they must match (give the block a shortcut that maps its input to the body's shape: a 1×1 Conv2d with the body's stride and out_channels, as ResNet's downsample)",
    );
    expect(() => planModel(new Sequential(basicBlock(8, 1, false), new Flatten()), { inputShape: [4, 6, 6] })).toThrow("its body gives [N, 8, 6, 6] and its input (the identity shortcut) is [N, 4, 6, 6]");
    const wrongShortcut = new Residual(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new Conv2d({ outChannels: 4, kernelSize: 3 }));
    expect(() => planModel(new Sequential(wrongShortcut, new Flatten()), { inputShape: [2, 6, 6] })).toThrow("residual block '0': its body gives [N, 4, 6, 6] and its shortcut gives [N, 4, 4, 4]");
    const block = basicBlock(4);
    expect(() => planModel(new Sequential(block, block, new Flatten()), { inputShape: [4, 6, 6] })).toThrow("the Residual block '1' is the same object as block '0': shared blocks (tied weights) are not supported");
    expect(() => planModel(basicBlock(4), { inputShape: [4, 6, 6] })).toThrow('a Residual block as the whole model: put it in a Sequential');
    expect(() => new Residual(new Sequential())).toThrow('Residual: the body has no layers');
    expect(() => new Residual(new ReLU(), { a: new ReLU(), b: new ReLU() })).toThrow('Residual: the shortcut must be one named module ({ downsample: … }), got 2 entries (a, b)');
    expect(() => new Residual({ conv: new ReLU() }, { conv: new ReLU() })).toThrow("Residual: the shortcut is named 'conv', as a child of the body is");
    expect(() => new Residual({ a: new ReLU(), b: new Tanh() }, { a: new ReLU() })).toThrow("the shortcut is named 'a'");
    expect(() => new Residual(3 as never)).toThrow('Residual: the body must be a Sequential');
  });
});

describe("PyTorch's inplace=True on a layer that reads a block's input", () => {
  // PyTorch overwrites x there, and the other branch then reads the changed x: another network.
  test('is refused there, naming the branch that reads it too; anywhere else it is taken (and written back in model files)', () => {
    const plan = (model: Sequential) => () => planModel(model, { inputShape: [2, 4, 4] });
    expect(plan(new Sequential(new Residual(new Sequential(new ReLU(true), new Conv2d({ outChannels: 2, kernelSize: 1 }))), new Flatten()))).toThrow(
      "layer '0.0' (ReLU): inplace=True would overwrite the input of residual block '0', which its identity shortcut reads too (PyTorch would then use the changed input there); give inplace false",
    );
    expect(plan(new Sequential(new Residual(new Conv2d({ outChannels: 2, kernelSize: 1 }), { skip: new Sequential(new Conv2d({ outChannels: 2, kernelSize: 1 }), new Dropout({ p: 0.1, inplace: true })) }), new Flatten()))).not.toThrow();
    expect(plan(new Sequential(new Residual(new Conv2d({ outChannels: 2, kernelSize: 1 }), { act: new Tanh() }), new Flatten()))).not.toThrow();
    expect(plan(new Sequential(new Residual(new Conv2d({ outChannels: 2, kernelSize: 1 }), { act: new GELU() }), new Flatten()))).not.toThrow();
    expect(plan(new Sequential(new Residual(new Conv2d({ outChannels: 2, kernelSize: 1 }), { act: new ReLU({ inplace: true }) }), new Flatten()))).toThrow("inplace=True would overwrite the input of residual block '0', after its body read it (PyTorch raises in backward where the body keeps that input for its gradient");
    // Through a view, and inside a nested block whose body starts the outer one's.
    expect(plan(new Sequential(new Residual(new Sequential(new Identity(), new ReLU(true))), new Flatten()))).toThrow("layer '0.1' (ReLU): inplace=True would overwrite the input of residual block '0'");
    expect(plan(new Sequential(new Residual(new Residual(new ReLU(true))), new Flatten()))).toThrow("layer '0.0.0' (ReLU): inplace=True would overwrite the input of residual block '0.0', which its identity shortcut reads too");
    // After a block's first layer, or outside blocks, inplace changes nothing.
    expect(plan(new Sequential(new ReLU(true), new Residual(new Sequential(new Conv2d({ outChannels: 2, kernelSize: 1 }), new ReLU(true))), new ReLU(true), new Flatten()))).not.toThrow();
    const text = modelFileText(new Sequential(new ReLU(true), new Dropout({ p: 0.2, inplace: true }), new Flatten()), [2, 3, 3]);
    expect(JSON.parse(text).layers.slice(0, 2)).toEqual([{ type: 'ReLU', inplace: true }, { type: 'Dropout', p: 0.2, inplace: true }]);
    expect(parseModelFile(text, 'x.json').model).toBeInstanceOf(Sequential);
    expect(() => planModel(parseModelFile(JSON.stringify({ input: [2, 3, 3], layers: [{ type: 'Residual', layers: [{ type: 'ReLU', inplace: true }] }, { type: 'Flatten' }] }), 'x.json').model, { inputShape: [2, 3, 3] })).toThrow('inplace=True would overwrite');
    expect(sameNetwork(text, 'x.json', new Sequential(new ReLU(), new Dropout(0.2), new Flatten()), [2, 3, 3])).toBe(true);
  });
});

describe('a residual block in a model file', () => {
  test('examples/resnet.json reads back as it is written, the shortcut under its name, and is one network however spelt', () => {
    const { model, input } = resnet();
    const text = modelFileText(model, input);
    const again = parseModelFile(text, 'again.json');
    expect(modelFileText(again.model, again.input)).toBe(text);
    expect(JSON.parse(text).layers[5].layers[0].shortcut.name).toBe('downsample');
    expect(sameNetwork(resnetFile, 'examples/resnet.json', again.model, again.input)).toBe(true);
    // A shortcut named "shortcut" is written without its name; without a shortcut, none is written.
    const plain = new Sequential(new Residual(new ReLU(), new Conv2d({ outChannels: 2, kernelSize: 1 })), new Residual(new Tanh()), new Flatten());
    const layers = JSON.parse(modelFileText(plain, [2, 3, 3])).layers;
    expect(layers[0]).toEqual({ type: 'Residual', layers: [{ type: 'ReLU' }], shortcut: { type: 'Conv2d', out_channels: 2, kernel_size: [1, 1], stride: 1, padding: 0, bias: true } });
    expect(layers[1]).toEqual({ type: 'Residual', layers: [{ type: 'Tanh' }] });
    // Another shortcut is another network.
    const other = parseModelFile(resnetFile.replace('"name": "downsample"', '"name": "proj"'), 'other.json');
    expect(sameNetwork(resnetFile, 'examples/resnet.json', other.model, other.input)).toBe(false);
  });

  test('a wrong field is refused naming the file, the block and what it takes', () => {
    const file = (block: object) => JSON.stringify({ input: [2, 4, 4], layers: [{ name: 'b', type: 'Residual', ...block }, { type: 'Flatten' }] });
    const read = (block: object) => () => parseModelFile(file(block), 'net.json');
    expect(read({ layers: [{ type: 'ReLU' }], skip: true })).toThrow(new ModelFileError(`net.json: layer 'b' (Residual): unknown field "skip" (it takes "name", "layers", "shortcut" and "activation")`));
    expect(read({ layers: [{ type: 'ReLU' }], shortcut: 3 })).toThrow(`net.json: layer 'b' (Residual): "shortcut" must be a layer or { "layers": [...] }, got 3`);
    expect(read({ layers: [{ type: 'ReLU' }], shortcut: { name: 'a b', type: 'ReLU' } })).toThrow(`the shortcut's "name" must be letters, digits or '_', got "a b"`);
    expect(read({ layers: [{ type: 'ReLU' }], shortcut: { type: 'Conv2d', kernel_size: 3 } })).toThrow(`net.json: layer 'b.shortcut' (Conv2d)`);
    expect(read({ layers: [] })).toThrow(`net.json: layer 'b' (Residual): the body has no layers`);
    expect(read({})).toThrow(`net.json: layer 'b' (Residual): "layers" must be the list of its body's layers`);
    expect(read({ layer: { type: 'ReLU' } })).toThrow(`net.json: layer 'b' (Residual): unknown field "layer" (it takes "name", "layers", "shortcut" and "activation")`);
  });
});

const BATCH = 6;
const images = Float32Array.from(randomArray(BATCH * 784, 41, -0.42, 2.8));
const labels = Uint32Array.from({ length: BATCH }, (_, b) => (b * 3 + 1) % 10);

describe('one GPU training step of residual networks against the float64 reference', () => {
  const cases = [
    {
      name: 'a block first with a conv shortcut (its input gradient unread), SGD',
      model: () => new Sequential(new Residual(new Sequential(new Conv2d({ outChannels: 3, kernelSize: 3, padding: 1 }), new ReLU(), new Conv2d({ outChannels: 2, kernelSize: 3, padding: 1 })), { proj: new Conv2d({ outChannels: 2, kernelSize: 1 }) }), new Flatten(), new Linear({ outFeatures: 10 })),
      optimizer: () => new SGD({ lr: 0.05 }),
      fuse: true,
    },
    { name: 'examples/resnet.json, SGD momentum, fused', model: () => resnet().model, optimizer: () => new SGD({ lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }), fuse: true },
    { name: 'examples/resnet.json, Adam, unfused', model: () => resnet().model, optimizer: () => new Adam({ lr: 1e-3 }), fuse: false },
    {
      name: 'blocks with their activation inside (a ReLU fused into the sum; a Tanh; a Dropout after a nested block), SGD',
      model: () =>
        new Sequential({
          conv: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, bias: false }),
          layer1: new Sequential(basicBlock(4, 1, false, () => new ReLU()), basicBlock(6, 2, true, () => new ReLU())),
          last: new Residual(new Conv2d({ outChannels: 6, kernelSize: 1 }), undefined, { activation: new Tanh() }),
          outer: new Residual(new Residual(new Conv2d({ outChannels: 6, kernelSize: 1 }), undefined, { activation: new GELU() }), undefined, { activation: new Dropout(0.2) }),
          flat: new Flatten(),
          fc: new Linear({ outFeatures: 10 }),
        }),
      optimizer: () => new SGD({ lr: 0.05, momentum: 0.9 }),
      fuse: true,
    },
    {
      // A block first in the network (nothing before it learns: its input node has no backward, and its sum keeps no gradient),
      // nested blocks whose bodies end in a Dropout after a batch norm (batchnorm-dropout) and in a nested block's sum, a Linear shortcut.
      name: 'a block first, nested blocks, a Dropout fused into a body-ending batch norm, a Linear shortcut, Adam',
      model: () =>
        new Sequential({
          stem: new Residual(new Sequential(new Conv2d({ outChannels: 1, kernelSize: 3, padding: 1 }), new Tanh())),
          pool: new MaxPool2d(2),
          conv: new Conv2d({ outChannels: 6, kernelSize: 3, padding: 1, bias: false }),
          outer: new Residual({ inner: new Residual(new Sequential(new Conv2d({ outChannels: 6, kernelSize: 3, padding: 1, bias: false }), new BatchNorm2d(), new Dropout(0.2))), act: new ReLU(), last: basicBlock(6) }, { proj: basicBlock(6, 1) }),
          flat: new Flatten(),
          mlp: new Residual(new Sequential(new Linear({ outFeatures: 12 }), new GELU(), new Linear({ outFeatures: 10 })), new Linear({ outFeatures: 10 })),
        }),
      optimizer: () => new Adam({ lr: 1e-3 }),
      fuse: true,
    },
  ];
  for (const c of cases) {
    gpuTest(c.name, async (ctx) => {
      const network = new Network(ctx, c.model(), { inputShape: [1, 28, 28], maxBatch: 8, seed: 4, optimizer: c.optimizer(), fuse: c.fuse });
      const report = await checkNetworkStep(network, images, labels);
      expect(report.passed, formatCheckReport(report)).toBe(true);
      expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
    });
  }

  gpuTest("the check compares a body's output where the shortcut starts with a view (it reads the block's input, not the body's output)", async (ctx) => {
    const model = new Sequential({ conv: new Conv2d({ outChannels: 2, kernelSize: 3, padding: 1 }), block: new Residual({ body: new Conv2d({ outChannels: 2, kernelSize: 3, padding: 1 }) }, { skip: new Identity() }), flat: new Flatten(), fc: new Linear({ outFeatures: 10 }) });
    const report = await checkNetworkStep(new Network(ctx, model, { inputShape: [1, 28, 28], maxBatch: 8 }), images, labels);
    expect(report.rows.filter((r) => r.kind === 'activation').map((r) => r.tensor)).toContain('block.body output (Conv2d)');
    expect(report.passed, formatCheckReport(report)).toBe(true);
  });

  gpuTest("a block with nothing learning before it runs no backward at its input and keeps no gradient at its sum; blocks of one depth share their kept gradients' memory", async (ctx) => {
    const first = new Network(ctx, new Sequential(new Residual(new Sequential(new Conv2d({ outChannels: 1, kernelSize: 3, padding: 1 }), new Tanh())), new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [1, 28, 28], maxBatch: 4 });
    const labelsOf = async (n: Network) => (await n.backward(4)).map((d) => d.label);
    expect((await labelsOf(first)).filter((l) => l.includes('residual'))).toEqual([]);
    const later = new Network(ctx, new Sequential(new Conv2d({ outChannels: 1, kernelSize: 1 }), new Residual(new Sequential(new Conv2d({ outChannels: 1, kernelSize: 3, padding: 1 }), new Tanh())), new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [1, 28, 28], maxBatch: 4 });
    expect((await labelsOf(later)).filter((l) => l.includes('residual'))).toEqual(['1 residual gradient kept', '1:input residual gradient sum']);
    // With a shortcut the body still needs the kept gradient, but the shortcut's input gradient has no reader.
    const projected = new Network(ctx, new Sequential(new Residual(new Conv2d({ outChannels: 2, kernelSize: 3, padding: 1 }), { proj: new Conv2d({ outChannels: 2, kernelSize: 1 }) }), new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [1, 28, 28], maxBatch: 4 });
    const projectedLabels = await labelsOf(projected);
    expect(projectedLabels.filter((l) => l.includes('residual'))).toEqual(['0 residual gradient kept']);
    expect(projectedLabels.filter((l) => l.includes('conv input gradient'))).toEqual([]);
    const blocks = (k: number) => new Network(ctx, new Sequential(new Conv2d({ outChannels: 2, kernelSize: 1 }), ...Array.from({ length: k }, () => basicBlock(2)), new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [1, 28, 28], maxBatch: 4 });
    expect(blocks(3).memory.activationGradients).toBe(blocks(1).memory.activationGradients);
  });
});

describe('a residual network in checkpoints', () => {
  gpuTest('a file whose shortcut is named otherwise is refused naming both the missing tensor and those in its place', async (ctx) => {
    const network = new Network(ctx, resnet().model, { inputShape: [1, 28, 28], maxBatch: 4 });
    const bytes = await encodeCheckpoint(network);
    expect(loadCheckpoint(network, bytes, 'same.safetensors').differences).toEqual([]);
    const { metadata, tensors } = decodeSafetensors(bytes, 'x');
    const renamed = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name.replace('layer2.0.downsample.', 'layer2.0.shortcut.'), t]));
    const { model_file: _, ...stateDict } = metadata;
    expect(() => loadCheckpoint(network, encodeSafetensors(renamed, stateDict), 'renamed.safetensors')).toThrow(
      "renamed.safetensors: tensor 'layer2.0.downsample.0.weight' is missing (expected F32 [32, 16, 1, 1]); the file has 6 tensors this network lacks ('layer2.0.shortcut.1.num_batches_tracked', 'layer2.0.shortcut.0.weight', …): another network, or a module named otherwise",
    );
  });
});
