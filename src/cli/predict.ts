/**
 * `webgpu-backprop predict`: a checkpoint's network run over samples (eval mode), its outputs
 * written to a NumPy .npy file — what PyTorch's `model(x)` returns, for a data set's whole split
 * or for new samples without labels.
 */
import { encodeNpy, isNpy, parseNpy } from '../data/npy.js';
import { isImageData, samplesOf, splitInputs, type Samples } from '../data/tensor-data.js';
import { checkWritable, writeFileAtomic } from '../node/atomic-write.js';
import { isArrayFile, loadTrainingData } from '../node/data-files.js';
import { readFileBytes } from '../node/read-file.js';
import { Network } from '../plan/network.js';
import { MNIST_INPUT, splitShapeProblem } from '../train/trainer.js';
import { parse } from './strict-args.js';
import { NORMALIZE_EVAL_HELP, evaluationNormalization, idxWords, integerFlag, loadModel, peekMetadata, readCheckpoint, recordsItsData, refuseGreyNormalize, savedLoss, withBatchFlag, type ContextSource } from './mnist.js';

export const PREDICT_HELP = `Usage: webgpu-backprop predict --init FILE [--model FILE] [--input X.npy | --data DIR|FILE [--split test|train]]
                               --out FILE.npy [--batch N] [--normalize M/S]

Runs a checkpoint's network (the one its metadata carries, or --model FILE's) over samples in eval
mode (running statistics, no dropout) and writes its outputs to a NumPy .npy file of float32
[samples, outputs] (atomically): what PyTorch's model(x) returns — log-probabilities after a
LogSoftmax, logits, a regression's values. The samples: --input X.npy, one array of them as
mnist's --data takes x (uint8 [N, H, W] images, normalised as MNIST's; uint8 [N, H, W, C] or
[N, C, H, W] colour images, ToTensor() and Normalize(mean, std); any other array float samples, or
ids for an Embedding first); or --data's test split (--split train: its training split),
the MNIST test set where neither is given. An existing --out is replaced only where it is a .npy file.

Options:
  --batch N   samples a GPU pass (default 128); a network whose batch norm keeps no running
              statistics normalises with the batch's own, so its samples must fit one pass
  --normalize M/S  for a checkpoint that records no normalisation (see below)

${NORMALIZE_EVAL_HELP} --input's colour images need one.
`;

/** The MNIST normalisation of a uint8 image, in the GPU's float32 arithmetic (shaders/mnist_batch.wgsl). */
const normalise = (pixel: number) => Math.fround(Math.fround(Math.fround(pixel / 255) - Math.fround(MNIST_INPUT.mean)) / Math.fround(MNIST_INPUT.deviation));

export async function predictCommand(argv: readonly string[], getContext: ContextSource, out: (s: string) => void): Promise<number> {
  const { values } = parse(argv, { init: { type: 'string' }, model: { type: 'string' }, input: { type: 'string' }, data: { type: 'string' }, split: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, normalize: { type: 'string' } });
  if (values.help) {
    out(PREDICT_HELP);
    return 0;
  }
  if (typeof values.init !== 'string') throw new Error('predict: --init FILE (a checkpoint) is required');
  if (typeof values.out !== 'string') throw new Error('predict: --out FILE.npy (where the outputs go) is required');
  const input = values.input as string | undefined;
  const dataPath = values.data as string | undefined;
  if (input !== undefined && dataPath !== undefined) throw new Error('--input: the samples are --input\'s or --data\'s; give one of them');
  if (values.split !== undefined && input !== undefined) throw new Error('--split: chooses a --data set\'s split; --input is one array of samples');
  const split = values.split ?? 'test';
  if (split !== 'test' && split !== 'train') throw new Error(`--split: expected test or train, got '${String(split)}'`);
  const batch = integerFlag(values, 'batch', 128);
  const outPath = values.out;
  if (!/\.npy$/i.test(outPath)) throw new Error(`--out ${outPath}: expected a file name ending in .npy`);
  await checkWritable(outPath, '--out');
  const replaced = await existingNpy(outPath);

  const metadata = await peekMetadata(values.init);
  const definition = await loadModel(values.model as string | undefined, { checkpoint: { file: values.init, metadata }, images: input === undefined && !isArrayFile(dataPath) });
  const normalize = evaluationNormalization(values.normalize as string | undefined, metadata, values.init);
  let samples: Samples;
  let source: string;
  if (input !== undefined) {
    const bytes = await readFileBytes(input, 'a NumPy .npy file of samples').catch((e: Error) => {
      throw new Error(`--input ${e.message}`);
    });
    if (!isNpy(bytes)) throw new Error(`--input ${input}: not a NumPy .npy file${bytes[0] === 0x50 && bytes[1] === 0x4b ? ' (a zip: give an .npz to --data)' : ''}`);
    const x = parseNpy(bytes, input);
    // Colour images take the training run's normalisation (there is no x_train here to take one from).
    if (!normalize && !definition.ids && x.dtype === 'u1' && x.shape.length === 4) {
      // A run of this CLI records its data, and its normalisation where it had one: this one trained on float samples.
      if (recordsItsData(metadata)) throw new Error(`--input ${input}: colour images (uint8 [${x.shape.join(', ')}]), and ${values.init}'s run normalised nothing (it records its train_samples and no normalize_mean): it trained on float samples; give --input those, as float32 [N, ${definition.input.join(', ')}]`);
      throw new Error(`--input ${input}: colour images (uint8 [${x.shape.join(', ')}]) take the normalisation of the run that trained the network, and ${values.init} records none (no __metadata__.normalize_mean): give --normalize MEAN/STD, the run's`);
    }
    samples = samplesOf(x, input, 'the array', { ...definition, normalize });
    source = input;
  } else {
    if (!isArrayFile(dataPath)) refuseGreyNormalize(normalize, idxWords(dataPath));
    const data = await loadTrainingData(dataPath, { ...definition, normalize });
    if (isImageData(data)) {
      const { images: pixels, count, rows, cols } = data[split];
      samples = { kind: 'images', pixels, count, rows, cols };
    } else {
      const { count, shape } = data[split];
      samples = { kind: 'tensors', inputs: splitInputs(data[split]), count, shape };
    }
    source = `${dataPath ?? data.source} (${split === 'test' ? 'x_test' : 'x_train'})`;
  }
  let inputs: Float32Array;
  if (samples.kind === 'images') {
    const problem = splitShapeProblem({ kind: 'images', shape: [1, samples.rows, samples.cols] }, definition.input);
    if (problem) throw new Error(`${source}: the samples ${problem}; the model takes [${definition.input.join(', ')}] per sample`);
    inputs = Float32Array.from(samples.pixels, normalise);
  } else inputs = splitInputs(samples);

  const ctx = await getContext();
  const model = withBatchFlag(batch, () => new Network(ctx, definition.model, { inputShape: definition.input, maxBatch: Math.min(batch, samples.count), loss: savedLoss(metadata, values.init as string) }));
  await readCheckpoint(model, values.init, definition.name, { dropOtherOptimizerState: true });
  const outputs = await model.predict(inputs).catch((e: Error) => {
    throw new Error(`${e.message}${/maxBatch/.test(e.message) ? ` (give --batch ${samples.count})` : ''}`);
  });
  const classes = outputs.length / samples.count;
  await writeFileAtomic(outPath, encodeNpy(outputs, [samples.count, classes]));
  out(`Wrote the outputs of ${samples.count} samples of ${source} to ${outPath}: float32 [${samples.count}, ${classes}]${replaced ? ', replacing the .npy file there' : ''}`);
  return 0;
}

/** Whether --out holds a .npy file already (replaced); anything else there is refused, not overwritten. */
async function existingNpy(path: string): Promise<boolean> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(path, 'a .npy file');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw new Error(`--out ${(e as Error).message}`);
  }
  if (bytes.length === 0 || isNpy(bytes)) return bytes.length > 0;
  throw new Error(`--out ${path}: the file exists and is not a .npy file; choose another file or remove this one`);
}
