/** `webgpu-backprop mnist`, `evaluate` and `classify`, as a user runs them. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { parseMnistArgs, parsePgm, tuneCommand } from '../src/cli/mnist.js';
import { decodeSafetensors, encodeSafetensors } from '../src/checkpoint/safetensors.js';
import { gpuTest } from './helpers/gpu.js';

// The CLI runs use the default conv tiles, and never the user's tuning cache; the 'tune' test
// below tunes into a cache of its own.
process.env.WEBGPU_BACKPROP_TUNE = 'off';
process.env.WEBGPU_BACKPROP_TUNING_CACHE = join(mkdtempSync(join(tmpdir(), 'webgpu-backprop-tuning-')), 'tuning.json');

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, (s) => (out += `${s}\n`));
  return { code, out };
}

const QUICK = ['--train-limit', '96', '--test-limit', '40', '--batch', '32'];

describe('mnist arguments', () => {
  test('the defaults are the notebook’s', () => {
    expect(parseMnistArgs([])).toMatchObject({ epochs: 20, batch: 128, lr: 0.01, momentum: 0.9, seed: 1, augment: true, dropout: true, shuffle: true, json: false });
  });
  test('switches and limits', () => {
    expect(parseMnistArgs(['--no-augment', '--no-dropout', '--no-shuffle', '--train-limit', '100', '--steps', '3'])).toMatchObject({
      augment: false,
      dropout: false,
      shuffle: false,
      trainLimit: 100,
      steps: 3,
    });
  });
  test("numbers in decimal only: hex, binary, 'Infinity' refused, and a literal whose value rounds away, saying so", () => {
    expect(() => parseMnistArgs(['--lr', '0x10'])).toThrow("--lr: expected a number from 0 to 10, got '0x10'");
    expect(() => parseMnistArgs(['--epochs', '0b11'])).toThrow("--epochs: expected a whole number ≥ 1, got '0b11'");
    expect(() => parseMnistArgs(['--momentum', 'Infinity'])).toThrow("--momentum: expected a number from 0 to 1, got 'Infinity'");
    expect(() => parseMnistArgs(['--lr', '1e400'])).toThrow("--lr: expected a number from 0 to 10, got '1e400' (1e400 is past the largest number)");
    expect(() => parseMnistArgs(['--loss', 'bce-with-logits', '--pos-weight', '1,1e-400'])).toThrow("--pos-weight: expected finite numbers ≥ 0, one an output, comma-separated such as 1,2.5,0.5, got '1,1e-400' (1e-400 rounds to 0)");
    expect(() => parseMnistArgs(['--class-weights', '0x10,1'])).toThrow("--class-weights: expected finite numbers ≥ 0, one a class, comma-separated such as 1,2.5,0.5, got '0x10,1'");
    expect(() => parseMnistArgs(['--schedule', 'multistep', '--milestones', '0x5'])).toThrow("--milestones: expected whole numbers ≥ 0 (epochs), comma-separated such as 10,15, got '0x5'");
    // Decimal forms all read: an exponent, a point at either end, a sign, spaces around a list's items; a literal 0 stays 0.
    expect(parseMnistArgs(['--epochs', '1e1', '--lr', '.5', '--momentum', '0.', '--weight-decay', '+0e5', '--schedule', 'multistep', '--milestones', '2, 4'])).toMatchObject({ epochs: 10, lr: 0.5, momentum: 0, weightDecay: 0, milestones: [2, 4] });
  });
  test('bad values are named', () => {
    expect(() => parseMnistArgs(['--epochs', 'many'])).toThrow(/--epochs: expected a whole number ≥ 1, got 'many'/);
    expect(() => parseMnistArgs(['--lr=-1'])).toThrow(/--lr: expected a number from 0 to 10/);
    expect(() => parseMnistArgs(['--momentum', '2'])).toThrow(/--momentum/);
    expect(() => parseMnistArgs(['--batch', '0'])).toThrow(/--batch/);
    expect(() => parseMnistArgs(['--augment-more'])).toThrow(/augment-more/);
    expect(() => parseMnistArgs(['--save', 'a.safetensors', '--save-best', 'a.safetensors'])).toThrow(/--save and --save-best: both name a\.safetensors/);
    expect(() => parseMnistArgs(['--optimizer', 'lion'])).toThrow(/--optimizer: expected sgd, adam, adamw, rmsprop, adagrad, nadam, radam, adamax, adadelta, got 'lion'/);
    expect(() => parseMnistArgs(['--optimizer', 'adam', '--momentum', '0.5'])).toThrow(/--momentum: an SGD and RMSprop option; --optimizer is adam/);
    expect(() => parseMnistArgs(['--optimizer', 'rmsprop', '--betas', '0.9,0.99'])).toThrow('--betas: an Adam, NAdam, RAdam and Adamax option; --optimizer is rmsprop');
    expect(() => parseMnistArgs(['--optimizer', 'radam', '--momentum-decay', '0.01'])).toThrow('--momentum-decay: an NAdam option; --optimizer is radam');
    expect(() => parseMnistArgs(['--optimizer', 'nadam', '--amsgrad'])).toThrow('--amsgrad: an Adam option; --optimizer is nadam');
    expect(() => parseMnistArgs(['--optimizer', 'nadam', '--momentum-decay', '-1'])).toThrow(/--momentum-decay: expected a number from 0 to/);
    // NAdam's and RAdam's PyTorch defaults: lr 2e-3 and 1e-3, momentum_decay 4e-3; their betas from --betas.
    expect(parseMnistArgs(['--optimizer', 'nadam', '--betas', '0.8,0.99'])).toMatchObject({ optimizer: 'nadam', lr: 0.002, momentumDecay: 0.004, betas: [0.8, 0.99] });
    expect(parseMnistArgs(['--optimizer', 'radam'])).toMatchObject({ optimizer: 'radam', lr: 0.001 });
    // Adamax's and Adadelta's PyTorch defaults: lr 2e-3 and 1.0, rho 0.9; Adamax's betas from --betas, Adadelta's rho from --rho.
    expect(parseMnistArgs(['--optimizer', 'adamax', '--betas', '0.8,0.99'])).toMatchObject({ optimizer: 'adamax', lr: 0.002, betas: [0.8, 0.99] });
    expect(parseMnistArgs(['--optimizer', 'adadelta'])).toMatchObject({ optimizer: 'adadelta', lr: 1, rho: 0.9 });
    expect(parseMnistArgs(['--optimizer', 'adadelta', '--rho', '0.95', '--lr', '0.5'])).toMatchObject({ optimizer: 'adadelta', lr: 0.5, rho: 0.95 });
    expect(() => parseMnistArgs(['--optimizer', 'adam', '--rho', '0.95'])).toThrow('--rho: an Adadelta option; --optimizer is adam');
    expect(() => parseMnistArgs(['--optimizer', 'adadelta', '--betas', '0.9,0.99'])).toThrow('--betas: an Adam, NAdam, RAdam and Adamax option; --optimizer is adadelta');
    expect(() => parseMnistArgs(['--optimizer', 'adamax', '--amsgrad'])).toThrow('--amsgrad: an Adam option; --optimizer is adamax');
    expect(() => parseMnistArgs(['--optimizer', 'adadelta', '--rho', '1.5'])).toThrow(/--rho: expected a number from 0 to 1/);
    expect(() => parseMnistArgs(['--alpha', '0.9'])).toThrow('--alpha: an RMSprop option; --optimizer is sgd');
    expect(() => parseMnistArgs(['--optimizer', 'rmsprop', '--nesterov'])).toThrow('--nesterov: an SGD option; --optimizer is rmsprop');
    // RMSprop: PyTorch's momentum 0 unless given, its alpha 0.99; --centered.
    const rms = parseMnistArgs(['--optimizer', 'rmsprop', '--alpha', '0.9', '--centered']);
    expect([rms.optimizer, rms.momentum, rms.alpha, rms.centered, rms.lr]).toEqual(['rmsprop', 0, 0.9, true, 0.001]);
    expect(() => parseMnistArgs(['--betas', '0.9'])).toThrow(/--betas: expected two numbers/);
    expect(() => parseMnistArgs(['--schedule', 'cyclic'])).toThrow(/--schedule: expected constant, step, multistep, exponential, cosine, linear, constant-lr, polynomial, cosine-restarts, onecycle, plateau, got 'cyclic'/);
    expect(() => parseMnistArgs(['--model', 'net.json', '--no-dropout'])).toThrow(/--no-dropout: applies to the seed CNN/);
    expect(parseMnistArgs(['--optimizer', 'adamw'])).toMatchObject({ optimizer: 'adamw', lr: 0.001 });
  });
  test('--help lists every option', async () => {
    const { code, out } = await run(['mnist', '--help']);
    expect(code).toBe(0);
    for (const o of ['--epochs', '--batch', '--lr', '--momentum', '--seed', '--train-limit', '--test-limit', '--no-augment', '--no-dropout', '--no-shuffle', '--json', '--init', '--steps', '--save', '--save-best', '--data', '--normalize', '--model', '--optimizer', '--weight-decay', '--nesterov', '--dampening', '--betas', '--momentum-decay', '--rho', '--schedule', '--step-size', '--gamma', '--schedule-epochs', '--loss', '--no-fuse', '--eta-min', '--start-factor', '--end-factor', '--total-iters', '--power', '--t0', '--t-mult', '--factor', 'linear', 'constant-lr', 'polynomial', 'cosine-restarts']) {
      expect(out).toContain(o);
    }
  });
  test('a PGM reader that names what is wrong', () => {
    const header = new TextEncoder().encode('P5\n# a digit\n2 3\n255\n');
    const image = parsePgm(new Uint8Array([...header, 1, 2, 3, 4, 5, 6]), 'd.pgm');
    expect(image).toMatchObject({ rows: 3, cols: 2 });
    expect(Array.from(image.pixels)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => parsePgm(new Uint8Array([...header, 1, 2]), 'd.pgm')).toThrow(/d\.pgm: 2 pixel bytes, expected 3×2 = 6/);
    expect(() => parsePgm(new Uint8Array([...header, 1, 2, 3, 4, 5, 6, 7]), 'd.pgm')).toThrow(/^d\.pgm: 1 byte after the 2×3 image's pixels; expected the file to end there \(one image a file\)$/);
    expect(() => parsePgm(new TextEncoder().encode('P2 1 1 255 7'), 'a.pgm')).toThrow(/a\.pgm: not a binary PGM/);
  });
});

describe('webgpu-backprop mnist / evaluate / classify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-backprop-'));
  const checkpoint = join(dir, 'run.safetensors');
  const best = join(dir, 'best.safetensors');
  const metadataOf = (file: string) => decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata;

  gpuTest('trains with the summary, per-epoch test lines, the best epoch, and saves a checkpoint', async () => {
    const { code, out } = await run(['mnist', ...QUICK, '--epochs', '2', '--save', checkpoint, '--save-best', best]);
    expect(code).toBe(0);
    expect(out).toContain('Total params: 13,808');
    expect(out).toMatch(/Adapter: /);
    const accuracies = [...out.matchAll(/Test set: Average loss: \d+\.\d{4}, Accuracy: \d+\/40 \((\d+\.\d\d)%\)/g)].map((m) => Number(m[1]));
    expect(accuracies).toHaveLength(2);
    const bestEpoch = accuracies[1]! > accuracies[0]! ? 2 : 1;
    expect(out).toContain(`Best: epoch ${bestEpoch}, test accuracy ${accuracies[bestEpoch - 1]!.toFixed(2)}%; last epoch's checkpoint: ${checkpoint}, best checkpoint so far: ${best}`);
    const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(checkpoint)), checkpoint);
    expect(metadata.epoch).toBe('2');
    expect(tensors['convblock1.2.num_batches_tracked']!.data).toEqual(BigInt64Array.of(6n));
    // The best epoch's checkpoint: its epoch, accuracy and batch-norm step count.
    const saved = decodeSafetensors(new Uint8Array(readFileSync(best)), best);
    expect(saved.metadata.epoch).toBe(String(bestEpoch));
    expect(Number(saved.metadata.test_accuracy).toFixed(2)).toBe(accuracies[bestEpoch - 1]!.toFixed(2));
    expect(saved.tensors['convblock1.2.num_batches_tracked']!.data).toEqual(BigInt64Array.of(BigInt(3 * bestEpoch)));
  });

  gpuTest('--json: one object per epoch; --init continues the epoch count; --steps stops', async () => {
    const bestBefore = metadataOf(best);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let result: { code: number; out: string };
    let log = '';
    try {
      result = await run(['mnist', ...QUICK, '--epochs', '5', '--steps', '4', '--init', checkpoint, '--json', '--save-best', best]);
      log = stderr.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      stderr.mockRestore();
    }
    const { code, out } = result;
    expect(code).toBe(0);
    // The expected times count to --steps (4 steps in all), not to the 5 epochs: printed once.
    expect(log.match(/Expected: about \d+ s an epoch, \d+ s for the run's 4 steps \(--steps\) \(\d+ samples\/s once steady; evaluation not counted\)/g)).toHaveLength(1);
    // The kernels' creation, before the first epoch (Trainer.prepare), said once on stderr (--json).
    expect(log.match(/Kernels: \d+ pipelines? created in \d+\.\d s/g)).toHaveLength(1);
    const epochs = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(epochs.map((e) => e.epoch)).toEqual([3, 4]);
    expect(epochs.map((e) => e.steps)).toEqual([3, 1]);
    for (const e of epochs) {
      for (const key of ['test_accuracy', 'test_loss', 'samples_per_s', 'train_loss']) expect(Number.isFinite(e[key]), key).toBe(true);
    }
    // The continued run replaces the best checkpoint only with a better epoch (the first of equals).
    const top = Math.max(...epochs.map((e) => e.test_accuracy!));
    const bestAfter = metadataOf(best);
    if (top > Number(bestBefore.test_accuracy)) {
      expect(bestAfter.epoch).toBe(String(epochs.find((e) => e.test_accuracy === top)!.epoch));
    } else {
      expect(bestAfter).toEqual(bestBefore);
    }
  });

  gpuTest('evaluate and classify a checkpoint', async () => {
    const evaluation = await run(['evaluate', '--init', checkpoint, '--test-limit', '40', '--json']);
    expect(evaluation.code).toBe(0);
    expect(JSON.parse(evaluation.out)).toMatchObject({ test_count: 40 });
    const digit = join(dir, 'digit.pgm');
    writeFileSync(digit, new Uint8Array([...new TextEncoder().encode('P5 28 28 255\n'), ...new Uint8Array(784).map((_, i) => (i % 28 > 12 && i % 28 < 16 ? 255 : 0))]));
    const classified = await run(['classify', '--init', checkpoint, '--index', '0', '--index', '1', digit, '--json']);
    expect(classified.code).toBe(0);
    const rows = classified.out.trim().split('\n').map((l) => JSON.parse(l) as { image: string; label?: number; probabilities: number[] });
    expect(rows.map((r) => r.image)).toEqual(['test[0]', 'test[1]', digit]);
    expect(rows[0]!.label).toBe(7);
    for (const r of rows) expect(r.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  gpuTest('--save-best keeps a best checkpoint that no epoch beats', async () => {
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(checkpoint)), checkpoint);
    const unbeatable = join(dir, 'unbeatable.safetensors');
    const bytes = encodeSafetensors(tensors, { ...metadata, test_accuracy: '100' });
    writeFileSync(unbeatable, bytes);
    const { code, out } = await run(['mnist', ...QUICK, '--epochs', '1', '--save-best', unbeatable]);
    expect(code).toBe(0);
    expect(out).toMatch(/Test set: .*\/40/);
    // Compared as one boolean: a diff of two 117 kB arrays would take minutes to print.
    expect(readFileSync(unbeatable).equals(bytes), 'the unbeatable checkpoint is untouched').toBe(true);
  });

  test('--save-best does not overwrite a file that is not a best checkpoint', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const notes = join(dir, 'notes.txt');
      writeFileSync(notes, 'my notes\n');
      expect((await run(['mnist', ...QUICK, '--save-best', notes])).code).toBe(1);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/notes\.txt/);
      expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
      // This network's checkpoint without a score (a --save file), and a file without this network's tensors.
      const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(checkpoint)), checkpoint);
      const { test_accuracy: _, ...unscored } = metadata;
      const other = join(dir, 'other.safetensors');
      const bytes = encodeSafetensors(tensors, { ...unscored, epoch: '7' });
      writeFileSync(other, bytes);
      expect((await run(['mnist', ...QUICK, '--save-best', other])).code).toBe(1);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/--save-best .*other\.safetensors: the file exists and its __metadata__\.test_accuracy is missing/);
      expect(readFileSync(other).equals(bytes), 'the other checkpoint is untouched').toBe(true);
      const empty = join(dir, 'tensorless.safetensors');
      const none = encodeSafetensors({}, { epoch: '7' });
      writeFileSync(empty, none);
      expect((await run(['mnist', ...QUICK, '--save-best', empty])).code).toBe(1);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/--save-best .*tensorless\.safetensors: the file holds a checkpoint of another network \(its tensors' names\)/);
      expect(readFileSync(empty).equals(none)).toBe(true);
    } finally {
      stderr.mockRestore();
    }
  });

  test('a missing checkpoint is named', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { code } = await run(['evaluate', '--init', join(dir, 'nope.safetensors')]);
      expect(code).toBe(1);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/--init .*nope\.safetensors: does not exist, expected a checkpoint/);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('webgpu-backprop with a model file, check, and --steps 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-backprop-model-'));
  const tensorsOf = (file: string) => decodeSafetensors(new Uint8Array(readFileSync(file)), file).tensors;

  gpuTest('--steps 0 --save writes the initial weights, the same for the same seed', async () => {
    const [a, b] = [join(dir, 'init-a.safetensors'), join(dir, 'init-b.safetensors')];
    for (const file of [a, b]) expect((await run(['mnist', '--model', 'examples/lenet5.json', '--steps', '0', '--save', file, '--seed', '7'])).code).toBe(0);
    const [ta, tb] = [tensorsOf(a), tensorsOf(b)];
    const weight = (t: typeof ta) => t['0.weight']!.data as Float32Array;
    expect(Object.keys(ta).filter((k) => !k.startsWith('optimizer.')).sort()).toEqual(['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias'].sort());
    expect(Array.from(weight(ta))).toEqual(Array.from(weight(tb)));
    // PyTorch's default: uniform(±1/√fan_in); fan_in of the first conv is 1·5·5.
    expect(Math.max(...Array.from(weight(ta), Math.abs))).toBeLessThanOrEqual(1 / 5);
    expect(new Set(weight(ta)).size).toBe(150);
  });

  gpuTest('trains a model file with AdamW and saves its optimizer state', async () => {
    const file = join(dir, 'mlp.safetensors');
    const { code, out } = await run(['mnist', '--model', 'examples/mlp.json', '--optimizer', 'adamw', '--schedule', 'cosine', '--epochs', '1', ...QUICK, '--save', file]);
    expect(code).toBe(0);
    expect(out).toContain('Linear-2');
    expect(out).toMatch(/relu-epilogue: Linear-2 \+ ReLU-3, Linear-5 \+ ReLU-6/);
    const tensors = tensorsOf(file);
    expect(tensors['optimizer.1.weight.exp_avg']?.shape).toEqual([256, 784]);
    expect(tensors['optimizer.7.bias.exp_avg_sq']?.shape).toEqual([10]);
    // The checkpoint carries its network: evaluate needs no --model.
    const evaluated = await run(['evaluate', '--init', file, '--test-limit', '40', '--json']);
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.out)).toMatchObject({ test_count: 40 });
  });

  gpuTest('--warmup-epochs: a linear warm-up before the schedule (SequentialLR), recorded and continued by --init', async () => {
    expect(() => parseMnistArgs(['--warmup-epochs', '0'])).toThrow(/--warmup-epochs/);
    const file = join(dir, 'warm.safetensors');
    const { code, out } = await run(['mnist', '--model', 'examples/mlp.json', '--schedule', 'cosine', '--warmup-epochs', '1', '--warmup-start-factor', '0.25', '--epochs', '2', ...QUICK, '--save', file]);
    expect(code).toBe(0);
    // Cosine's T_max: the run's epochs after the warm-up.
    expect(out).toContain('LinearLR(start_factor=0.25, total_iters=1 epochs), then from epoch 2 CosineAnnealingLR(T_max=1 epochs, eta_min=0) (SequentialLR)');
    const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    expect([metadata.warmup_epochs, metadata.warmup_start_factor, metadata.t_max]).toEqual(['1', '0.25', '1']);
    const again = await run(['mnist', '--init', file, '--epochs', '1', ...QUICK]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('LinearLR(start_factor=0.25, total_iters=1 epochs), then from epoch 2 CosineAnnealingLR(T_max=1 epochs');
  });

  gpuTest('--schedule linear, constant-lr, polynomial and cosine-restarts: their flags recorded under PyTorch\'s names, said in the header, and continued by --init', async () => {
    const cases = [
      { flags: ['--schedule', 'linear', '--start-factor', '0.5', '--end-factor', '0.1', '--total-iters', '4'], said: 'LinearLR(start_factor=0.5, end_factor=0.1, total_iters=4 epochs)', recorded: { schedule: 'linear', start_factor: '0.5', end_factor: '0.1', total_iters: '4' } },
      { flags: ['--schedule', 'constant-lr', '--factor', '0.25', '--total-iters', '3', '--warmup-epochs', '1'], said: 'LinearLR(start_factor=1/3, total_iters=1 epochs), then from epoch 2 ConstantLR(factor=0.25, total_iters=3 epochs) (SequentialLR)', recorded: { schedule: 'constant-lr', factor: '0.25', total_iters: '3', warmup_epochs: '1' } },
      { flags: ['--schedule', 'polynomial', '--total-iters', '6', '--power', '2'], said: 'PolynomialLR(total_iters=6 epochs, power=2)', recorded: { schedule: 'polynomial', total_iters: '6', power: '2' } },
      { flags: ['--schedule', 'cosine-restarts', '--t0', '2', '--t-mult', '3', '--eta-min', '0.001'], said: 'CosineAnnealingWarmRestarts(T_0=2 epochs, T_mult=3, eta_min=0.001)', recorded: { schedule: 'cosine-restarts', t_0: '2', t_mult: '3', eta_min: '0.001' } },
      // The defaults (T_0 has none), written out.
      { flags: ['--schedule', 'polynomial'], said: 'PolynomialLR(total_iters=5 epochs, power=1)', recorded: { schedule: 'polynomial', total_iters: '5', power: '1' } },
    ];
    for (const [k, { flags, said, recorded }] of cases.entries()) {
      const file = join(dir, `schedule-${k}.safetensors`);
      const { code, out } = await run(['mnist', '--model', 'examples/mlp.json', ...flags, '--epochs', '1', ...QUICK, '--save', file]);
      expect(code, out).toBe(0);
      expect(out).toContain(`, ${said}, loss`);
      expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata).toMatchObject(recorded);
      const again = await run(['mnist', '--init', file, '--epochs', '1', ...QUICK]);
      expect(again.code).toBe(0);
      expect(again.out).toContain(`, ${said}, loss`);
    }
    // A flag given with --init replaces the file's setting; the others go on.
    const changed = await run(['mnist', '--init', join(dir, 'schedule-3.safetensors'), '--t-mult', '1', '--epochs', '1', ...QUICK]);
    expect(changed.code).toBe(0);
    expect(changed.out).toContain('CosineAnnealingWarmRestarts(T_0=2 epochs, T_mult=1, eta_min=0.001)');
  });

  gpuTest('--optimizer nadam: trains under OneCycle (cycling β1), records its settings and state, and a run cut and continued by --init ends where an uninterrupted one does, to the bit', async () => {
    const flags = ['--model', 'examples/mlp.json', '--optimizer', 'nadam', '--betas', '0.85,0.99', '--momentum-decay', '0.01', '--schedule', 'onecycle', '--schedule-epochs', '2', ...QUICK];
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const straight = await run(['mnist', ...flags, '--epochs', '2', '--json']);
    expect(straight.code).toBe(0);
    const file = join(dir, 'nadam.safetensors');
    const { code, out } = await run(['mnist', ...flags, '--epochs', '1', '--save', file]);
    expect(code).toBe(0);
    expect(out).toContain('NAdam lr 0.002, betas (0.85, 0.99), eps 1e-8, weight decay 0, momentum decay 0.01');
    const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    expect(metadata).toMatchObject({ optimizer: 'nadam', lr: '0.002', betas: '0.85,0.99', eps: '1e-8', weight_decay: '0', momentum_decay: '0.01', schedule: 'onecycle', optimizer_steps: '3' });
    expect(Object.keys(tensors).filter((n) => n.startsWith('optimizer.1.weight.')).sort()).toEqual(['optimizer.1.weight.exp_avg', 'optimizer.1.weight.exp_avg_sq']);
    // Its optimizer, settings and schedule go on (mu_product follows from the steps: nothing else to carry).
    const resumed = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(resumed.code).toBe(0);
    expect(last(resumed.out)).toMatchObject({ epoch: 2 });
    expect(last(resumed.out).train_loss).toBe(last(straight.out).train_loss);
    expect(last(resumed.out).test_loss).toBe(last(straight.out).test_loss);
  }, 180_000);

  gpuTest('--optimizer radam: six steps (five un-adapted, then rectified), its settings recorded', async () => {
    const file = join(dir, 'radam.safetensors');
    const { code, out } = await run(['mnist', '--model', 'examples/mlp.json', '--optimizer', 'radam', '--weight-decay', '1e-4', '--epochs', '2', ...QUICK, '--save', file, '--json']);
    expect(code).toBe(0);
    const epochs = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, number>);
    expect(epochs.map((e) => Number.isFinite(e.train_loss) && Number.isFinite(e.test_loss))).toEqual([true, true]);
    const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    expect(metadata).toMatchObject({ optimizer: 'radam', lr: '0.001', betas: '0.9,0.999', eps: '1e-8', weight_decay: '0.0001', optimizer_steps: '6' });
    expect(metadata.momentum_decay).toBeUndefined();
  }, 120_000);

  gpuTest('--optimizer adamax: trains under OneCycle (cycling β1), records its settings and state (exp_avg, exp_inf), and a run cut and continued by --init ends where an uninterrupted one does, to the bit', async () => {
    const flags = ['--model', 'examples/mlp.json', '--optimizer', 'adamax', '--betas', '0.85,0.99', '--weight-decay', '1e-4', '--schedule', 'onecycle', '--schedule-epochs', '2', ...QUICK];
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const straight = await run(['mnist', ...flags, '--epochs', '2', '--json']);
    expect(straight.code).toBe(0);
    const file = join(dir, 'adamax.safetensors');
    const { code, out } = await run(['mnist', ...flags, '--epochs', '1', '--save', file]);
    expect(code).toBe(0);
    expect(out).toContain('Adamax lr 0.002, betas (0.85, 0.99), eps 1e-8, weight decay 0.0001');
    const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    expect(metadata).toMatchObject({ optimizer: 'adamax', lr: '0.002', betas: '0.85,0.99', eps: '1e-8', weight_decay: '0.0001', schedule: 'onecycle', optimizer_steps: '3' });
    expect(Object.keys(tensors).filter((n) => n.startsWith('optimizer.1.weight.')).sort()).toEqual(['optimizer.1.weight.exp_avg', 'optimizer.1.weight.exp_inf']);
    const resumed = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(resumed.code).toBe(0);
    expect(last(resumed.out)).toMatchObject({ epoch: 2 });
    expect(last(resumed.out).train_loss).toBe(last(straight.out).train_loss);
    expect(last(resumed.out).test_loss).toBe(last(straight.out).test_loss);
  }, 180_000);

  gpuTest('--optimizer adadelta: trains under OneCycle (no momentum to cycle), records its settings (rho) and state (square_avg, acc_delta), and a continuation goes on with them', async () => {
    const file = join(dir, 'adadelta.safetensors');
    const { code, out } = await run(['mnist', '--model', 'examples/mlp.json', '--optimizer', 'adadelta', '--rho', '0.95', '--schedule', 'onecycle', '--schedule-epochs', '2', '--epochs', '1', ...QUICK, '--save', file]);
    expect(code).toBe(0);
    expect(out).toContain('Adadelta lr 1, rho 0.95, eps 0.000001');
    const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    expect(metadata).toMatchObject({ optimizer: 'adadelta', lr: '1', rho: '0.95', eps: '0.000001', weight_decay: '0', schedule: 'onecycle', cycle_momentum: 'false', optimizer_steps: '3' });
    expect(Object.keys(tensors).filter((n) => n.startsWith('optimizer.1.weight.')).sort()).toEqual(['optimizer.1.weight.acc_delta', 'optimizer.1.weight.square_avg']);
    const resumed = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(resumed.code).toBe(0);
    // --json prints the epochs alone: the settings it went on with are the next checkpoint's.
    const again = join(dir, 'adadelta-again.safetensors');
    expect((await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--save', again])).code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(again)), again).metadata).toMatchObject({ optimizer: 'adadelta', rho: '0.95', cycle_momentum: 'false', optimizer_steps: '6' });
    const epoch = JSON.parse(resumed.out.trim().split('\n').at(-1)!) as Record<string, number>;
    expect(epoch.epoch).toBe(2);
    expect(Number.isFinite(epoch.train_loss)).toBe(true);
  }, 180_000);

  gpuTest('--optimizer adagrad: trains, records its settings and its sum, and a continuation goes on with them (OneCycle without cycling a momentum)', async () => {
    const file = join(dir, 'adagrad.safetensors');
    const { code, out } = await run(['mnist', '--model', 'examples/mlp.json', '--optimizer', 'adagrad', '--lr-decay', '0.01', '--initial-accumulator-value', '0.1', '--schedule', 'onecycle', '--epochs', '1', ...QUICK, '--save', file]);
    expect(code).toBe(0);
    expect(out).toContain('Adagrad lr 0.01, lr decay 0.01, eps 1e-10, initial accumulator 0.1');
    const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    expect(metadata).toMatchObject({ optimizer: 'adagrad', lr: '0.01', lr_decay: '0.01', initial_accumulator_value: '0.1', eps: '1e-10', schedule: 'onecycle' });
    // The sum only grows from its initial value.
    const sum = tensors['optimizer.1.weight.sum']!.data as Float32Array;
    expect(sum.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThanOrEqual(Math.fround(0.1));
    const again = await run(['mnist', '--init', file, '--epochs', '1', ...QUICK, '--schedule', 'constant', '--allow-changes']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('Adagrad lr 0.01, lr decay 0.01, eps 1e-10, initial accumulator 0.1');
  });

  gpuTest('check: one step against float64, every tensor listed', async () => {
    const { code, out } = await run(['check', '--model', 'examples/lenet5.json', '--batch', '8']);
    expect(code).toBe(0);
    expect(out).toMatch(/∂loss\/∂0\.weight +150 /);
    // The loss, 6 layer outputs (a conv, its ReLU and its max pool share one, the pool's:
    // maxpool-epilogue; a Linear's with its ReLU is the ReLU's), 10 gradients, 10 updated parameters.
    expect(out).toMatch(/All 27 tensors within 0\.0001 \+ 0\.001·\|float64\|/);
    // With clipping (a bound far below LeNet's first gradients): the norm is one more row, and the
    // updates are checked against the clipped step.
    const clipped = await run(['check', '--model', 'examples/lenet5.json', '--batch', '8', '--clip-grad-norm', '0.01', '--clip-grad-norm-type', 'inf']);
    expect(clipped.code).toBe(0);
    expect(clipped.out).toContain('SGD lr 0.01, momentum 0.9, clip_grad_norm_ 0.01 (∞-norm);');
    expect(clipped.out).toMatch(/gradient norm \(clip_grad_norm_ 0\.01 \(∞-norm\)\) +1 /);
    expect(clipped.out).toMatch(/gradient clip factor +1 /);
    expect(clipped.out).toMatch(/All 29 tensors within/);
  });

  test('a bad model file is one line naming the file, the layer and the field', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'Conv2d', out_channels: 4, kernel_size: 3 }, { type: 'Linear', in_features: 2704, out_features: 10 }] }));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect((await run(['mnist', '--model', bad])).code).toBe(1);
      // A Linear applies to the last dimension, as PyTorch's: in_features 2704 (the flattened map) is not the 26 there.
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/bad\.json: layer '1' \(Linear\): in_features is 2704 but the input \[4, 26, 26\] has 26 features in its last dimension/);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('webgpu-backprop tune', () => {
  test("training's flags are refused, not ignored (they change no tile)", async () => {
    for (const flag of [['--epochs', '99'], ['--tune', 'off'], ['--lr', '0.1'], ['--save', 'x.safetensors'], ['--clip-grad-norm', '1']]) {
      await expect(tuneCommand(flag, async () => { throw new Error('no GPU needed'); }, () => {})).rejects.toThrow(`${flag[0]}: not a flag of tune (it times the kernels of --model's plan at --batch; see tune --help)`);
    }
  });
  gpuTest('tunes a model file\'s conv and dense kernels once, then reads the cache; --tune full tunes again', async () => {
    const cache = process.env.WEBGPU_BACKPROP_TUNING_CACHE!;
    const args = ['tune', '--model', 'examples/lenet5.json', '--batch', '128', '--json'];
    const first = await run(args);
    expect(first.code, first.out).toBe(0);
    const a = JSON.parse(first.out) as { cache: string; entries: { kernel: string; layers: string[]; tile: { rows: number; channels?: number; cols?: number; workgroup: number }; cached: boolean; tried: number; ms: number }[] };
    expect(a.cache).toBe(cache);
    // LeNet-5's two convs: both forwards and weight gradients, and the second's input gradient;
    // its three Linears: each one's forward, weight gradient and input gradient.
    expect(a.entries.map((e) => `${e.kernel} ${e.layers.join(',')}`).sort()).toEqual([
      'conv2d_backward_input 3', 'conv2d_backward_weight 0', 'conv2d_backward_weight 3', 'conv2d_forward 0', 'conv2d_forward 3',
      'dense_backward_input 11', 'dense_backward_input 7', 'dense_backward_input 9',
      'dense_backward_weight 11', 'dense_backward_weight 7', 'dense_backward_weight 9',
      'dense_forward 11', 'dense_forward 7', 'dense_forward 9',
    ]);
    for (const e of a.entries) {
      expect(e.cached).toBe(false);
      expect(e.tried).toBeGreaterThanOrEqual(1);
      expect(e.ms).toBeGreaterThan(0);
    }
    // Kernels under 1 ms keep the default untried; LeNet-5's at batch 128 take several ms.
    expect(a.entries.some((e) => e.tried > 1)).toBe(true);
    const stored = JSON.parse(readFileSync(cache, 'utf8')) as { version: number; entries: Record<string, unknown> };
    expect(stored.version).toBe(1);
    expect(Object.keys(stored.entries)).toHaveLength(14);

    const second = JSON.parse((await run(args)).out) as typeof a;
    expect(second.entries.every((e) => e.cached)).toBe(true);
    expect(second.entries.map((e) => e.tile)).toEqual(a.entries.map((e) => e.tile));

    const again = JSON.parse((await run([...args, '--full'])).out) as typeof a;
    expect(again.entries.every((e) => !e.cached)).toBe(true);

    // A well-formed entry whose tile does not fit its kernel (16 rows × 64 channels of a 5×5
    // unroll far past the budget) is tuned again, not used.
    const edited = JSON.parse(readFileSync(cache, 'utf8')) as { version: number; entries: Record<string, { tile: unknown }> };
    const [firstKey] = Object.keys(edited.entries);
    edited.entries[firstKey!]!.tile = { rows: 16, channels: 64, workgroup: 64 };
    writeFileSync(cache, JSON.stringify(edited));
    const retuned = JSON.parse((await run(args)).out) as typeof a;
    expect(retuned.entries.filter((e) => !e.cached)).toHaveLength(1);

    // A cache that is not one is reported and replaced, never trusted.
    writeFileSync(cache, '{"version": 1, "entries": {"x": {"tile": {"rows": -1}}}}');
    const warned = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const repaired = JSON.parse((await run(args)).out) as typeof a;
      expect(repaired.entries.every((e) => !e.cached)).toBe(true);
    } finally {
      warned.mockRestore();
    }
    expect(Object.keys((JSON.parse(readFileSync(cache, 'utf8')) as typeof stored).entries)).toHaveLength(14);
  });

  test('--tune names its modes', () => {
    expect(parseMnistArgs(['--tune', 'full']).tune).toBe('full');
    expect(() => parseMnistArgs(['--tune', 'fast'])).toThrow(/--tune: expected off, cached, full, got 'fast'/);
  });
});
