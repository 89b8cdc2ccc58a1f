/** The CLI on a data set of arrays (--data FILE.npz or FILE.safetensors): images, ids and regression targets, as a user runs them. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { evaluateCommand, evaluationNormalization, mnistCommand } from '../src/cli/mnist.js';
import { GpuContext } from '../src/gpu/context.js';
import { predictCommand } from '../src/cli/predict.js';
import { decodeSafetensors, encodeSafetensors } from '../src/checkpoint/safetensors.js';
import { loadMnist } from '../src/node/mnist-files.js';
import { encodeNpy, parseNpy } from '../src/data/npy.js';
import { colourLayout, normalizedFill, toTensorNormalize } from '../src/data/colour-images.js';
import { gpuTest } from './helpers/gpu.js';
import { npzBytes } from './helpers/npy.js';

process.env.WEBGPU_BACKPROP_TUNE = 'off';
process.env.WEBGPU_BACKPROP_TUNING_CACHE = join(mkdtempSync(join(tmpdir(), 'webgpu-backprop-tuning-')), 'tuning.json');

/** The command's stdout; its stderr (progress, --json's log) kept apart. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv, (s) => (out += `${s}\n`));
    return { code, out, err: stderr.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    stderr.mockRestore();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'webgpu-backprop-data-'));
const QUICK = ['--batch', '32', '--epochs', '1', '--json'];

/** A deterministic pseudo-random sequence (no Math.random: the test's data is the same every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('webgpu-backprop mnist --data FILE', () => {
  gpuTest("Keras' mnist.npz layout (uint8 [N, 28, 28]) trains exactly as the IDX files it came from", async () => {
    const mnist = await loadMnist();
    const [train, test] = [96, 40];
    const file = join(dir, 'mnist.npz');
    writeFileSync(file, npzBytes({
      x_train: { data: mnist.train.images.slice(0, train * 784), shape: [train, 28, 28] },
      y_train: { data: BigInt64Array.from(mnist.train.labels.subarray(0, train), BigInt), shape: [train] },
      x_test: { data: mnist.test.images.slice(0, test * 784), shape: [test, 28, 28] },
      y_test: { data: mnist.test.labels.slice(0, test), shape: [test] },
    }, { zip64: true, deflate: true }));
    const fromFile = await run(['mnist', '--data', file, ...QUICK]);
    const fromIdx = await run(['mnist', '--train-limit', String(train), '--test-limit', String(test), ...QUICK]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.err).toContain(`Data: ${file} (train 96, test 40)`);
    expect(fromFile.err).toContain('rotation ±7°');
    const epoch = (r: { out: string }) => {
      const { seconds: _s, samples_per_s: _r, ...rest } = JSON.parse(r.out) as Record<string, unknown>;
      return rest;
    };
    expect(epoch(fromFile)).toEqual(epoch(fromIdx));
  });

  gpuTest('token ids into an Embedding model: it learns, evaluate and classify read the same file, check holds it against float64', async () => {
    const model = join(dir, 'tokens.json');
    writeFileSync(model, JSON.stringify({ input: [6], layers: [{ type: 'Embedding', num_embeddings: 20, embedding_dim: 4 }, { type: 'Flatten' }, { type: 'Linear', out_features: 4 }] }));
    // The class is the fourth token's value mod 4: an embedding of it, and the Linear, can learn that.
    const random = lcg(11);
    const make = (n: number) => {
      const x = BigInt64Array.from({ length: n * 6 }, () => BigInt(Math.floor(random() * 20)));
      return { x: { data: x, shape: [n, 6] }, y: { data: Int32Array.from({ length: n }, (_, i) => Number(x[i * 6 + 3]!) % 4), shape: [n] } };
    };
    const [train, test] = [make(512), make(128)];
    const file = join(dir, 'tokens.npz');
    writeFileSync(file, npzBytes({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }));
    const saved = join(dir, 'tokens.safetensors');
    const r = await run(['mnist', '--model', model, '--data', file, '--optimizer', 'adam', '--lr', '0.05', '--batch', '32', '--epochs', '6', '--json', '--save', saved]);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain('rotation');
    const epochs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(epochs.at(-1)!.test_accuracy).toBeGreaterThanOrEqual(95);
    const evaluated = await run(['evaluate', '--init', saved, '--data', file, '--json']);
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.out)).toMatchObject({ test_count: 128, test_correct: epochs.at(-1)!.test_correct, test_loss: epochs.at(-1)!.test_loss });
    const classified = await run(['classify', '--init', saved, '--data', file, '--index', '0', '--index', '5', '--json']);
    expect(classified.code).toBe(0);
    const rows = classified.out.trim().split('\n').map((l) => JSON.parse(l) as { image: string; label: number; probabilities: number[] });
    expect(rows.map((row) => [row.image, row.label])).toEqual([['test[0]', test.y.data[0]], ['test[5]', test.y.data[5]]]);
    for (const row of rows) expect(row.probabilities.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    const checked = await run(['check', '--model', model, '--data', file, '--batch', '16']);
    expect(checked.code, checked.out).toBe(0);
    expect(checked.out).toContain('at batch 16');
    // The IDX data (the default) cannot be a token model's ids: said before the GPU.
    const idx = await run(['mnist', '--model', model]);
    expect(idx.code).toBe(1);
    expect(idx.err).toMatch(/takes token ids, and this command feeds the network MNIST's images; give the ids as --data FILE\.npz/);
  });

  gpuTest('regression targets from a safetensors file: the loss alone is shown, the best by test loss; --save-best refused', async () => {
    const model = join(dir, 'linear.json');
    writeFileSync(model, JSON.stringify({ input: [5], layers: [{ type: 'Linear', out_features: 2 }] }));
    const random = lcg(5);
    const w = [[1, -2, 0.5, 3, 0], [0.25, 0, -1, 2, 1]];
    const make = (n: number) => {
      const x = Float32Array.from({ length: n * 5 }, () => 2 * random() - 1);
      const y = Float32Array.from({ length: n * 2 }, (_, k) => w[k % 2]!.reduce((s, wj, j) => s + wj * x[Math.floor(k / 2) * 5 + j]!, 0));
      return { x, y };
    };
    const [train, test] = [make(256), make(64)];
    const file = join(dir, 'regression.safetensors');
    writeFileSync(file, encodeSafetensors({
      x_train: { dtype: 'F32', shape: [256, 5], data: train.x }, y_train: { dtype: 'F32', shape: [256, 2], data: train.y },
      x_test: { dtype: 'F32', shape: [64, 5], data: test.x }, y_test: { dtype: 'F32', shape: [64, 2], data: test.y },
    }));
    const r = await run(['mnist', '--model', model, '--data', file, '--loss', 'mse', '--optimizer', 'adam', '--lr', '0.05', '--batch', '32', '--epochs', '8']);
    expect(r.code).toBe(0);
    const losses = [...r.out.matchAll(/^Test set: Average loss: (\d+\.\d{4})$/gm)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(8);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 10);
    expect(r.out).not.toMatch(/Accuracy|NaN/);
    const lowest = losses.indexOf(Math.min(...losses)) + 1;
    expect(r.out).toContain(`Best: epoch ${lowest}, test loss ${losses[lowest - 1]!.toFixed(4)}`);
    expect(r.out).toMatch(/^ +8 +— +\d+\.\d{4} +— /m);
    // The default loss (cross-entropy) takes class labels: said naming --loss, before the GPU, by mnist and by check.
    const noLoss = `webgpu-backprop: --loss cross-entropy: --data ${file} holds regression targets (float y_train), which take a loss that compares outputs with targets: --loss mse, half-sse, l1, smooth-l1, huber, bce-with-logits, bce or kl-div (class labels are an integer y: save y.astype(np.int64))\n`;
    const defaultLoss = await run(['mnist', '--model', model, '--data', file, '--epochs', '1']);
    expect([defaultLoss.code, defaultLoss.err]).toEqual([1, noLoss]);
    const checkedLoss = await run(['check', '--model', model, '--data', file]);
    expect([checkedLoss.code, checkedLoss.err]).toEqual([1, noLoss]);
    const best = await run(['mnist', '--model', model, '--data', file, '--loss', 'mse', '--save-best', join(dir, 'best.safetensors')]);
    expect([best.code, best.err]).toEqual([1, `webgpu-backprop: --save-best: --data ${file} holds regression targets (float y_train), which have no test accuracy to keep the best by; use --save\n`]);
    // Two outputs the data has, one the model: said, naming the file.
    writeFileSync(model, JSON.stringify({ input: [5], layers: [{ type: 'Linear', out_features: 1 }] }));
    const outputs = await run(['mnist', '--model', model, '--data', file, '--loss', 'mse']);
    expect([outputs.code, outputs.err]).toEqual([1, `webgpu-backprop: --data ${file}: y_train has 2 targets a sample; the model has 1 output\n`]);
  });

  gpuTest('--crop-padding and --hflip crop and flip float samples (torchvision RandomCrop, RandomHorizontalFlip), recorded and continued by --init', async () => {
    const model = join(dir, 'small-cnn.json');
    writeFileSync(model, JSON.stringify({ input: [3, 8, 8], layers: [{ type: 'Conv2d', out_channels: 4, kernel_size: 3 }, { type: 'ReLU' }, { type: 'Flatten' }, { type: 'Linear', out_features: 3 }] }));
    const random = lcg(7);
    const make = (n: number) => ({ x: { data: Float32Array.from({ length: n * 192 }, () => random() - 0.5), shape: [n, 3, 8, 8] }, y: { data: Int32Array.from({ length: n }, () => Math.floor(random() * 3)), shape: [n] } });
    const [train, test] = [make(64), make(16)];
    const file = join(dir, 'images.npz');
    writeFileSync(file, npzBytes({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }));
    const saved = join(dir, 'cropped.safetensors');
    const args = ['mnist', '--model', model, '--data', file, '--batch', '16', '--epochs', '1', '--json'];
    const plain = await run(args);
    const cropped = await run([...args, '--crop-padding', '2', '--crop-fill', '0.5', '--hflip', '--save', saved]);
    const again = await run([...args, '--crop-padding', '2', '--crop-fill', '0.5', '--hflip']);
    expect([plain.code, cropped.code, again.code]).toEqual([0, 0, 0]);
    expect(cropped.err).toContain('RandomCrop(padding=2, fill=0.5), RandomHorizontalFlip()');
    const loss = (r: { out: string }) => (JSON.parse(r.out) as { train_loss: number }).train_loss;
    // The crop and flip change the batches (so the loss), the same way every run.
    expect(loss(cropped)).not.toBe(loss(plain));
    expect(loss(again)).toBe(loss(cropped));
    const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(saved)), saved);
    expect([metadata.crop_padding, metadata.crop_fill, metadata.hflip]).toEqual(['2', '0.5', 'true']);
    const resumed = await run(['mnist', '--init', saved, '--data', file, '--epochs', '1', '--json']);
    expect(resumed.code).toBe(0);
    expect(resumed.err).toContain('RandomCrop(padding=2, fill=0.5), RandomHorizontalFlip()');
    const changed = await run(['mnist', '--init', saved, '--data', file, '--epochs', '1', '--crop-padding', '3']);
    expect([changed.code, changed.err]).toEqual([1, `webgpu-backprop: --crop-padding 3: ${saved} was trained with crop_padding 2 (its __metadata__); continuing with another changes the run from here on. Leave --crop-padding 3 out to continue as it was, or add --allow-changes\n`]);
    const images = await run(['mnist', '--hflip', '--steps', '1']);
    expect([images.code, images.err]).toEqual([1, "webgpu-backprop: --hflip: crops and flips a --data file's float samples; the MNIST data holds images, which take the random rotation (--no-augment: none)\n"]);
    const fill = await run([...args, '--crop-fill', '1']);
    expect([fill.code, fill.err]).toEqual([1, "webgpu-backprop: --crop-fill: the padding's value, without --crop-padding there is no padding\n"]);
  });

  gpuTest("colour images' crop pads as torchvision's recipe, before Normalize: the same epochs as their normalised floats padded with normalizedFill's values; --crop-fill a pixel a channel, recorded, continued by --init to the same bits, refused when changed or not a pixel", async () => {
    const model = join(dir, 'colour-crop.json');
    writeFileSync(model, JSON.stringify({ input: [3, 6, 5], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 2 }] }));
    const random = lcg(41);
    const norm = { mean: [0.45, 0.5, 0.55], std: [0.25, 0.2, 0.3], source: '--normalize' };
    const make = (n: number) => ({ x: { data: Uint8Array.from({ length: n * 90 }, () => Math.floor(random() * 256)), shape: [n, 6, 5, 3] }, y: { data: Uint8Array.from({ length: n }, (_, i) => i % 2), shape: [n, 1] } });
    const [train, test] = [make(48), make(16)];
    const file = join(dir, 'colour-crop.npz');
    writeFileSync(file, npzBytes({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }));
    // The same samples as float32 [N, 3, 6, 5], normalised here: a float file pads with --crop-fill's values as they are.
    const layout = colourLayout(train.x.shape, [3, 6, 5], file, 'x_train');
    const floats = (x: { data: Uint8Array; shape: number[] }) => ({ data: toTensorNormalize(x.data, x.shape[0]!, layout, norm, file), shape: [x.shape[0]!, 3, 6, 5] });
    const floatFile = join(dir, 'colour-crop-floats.npz');
    writeFileSync(floatFile, npzBytes({ x_train: floats(train.x), y_train: train.y, x_test: floats(test.x), y_test: test.y }));
    const base = ['mnist', '--model', model, '--loss', 'cross-entropy', '--batch', '16', '--json', '--crop-padding', '2', '--hflip'];
    const colourArgs = [...base, '--data', file, '--normalize', '0.45,0.5,0.55/0.25,0.2,0.3'];
    const epochs = (r: { out: string }) => r.out.trim().split('\n').map((l) => {
      const { seconds: _s, samples_per_s: _r, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
    for (const fill of [undefined, '124,116,104', '255']) {
      const given = fill === undefined ? [] : ['--crop-fill', fill];
      const colour = await run([...colourArgs, '--epochs', '2', ...given]);
      expect(colour.code, colour.err).toBe(0);
      expect(colour.err).toContain(`, RandomCrop(padding=2, fill=${fill === undefined ? '0' : fill.includes(',') ? `(${fill.split(',').join(', ')})` : fill}) before ToTensor(), RandomHorizontalFlip()`);
      // Black (0) by default: −mean[c]/std[c] once normalised, a value a channel.
      const fills = normalizedFill((fill ?? '0').split(',').map(Number), 3, norm, file, '--crop-fill');
      const asFloats = await run([...base, '--data', floatFile, '--epochs', '2', '--crop-fill', fills.join(',')]);
      expect(asFloats.code, asFloats.err).toBe(0);
      expect(epochs(colour), `fill ${fill ?? 'default'}`).toEqual(epochs(asFloats));
    }
    // The fill a channel recorded with the crop's order; two epochs equal one, saved, and one more from it.
    const whole = await run([...colourArgs, '--epochs', '2', '--crop-fill', '124,116,104']);
    const saved = join(dir, 'colour-crop.safetensors');
    const first = await run([...colourArgs, '--epochs', '1', '--crop-fill', '124,116,104', '--save', saved]);
    expect(first.code, first.err).toBe(0);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(saved)), saved);
    expect([metadata.crop_padding, metadata.crop_fill, metadata.crop_before_normalize, metadata.hflip]).toEqual(['2', '124,116,104', 'true', 'true']);
    const resumed = await run(['mnist', '--init', saved, '--data', file, '--epochs', '1', '--json']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(', RandomCrop(padding=2, fill=(124, 116, 104)) before ToTensor(), RandomHorizontalFlip()');
    expect(epochs(resumed)).toEqual(epochs(whole).slice(1));
    const same = await run(['mnist', '--init', saved, '--data', file, '--steps', '1', '--crop-fill', '124,116,104']);
    expect(same.code, same.err).toBe(0);
    const changed = await run(['mnist', '--init', saved, '--data', file, '--epochs', '1', '--crop-fill', '0']);
    expect([changed.code, changed.err]).toEqual([1, `webgpu-backprop: --crop-fill 0: ${saved} was trained with crop_fill 124,116,104 (its __metadata__); continuing with another changes the run from here on. Leave --crop-fill 0 out to continue as it was, or add --allow-changes\n`]);
    // A run of colour images that padded its normalised samples (before crop_before_normalize): refused, or padded as torchvision's with --allow-changes.
    const old = join(dir, 'colour-crop-old.safetensors');
    const { crop_before_normalize: _b, crop_fill: _f, ...oldMetadata } = metadata;
    writeFileSync(old, encodeSafetensors(tensors, oldMetadata));
    const refused = await run(['mnist', '--init', old, '--data', file, '--epochs', '1']);
    expect([refused.code, refused.err]).toEqual([1, `webgpu-backprop: --data ${file}: holds colour images, which are padded before ToTensor() and Normalize as torchvision's RandomCrop pads them (black, or --crop-fill's pixel value); ${old}'s run padded its samples as they were, after Normalize (its __metadata__ records crop_padding and no crop_before_normalize): continuing pads another value from here on; give the data set it was trained on, or add --allow-changes to go on so\n`]);
    const allowed = await run(['mnist', '--init', old, '--data', file, '--steps', '1', '--allow-changes', '--save', old]);
    expect(allowed.code, allowed.err).toBe(0);
    expect(allowed.out).toContain(', RandomCrop(padding=2, fill=0) before ToTensor()');
    expect(decodeSafetensors(new Uint8Array(readFileSync(old)), old).metadata.crop_before_normalize).toBe('true');
    // Fills that are no pixel of these images, or not one a channel; a float file's count too.
    const refuse = async (argv: string[], message: string) => {
      const r = await run(argv);
      expect([r.code, r.err]).toEqual([1, `webgpu-backprop: ${message}\n`]);
    };
    await refuse([...colourArgs, '--crop-fill', '0.5'], `--crop-fill: ${file} holds uint8 colour images, padded before ToTensor() and Normalize as torchvision's RandomCrop pads them: the fill is a pixel value, a whole number from 0 (black, the default) to 255, got 0.5`);
    await refuse([...colourArgs, '--crop-fill', '256'], `--crop-fill: ${file} holds uint8 colour images, padded before ToTensor() and Normalize as torchvision's RandomCrop pads them: the fill is a pixel value, a whole number from 0 (black, the default) to 255, got 256`);
    await refuse([...colourArgs, '--crop-fill', '1,2'], `--crop-fill: 2 values; ${file} has 3 channels (one value a channel, or one for all)`);
    await refuse([...base, '--data', floatFile, '--crop-fill', '1,2,3,4'], `--crop-fill: 4 values; --data ${floatFile}'s samples of [3, 6, 5] have 3 channels (one value a channel, or one for all)`);
    await refuse([...colourArgs, '--crop-fill', '1,x'], "--crop-fill: expected a number, or a comma list of them one a channel (colour images: pixel values 0 … 255, such as 124,116,104; float samples: their own values), got '1,x'");
  });

  gpuTest("a checkpoint's crop and flip continued on images: refused naming the file's crop_padding and hflip, dropped with --allow-changes", async () => {
    const model = join(dir, 'grey-8x8.json');
    writeFileSync(model, JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 3 }] }));
    const random = lcg(13);
    const floats = (n: number) => ({ x: { data: Float32Array.from({ length: n * 64 }, () => random()), shape: [n, 1, 8, 8] }, y: { data: Int32Array.from({ length: n }, () => Math.floor(random() * 3)), shape: [n] } });
    const bytes = (n: number) => ({ x: { data: Uint8Array.from({ length: n * 64 }, () => Math.floor(random() * 256)), shape: [n, 8, 8] }, y: { data: Uint8Array.from({ length: n }, () => Math.floor(random() * 3)), shape: [n] } });
    const [floatFile, imageFile] = [join(dir, 'grey-floats.npz'), join(dir, 'grey-images.npz')];
    const [ft, fv, it, iv] = [floats(32), floats(8), bytes(32), bytes(8)];
    writeFileSync(floatFile, npzBytes({ x_train: ft.x, y_train: ft.y, x_test: fv.x, y_test: fv.y }));
    writeFileSync(imageFile, npzBytes({ x_train: it.x, y_train: it.y, x_test: iv.x, y_test: iv.y }));
    const saved = join(dir, 'grey-cropped.safetensors');
    expect((await run(['mnist', '--model', model, '--data', floatFile, '--batch', '16', '--epochs', '1', '--crop-padding', '1', '--hflip', '--save', saved])).code).toBe(0);
    const refused = await run(['mnist', '--init', saved, '--data', imageFile, '--epochs', '1']);
    expect([refused.code, refused.err]).toEqual([1, `webgpu-backprop: --data ${imageFile}: holds images, which take the random rotation, not ${saved}'s crop_padding 1 and hflip (of float samples; its __metadata__): give the data set it was trained on, or add --allow-changes to go on without them\n`]);
    const changed = await run(['mnist', '--init', saved, '--data', imageFile, '--epochs', '1', '--allow-changes']);
    expect(changed.code, changed.err).toBe(0);
    expect(changed.out).toContain(`Data: ${imageFile} (train 32, test 8)`);
    expect(changed.out).not.toMatch(/RandomCrop|RandomHorizontalFlip/);
  });

  gpuTest('a split larger than the adapter binds is kept in windows of whole samples: the same run, to the bit, as on one binding; a batch past the limit is refused naming --batch', async (ctx) => {
    // The test's device, with a binding limit of 4 KiB (lavapipe's is 128 MiB: a data set past it would take seconds to write).
    const limits: Record<string, number> = {};
    for (const key in ctx.device.limits) limits[key] = (ctx.device.limits as unknown as Record<string, number>)[key]!;
    Object.assign(limits, { maxStorageBufferBindingSize: 4096 });
    const device = new Proxy(ctx.device, {
      get: (target, key) => {
        if (key === 'limits') return limits;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const small = new GpuContext(device, ctx.adapter, { zeroedBuffers: false });
    const model = join(dir, 'six.json');
    writeFileSync(model, JSON.stringify({ input: [6], layers: [{ type: 'Linear', out_features: 3 }] }));
    const random = lcg(17);
    const make = (n: number) => ({ x: { data: Float32Array.from({ length: n * 6 }, () => random()), shape: [n, 6] }, y: { data: Int32Array.from({ length: n }, () => Math.floor(random() * 3)), shape: [n] } });
    // 400 training samples of 24 bytes: three windows of at most 170 (4096 / 24) on the small device.
    const [train, test] = [make(400), make(180)];
    const file = join(dir, 'six.npz');
    writeFileSync(file, npzBytes({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }));
    const quiet = () => {};
    const failure = (p: Promise<number>) => p.then(() => 'no error', (e: Error) => e.message);
    const epochs = async (context: GpuContext, extra: string[] = []) => {
      let out = '';
      expect(await failure(mnistCommand(['--model', model, '--data', file, '--batch', '10', '--epochs', '2', '--json', ...extra], async () => context, (line) => (out += `${line}\n`)))).toBe('no error');
      return out.trim().split('\n').map((line) => {
        const { seconds: _s, samples_per_s: _r, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return rest;
      });
    };
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // Shuffled batches draw from every window (the kernel test covers the crop and flip's windows).
      expect(await epochs(small)).toEqual(await epochs(ctx));
      const saved = join(dir, 'six.safetensors');
      expect(await failure(mnistCommand(['--model', model, '--data', file, '--batch', '10', '--epochs', '1', '--save', saved], async () => small, quiet))).toBe('no error');
      // A batch whose buffers pass the limit: said naming --batch (evaluate's and predict's, whose passes are of --batch samples).
      expect(await failure(evaluateCommand(['--init', saved, '--data', file, '--batch', '200'], async () => small, quiet)))
        .toMatch(/^--batch 200: batch 200 needs a buffer of 0\.0 MiB \(.*\); this adapter allows 0\.0 MiB \(maxStorageBufferBindingSize\): the largest batch that fits is 170$/);
      expect(await failure(predictCommand(['--init', saved, '--data', file, '--out', join(dir, 'six.npy'), '--batch', '200'], async () => small, quiet)))
        .toMatch(/^--batch 200: batch 180 needs a buffer of 0\.0 MiB \(.*\); this adapter allows 0\.0 MiB \(maxStorageBufferBindingSize\): the largest batch that fits is 170$/);
    } finally {
      stderr.mockRestore();
    }
  });

  gpuTest('colour images kept as bytes on the GPU, in windows of a small binding: the same epochs, to the bit, as their normalised floats on one — one channel and four, H·W no multiple of 4, with and without crop and flip', async (ctx) => {
    // The test's device with a binding limit of 4 KiB (as the windows test above): the bytes in three windows each.
    const limits: Record<string, number> = {};
    for (const key in ctx.device.limits) limits[key] = (ctx.device.limits as unknown as Record<string, number>)[key]!;
    Object.assign(limits, { maxStorageBufferBindingSize: 4096 });
    const device = new Proxy(ctx.device, {
      get: (target, key) => {
        if (key === 'limits') return limits;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const small = new GpuContext(device, ctx.adapter, { zeroedBuffers: false });
    const random = lcg(53);
    const norm = { mean: [0.45, 0.5, 0.55, 0.4], std: [0.25, 0.2, 0.3, 0.22], source: '--normalize' };
    const epochs = async (context: GpuContext, argv: string[]) => {
      let out = '';
      await mnistCommand(argv, async () => context, (line) => (out += `${line}\n`));
      return out.trim().split('\n').map((line) => {
        const { seconds: _s, samples_per_s: _r, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return rest;
      });
    };
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // [N, 1, 7, 3] channels first: 21 bytes a sample, 24 with its padding, 170 a window; [N, 5, 3, 4] channels last: 60 bytes, 68 a window.
      for (const [name, shape, input, n] of [['one', [1, 7, 3], [1, 7, 3], 400], ['four', [5, 3, 4], [4, 5, 3], 200]] as const) {
        const size = shape[0] * shape[1] * shape[2];
        const make = (k: number) => ({ x: { data: Uint8Array.from({ length: k * size }, () => Math.floor(random() * 256)), shape: [k, ...shape] }, y: { data: Uint8Array.from({ length: k }, (_, i) => i % 3), shape: [k, 1] } });
        const [train, test] = [make(n), make(30)];
        const file = join(dir, `bytes-${name}.npz`);
        writeFileSync(file, npzBytes({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }));
        const channels = input[0];
        const given = { mean: norm.mean.slice(0, channels), std: norm.std.slice(0, channels), source: norm.source };
        const layout = colourLayout(train.x.shape, input, file, 'x_train');
        const floats = (x: { data: Uint8Array; shape: number[] }) => ({ data: toTensorNormalize(x.data, x.shape[0]!, layout, given, file), shape: [x.shape[0]!, ...input] });
        const floatFile = join(dir, `bytes-${name}-floats.npz`);
        writeFileSync(floatFile, npzBytes({ x_train: floats(train.x), y_train: train.y, x_test: floats(test.x), y_test: test.y }));
        const model = join(dir, `bytes-${name}.json`);
        writeFileSync(model, JSON.stringify({ input, layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 3 }] }));
        const base = ['--model', model, '--loss', 'cross-entropy', '--batch', '10', '--epochs', '2', '--json'];
        for (const crop of [[], ['--crop-padding', '2', '--hflip']]) {
          const colour = await epochs(small, [...base, ...crop, '--data', file, '--normalize', `${given.mean.join(',')}/${given.std.join(',')}`]);
          const fills = crop.length > 0 ? ['--crop-fill', normalizedFill([0], channels, given, file, '--crop-fill').join(',')] : [];
          const asFloats = await epochs(ctx, [...base, ...crop, ...fills, '--data', floatFile]);
          expect(colour, `${name} channel${channels === 1 ? '' : 's'}${crop.length > 0 ? ', cropped and flipped' : ''}`).toEqual(asFloats);
        }
      }
    } finally {
      stderr.mockRestore();
    }
  });

  gpuTest("colour images (Keras' cifar10 layout: uint8 [N, H, W, 3], y [N, 1]) learn; the Normalize is recorded, and evaluate, predict, classify and a continued run take it", async () => {
    const model = join(dir, 'colour-cnn.json');
    writeFileSync(model, JSON.stringify({ input: [3, 8, 8], layers: [{ type: 'Conv2d', out_channels: 4, kernel_size: 3 }, { type: 'ReLU' }, { type: 'Flatten' }, { type: 'Linear', out_features: 3 }] }));
    // The class is the dominant colour: that channel's pixels 100 brighter.
    const random = lcg(29);
    const make = (n: number) => {
      const y = Uint8Array.from({ length: n }, () => Math.floor(random() * 3));
      const x = Uint8Array.from({ length: n * 192 }, (_, i) => Math.floor(random() * 140) + (i % 3 === y[Math.floor(i / 192)] ? 100 : 0));
      return { x: { data: x, shape: [n, 8, 8, 3] }, y: { data: y, shape: [n, 1] } };
    };
    const [train, test] = [make(300), make(90)];
    const file = join(dir, 'colour.npz');
    writeFileSync(file, npzBytes({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }));
    const saved = join(dir, 'colour.safetensors');
    const r = await run(['mnist', '--model', model, '--data', file, '--normalize', '0.45,0.5,0.55/0.25', '--loss', 'cross-entropy', '--batch', '30', '--epochs', '3', '--json', '--save', saved]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('colour images read channels last (HWC), ToTensor(), Normalize(mean=[0.45, 0.5, 0.55], std=[0.25]) (--normalize 0.45,0.5,0.55/0.25)');
    const epochs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(epochs.at(-1)!.test_accuracy).toBeGreaterThanOrEqual(95);
    const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(saved)), saved);
    expect([metadata.normalize_mean, metadata.normalize_std]).toEqual(['0.45,0.5,0.55', '0.25']);
    // evaluate normalises as the run did (x_train's own mean and std, its default, would give another loss).
    const evaluated = await run(['evaluate', '--init', saved, '--data', file, '--batch', '30', '--json']);
    expect(evaluated.code, evaluated.err).toBe(0);
    expect(JSON.parse(evaluated.out)).toMatchObject({ test_count: 90, test_correct: epochs.at(-1)!.test_correct, test_loss: epochs.at(-1)!.test_loss });
    // predict: the test split of --data, and the same images as an --input array, to the bit.
    const [a, b, xTest] = [join(dir, 'colour-a.npy'), join(dir, 'colour-b.npy'), join(dir, 'colour-x.npy')];
    writeFileSync(xTest, encodeNpy(test.x.data, test.x.shape));
    expect((await run(['predict', '--init', saved, '--data', file, '--out', a])).code).toBe(0);
    expect((await run(['predict', '--init', saved, '--input', xTest, '--out', b])).code).toBe(0);
    const read = (path: string) => parseNpy(new Uint8Array(readFileSync(path)), path).data as Float32Array;
    const [pa, pb] = [read(a), read(b)];
    expect(Array.from(pb)).toEqual(Array.from(pa));
    const predicted = Array.from({ length: 90 }, (_, i) => [0, 1, 2].reduce((best, c) => (pa[i * 3 + c]! > pa[i * 3 + best]! ? c : best), 0));
    expect(predicted.filter((p, i) => p === test.y.data[i]).length).toBe(epochs.at(-1)!.test_correct);
    const classified = await run(['classify', '--init', saved, '--data', file, '--index', '4', '--json']);
    expect(classified.code, classified.err).toBe(0);
    expect(JSON.parse(classified.out)).toMatchObject({ image: 'test[4]', label: test.y.data[4], predicted: predicted[4] });
    const other = await run(['predict', '--init', saved, '--input', xTest, '--out', b, '--normalize', '0.5/0.5']);
    expect([other.code, other.err]).toEqual([1, `webgpu-backprop: --normalize 0.5/0.5: ${saved} records its run's normalisation, 0.45,0.5,0.55/0.25 (its __metadata__.normalize_mean and normalize_std); its inputs are normalised so (leave --normalize out)\n`]);
    // A continued run goes on with the file's; another is refused unless --allow-changes.
    const resumed = await run(['mnist', '--init', saved, '--data', file, '--epochs', '1', '--json']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(`Normalize(mean=[0.45, 0.5, 0.55], std=[0.25]) (${saved}'s normalize_mean and normalize_std (its __metadata__))`);
    const changed = await run(['mnist', '--init', saved, '--data', file, '--epochs', '1', '--normalize', '0.5/0.5']);
    expect([changed.code, changed.err]).toEqual([1, `webgpu-backprop: --normalize 0.5/0.5: ${saved} was trained with normalize 0.45,0.5,0.55/0.25 (its __metadata__); continuing with another changes the run from here on. Leave --normalize 0.5/0.5 out to continue as it was, or add --allow-changes\n`]);
    const allowed = await run(['mnist', '--init', saved, '--data', file, '--epochs', '1', '--normalize', '0.5/0.5', '--allow-changes', '--json']);
    expect(allowed.code, allowed.err).toBe(0);
    expect(allowed.err).toContain('Normalize(mean=[0.5], std=[0.5]) (--normalize 0.5/0.5)');
  });

  gpuTest("colour images channels first without --normalize: x_train's own mean and std a channel, said and recorded", async () => {
    const model = join(dir, 'colour-linear.json');
    writeFileSync(model, JSON.stringify({ input: [3, 4, 5], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 2 }] }));
    const random = lcg(31);
    const make = (n: number) => ({ x: { data: Uint8Array.from({ length: n * 60 }, (_, i) => Math.floor(random() * (i < n * 20 ? 256 : 100 + 50 * (i % 2)))), shape: [n, 3, 4, 5] }, y: { data: Uint8Array.from({ length: n }, (_, i) => i % 2), shape: [n, 1] } });
    const [train, test] = [make(40), make(8)];
    const file = join(dir, 'colour-chw.npz');
    writeFileSync(file, npzBytes({ x_train: train.x, y_train: train.y, x_test: test.x, y_test: test.y }));
    const saved = join(dir, 'colour-chw.safetensors');
    const r = await run(['mnist', '--model', model, '--data', file, '--loss', 'cross-entropy', '--batch', '20', '--epochs', '1', '--json', '--save', saved]);
    expect(r.code, r.err).toBe(0);
    // Each channel's mean and population std of v / 255, in float64, from the samples' channel planes.
    const stats = [0, 1, 2].map((c) => {
      const values = Array.from({ length: 40 * 20 }, (_, k) => train.x.data[Math.floor(k / 20) * 60 + c * 20 + (k % 20)]! / 255);
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      return { mean, std: Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length) };
    });
    const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(saved)), saved);
    metadata.normalize_mean!.split(',').map(Number).forEach((m, c) => expect(m).toBeCloseTo(stats[c]!.mean, 14));
    metadata.normalize_std!.split(',').map(Number).forEach((s, c) => expect(s).toBeCloseTo(stats[c]!.std, 14));
    expect(r.err).toContain(`colour images read channels first (CHW), ToTensor(), Normalize(mean=[${metadata.normalize_mean!.split(',').join(', ')}], std=[${metadata.normalize_std!.split(',').join(', ')}]) (x_train's own mean and std)`);
    // [N, 3, 3, 3] into a model of [3, 3, 3]: either layout fits; the model's is taken, and said.
    const cube = join(dir, 'colour-cube.json');
    writeFileSync(cube, JSON.stringify({ input: [3, 3, 3], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 2 }] }));
    const cubes = { data: Uint8Array.from({ length: 8 * 27 }, () => Math.floor(random() * 256)), shape: [8, 3, 3, 3] };
    const labels = { data: Uint8Array.from({ length: 8 }, (_, i) => i % 2), shape: [8, 1] };
    const cubeFile = join(dir, 'colour-cube.npz');
    writeFileSync(cubeFile, npzBytes({ x_train: cubes, y_train: labels, x_test: cubes, y_test: labels }));
    const ambiguous = await run(['mnist', '--model', cube, '--data', cubeFile, '--loss', 'cross-entropy', '--batch', '8', '--steps', '1', '--json']);
    expect(ambiguous.code, ambiguous.err).toBe(0);
    expect(ambiguous.err).toContain("colour images read channels first (CHW) (channels last would fit too: the model's layout taken; transpose the arrays to [N, C, H, W] if they are [N, H, W, C]), ToTensor()");
  });

  test('--normalize: MEAN/STD parsed strictly, naming the flag; grey images, and colour images of another size than the model takes, refused before the GPU', async () => {
    const refuse = async (argv: string[], message: string) => {
      const r = await run(argv);
      expect([r.code, r.err]).toEqual([1, `webgpu-backprop: ${message}\n`]);
    };
    const example = 'such as 0.4914,0.4822,0.4465/0.247,0.2435,0.2616 (one value a channel) or 0.5/0.5 (one for all)';
    await refuse(['mnist', '--normalize', '0.5'], `--normalize: expected MEAN/STD, comma lists ${example}, got '0.5'`);
    await refuse(['mnist', '--normalize', '0.5,0.4/0.2,0.2,0.2'], `--normalize: 2 means and 3 stds; give one a channel, or one for all, ${example}, got '0.5,0.4/0.2,0.2,0.2'`);
    await refuse(['mnist', '--normalize', '0.5,x/0.2'], "--normalize: the means are finite numbers (float32), comma-separated, got '0.5,x'");
    await refuse(['mnist', '--normalize', '0.5/0'], "--normalize: the stds are numbers > 0 (Normalize divides by them; float32), comma-separated, got '0'");
    await refuse(['mnist', '--normalize', '0.5/1e-50'], "--normalize: the stds are numbers > 0 (Normalize divides by them; float32), comma-separated, got '1e-50'");
    await refuse(['mnist', '--normalize', '0.5/0.5'], "--normalize: normalises a --data file's colour images or float samples; the MNIST data holds grey images (IDX files), normalised as MNIST's on the GPU");
    const model = join(dir, 'colour-28.json');
    writeFileSync(model, JSON.stringify({ input: [3, 28, 28], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 2 }] }));
    const x = { data: new Uint8Array(2 * 8 * 8 * 3), shape: [2, 8, 8, 3] };
    const y = { data: Uint8Array.of(0, 1), shape: [2, 1] };
    const file = join(dir, 'colour-8.npz');
    writeFileSync(file, npzBytes({ x_train: x, y_train: y, x_test: x, y_test: y }));
    await refuse(['mnist', '--model', model, '--data', file], `${file}: x_train is uint8 (2, 8, 8, 3), colour images of [N, H, W, C] (channels last) or [N, C, H, W] (channels first) with C 1, 3 or 4; the model takes [3, 28, 28] per sample`);
  });

  test("grey images (MNIST's IDX files, PGM files) with a Normalize, given or the checkpoint's: evaluate, classify and predict refuse it, before the GPU", async () => {
    const model = join(dir, 'grey-linear.json');
    const modelText = JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 10 }] });
    writeFileSync(model, modelText);
    const tensors = { '1.weight': { dtype: 'F32' as const, shape: [10, 784], data: new Float32Array(7840) }, '1.bias': { dtype: 'F32' as const, shape: [10], data: new Float32Array(10) } };
    // PyTorch's state_dict (no metadata), and a run of float samples [1, 28, 28] that normalised them.
    const [bare, recorded] = [join(dir, 'grey-bare.safetensors'), join(dir, 'grey-recorded.safetensors')];
    writeFileSync(bare, encodeSafetensors(tensors, {}));
    writeFileSync(recorded, encodeSafetensors(tensors, { model_file: modelText, loss: 'cross-entropy', normalize_mean: '0.9', normalize_std: '0.01' }));
    const pgm = join(dir, 'grey.pgm');
    writeFileSync(pgm, new Uint8Array([...new TextEncoder().encode('P5 28 28 255\n'), ...new Uint8Array(784)]));
    const out = join(dir, 'grey-out.npy');
    const given = "a Normalize (--normalize 0.5/0.5) is for a --data file's colour images and float samples";
    const theirs = `a Normalize (${recorded}'s normalize_mean and normalize_std (its __metadata__)) is for a --data file's colour images and float samples`;
    for (const [argv, message] of [
      [['evaluate', '--init', bare, '--model', model, '--normalize', '0.5/0.5'], `the MNIST data holds grey images (IDX files), normalised as MNIST's on the GPU; ${given}`],
      [['evaluate', '--init', recorded], `the MNIST data holds grey images (IDX files), normalised as MNIST's on the GPU; ${theirs}`],
      [['predict', '--init', bare, '--model', model, '--normalize', '0.5/0.5', '--out', out], `the MNIST data holds grey images (IDX files), normalised as MNIST's on the GPU; ${given}`],
      [['classify', '--init', bare, '--model', model, '--normalize', '0.5/0.5', '--index', '0'], `the MNIST data holds grey images (IDX files), normalised as MNIST's on the GPU; ${given}`],
      [['classify', '--init', recorded, pgm], `${pgm} holds grey images (a PGM file), normalised as MNIST's on the GPU; ${theirs}`],
    ] as const) {
      const r = await run([...argv]);
      expect([r.code, r.err], argv.join(' ')).toEqual([1, `webgpu-backprop: ${message}\n`]);
    }
  });

  test("--normalize for a checkpoint that records none: taken for PyTorch's state_dict and a network saved from code (encodeCheckpoint records its loss, not its data), refused for a run of the CLI or the page (it records its train_samples) that normalised nothing", () => {
    const code = { model_file: '{}', loss: 'cross-entropy', seed: '0' };
    for (const metadata of [{}, code]) expect(evaluationNormalization('0.5/0.25', metadata, 'f.safetensors')).toMatchObject({ mean: [0.5], std: [0.25], source: '--normalize 0.5/0.25' });
    expect(() => evaluationNormalization('0.5/0.25', { ...code, train_samples: '40' }, 'f.safetensors')).toThrow("--normalize 0.5/0.25: f.safetensors's run normalised nothing (it records its train_samples and no normalize_mean); its inputs are taken so (leave --normalize out)");
    expect(() => evaluationNormalization('0.5/0.25', { ...code, normalize_mean: '0.4', normalize_std: '0.25' }, 'f.safetensors')).toThrow("--normalize 0.5/0.25: f.safetensors records its run's normalisation, 0.4/0.25");
  });

  test("predict --input of colour images: a checkpoint that records no Normalize asks for --normalize, unless its run (the CLI's: it records its train_samples) normalised nothing, where --normalize is refused too", async () => {
    const modelText = JSON.stringify({ input: [3, 2, 2], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 2 }] });
    const model = join(dir, 'colour-tiny.json');
    writeFileSync(model, modelText);
    const tensors = { '1.weight': { dtype: 'F32' as const, shape: [2, 12], data: new Float32Array(24) }, '1.bias': { dtype: 'F32' as const, shape: [2], data: new Float32Array(2) } };
    const [bare, floatRun] = [join(dir, 'colour-tiny-bare.safetensors'), join(dir, 'colour-tiny-floats.safetensors')];
    writeFileSync(bare, encodeSafetensors(tensors, {}));
    writeFileSync(floatRun, encodeSafetensors(tensors, { model_file: modelText, loss: 'cross-entropy', train_samples: '40' }));
    const images = join(dir, 'colour-tiny.npy');
    writeFileSync(images, encodeNpy(new Uint8Array(24), [2, 2, 2, 3]));
    const out = join(dir, 'colour-tiny-out.npy');
    const bareRun = await run(['predict', '--init', bare, '--model', model, '--input', images, '--out', out]);
    expect([bareRun.code, bareRun.err]).toEqual([1, `webgpu-backprop: --input ${images}: colour images (uint8 [2, 2, 2, 3]) take the normalisation of the run that trained the network, and ${bare} records none (no __metadata__.normalize_mean): give --normalize MEAN/STD, the run's\n`]);
    const floats = await run(['predict', '--init', floatRun, '--input', images, '--out', out]);
    expect([floats.code, floats.err]).toEqual([1, `webgpu-backprop: --input ${images}: colour images (uint8 [2, 2, 2, 3]), and ${floatRun}'s run normalised nothing (it records its train_samples and no normalize_mean): it trained on float samples; give --input those, as float32 [N, 3, 2, 2]\n`]);
  });

  test('--data FILE.npy (one array) is refused saying what --data takes, before the GPU', async () => {
    const file = join(dir, 'one-array.npy');
    writeFileSync(file, encodeNpy(new Float32Array(12), [2, 6]));
    for (const command of ['mnist', 'check']) {
      const r = await run([command, '--data', file]);
      expect([r.code, r.err]).toEqual([1, `webgpu-backprop: ${file}: a .npy file holds one array; --data takes an .npz file (np.savez(file, x_train=…, y_train=…, x_test=…, y_test=…)) or a .safetensors file of those four arrays, or a directory of MNIST's IDX files (predict's --input takes one .npy array of samples)\n`]);
    }
  });

  gpuTest("classify takes a --data file's images of any size the model takes (20×12 here), and PGM files of that size", async () => {
    const model = join(dir, 'rect.json');
    writeFileSync(model, JSON.stringify({ input: [1, 20, 12], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 3 }, { type: 'LogSoftmax', dim: 1 }] }));
    const random = lcg(19);
    const pixels = Uint8Array.from({ length: 8 * 240 }, () => Math.floor(random() * 256));
    const labels = Uint8Array.from({ length: 8 }, (_, i) => i % 3);
    const file = join(dir, 'rect.npz');
    writeFileSync(file, npzBytes({ x_train: { data: pixels, shape: [8, 20, 12] }, y_train: { data: labels, shape: [8] }, x_test: { data: pixels, shape: [8, 20, 12] }, y_test: { data: labels, shape: [8] } }));
    const saved = join(dir, 'rect.safetensors');
    expect((await run(['mnist', '--model', model, '--data', file, '--batch', '4', '--epochs', '1', '--save', saved])).code).toBe(0);
    const pgm = join(dir, 'rect.pgm');
    writeFileSync(pgm, new Uint8Array([...new TextEncoder().encode('P5\n12 20\n255\n'), ...pixels.subarray(3 * 240, 4 * 240)]));
    const classified = await run(['classify', '--init', saved, '--data', file, '--index', '1', '--index', '3', pgm, '--json']);
    expect(classified.code, classified.err).toBe(0);
    const rows = classified.out.trim().split('\n').map((l) => JSON.parse(l) as { image: string; label?: number; probabilities: number[] });
    expect(rows.map((r) => [r.image, r.label])).toEqual([['test[1]', 1], ['test[3]', 0], [pgm, undefined]]);
    // The same image by index and as a PGM file: the same probabilities; predict's log-probabilities agree.
    expect(rows[2]!.probabilities).toEqual(rows[1]!.probabilities);
    const out = join(dir, 'rect.npy');
    expect((await run(['predict', '--init', saved, '--data', file, '--out', out])).code).toBe(0);
    const logp = parseNpy(new Uint8Array(readFileSync(out)), out).data as Float32Array;
    for (const [k, i] of [[0, 1], [1, 3]] as const) for (let c = 0; c < 3; c++) expect(rows[k]!.probabilities[c]!).toBeCloseTo(Math.exp(logp[i * 3 + c]!), 6);
    // A PGM of another size than the model takes: refused naming both.
    const square = join(dir, 'square.pgm');
    writeFileSync(square, new Uint8Array([...new TextEncoder().encode('P5\n28 28\n255\n'), ...new Uint8Array(784)]));
    const refused = await run(['classify', '--init', saved, square]);
    expect([refused.code, refused.err]).toEqual([1, `webgpu-backprop: ${square}: 28×28 pixels; the model takes [1, 20, 12] per sample\n`]);
  });

  gpuTest("predict writes the network's outputs (PyTorch's model(x)) to .npy, for a data set's split or an array of new samples", async () => {
    const mnist = await loadMnist();
    const count = 40;
    const images = mnist.test.images.slice(0, count * 784);
    const labels = mnist.test.labels.slice(0, count);
    const file = join(dir, 'predict.npz');
    writeFileSync(file, npzBytes({ x_train: { data: images, shape: [count, 28, 28] }, y_train: { data: labels, shape: [count] }, x_test: { data: images, shape: [count, 28, 28] }, y_test: { data: labels, shape: [count] } }));
    const input = join(dir, 'new-samples.npy');
    writeFileSync(input, encodeNpy(images, [count, 28, 28]));
    const init = join(dir, 'initial.safetensors');
    expect((await run(['mnist', '--steps', '0', '--save', init])).code).toBe(0);
    const [a, b] = [join(dir, 'a.npy'), join(dir, 'b.npy')];
    const fromData = await run(['predict', '--init', init, '--data', file, '--out', a, '--batch', '16']);
    const fromInput = await run(['predict', '--init', init, '--input', input, '--out', b]);
    expect([fromData.code, fromInput.code]).toEqual([0, 0]);
    expect(fromData.out).toBe(`Wrote the outputs of 40 samples of ${file} (x_test) to ${a}: float32 [40, 10]\n`);
    const read = (path: string) => parseNpy(new Uint8Array(readFileSync(path)), path);
    const [pa, pb] = [read(a), read(b)];
    expect(pa.shape).toEqual([40, 10]);
    // The same samples, in passes of 16 or of 40: the same outputs, to the bit.
    expect(Array.from(pb.data as Float32Array)).toEqual(Array.from(pa.data as Float32Array));
    // Log-probabilities (the seed CNN ends with LogSoftmax): evaluate's loss and count from them.
    const logp = pa.data as Float32Array;
    const predicted = Array.from({ length: count }, (_, i) => logp.subarray(i * 10, i * 10 + 10).indexOf(Math.max(...logp.subarray(i * 10, i * 10 + 10))));
    const evaluated = JSON.parse((await run(['evaluate', '--init', init, '--data', file, '--json'])).out) as { test_loss: number; test_correct: number };
    expect(predicted.filter((p, i) => p === labels[i]).length).toBe(evaluated.test_correct);
    expect(-Array.from(labels, (y, i) => logp[i * 10 + y]!).reduce((s, v) => s + v) / count).toBeCloseTo(evaluated.test_loss, 5);
    for (let i = 0; i < count; i++) expect(Array.from(logp.subarray(i * 10, i * 10 + 10), Math.exp).reduce((s, v) => s + v)).toBeCloseTo(1, 5);
    // Replaced only where a .npy file is there; anything else is refused and left as it was.
    expect((await run(['predict', '--init', init, '--input', input, '--out', a])).out).toContain(', replacing the .npy file there');
    const notes = join(dir, 'notes.npy');
    writeFileSync(notes, 'my notes');
    const refused = await run(['predict', '--init', init, '--input', input, '--out', notes]);
    expect([refused.code, refused.err]).toEqual([1, `webgpu-backprop: --out ${notes}: the file exists and is not a .npy file; choose another file or remove this one\n`]);
    expect(readFileSync(notes, 'utf8')).toBe('my notes');
    const both = await run(['predict', '--init', init, '--input', input, '--data', file, '--out', a]);
    expect([both.code, both.err]).toEqual([1, "webgpu-backprop: --input: the samples are --input's or --data's; give one of them\n"]);
  });

  gpuTest("evaluate --loss: a regression checkpoint that records no loss (PyTorch's state_dict) is evaluated with the loss given; one that records its loss keeps it", async () => {
    const model = join(dir, 'state-dict-linear.json');
    writeFileSync(model, JSON.stringify({ input: [3], layers: [{ type: 'Linear', out_features: 1 }] }));
    const random = lcg(23);
    const x = Float32Array.from({ length: 40 * 3 }, () => random() - 0.5);
    const y = Float32Array.from({ length: 40 }, () => random());
    const file = join(dir, 'state-dict-data.safetensors');
    writeFileSync(file, encodeSafetensors({ x_train: { dtype: 'F32', shape: [40, 3], data: x }, y_train: { dtype: 'F32', shape: [40, 1], data: y }, x_test: { dtype: 'F32', shape: [40, 3], data: x }, y_test: { dtype: 'F32', shape: [40, 1], data: y } }));
    const saved = join(dir, 'state-dict-run.safetensors');
    expect((await run(['mnist', '--model', model, '--data', file, '--loss', 'mse', '--steps', '0', '--save', saved])).code).toBe(0);
    // PyTorch's torch.save of a state_dict, as safetensors: the parameters alone, no metadata.
    const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(saved)), saved);
    const stateDict = join(dir, 'state-dict.safetensors');
    writeFileSync(stateDict, encodeSafetensors(Object.fromEntries(Object.entries(tensors).filter(([name]) => !name.startsWith('optimizer.')))));
    const bare = await run(['evaluate', '--init', stateDict, '--model', model, '--data', file]);
    expect(bare.code).toBe(1);
    expect(bare.err).toContain('holds regression targets (float y_train), which take a loss that compares outputs with targets: --loss mse');
    const evaluated = await run(['evaluate', '--init', stateDict, '--model', model, '--data', file, '--loss', 'mse', '--json']);
    expect(evaluated.code, evaluated.err).toBe(0);
    // The mean squared error of the initial weights, from the file's own tensors.
    const [w, b] = [tensors['0.weight'] ?? tensors.weight!, tensors['0.bias'] ?? tensors.bias!].map((t) => t.data as Float32Array) as [Float32Array, Float32Array];
    const mse = Array.from(y, (t, i) => (w[0]! * x[3 * i]! + w[1]! * x[3 * i + 1]! + w[2]! * x[3 * i + 2]! + b[0]! - t) ** 2).reduce((a, v) => a + v) / 40;
    expect((JSON.parse(evaluated.out) as { test_loss: number }).test_loss).toBeCloseTo(mse, 6);
    const other = await run(['evaluate', '--init', saved, '--data', file, '--loss', 'l1']);
    expect([other.code, other.err]).toEqual([1, `webgpu-backprop: --loss l1: ${saved} records its run's loss, mse (its __metadata__.loss); the test loss is that one (leave --loss out)\n`]);
  });
});
