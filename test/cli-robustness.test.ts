/**
 * Bad input to `webgpu-backprop mnist` as a user gives it: one line naming the flag or file, the
 * field, the value and what was expected — before the GPU starts wherever it can be known then —
 * and a diverging run that exits non-zero and leaves the last good checkpoint as it was.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest';
import { main } from '../src/cli/main.js';
import { checkCommand, mnistCommand, parsePgm } from '../src/cli/mnist.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../src/checkpoint/safetensors.js';
import { gpuTest } from './helpers/gpu.js';
import { createNodeContext } from '../src/node/device.js';
import { modelFileText } from '../src/models/model-file.js';
import { SEED_CNN_INPUT, seedCnn } from '../src/models/seed-cnn.js';
import { encodeCheckpoint } from '../src/checkpoint/checkpoint.js';
import { Flatten, Linear, LogSoftmax, ReLU, Sequential } from '../src/layers/index.js';
import { Network } from '../src/plan/network.js';

process.env.WEBGPU_BACKPROP_TUNE = 'off';
process.env.WEBGPU_BACKPROP_TUNING_CACHE = join(mkdtempSync(join(tmpdir(), 'webgpu-backprop-tuning-')), 'tuning.json');

const dir = mkdtempSync(join(tmpdir(), 'webgpu-backprop-robust-'));
const QUICK = ['--train-limit', '96', '--test-limit', '40', '--batch', '32'];

let stderr: MockInstance;
beforeEach(() => {
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => stderr.mockRestore());
const lastError = () => String(stderr.mock.calls.at(-1)?.[0] ?? '');

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, (s) => (out += `${s}\n`));
  return { code, out };
}

/** Runs `mnist` with a GPU that must not be asked for: the error must come first. */
async function beforeGpu(argv: string[]): Promise<string> {
  const getContext = vi.fn(async () => {
    throw new Error('the GPU was started');
  });
  const error = await mnistCommand(argv, getContext, () => {}).then(() => undefined, (e: unknown) => e as Error);
  expect(getContext).not.toHaveBeenCalled();
  expect(error, 'an error').toBeInstanceOf(Error);
  expect(error!.message.split('\n')).toHaveLength(1);
  return error!.message;
}

/** An IDX file: big-endian u32 header words, then the bytes. */
function idx(header: number[], body: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 * header.length + body.length);
  header.forEach((word, i) => new DataView(out.buffer).setUint32(4 * i, word, false));
  out.set(body, 4 * header.length);
  return out;
}

function mnistDir(name: string, rows: number, cols: number): string {
  const d = join(dir, name);
  mkdirSync(d);
  const count = 4;
  for (const split of ['train', 't10k']) {
    writeFileSync(join(d, `${split}-images-idx3-ubyte`), idx([2051, count, rows, cols], new Uint8Array(count * rows * cols)));
    writeFileSync(join(d, `${split}-labels-idx1-ubyte`), idx([2049, count], [0, 1, 2, 3]));
  }
  return d;
}

let checkpoint: Promise<string> | undefined;
/** A real checkpoint of a short run (seed 3, batch 32). */
function goodCheckpoint(): Promise<string> {
  checkpoint ??= run(['mnist', ...QUICK, '--epochs', '1', '--seed', '3', '--save', join(dir, 'good.safetensors')]).then(({ code }) => {
    expect(code).toBe(0);
    return join(dir, 'good.safetensors');
  });
  return checkpoint;
}

/** A copy of the good checkpoint with one tensor or metadata field changed. */
/** A copy of a checkpoint (the good one, or `from`) with its tensors or metadata changed. */
async function altered(name: string, change: (tensors: Record<string, SafetensorsTensor>, metadata: Record<string, string>) => void, from?: string): Promise<string> {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(from ?? (await goodCheckpoint()))), 'good');
  change(tensors, metadata);
  const file = join(dir, name);
  writeFileSync(file, encodeSafetensors(tensors, metadata));
  return file;
}

describe('checked before the GPU starts', () => {
  test('--save into a missing directory, or onto a directory', async () => {
    expect(await beforeGpu(['--save', join(dir, 'missing', 'run.safetensors')])).toMatch(/^--save .*missing\/run\.safetensors: the directory .*missing does not exist/);
    expect(await beforeGpu(['--save-best', dir])).toMatch(/^--save-best .*: is a directory, expected a file name/);
  });

  test('--save never overwrites what is not a checkpoint of this network; paths that end in a separator are no file names', async () => {
    const notes = join(dir, 'notes.json');
    writeFileSync(notes, '{"mine": true}');
    // A state_dict without model_file (PyTorch's) of another network: told apart by its tensors' names.
    const torchFile = join(dir, 'torch-other.safetensors');
    writeFileSync(torchFile, encodeSafetensors({ 'fc.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } }, {}));
    expect(await beforeGpu(['--save', torchFile])).toMatch(/^--save .*torch-other\.safetensors: the file holds a checkpoint of another network \(its tensors' names\) than this run's/);
    expect(await beforeGpu(['--save', notes])).toMatch(/^--save .*notes\.json: the file exists and is not a checkpoint \(.*\); choose another file or remove this one$/);
    expect(readFileSync(notes, 'utf8')).toBe('{"mine": true}');
    expect(await beforeGpu(['--save', `${dir}/new/`])).toMatch(/^--save .*\/new\/: ends in a path separator \(a directory\), expected a file name$/);
    expect(await beforeGpu(['--save-best', `${notes}/`])).toMatch(/^--save-best .*notes\.json\/: ends in a path separator/);
  });

  gpuTest('--save takes an empty file (mktemp\'s), and replaces a checkpoint of this network, saying so', async () => {
    const empty = join(dir, 'empty.safetensors');
    writeFileSync(empty, '');
    expect((await run(['mnist', ...QUICK, '--steps', '0', '--save', empty])).code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(empty)), empty).metadata.model).toBe('seed-cnn');
    const again = await run(['mnist', ...QUICK, '--epochs', '1', '--save', empty]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^--save .*empty\.safetensors: replaces the checkpoint of this network there \(epoch 0\) at the end of this run's first epoch$/m);
    // --steps 0 over a trained checkpoint says what it replaced (it said only "Saved the initial network").
    const initial = await run(['mnist', ...QUICK, '--steps', '0', '--save', empty]);
    expect(initial.code).toBe(0);
    expect(initial.out).toMatch(/Saved the initial network \(step 0\) to .*empty\.safetensors, replacing the checkpoint of this network there \(epoch 1, test accuracy \d+\.\d\d%\)$/m);
  }, 120_000);

  gpuTest('a save that fails part-way (its directory gone) is said, training goes on and the next epoch saves; a last save that fails ends the run saying what the file holds', async () => {
    const sub = join(dir, 'vanishing');
    mkdirSync(sub);
    const file = join(sub, 'run.safetensors');
    // The epoch's JSON line comes after its save: the directory goes after epoch 1's, returns after epoch 2's.
    const moves: Record<number, () => void> = { 1: () => rmSync(sub, { recursive: true }), 2: () => mkdirSync(sub) };
    const code = await main(['mnist', ...QUICK, '--epochs', '3', '--json', '--save', file], (line) => moves[JSON.parse(line).epoch as number]?.());
    expect(code).toBe(0);
    const said = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(said).toMatch(new RegExp(`webgpu-backprop: cannot write ${file}: ENOENT[^\n]*; ${file} still holds epoch 1; training goes on, and the next epoch's end tries again`));
    expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata.epoch).toBe('3');
    // Gone for good after epoch 1: the run fails at its end, naming what is kept (it failed at once, the rest of the run unsaid).
    mkdirSync(join(dir, 'gone'));
    const lost = join(dir, 'gone', 'run.safetensors');
    expect(await main(['mnist', ...QUICK, '--epochs', '2', '--json', '--save', lost], (line) => JSON.parse(line).epoch === 1 && rmSync(join(dir, 'gone'), { recursive: true }))).toBe(1);
    expect(lastError()).toMatch(new RegExp(`cannot write ${lost}: ENOENT.*; ${lost} still holds epoch 1: the epochs trained since are lost with this run`));
  }, 180_000);

  test('a flag given twice, or with an empty value (an unset shell variable), is refused', async () => {
    expect(await beforeGpu(['--lr', '0.5', '--lr', '0.001'])).toBe("--lr: given twice ('0.5', then '0.001'); give it once");
    expect(await beforeGpu(['--no-augment', '--no-augment'])).toBe('--no-augment: given twice; give it once');
    expect(await beforeGpu(['--init', ''])).toBe("--init: expected a value, got ''");
    expect(await beforeGpu(['--save', ''])).toBe("--save: expected a value, got ''");
    // Two spellings of one file: the best epoch and the last would overwrite each other.
    expect(await beforeGpu(['--save', join(dir, 'c.safetensors'), '--save-best', join(dir, '..', basename(dir), 'c.safetensors')])).toMatch(/^--save and --save-best: both name /);
  });

  test('flags that would do nothing are said, not ignored: a schedule’s own with another schedule, --allow-changes without --init, training’s flags for check', async () => {
    expect(await beforeGpu(['--gamma', '0.5'])).toBe('--gamma: applies to --schedule step, multistep or exponential; the schedule is constant (the default)');
    expect(await beforeGpu(['--schedule', 'cosine', '--step-size', '3'])).toBe('--step-size: applies to --schedule step; the schedule is cosine');
    expect(await beforeGpu(['--schedule-epochs', '5'])).toBe('--schedule-epochs: applies to --schedule cosine or onecycle; the schedule is constant (the default)');
    // MultiStepLR and ExponentialLR: what they need, and their own flags.
    expect(await beforeGpu(['--milestones', '5,10'])).toBe('--milestones: applies to --schedule multistep; the schedule is constant (the default)');
    expect(await beforeGpu(['--schedule', 'multistep'])).toBe('--schedule multistep: give --milestones (the epochs at which the rate is multiplied by --gamma, e.g. 10,15)');
    expect(await beforeGpu(['--schedule', 'multistep', '--milestones', '10,5.5'])).toBe("--milestones: expected whole numbers ≥ 0 (epochs), comma-separated such as 10,15, got '10,5.5'");
    expect(await beforeGpu(['--schedule', 'exponential'])).toBe("--schedule exponential: give --gamma (the factor every epoch, e.g. 0.95; PyTorch's ExponentialLR requires it)");
    expect(await beforeGpu(['--label-smoothing', '0.1'])).toBe("--label-smoothing: applies to --loss cross-entropy (PyTorch's CrossEntropyLoss(label_smoothing)); the loss is nll (the default for this model: give --loss cross-entropy)");
    expect(await beforeGpu(['--label-smoothing', '1.5'])).toMatch(/^--label-smoothing: expected a number from 0 to 1, got '1\.5'/);
    // A PyTorch state_dict records no loss: its label smoothing is not taken to be 0 (the flag stands).
    const stateDict = await altered('state-dict.safetensors', (tensors, metadata) => {
      for (const key of Object.keys(metadata)) delete metadata[key];
      for (const name of Object.keys(tensors)) if (name.startsWith('optimizer.')) delete tensors[name];
    });
    const reached = await mnistCommand([...QUICK, '--init', stateDict, '--loss', 'cross-entropy', '--label-smoothing', '0.1'], async () => {
      throw new Error('the GPU was started');
    }, () => {}).catch((e: Error) => e.message);
    expect(reached, 'every check passed').toBe('the GPU was started');
    // ExponentialLR's gamma is the checkpoint's only where its optimizer (and so its schedule) goes on.
    const expo = await altered('expo.safetensors', (_, m) => Object.assign(m, { optimizer: 'adam', schedule: 'exponential', gamma: '0.7' }));
    expect(await beforeGpu([...QUICK, '--init', expo, '--optimizer', 'sgd', '--allow-changes', '--schedule', 'exponential'])).toBe("--schedule exponential: give --gamma (the factor every epoch, e.g. 0.95; PyTorch's ExponentialLR requires it)");
    const good = await goodCheckpoint();
    expect(await beforeGpu([...QUICK, '--init', good, '--gamma', '0.5'])).toMatch(/^--gamma: applies to --schedule step, multistep or exponential; the schedule is constant \(.*good\.safetensors's\)$/);
    // Another optimizer (--allow-changes) leaves the checkpoint's schedule behind: the default's then.
    expect(await beforeGpu([...QUICK, '--init', good, '--optimizer', 'adam', '--allow-changes', '--gamma', '0.5'])).toBe('--gamma: applies to --schedule step, multistep or exponential; the schedule is constant (the default)');
    expect(await beforeGpu(['--allow-changes'])).toBe('--allow-changes: applies with --init (what a checkpoint may be continued with); there is no --init');
    const mlp = await altered('mlp-net.safetensors', (_, m) => Object.assign(m, { model: 'mlp', model_file: readFileSync('examples/mlp.json', 'utf8') }));
    expect(await beforeGpu(['--init', mlp, '--no-dropout'])).toMatch(/^--no-dropout: applies to the seed CNN; .*mlp-net\.safetensors's network \(its __metadata__\.model_file\) sets each Dropout's p$/);
    const noGpu = async () => {
      throw new Error('the GPU was started');
    };
    await expect(checkCommand(['--epochs', '3'], noGpu, () => {})).rejects.toThrow('--epochs: not a flag of check (one training step of the first --batch training images, no rotation, against float64)');
  });

  test('--seed beyond 32 bits is named', async () => {
    expect(await beforeGpu(['--seed', String(2 ** 32)])).toBe(`--seed: expected a whole number from 0 to ${2 ** 32 - 1}, got '${2 ** 32}'`);
  });

  test('a negative number after a flag gets the flag’s own range error (not node:util’s "ambiguous")', async () => {
    expect(await beforeGpu(['--seed', '-1'])).toBe(`--seed: expected a whole number from 0 to ${2 ** 32 - 1}, got '-1'`);
    expect(await beforeGpu(['--lr', '-0.5'])).toBe("--lr: expected a number from 0 to 10, got '-0.5'");
    expect(await beforeGpu(['--epochs', '-.5'])).toMatch(/^--epochs: expected a whole number ≥ 1, got '-\.5'$/);
  });

  test('images that are not the model’s 28×28 are refused, naming --data', async () => {
    for (const [rows, cols] of [[27, 29], [1, 1], [32, 32]] as const) {
      const d = mnistDir(`mnist-${rows}x${cols}`, rows, cols);
      expect(await beforeGpu(['--data', d])).toBe(`--data ${d}: the images are ${rows}×${cols} pixels (one channel); the model takes [1, 28, 28] per sample`);
    }
  });

  test('a model with fewer outputs than the data has classes is refused', async () => {
    const seven = join(dir, 'seven.json');
    writeFileSync(seven, JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'Flatten' }, { type: 'Linear', out_features: 7 }, { type: 'LogSoftmax' }] }));
    expect(await beforeGpu(['--model', seven])).toBe('the MNIST data: the labels go up to 9; the model has 7 outputs (its last layer should have 10)');
  });

  test('a token model (an Embedding first) is refused by the commands that feed it MNIST images, before the GPU', async () => {
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify({ input: [784], layers: [{ type: 'Embedding', num_embeddings: 256, embedding_dim: 4 }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] }));
    const said = `${tokens}: its first layer ('0', Embedding) takes token ids, and this command feeds the network MNIST's images; give the ids as --data FILE.npz (arrays x_train, y_train, x_test, y_test), or train through the module API on a tensor split of ids (README: Embedding)`;
    expect(await beforeGpu(['--model', tokens])).toBe(said);
    const noGpu = async () => {
      throw new Error('the GPU was reached');
    };
    await expect(checkCommand(['--model', tokens], noGpu, () => {})).rejects.toThrow(said);
  });

  test('an --init that is a directory is named', async () => {
    expect(await beforeGpu(['--init', dir])).toMatch(/^--init .*: is a directory, expected a checkpoint/);
  });

  test('a FIFO given to --save, or a device to --init, is refused before anything waits on it', async () => {
    const fifo = join(dir, 'pipe.safetensors');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    try {
      // (A pipe is read for --init: the shell's `--init <(…)`.)
      expect(await beforeGpu(['--save', fifo])).toMatch(/^--save .*pipe\.safetensors: is a named pipe \(FIFO\), expected a regular file to replace$/);
      expect(await beforeGpu(['--init', '/dev/zero'])).toBe('--init /dev/zero: is a character device, expected a checkpoint (.safetensors)');
    } finally {
      rmSync(fifo);
    }
  });

  gpuTest('checkpoint metadata and counters are validated, naming the file and the field', async () => {
    const epoch = await altered('epoch.safetensors', (_, m) => (m.epoch = 'abc'));
    expect(await beforeGpu(['--init', epoch])).toBe(`${epoch}: __metadata__.epoch is "abc", expected a whole number ≥ 0`);
    const half = await altered('epoch-half.safetensors', (_, m) => (m.epoch = '1.5'));
    expect(await beforeGpu(['--init', half])).toMatch(/epoch-half\.safetensors: __metadata__\.epoch is "1\.5"/);
    const counter = await altered('counter.safetensors', (t) => (t['convblock1.2.num_batches_tracked'] = { dtype: 'F32', shape: [], data: Float32Array.of(3) }));
    expect(await beforeGpu(['--init', counter])).toMatch(/counter\.safetensors: .*convblock1\.2\.num_batches_tracked.*I64/);
  });

  gpuTest('harmful but finite values are refused (a negative running_var, a weight of 3e38)', async () => {
    const variance = await altered('var.safetensors', (t) => ((t['convblock1.2.running_var']!.data as Float32Array)[2] = -1));
    expect(await beforeGpu(['--init', variance, '--epochs', '1'])).toMatch(/var\.safetensors: tensor 'convblock1\.2\.running_var': element 2 is -1, expected a variance ≥ 0/);
    const huge = await altered('huge.safetensors', (t) => ((t['convblock1.0.weight']!.data as Float32Array)[0] = 3e38));
    expect(await beforeGpu(['--init', huge, '--epochs', '1'])).toMatch(/huge\.safetensors: tensor 'convblock1\.0\.weight': element 0 is 3e\+38/);
  });

  gpuTest('resuming with another --seed or --batch is refused unless --allow-changes; left out, the checkpoint’s are used', async () => {
    const file = await goodCheckpoint();
    expect(await beforeGpu(['--init', file, '--seed', '4'])).toMatch(/^--seed 4: .*good\.safetensors was trained with seed 3 .*add --allow-changes$/);
    expect(await beforeGpu(['--init', file, '--batch', '64'])).toMatch(/^--batch 64: .*trained with batch 32/);
    const { code, out } = await run(['mnist', '--init', file, '--train-limit', '96', '--test-limit', '40', '--epochs', '1', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toMatchObject({ epoch: 2, steps: 3 });
    expect((await run(['mnist', '--init', file, ...QUICK, '--seed', '4', '--allow-changes', '--epochs', '1', '--json'])).code).toBe(0);
  });

  gpuTest('resuming takes the checkpoint’s optimizer, its settings and schedule, and ends where an uninterrupted run does', async () => {
    const adamw = ['--optimizer', 'adamw', '--lr', '0.003', '--betas', '0.8,0.99', '--weight-decay', '0.05', '--schedule', 'step', '--step-size', '1', '--gamma', '0.5'];
    const straight = await run(['mnist', ...QUICK, '--seed', '5', ...adamw, '--epochs', '2', '--json']);
    expect(straight.code).toBe(0);
    const half = join(dir, 'adamw-half.safetensors');
    expect((await run(['mnist', ...QUICK, '--seed', '5', ...adamw, '--epochs', '1', '--save', half])).code).toBe(0);
    const metadata = decodeSafetensors(new Uint8Array(readFileSync(half)), half).metadata;
    expect(metadata).toMatchObject({ optimizer: 'adamw', lr: '0.003', betas: '0.8,0.99', eps: '1e-8', weight_decay: '0.05', schedule: 'step', step_size: '1', gamma: '0.5' });
    // No optimizer flags: the checkpoint's AdamW (not the default SGD) with its state, so the
    // second epoch is the uninterrupted run's to the bit.
    const resumed = await run(['mnist', ...QUICK, '--init', half, '--epochs', '1', '--json']);
    expect(resumed.code).toBe(0);
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    expect(last(resumed.out)).toMatchObject({ epoch: 2, steps: 3 });
    expect(last(resumed.out).train_loss).toBe(last(straight.out).train_loss);
    expect(last(resumed.out).test_loss).toBe(last(straight.out).test_loss);
    // Its training images too (train_samples): without --train-limit it goes on with the 96 (not
    // all 60,000); another count is refused (the cut epoch's step was blamed on the file).
    expect(metadata.train_samples).toBe('96');
    const bare = await run(['mnist', '--test-limit', '40', '--init', half, '--epochs', '1', '--json']);
    expect(bare.code).toBe(0);
    expect(last(bare.out)).toMatchObject({ epoch: 2, steps: 3, train_loss: last(straight.out).train_loss });
    expect(await beforeGpu(['--init', half, '--train-limit', '64'])).toMatch(/^--train-limit 64: .*adamw-half\.safetensors was trained on 96 training images \(its __metadata__\.train_samples\); continuing on 64 changes every epoch's batches from here on\. Leave --train-limit out \(with the same data\) to continue on 96, or add --allow-changes$/);
    // Another optimizer would drop its state: refused unless asked for; an option of another
    // optimizer's is named.
    expect(await beforeGpu(['--init', half, '--optimizer', 'sgd'])).toMatch(/^--optimizer sgd: .*adamw-half\.safetensors was trained with adamw \(its __metadata__\.optimizer\).*add --allow-changes$/);
    expect(await beforeGpu(['--init', half, '--momentum', '0.5'])).toMatch(/^--momentum: an SGD and RMSprop option; .*adamw-half\.safetensors continues with adamw/);
    const bad = await altered('optimizer-bad.safetensors', (_, m) => (m.optimizer = 'lion'));
    expect(await beforeGpu(['--init', bad])).toMatch(/optimizer-bad\.safetensors: __metadata__\.optimizer is "lion", expected sgd, adam, adamw, rmsprop, adagrad, nadam, radam, adamax, adadelta$/);
  }, 120_000);

  gpuTest('a residual network under a warm-up, cut mid-warm-up and mid-epoch, continued by --init, ends where an uninterrupted run does, to the bit', async () => {
    const flags = ['--model', 'examples/resnet.json', ...QUICK, '--seed', '3', '--schedule', 'cosine', '--warmup-epochs', '1', '--schedule-epochs', '2'];
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const straight = await run(['mnist', ...flags, '--epochs', '3', '--json']);
    expect(straight.code).toBe(0);
    // Cut after the first epoch's second step (inside the warm-up); the rest of epoch 1; then epochs 2 and 3.
    const cut = join(dir, 'resnet-cut.safetensors');
    expect((await run(['mnist', ...flags, '--epochs', '1', '--steps', '2', '--save', cut])).code).toBe(0);
    expect((await run(['mnist', ...QUICK, '--init', cut, '--epochs', '1', '--save', cut])).code).toBe(0);
    const resumed = await run(['mnist', ...QUICK, '--init', cut, '--epochs', '2', '--json']);
    expect(resumed.code).toBe(0);
    expect(last(resumed.out)).toMatchObject({ epoch: 3 });
    expect(last(resumed.out).train_loss).toBe(last(straight.out).train_loss);
    expect(last(resumed.out).test_loss).toBe(last(straight.out).test_loss);
  }, 180_000);

  gpuTest('cosine under a warm-up in pieces (--schedule-epochs the whole plan, warm-up included) trains as one run; a warm-up that fills the plan is refused', async () => {
    const flags = ['--model', 'examples/mlp.json', ...QUICK, '--seed', '2', '--schedule', 'cosine', '--warmup-epochs', '1'];
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const straight = await run(['mnist', ...flags, '--epochs', '3', '--json']);
    expect(straight.code).toBe(0);
    const piece = join(dir, 'cosine-piece.safetensors');
    const first = await run(['mnist', ...flags, '--epochs', '1', '--schedule-epochs', '3', '--save', piece]);
    expect(first.code).toBe(0);
    expect(first.out).toContain('CosineAnnealingLR(T_max=2 epochs');
    const rest = await run(['mnist', ...QUICK, '--init', piece, '--epochs', '2', '--json']);
    expect(rest.code).toBe(0);
    expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine', '--warmup-epochs', '3', '--epochs', '2'])).toBe('--warmup-epochs 3: the warm-up fills the whole cosine plan of 2 epochs; give --schedule-epochs the whole plan (warm-up included) beyond it, e.g. --schedule-epochs 5');
  }, 180_000);

  gpuTest("a checkpoint's OneCycleLR settings without flags (written by code) go on through --init and into the next checkpoint", async () => {
    const oneCycle = await altered('onecycle-settings.safetensors', (tensors, m) => {
      Object.assign(m, { optimizer: 'sgd', lr: '0.05', momentum: '0.9', dampening: '0', nesterov: 'false', weight_decay: '0', schedule: 'onecycle', max_lr: '0.05', total_steps: '12', pct_start: '0.25', div_factor: '10', final_div_factor: '100', cycle_momentum: 'false', base_momentum: '0.8', max_momentum: '0.9' });
      for (const name of Object.keys(tensors)) if (name.startsWith('optimizer.')) delete tensors[name];
    });
    const next = join(dir, 'onecycle-next.safetensors');
    expect((await run(['mnist', ...QUICK, '--init', oneCycle, '--epochs', '1', '--save', next])).code).toBe(0);
    const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(next)), next);
    expect(metadata).toMatchObject({ schedule: 'onecycle', div_factor: '10', final_div_factor: '100', cycle_momentum: 'false', base_momentum: '0.8', max_momentum: '0.9' });
  });

  gpuTest('--save-best: another network’s file is refused; a file this run does not beat is said to keep its score', async () => {
    const seedCnnBest = await goodCheckpoint();
    expect(await beforeGpu(['--model', 'examples/mlp.json', '--save-best', seedCnnBest])).toMatch(/^--save-best .*good\.safetensors: the file holds a checkpoint of another network \(its __metadata__\.model_file\) than this run's/);
    expect(await beforeGpu(['--model', 'examples/mlp.json', '--save', seedCnnBest])).toMatch(/^--save .*good\.safetensors: the file holds a checkpoint of another network \(its __metadata__\.model_file\) than this run's/);
    const high = await altered('high.safetensors', (_, m) => (m.test_accuracy = '99'));
    const before = readFileSync(high);
    const { code, out } = await run(['mnist', ...QUICK, '--epochs', '1', '--save-best', high]);
    expect(code).toBe(0);
    expect(out).toMatch(/^Best: epoch 1, test accuracy [\d.]+%; .*high\.safetensors keeps its earlier 99\.00%$/m);
    expect(readFileSync(high).equals(before)).toBe(true);
  }, 120_000);

  gpuTest("resuming keeps a schedule's settings that have no flag (a checkpoint written from code: OneCycle's max_lr and pct_start, cosine's eta_min)", async () => {
    const cases = [
      { schedule: 'onecycle', max_lr: '0.1', total_steps: '100', pct_start: '0.25' },
      { schedule: 'cosine', t_max: '20', eta_min: '0.001' },
    ];
    for (const [i, fields] of cases.entries()) {
      const from = await altered(`schedule-${i}.safetensors`, (_, m) => Object.assign(m, fields));
      const to = join(dir, `schedule-${i}-again.safetensors`);
      expect((await run(['mnist', ...QUICK, '--init', from, '--steps', '0', '--save', to])).code).toBe(0);
      expect(decodeSafetensors(new Uint8Array(readFileSync(to)), to).metadata).toMatchObject(fields);
    }
  }, 120_000);

  gpuTest("resuming takes the checkpoint's loss, rotation and shuffle; a flag that changes one is refused unless --allow-changes", async () => {
    const good = await goodCheckpoint();
    expect(decodeSafetensors(new Uint8Array(readFileSync(good)), good).metadata).toMatchObject({ loss: 'nll', augment: 'true', shuffle: 'true' });
    const mse = await altered('mse.safetensors', (_, m) => Object.assign(m, { loss: 'mse', augment: 'false', shuffle: 'false' }));
    const { code, out } = await run(['mnist', ...QUICK, '--init', mse, '--epochs', '1', '--steps', '1']);
    expect(code).toBe(0);
    // It once went on with the default cross-entropy, rotation and shuffling, without a word.
    expect(out).toMatch(/^Data: .*, loss mse, seed 3, dropout 0\.1, no shuffle; from .*mse\.safetensors/m);
    expect(out).not.toMatch(/^Data: .*rotation/m);
    expect(await beforeGpu([...QUICK, '--init', good, '--loss', 'mse'])).toMatch(/^--loss mse: .*good\.safetensors was trained with loss nll \(its __metadata__\); continuing with another changes the run from here on\. Leave --loss mse out to continue as it was, or add --allow-changes$/);
    expect(await beforeGpu([...QUICK, '--init', good, '--no-augment'])).toMatch(/^--no-augment: .*good\.safetensors was trained with rotation ±7°/);
    // The seed CNN's dropout as saved (--no-dropout saves p 0 in its model_file).
    const noDropout = await altered('no-dropout.safetensors', (_, m) => (m.model_file = modelFileText(seedCnn({ dropout: 0 }), SEED_CNN_INPUT)));
    const resumed = await run(['mnist', ...QUICK, '--init', noDropout, '--epochs', '1', '--steps', '1']);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/^Data: .*, no dropout;? /m);
    expect(await beforeGpu([...QUICK, '--init', good, '--no-dropout'])).toMatch(/^--no-dropout: .*good\.safetensors was trained with dropout 0\.1/);
    const bad = await altered('bad-loss.safetensors', (_, m) => (m.loss = 'cross_entropy'));
    expect(await beforeGpu([...QUICK, '--init', bad])).toMatch(/bad-loss\.safetensors: __metadata__\.loss is "cross_entropy", expected nll, cross-entropy, mse, half-sse, l1, smooth-l1, huber, bce-with-logits, bce, kl-div$/);
  }, 120_000);

  gpuTest('--label-smoothing: recorded in the checkpoint and continued by --init (another refused); the loss it trains is not the plain one', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const smooth = ['--loss', 'cross-entropy', '--label-smoothing', '0.2'];
    const file = join(dir, 'smooth.safetensors');
    const first = await run(['mnist', ...QUICK, ...smooth, '--epochs', '1', '--json', '--save', file]);
    expect(first.code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata).toMatchObject({ loss: 'cross-entropy', label_smoothing: '0.2' });
    const plain = await run(['mnist', ...QUICK, '--loss', 'cross-entropy', '--epochs', '1', '--json']);
    expect(last(first.out).train_loss).not.toBe(last(plain.out).train_loss);
    expect(await beforeGpu([...QUICK, '--init', file, '--label-smoothing', '0.1'])).toMatch(/^--label-smoothing 0\.1: .*smooth\.safetensors was trained with label smoothing 0\.2 \(its __metadata__\); continuing with another changes the run from here on\. Leave --label-smoothing 0\.1 out to continue as it was, or add --allow-changes$/);
    const straight = await run(['mnist', ...QUICK, ...smooth, '--epochs', '2', '--json']);
    const rest = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
  }, 120_000);

  test('--clip-grad-norm, --clip-grad-norm-type and --clip-grad-value: what each needs, said before the GPU starts', async () => {
    expect(await beforeGpu(['--clip-grad-norm', '1', '--clip-grad-value', '0.5'])).toBe('--clip-grad-norm and --clip-grad-value: give one (clipping by value then by norm is not clipping by norm then by value)');
    expect(await beforeGpu(['--clip-grad-norm-type', 'inf'])).toBe('--clip-grad-norm-type: applies with --clip-grad-norm X (the norm it clips); there is no --clip-grad-norm');
    expect(await beforeGpu(['--clip-grad-norm', '1', '--clip-grad-norm-type', '3'])).toBe("--clip-grad-norm-type: expected 1, 2 or inf, got '3'");
    expect(await beforeGpu(['--clip-grad-norm', '-1'])).toMatch(/^--clip-grad-norm: expected a number from 0 to 1000000, got '-1'/);
    expect(await beforeGpu(['--clip-grad-value', 'x'])).toMatch(/^--clip-grad-value: expected a number from 0 to 1000000, got 'x'/);
    const bad = await altered('bad-clip.safetensors', (_, m) => Object.assign(m, { clip_grad_norm: '1', clip_grad_norm_type: 'two' }));
    expect(await beforeGpu([...QUICK, '--init', bad])).toMatch(/bad-clip\.safetensors: __metadata__\.clip_grad_norm_type is "two", expected 1, 2 or inf$/);
  });

  gpuTest('--clip-grad-norm: the run differs from an unclipped one, is recorded in the checkpoint and continued by --init as one run; none drops it', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    // A bound below the seed CNN's gradient norms at lr 0.01 (about 1–3 in the first steps): every step clips.
    const clip = ['--clip-grad-norm', '0.25', '--clip-grad-norm-type', '2'];
    const straight = await run(['mnist', ...QUICK, ...clip, '--epochs', '2', '--json']);
    expect(straight.code).toBe(0);
    const plain = await run(['mnist', ...QUICK, '--epochs', '2', '--json']);
    expect(last(straight.out).test_loss).not.toBe(last(plain.out).test_loss);
    const file = join(dir, 'clipped.safetensors');
    expect((await run(['mnist', ...QUICK, ...clip, '--epochs', '1', '--save', file])).code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata).toMatchObject({ clip_grad_norm: '0.25', clip_grad_norm_type: '2' });
    const rest = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(rest.code).toBe(0);
    expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
    // --clip-grad-norm none continues without it: not the clipped run's second epoch.
    const unclipped = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json', '--clip-grad-norm', 'none']);
    expect(unclipped.code).toBe(0);
    expect(last(unclipped.out).test_loss).not.toBe(last(straight.out).test_loss);
  }, 120_000);

  test('--smooth-l1-beta and --huber-delta: with their loss only, continued from a checkpoint, a change refused, said before the GPU starts', async () => {
    expect(await beforeGpu([...QUICK, '--huber-delta', '2'])).toBe('--huber-delta: applies to --loss huber; the loss is nll (the default for this model: give --loss huber)');
    expect(await beforeGpu([...QUICK, '--loss', 'mse', '--smooth-l1-beta', '0.5'])).toBe('--smooth-l1-beta: applies to --loss smooth-l1; the loss is mse');
    expect(await beforeGpu([...QUICK, '--loss', 'huber', '--huber-delta', '0'])).toMatch(/^--huber-delta: expected a number from 1e-12 to 1000000, got '0'/);
    const huber = await altered('huber.safetensors', (_, m) => Object.assign(m, { loss: 'huber', huber_delta: '2' }));
    expect(await beforeGpu([...QUICK, '--init', huber, '--huber-delta', '3'])).toMatch(/^--huber-delta 3: .*huber\.safetensors was trained with huber_delta 2 \(its __metadata__\).*Leave --huber-delta 3 out to continue as it was, or add --allow-changes/);
    const bad = await altered('huber-bad.safetensors', (_, m) => Object.assign(m, { loss: 'huber', huber_delta: 'x' }));
    expect(await beforeGpu([...QUICK, '--init', bad])).toMatch(/huber-bad\.safetensors: __metadata__\.huber_delta is "x", expected a number ≥ 0$/);
  });

  test('--class-weights and --pos-weight: with their loss only, one a class or output, ≥ 0, continued from a checkpoint, a change refused, said before the GPU starts', async () => {
    const ten = '1,2,1,1,1,1,1,1,0.5,0';
    expect(await beforeGpu([...QUICK, '--loss', 'mse', '--class-weights', ten])).toBe('--class-weights: applies to --loss nll or cross-entropy; the loss is mse');
    expect(await beforeGpu([...QUICK, '--pos-weight', ten])).toBe('--pos-weight: applies to --loss bce-with-logits; the loss is nll (the default for this model: give --loss bce-with-logits)');
    expect(await beforeGpu([...QUICK, '--class-weights', '1,2,3'])).toBe('--class-weights: 3 weights, but the model has 10 classes (one weight a class)');
    expect(await beforeGpu([...QUICK, '--loss', 'bce-with-logits', '--pos-weight', '1,2'])).toBe('--pos-weight: 2 weights, but the model has 10 outputs (one weight an output)');
    expect(await beforeGpu([...QUICK, '--class-weights', '1,-2,1,1,1,1,1,1,1,1'])).toBe("--class-weights: expected finite numbers ≥ 0, one a class, comma-separated such as 1,2.5,0.5, got '1,-2,1,1,1,1,1,1,1,1'");
    expect(await beforeGpu([...QUICK, '--class-weights', '1,,1'])).toMatch(/^--class-weights: expected finite numbers ≥ 0/);
    expect(await beforeGpu([...QUICK, '--class-weights', '1,nan,1'])).toMatch(/^--class-weights: expected finite numbers ≥ 0/);
    expect(await beforeGpu([...QUICK, '--pos-weight', 'inf'])).toMatch(/^--pos-weight: expected finite numbers ≥ 0, one an output/);
    expect(await beforeGpu([...QUICK, '--class-weights', '0,0,0,0,0,0,0,0,0,0'])).toBe("--class-weights: the weights are all 0 ('0,0,0,0,0,0,0,0,0,0'): every loss would be 0 / 0");
    const weighted = await altered('weighted.safetensors', (_, m) => Object.assign(m, { class_weights: ten }));
    expect(await beforeGpu([...QUICK, '--init', weighted, '--class-weights', '1,1,1,1,1,1,1,1,1,1'])).toMatch(/^--class-weights 1,1,1,1,1,1,1,1,1,1: .*weighted\.safetensors was trained with class_weights 1,2,1,1,1,1,1,1,0\.5,0 \(its __metadata__\).*Leave --class-weights 1,1,1,1,1,1,1,1,1,1 out to continue as it was, or add --allow-changes$/);
    // A file that records its loss and no weights had none: weights now are a change.
    expect(await beforeGpu([...QUICK, '--init', await goodCheckpoint(), '--class-weights', ten])).toMatch(/^--class-weights 1,2,1,1,1,1,1,1,0\.5,0: .*good\.safetensors was trained with no class_weights/);
    const bad = await altered('weighted-bad.safetensors', (_, m) => Object.assign(m, { class_weights: '1,x' }));
    expect(await beforeGpu([...QUICK, '--init', bad])).toMatch(/weighted-bad\.safetensors: __metadata__\.class_weights is "1,x", expected numbers ≥ 0, separated by commas$/);
  });

  test('--ignore-index: an integer in 32 bits, with nll or cross-entropy only, continued from a checkpoint, a change refused, said before the GPU starts', async () => {
    expect(await beforeGpu([...QUICK, '--ignore-index', '1.5'])).toBe("--ignore-index: expected a whole number from -2147483648 to 2147483647, got '1.5'");
    expect(await beforeGpu([...QUICK, '--ignore-index', '2147483648'])).toMatch(/^--ignore-index: expected a whole number from -2147483648 to 2147483647/);
    expect(await beforeGpu([...QUICK, '--loss', 'mse', '--ignore-index', '-100'])).toBe('--ignore-index: applies to --loss nll or cross-entropy; the loss is mse');
    const ignoring = await altered('ignoring.safetensors', (_, m) => Object.assign(m, { ignore_index: '3' }));
    expect(await beforeGpu([...QUICK, '--init', ignoring, '--ignore-index', '-100'])).toMatch(/^--ignore-index -100: .*ignoring\.safetensors was trained with ignore_index 3 \(its __metadata__\).*Leave --ignore-index -100 out to continue as it was, or add --allow-changes$/);
    expect(await beforeGpu([...QUICK, '--init', await goodCheckpoint(), '--ignore-index', '3'])).toMatch(/^--ignore-index 3: .*good\.safetensors was trained with no ignore_index/);
    const bad = await altered('ignoring-bad.safetensors', (_, m) => Object.assign(m, { ignore_index: '-1e10' }));
    expect(await beforeGpu([...QUICK, '--init', bad])).toMatch(/ignoring-bad\.safetensors: __metadata__\.ignore_index is "-1e10", expected an integer from -2147483648 to 2147483647$/);
  });

  gpuTest('--ignore-index 3: recorded in the checkpoint and continued by --init as one run; the test count leaves out the 3s', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const file = join(dir, 'ignore-index.safetensors');
    const first = await run(['mnist', ...QUICK, '--ignore-index', '3', '--epochs', '1', '--json', '--save', file]);
    expect(first.code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata).toMatchObject({ loss: 'nll', ignore_index: '3' });
    const plain = await run(['mnist', ...QUICK, '--epochs', '1', '--json']);
    // MNIST's first 40 test images hold some 3s: they are neither right nor wrong.
    expect(last(first.out).test_count).toBeLessThan(last(plain.out).test_count!);
    expect(last(first.out).train_loss).not.toBe(last(plain.out).train_loss);
    const straight = await run(['mnist', ...QUICK, '--ignore-index', '3', '--epochs', '2', '--json']);
    const rest = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
    expect(last(rest.out).test_count).toBe(last(first.out).test_count);
  }, 120_000);

  gpuTest('--class-weights: recorded in the checkpoint and continued by --init as one run; the loss it trains is not the plain one', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const weights = ['--class-weights', '1,2,1,1,1,1,1,1,0.5,0.25'];
    const file = join(dir, 'class-weights.safetensors');
    const first = await run(['mnist', ...QUICK, ...weights, '--epochs', '1', '--json', '--save', file]);
    expect(first.code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata).toMatchObject({ loss: 'nll', class_weights: '1,2,1,1,1,1,1,1,0.5,0.25' });
    const plain = await run(['mnist', ...QUICK, '--epochs', '1', '--json']);
    expect(last(first.out).train_loss).not.toBe(last(plain.out).train_loss);
    const straight = await run(['mnist', ...QUICK, ...weights, '--epochs', '2', '--json']);
    const rest = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
  }, 120_000);

  test("RMSprop's flags, and a continuation that would need a momentum buffer or grad_avg its checkpoint lacks (or keep one it has), said before the GPU starts", async () => {
    expect(await beforeGpu(['--centered'])).toBe('--centered: an RMSprop option; --optimizer is sgd');
    const rms = await altered('rms-plain.safetensors', (tensors, m) => {
      Object.assign(m, { optimizer: 'rmsprop', alpha: '0.99', eps: '1e-8', momentum: '0', centered: 'false', schedule: 'constant' });
      for (const name of Object.keys(tensors)) if (name.startsWith('optimizer.')) delete tensors[name];
    });
    expect(await beforeGpu([...QUICK, '--init', rms, '--momentum', '0.9'])).toMatch(/^--momentum 0\.9: .*rms-plain\.safetensors was trained with RMSprop without momentum .*has no momentum_buffer\. Leave --momentum 0\.9 out to continue as it was, or add --allow-changes/);
    expect(await beforeGpu([...QUICK, '--init', rms, '--schedule', 'onecycle'])).toMatch(/^--schedule onecycle: .*without momentum/);
    expect(await beforeGpu([...QUICK, '--init', rms, '--centered'])).toMatch(/^--centered: .*rms-plain\.safetensors was trained without it \(its __metadata__\.centered\)/);
    expect(await beforeGpu([...QUICK, '--init', rms, '--betas', '0.9,0.99'])).toMatch(/^--betas: an Adam, NAdam, RAdam and Adamax option; .*continues with rmsprop/);
    const withMomentum = await altered('rms-momentum.safetensors', (_, m) => Object.assign(m, { momentum: '0.9' }), rms);
    expect(await beforeGpu([...QUICK, '--init', withMomentum, '--momentum', '0'])).toMatch(/^--momentum 0: .*was trained with RMSprop with momentum .*has a momentum_buffer this run would not keep/);
  });

  test("a checkpoint whose param groups have learning rates of their own (written by code): a schedule that cannot keep them and --no-weight-decay-1d refused, before the GPU starts", async () => {
    const grouped = await altered('lr-groups.safetensors', (_, m) => Object.assign(m, { lr_groups: '{"convblock8.0.weight": 0.05}' }));
    expect(await beforeGpu([...QUICK, '--init', grouped, '--schedule', 'onecycle'])).toMatch(/^--schedule onecycle: .*lr-groups\.safetensors gives param groups learning rates of their own \(its __metadata__\.lr_groups \{"convblock8\.0\.weight": 0\.05\}\), which OneCycleLR's max_lr would override\. Keep the file's schedule \(constant\), or add --allow-changes/);
    expect(await beforeGpu([...QUICK, '--init', grouped, '--schedule', 'plateau'])).toMatch(/^--schedule plateau: .*which ReduceLROnPlateau here does not keep apart/);
    expect(await beforeGpu([...QUICK, '--init', grouped, '--no-weight-decay-1d'])).toMatch(/^--no-weight-decay-1d: .*lr-groups\.safetensors gives param groups learning rates of their own .*which this flag's group would replace\. Leave it out to continue as it was, or add --allow-changes/);
  });

  test('--warmup-epochs and --warmup-start-factor: only before an epoch-based schedule, the factor with the epochs, said before the GPU starts', async () => {
    expect(await beforeGpu([...QUICK, '--schedule', 'onecycle', '--warmup-epochs', '2'])).toBe('--warmup-epochs: applies to --schedule constant, step, multistep, exponential, cosine, linear, constant-lr, polynomial or cosine-restarts; the schedule is onecycle');
    expect(await beforeGpu([...QUICK, '--warmup-start-factor', '0.5'])).toBe("--warmup-start-factor: give --warmup-epochs too (the warm-up's length)");
    expect(await beforeGpu([...QUICK, '--warmup-epochs', '2', '--warmup-start-factor', '0'])).toMatch(/^--warmup-start-factor: expected a number from 1e-9 to 1/);
  });

  test('--schedule linear, constant-lr, polynomial and cosine-restarts: their flags only with theirs, in range, T_0 required, said before the GPU starts', async () => {
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine', '--start-factor', '0.5'])).toBe('--start-factor: applies to --schedule linear; the schedule is cosine');
    expect(await beforeGpu([...QUICK, '--end-factor', '0.5'])).toBe('--end-factor: applies to --schedule linear; the schedule is constant (the default)');
    expect(await beforeGpu([...QUICK, '--schedule', 'step', '--total-iters', '3'])).toBe('--total-iters: applies to --schedule linear, constant-lr or polynomial; the schedule is step');
    expect(await beforeGpu([...QUICK, '--schedule', 'linear', '--power', '2'])).toBe('--power: applies to --schedule polynomial; the schedule is linear');
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine', '--t0', '3'])).toBe('--t0: applies to --schedule cosine-restarts; the schedule is cosine');
    expect(await beforeGpu([...QUICK, '--t-mult', '2'])).toBe('--t-mult: applies to --schedule cosine-restarts; the schedule is constant (the default)');
    expect(await beforeGpu([...QUICK, '--schedule', 'step', '--eta-min', '0.001'])).toBe('--eta-min: applies to --schedule cosine or cosine-restarts; the schedule is step');
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine-restarts', '--t0', '3', '--schedule-epochs', '9'])).toBe('--schedule-epochs: applies to --schedule cosine or onecycle; the schedule is cosine-restarts');
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine-restarts'])).toBe("--schedule cosine-restarts: give --t0 (the epochs to the first restart, e.g. 10; PyTorch's CosineAnnealingWarmRestarts requires T_0)");
    expect(await beforeGpu([...QUICK, '--schedule', 'constant-lr', '--factor', '0'])).toBe("--factor: expected a number in (0, 1] for --schedule constant-lr (ConstantLR's factor; PyTorch divides by it at total_iters), got '0'");
    // Out of range, each in its flag's words.
    expect(await beforeGpu([...QUICK, '--schedule', 'linear', '--start-factor', '0'])).toMatch(/^--start-factor: expected a number from 1e-9 to 1, got '0'/);
    expect(await beforeGpu([...QUICK, '--schedule', 'linear', '--end-factor', '1.5'])).toMatch(/^--end-factor: expected a number from 0 to 1, got '1\.5'/);
    expect(await beforeGpu([...QUICK, '--schedule', 'polynomial', '--total-iters', '0'])).toMatch(/^--total-iters: expected a whole number ≥ 1, got '0'/);
    expect(await beforeGpu([...QUICK, '--schedule', 'polynomial', '--power', '-1'])).toMatch(/^--power: expected a number from 0 to 1000, got '-1'/);
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine-restarts', '--t0', '2.5'])).toMatch(/^--t0: expected a whole number ≥ 1, got '2\.5'/);
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine-restarts', '--t0', '2', '--t-mult', '0'])).toMatch(/^--t-mult: expected a whole number ≥ 1, got '0'/);
    expect(await beforeGpu([...QUICK, '--schedule', 'cosine', '--eta-min', '-1'])).toMatch(/^--eta-min: expected a number from 0 to 10, got '-1'/);
    // A checkpoint's: its settings checked, its T_0 needed; its schedule's flags are the schedule's.
    const restarts = await altered('restarts.safetensors', (_, m) => Object.assign(m, { schedule: 'cosine-restarts', t_0: '4', t_mult: '2', eta_min: '0' }));
    expect(await beforeGpu([...QUICK, '--init', restarts, '--power', '2'])).toMatch(/^--power: applies to --schedule polynomial; the schedule is cosine-restarts \(.*restarts\.safetensors's\)$/);
    const noT0 = await altered('restarts-no-t0.safetensors', (_, m) => Object.assign(m, { schedule: 'cosine-restarts' }));
    expect(await beforeGpu([...QUICK, '--init', noT0])).toMatch(/restarts-no-t0\.safetensors: __metadata__\.t_0 is missing \(its cosine-restarts schedule needs it\); give --t0/);
    // An exponential schedule's gamma has no default either (it trained at the flag's 0.1 before).
    const noGamma = await altered('exponential-no-gamma.safetensors', (_, m) => Object.assign(m, { schedule: 'exponential' }));
    expect(await beforeGpu([...QUICK, '--init', noGamma])).toMatch(/exponential-no-gamma\.safetensors: __metadata__\.gamma is missing \(its exponential schedule needs it\); give --gamma/);
    const badT0 = await altered('restarts-bad-t0.safetensors', (_, m) => Object.assign(m, { schedule: 'cosine-restarts', t_0: '0' }));
    expect(await beforeGpu([...QUICK, '--init', badT0])).toMatch(/restarts-bad-t0\.safetensors: __metadata__\.t_0 is "0", expected a whole number from 1 to/);
    const badPower = await altered('poly-bad.safetensors', (_, m) => Object.assign(m, { schedule: 'polynomial', power: '-2' }));
    expect(await beforeGpu([...QUICK, '--init', badPower])).toMatch(/poly-bad\.safetensors: __metadata__\.power is "-2", expected a number ≥ 0/);
  });

  gpuTest('linear after a warm-up, and cosine-restarts, in pieces: continued by --init they train as one run does (their settings carried, not the defaults)', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    for (const [k, schedule] of [
      ['--schedule', 'linear', '--start-factor', '0.5', '--end-factor', '0.1', '--total-iters', '2', '--warmup-epochs', '1', '--warmup-start-factor', '0.2'],
      ['--schedule', 'cosine-restarts', '--t0', '1', '--t-mult', '2', '--eta-min', '0.001'],
    ].entries()) {
      const flags = ['--model', 'examples/mlp.json', ...QUICK, '--seed', '2', '--lr', '0.05', ...schedule];
      const straight = await run(['mnist', ...flags, '--epochs', '4', '--json']);
      expect(straight.code).toBe(0);
      const piece = join(dir, `epoch-schedule-piece-${k}.safetensors`);
      expect((await run(['mnist', ...flags, '--epochs', '2', '--save', piece])).code).toBe(0);
      const rest = await run(['mnist', ...QUICK, '--init', piece, '--epochs', '2', '--json']);
      expect(rest.code).toBe(0);
      expect(last(rest.out).test_loss, schedule.join(' ')).toBe(last(straight.out).test_loss);
    }
  }, 180_000);

  test("Adagrad's flags: an Adagrad option elsewhere, said before the GPU starts", async () => {
    expect(await beforeGpu([...QUICK, '--lr-decay', '0.1'])).toBe('--lr-decay: an Adagrad option; --optimizer is sgd');
    expect(await beforeGpu([...QUICK, '--optimizer', 'adagrad', '--momentum', '0.9'])).toMatch(/^--momentum: an SGD and RMSprop option; --optimizer is adagrad/);
    expect(await beforeGpu([...QUICK, '--optimizer', 'adagrad', '--initial-accumulator-value', '-1'])).toMatch(/^--initial-accumulator-value: expected a number from 0 to/);
    const adagrad = await altered('adagrad.safetensors', (tensors, m) => {
      Object.assign(m, { optimizer: 'adagrad', lr: '0.01', lr_decay: '0', eps: '1e-10', weight_decay: '0', initial_accumulator_value: '0.1', schedule: 'constant' });
      for (const name of Object.keys(tensors)) if (name.startsWith('optimizer.')) delete tensors[name];
    });
    expect(await beforeGpu([...QUICK, '--init', adagrad, '--initial-accumulator-value', '0.5'])).toMatch(/^--initial-accumulator-value 0\.5: .*adagrad\.safetensors was trained with 0\.1 \(its __metadata__\.initial_accumulator_value\).*Leave the flag out to continue as it was, or add --allow-changes$/);
  });

  test("NAdam's and RAdam's flags: --momentum-decay an NAdam option elsewhere (a RAdam checkpoint's continuation too), --betas theirs, said before the GPU starts", async () => {
    expect(await beforeGpu([...QUICK, '--momentum-decay', '0.01'])).toBe('--momentum-decay: an NAdam option; --optimizer is sgd');
    expect(await beforeGpu([...QUICK, '--optimizer', 'nadam', '--momentum-decay', 'x'])).toMatch(/^--momentum-decay: expected a number from 0 to .*, got 'x'$/);
    expect(await beforeGpu([...QUICK, '--optimizer', 'radam', '--amsgrad'])).toBe('--amsgrad: an Adam option; --optimizer is radam');
    expect(await beforeGpu([...QUICK, '--optimizer', 'sgd', '--betas', '0.9,0.99'])).toBe('--betas: an Adam, NAdam, RAdam and Adamax option; --optimizer is sgd');
    const radam = await altered('radam.safetensors', (tensors, m) => {
      Object.assign(m, { optimizer: 'radam', lr: '0.001', betas: '0.9,0.999', eps: '1e-8', weight_decay: '0', schedule: 'constant' });
      for (const name of Object.keys(tensors)) if (name.startsWith('optimizer.')) delete tensors[name];
    });
    expect(await beforeGpu([...QUICK, '--init', radam, '--momentum-decay', '0.01'])).toMatch(/^--momentum-decay: an NAdam option; .*radam\.safetensors continues with radam/);
    expect(await beforeGpu([...QUICK, '--init', radam, '--optimizer', 'nadam'])).toMatch(/^--optimizer nadam: .*radam\.safetensors was trained with radam \(its __metadata__\.optimizer\).*or add --allow-changes$/);
    const nadam = await altered('nadam-bad.safetensors', (_, m) => Object.assign(m, { optimizer: 'nadam', momentum_decay: '-1' }), radam);
    expect(await beforeGpu([...QUICK, '--init', nadam])).toMatch(/nadam-bad\.safetensors: __metadata__\.momentum_decay is "-1", expected a number ≥ 0$/);
  });

  test("Adamax's and Adadelta's flags: --rho an Adadelta option elsewhere (an Adamax checkpoint's continuation too), --betas not Adadelta's, said before the GPU starts", async () => {
    expect(await beforeGpu([...QUICK, '--rho', '0.95'])).toBe('--rho: an Adadelta option; --optimizer is sgd');
    expect(await beforeGpu([...QUICK, '--optimizer', 'adadelta', '--rho', 'x'])).toMatch(/^--rho: expected a number from 0 to 1, got 'x'$/);
    expect(await beforeGpu([...QUICK, '--optimizer', 'adadelta', '--betas', '0.9,0.99'])).toBe('--betas: an Adam, NAdam, RAdam and Adamax option; --optimizer is adadelta');
    const adamax = await altered('adamax.safetensors', (tensors, m) => {
      Object.assign(m, { optimizer: 'adamax', lr: '0.002', betas: '0.9,0.999', eps: '1e-8', weight_decay: '0', schedule: 'constant' });
      for (const name of Object.keys(tensors)) if (name.startsWith('optimizer.')) delete tensors[name];
    });
    expect(await beforeGpu([...QUICK, '--init', adamax, '--rho', '0.95'])).toMatch(/^--rho: an Adadelta option; .*adamax\.safetensors continues with adamax/);
    expect(await beforeGpu([...QUICK, '--init', adamax, '--optimizer', 'adadelta'])).toMatch(/^--optimizer adadelta: .*adamax\.safetensors was trained with adamax \(its __metadata__\.optimizer\).*or add --allow-changes$/);
    const adadelta = await altered('adadelta-bad.safetensors', (_, m) => Object.assign(m, { optimizer: 'adadelta', rho: '2' }), adamax);
    expect(await beforeGpu([...QUICK, '--init', adadelta])).toMatch(/adadelta-bad\.safetensors: __metadata__\.rho is "2", expected a number from 0 to 1$/);
    const adadeltaOk = await altered('adadelta-ok.safetensors', (_, m) => Object.assign(m, { optimizer: 'adadelta', lr: '1', rho: '0.9', eps: '0.000001' }), adamax);
    expect(await beforeGpu([...QUICK, '--init', adadeltaOk, '--betas', '0.9,0.99'])).toMatch(/^--betas: an Adam, NAdam, RAdam and Adamax option; .*adadelta-ok\.safetensors continues with adadelta/);
  });

  test('--amsgrad: an Adam option, said before the GPU starts', async () => {
    expect(await beforeGpu(['--amsgrad'])).toBe('--amsgrad: an Adam option; --optimizer is sgd');
    // With --init the checkpoint's optimizer decides: an Adam one without AMSGrad is named, an SGD one too.
    const plainAdam = await altered('adam-no-ams.safetensors', (tensors, m) => {
      Object.assign(m, { optimizer: 'adam', amsgrad: 'false', betas: '0.9,0.999', eps: '1e-8' });
      for (const name of Object.keys(tensors)) if (name.startsWith('optimizer.')) delete tensors[name];
    });
    expect(await beforeGpu([...QUICK, '--init', plainAdam, '--amsgrad'])).toMatch(/^--amsgrad: .*adam-no-ams\.safetensors was trained without AMSGrad \(its __metadata__\.amsgrad\).*Leave --amsgrad out to continue as it was, or add --allow-changes/);
    expect(await beforeGpu([...QUICK, '--init', await goodCheckpoint(), '--amsgrad'])).toMatch(/^--amsgrad: an Adam option; .*continues with sgd/);
    const adam = await altered('adam-plain.safetensors', (_, m) => Object.assign(m, { optimizer: 'adam', amsgrad: 'maybe' }));
    expect(await beforeGpu([...QUICK, '--init', adam, '--optimizer', 'adam'])).toMatch(/adam-plain\.safetensors: __metadata__\.amsgrad is "maybe", expected true or false$/);
  });

  gpuTest('--no-weight-decay-1d: the biases and batch norms without weight decay, recorded and continued by --init as one run', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const flags = ['--optimizer', 'adamw', '--weight-decay', '0.5', '--no-weight-decay-1d'];
    const file = join(dir, 'no-decay.safetensors');
    expect((await run(['mnist', ...QUICK, ...flags, '--epochs', '1', '--save', file])).code).toBe(0);
    const groups = JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata.weight_decay_groups!) as Record<string, number>;
    expect(Object.keys(groups)).toContain('convblock1.2.weight');
    expect(Object.values(groups).every((v) => v === 0)).toBe(true);
    const straight = await run(['mnist', ...QUICK, ...flags, '--epochs', '2', '--json']);
    const rest = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(rest.code).toBe(0);
    expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
  }, 120_000);

  test('--schedule plateau: its flags, said before the GPU starts', async () => {
    expect(await beforeGpu(['--factor', '0.5'])).toBe('--factor: applies to --schedule constant-lr or plateau; the schedule is constant (the default)');
    expect(await beforeGpu(['--schedule', 'step', '--patience', '3'])).toBe('--patience: applies to --schedule plateau; the schedule is step');
    expect(await beforeGpu(['--schedule', 'plateau', '--factor', '1'])).toBe("--factor: expected a number in [0, 1) for --schedule plateau (ReduceLROnPlateau's factor: the rate is multiplied by it on a plateau), got '1'");
    expect(await beforeGpu(['--schedule', 'plateau', '--factor', '1.5'])).toMatch(/^--factor: expected a number from 0 to 1, got '1\.5'/);
    expect(await beforeGpu(['--schedule', 'plateau', '--plateau-metric', 'val_loss'])).toBe("--plateau-metric: expected test-loss, test-accuracy, train-loss, train-accuracy, got 'val_loss'");
    const bad = await altered('bad-plateau.safetensors', (_, m) => Object.assign(m, { schedule: 'plateau', plateau_lr: '0.01', plateau_best: 'NaN', plateau_bad_epochs: '0', plateau_cooldown_counter: '0', plateau_last_epoch: '1' }));
    expect(await beforeGpu([...QUICK, '--init', bad])).toMatch(/bad-plateau\.safetensors: __metadata__\.plateau_best is "NaN", expected a number/);
  });

  gpuTest('--schedule plateau: its state recorded in the checkpoint and continued by --init as one run, a cut epoch included; --json gives the rate', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    // The test accuracy (mode max) with patience 0: reductions happen in three epochs of 3 steps.
    const plateau = ['--schedule', 'plateau', '--patience', '0', '--factor', '0.5', '--plateau-metric', 'test-accuracy', '--lr', '0.05'];
    const straight = await run(['mnist', ...QUICK, ...plateau, '--epochs', '3', '--json']);
    expect(straight.code).toBe(0);
    expect(last(straight.out).plateau_lr, 'the rate fell (else this tests no state)').toBeLessThan(0.05);
    // Cut inside the third epoch (7 steps of 3 an epoch): the cut epoch is not stepped until it is whole.
    const file = join(dir, 'plateau.safetensors');
    expect((await run(['mnist', ...QUICK, ...plateau, '--epochs', '3', '--steps', '7', '--save', file])).code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata).toMatchObject({ schedule: 'plateau', plateau_patience: '0', plateau_factor: '0.5', plateau_metric: 'test-accuracy', plateau_mode: 'max', plateau_last_epoch: '2', epoch: '2', epoch_step: '1' });
    const rest = await run(['mnist', ...QUICK, '--init', file, '--epochs', '1', '--json']);
    expect(rest.code).toBe(0);
    expect(last(rest.out).plateau_lr).toBe(last(straight.out).plateau_lr);
    expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
    // Leaving the schedule: the rate it reached is the new base rate (as PyTorch's optimizer keeps it).
    const after = join(dir, 'plateau-done.safetensors');
    expect((await run(['mnist', ...QUICK, ...plateau, '--epochs', '3', '--save', after])).code).toBe(0);
    const next = join(dir, 'plateau-constant.safetensors');
    expect((await run(['mnist', ...QUICK, '--init', after, '--schedule', 'constant', '--epochs', '1', '--save', next])).code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(next)), next).metadata).toMatchObject({ schedule: 'constant', lr: String(last(straight.out).plateau_lr) });
  }, 180_000);

  gpuTest('MultiStepLR and ExponentialLR: recorded in the checkpoint, continued by --init as one run', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    for (const schedule of [['--schedule', 'multistep', '--milestones', '1,2', '--gamma', '0.5'], ['--schedule', 'exponential', '--gamma', '0.7']]) {
      const straight = await run(['mnist', ...QUICK, ...schedule, '--epochs', '3', '--json']);
      expect(straight.code).toBe(0);
      const first = join(dir, `${schedule[1]}.safetensors`);
      expect((await run(['mnist', ...QUICK, ...schedule, '--epochs', '1', '--save', first])).code).toBe(0);
      const metadata = decodeSafetensors(new Uint8Array(readFileSync(first)), first).metadata;
      expect(metadata).toMatchObject(schedule[1] === 'multistep' ? { schedule: 'multistep', milestones: '1,2', gamma: '0.5' } : { schedule: 'exponential', gamma: '0.7' });
      const rest = await run(['mnist', ...QUICK, '--init', first, '--epochs', '2', '--json']);
      expect(rest.code).toBe(0);
      // The rate each epoch as the uninterrupted run's: the same weights, to the bit.
      expect(last(rest.out).test_loss).toBe(last(straight.out).test_loss);
    }
  }, 120_000);

  gpuTest('a run in pieces trains as one: an epoch cut short by --steps goes on from its step, and the schedule keeps its planned length', async () => {
    const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    const adam = ['--optimizer', 'adam', '--schedule', 'cosine', '--seed', '6'];
    const straight = await run(['mnist', ...QUICK, ...adam, '--epochs', '3', '--json']);
    expect(straight.code).toBe(0);
    // --steps 7 stops 1 step into epoch 3 (3 steps an epoch): saved as epoch 2 and epoch_step 1.
    const cut = join(dir, 'cut.safetensors');
    expect((await run(['mnist', ...QUICK, ...adam, '--epochs', '3', '--steps', '7', '--save', cut])).code).toBe(0);
    expect(decodeSafetensors(new Uint8Array(readFileSync(cut)), cut).metadata).toMatchObject({ epoch: '2', epoch_step: '1', steps: '7', t_max: '3' });
    const rest = await run(['mnist', ...QUICK, '--init', cut, '--epochs', '1', '--json']);
    expect(rest.code).toBe(0);
    // The same weights at the end: the same last batch's loss and the same test loss, to the bit;
    // and the epoch's train loss and accuracy over all its steps (the cut run's sums carried: epoch_metrics).
    const { last_batch_loss, test_loss, train_loss, train_accuracy } = last(straight.out);
    expect(last(rest.out)).toMatchObject({ epoch: 3, steps: 3, last_batch_loss, test_loss, train_loss, train_accuracy });
    // A cut checkpoint without the sums (written before they were): the next cut one holds none either, and loads.
    const older = await altered('older-cut.safetensors', (_, m) => delete m.epoch_metrics, cut);
    const next = join(dir, 'next-cut.safetensors');
    expect((await run(['mnist', ...QUICK, '--init', older, '--epochs', '1', '--steps', '1', '--save', next])).code).toBe(0);
    const nextMetadata = decodeSafetensors(new Uint8Array(readFileSync(next)), next).metadata;
    expect([nextMetadata.epoch_step, nextMetadata.epoch_metrics]).toEqual(['2', undefined]);
    expect((await run(['mnist', ...QUICK, '--init', next, '--epochs', '1'])).code).toBe(0);
    const bad = await altered('epoch-metrics.safetensors', (_, m) => (m.epoch_metrics = m.epoch_metrics!.replace(/,\d+$/, ',999')), cut);
    expect(await beforeGpu([...QUICK, '--init', bad])).toMatch(/epoch-metrics\.safetensors: __metadata__\.epoch_metrics is "[^"]+,999", expected the last batch's loss, the summed loss, the correct predictions and the samples of its 1 steps of \d+ \(the samples \d+\), and any ignored samples, comma-separated$/);
    // Two epochs, then one: with the whole plan given (--schedule-epochs 3) cosine's T_max is 3 in both pieces.
    const two = join(dir, 'two.safetensors');
    expect((await run(['mnist', ...QUICK, ...adam, '--epochs', '2', '--schedule-epochs', '3', '--save', two])).code).toBe(0);
    const third = await run(['mnist', ...QUICK, '--init', two, '--epochs', '1', '--json']);
    expect(last(third.out)).toMatchObject({ epoch: 3, train_loss: last(straight.out).train_loss, test_loss: last(straight.out).test_loss });
    // OneCycle cannot step past its total_steps (PyTorch refuses too): said before the GPU starts.
    const cycle = join(dir, 'cycle.safetensors');
    expect((await run(['mnist', ...QUICK, '--schedule', 'onecycle', '--lr', '0.05', '--epochs', '1', '--save', cycle])).code).toBe(0);
    expect(await beforeGpu([...QUICK, '--init', cycle, '--epochs', '1'])).toMatch(/^--epochs 1: OneCycleLR's total_steps is 3 \(.*cycle\.safetensors's __metadata__\.total_steps\), and this run would take steps 4 … 6; the cycle is over \(the checkpoint took all 3\): continue with another --schedule, or start a longer cycle$/);
    // A cycle with room left: how much, in steps and whole epochs.
    const half = join(dir, 'half-cycle.safetensors');
    expect((await run(['mnist', ...QUICK, '--schedule', 'onecycle', '--lr', '0.05', '--schedule-epochs', '2', '--epochs', '1', '--save', half])).code).toBe(0);
    expect(await beforeGpu([...QUICK, '--init', half, '--epochs', '2'])).toMatch(/and this run would take steps 4 … 9; give at most 3 --steps \(or --epochs 1\), or --schedule-epochs for a longer cycle$/);
    const badStep = await altered('epoch-step.safetensors', (_, m) => (m.epoch_step = '9'));
    expect(await beforeGpu([...QUICK, '--init', badStep])).toMatch(/epoch-step\.safetensors: __metadata__\.epoch_step is "9", expected a whole number from 1 to 2 \(the steps taken into the epoch it stopped in, of 3 an epoch at this batch and train limit\)$/);
  }, 180_000);

  gpuTest('a checkpoint of a network defined in code evaluates without --model; one without its model_file says to give --model', async () => {
    const ctx = await createNodeContext({ announce: false });
    const file = join(dir, 'coded.safetensors');
    try {
      const model = new Sequential(new Flatten(), new Linear({ outFeatures: 16 }), new ReLU(), new Linear({ outFeatures: 10 }), new LogSoftmax());
      writeFileSync(file, await encodeCheckpoint(new Network(ctx, model, { inputShape: [1, 28, 28], maxBatch: 2 })));
    } finally {
      ctx.destroy();
    }
    const evaluated = await run(['evaluate', '--init', file, '--test-limit', '40', '--json']);
    expect(evaluated.code, lastError()).toBe(0);
    expect(JSON.parse(evaluated.out)).toMatchObject({ test_count: 40 });
    const bare = join(dir, 'bare.safetensors');
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    delete metadata.model_file;
    writeFileSync(bare, encodeSafetensors(tensors, metadata));
    expect((await run(['evaluate', '--init', bare, '--test-limit', '40'])).code).toBe(1);
    expect(lastError()).toMatch(/bare\.safetensors: tensor 'convblock1\.0\.weight' is missing.*; .*bare\.safetensors carries no network \(no __metadata__\.model_file\), so it was read as the seed CNN's: give its network with --model FILE\.json\n$/);
  }, 120_000);

  test('a PGM with maxval 0 is refused', () => {
    const pgm = new Uint8Array([...new TextEncoder().encode('P5 28 28 0\n'), ...new Uint8Array(784)]);
    expect(() => parsePgm(pgm, 'zero.pgm')).toThrow('zero.pgm: maxval 0; expected 8-bit pixels (maxval 1 … 255)');
  });
});

describe('checked against the device', () => {
  gpuTest('--batch 100000 is one line naming --batch, the buffer and the device limit', async () => {
    const { code } = await run(['mnist', '--batch', '100000', '--epochs', '1']);
    expect(code).toBe(1);
    const message = lastError();
    expect(message).toMatch(/^webgpu-backprop: --batch 100000: needs a buffer of [\d.]+ GiB \(.*\); this adapter allows .* \(max\w+\): the largest batch that fits is \d+\n$/);
    // One line: no uncaptured WebGPU errors before it.
    expect(stderr.mock.calls.filter(([text]) => /uncaptured|WebGPU error/.test(String(text)))).toEqual([]);
  });
});

describe('a diverging run', () => {
  gpuTest('exits non-zero naming the epoch and step, and leaves the last good checkpoint as it was', async () => {
    const file = join(dir, 'last.safetensors');
    writeFileSync(file, readFileSync(await goodCheckpoint()));
    const before = readFileSync(file);
    // The tester's case: --lr 10 --momentum 1 (both in range).
    // (More training images than the checkpoint's 96: --allow-changes.)
    const { code } = await run(['mnist', '--init', file, '--save', file, '--train-limit', '320', '--allow-changes', '--test-limit', '40', '--lr', '10', '--momentum', '1', '--epochs', '6']);
    expect(code).toBe(1);
    expect(lastError()).toMatch(/^webgpu-backprop: training diverged at epoch \d+, step \d+ \(step \d+ of the run\): .* became non-finite/);
    expect(lastError()).toMatch(/\. Nothing was saved after it \(the last checkpoint written is the last good one\)\. Try a smaller --lr or --momentum, or roll back \(--on-divergence rollback\)\n$/);
    const after = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
    for (const [name, t] of Object.entries(after.tensors)) {
      if (t.dtype === 'F32') expect((t.data as Float32Array).every(Number.isFinite), name).toBe(true);
    }
    // Epochs that finished before the divergence may have been saved; the file loads again.
    const evaluated = await run(['evaluate', '--init', file, '--test-limit', '40']);
    expect(evaluated.code === 0 ? '' : lastError()).toBe('');
    if (Number(after.metadata.epoch) === 1) expect(readFileSync(file).equals(before)).toBe(true);
  }, 120_000);
});

describe('--on-divergence rollback', () => {
  gpuTest('goes back to the epoch’s start with the learning rate halved, says so, and finishes', async () => {
    const file = join(dir, 'rollback.safetensors');
    // Three epochs: where --lr 10 --momentum 1 first overflows depends on the kernels' last bits (the
    // thirty-sixth sitting's tiles: a NaN test loss after epoch 2, the training step's overflow in
    // epoch 3; before, within epoch 2), and within three it does either way.
    const { code, out } = await run(['mnist', '--train-limit', '192', '--test-limit', '40', '--batch', '32', '--lr', '10', '--momentum', '1', '--epochs', '3', '--on-divergence', 'rollback', '--save', file, '--json']);
    const said = stderr.mock.calls.map(([text]) => String(text)).join('');
    expect(code, said).toBe(0);
    expect(said).toMatch(/webgpu-backprop: training diverged at epoch \d, step \d+ .*Rolling back to epoch \d, step 0 .*halved \(×0\.5 /);
    const epochs = out.trim().split('\n').map((line) => JSON.parse(line) as { epoch: number; train_loss: number });
    expect(epochs.at(-1)!.epoch).toBe(3);
    expect(epochs.every((e) => Number.isFinite(e.train_loss))).toBe(true);
    // The checkpoint says how far the learning rate was cut, and loads.
    expect(Number(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata.lr_factor)).toBeLessThan(1);
    expect((await run(['evaluate', '--init', file, '--test-limit', '40'])).code).toBe(0);
    // The fusion rules change the bits: --no-fuse against a fused run's checkpoint is refused.
    const fused = await altered('fused.safetensors', (_, m) => (m.fuse = 'true'));
    expect(await beforeGpu(['--init', fused, '--no-fuse'])).toMatch(/^--no-fuse: .*fused\.safetensors was trained with the fusion rules \(its __metadata__\); continuing with another changes the run from here on/);
    const bad = await altered('lr-factor.safetensors', (_, m) => (m.lr_factor = '2'));
    expect(await beforeGpu(['--init', bad])).toMatch(/lr-factor\.safetensors: __metadata__\.lr_factor is "2", expected a number in \(0, 1\]/);
  }, 300_000);
});

describe('an interrupt', () => {
  gpuTest('Ctrl-C ends the run with one line saying where it stopped and what the checkpoint holds; no temporary file is left', async () => {
    const bin = new URL('../bin/webgpu-backprop.js', import.meta.url).pathname;
    const out = mkdtempSync(join(tmpdir(), 'webgpu-backprop-sigint-'));
    const file = join(out, 'run.safetensors');
    const child = spawn(process.execPath, [bin, 'mnist', '--train-limit', '3200', '--test-limit', '40', '--batch', '32', '--epochs', '5', '--save', file], {
      env: { ...process.env, WEBGPU_BACKPROP_VERBOSE: '' },
    });
    let err = '';
    const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      // Into epoch 2: epoch 1's checkpoint is written.
      if (/^epoch 2 \[/m.test(err) && !child.killed) child.kill('SIGINT');
    });
    expect(await ended).toBe(130);
    expect(err).toMatch(/webgpu-backprop: interrupted \(SIGINT\) in epoch 2 after step \d+; .*run\.safetensors holds epoch 1 \(continue with --init .*run\.safetensors\)\n$/);
    expect(readdirSync(out)).toEqual(['run.safetensors']);
    expect(decodeSafetensors(new Uint8Array(readFileSync(file)), file).metadata.epoch).toBe('1');
  }, 120_000);
});

describe('a lost device', () => {
  gpuTest('is replaced mid-run, and the run prints what an uninterrupted one does', async () => {
    const bin = new URL('../bin/webgpu-backprop.js', import.meta.url).pathname;
    const preload = new URL('./fixtures/lose-device.mjs', import.meta.url).pathname;
    const args = ['mnist', '--train-limit', '320', '--test-limit', '96', '--batch', '32', '--epochs', '2', '--json'];
    const cli = (env: Record<string, string>, execArgv: string[] = []) =>
      spawnSync(process.execPath, [...execArgv, bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    const epochs = (stdout: string) => stdout.trim().split('\n').map((line) => {
      const { seconds, samples_per_s, adapter, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return rest;
    });
    const plain = cli({});
    expect(plain.status, plain.stderr).toBe(0);
    // Destroyed from outside at the 40th submission (epoch 2), as a driver reset would.
    const lost = cli({ LOSE_DEVICE_AFTER: '40' }, ['--import', preload]);
    expect(lost.status, lost.stderr).toBe(0);
    expect(lost.stderr).toMatch(/destroying the device at submission 40/);
    expect(lost.stderr).toMatch(/webgpu-backprop: the WebGPU device was lost .*: creating a new device and continuing from epoch \d, step \d+/);
    expect(epochs(lost.stdout)).toEqual(epochs(plain.stdout));
    expect(epochs(plain.stdout)).toHaveLength(2);
  }, 180_000);
});
