/**
 * The seed notebook's 13,808-parameter MNIST CNN (SPEC.md §2), defined with the layer API. The
 * children's names are the notebook's `Net` attributes, so the state_dict names are PyTorch's
 * (`convblock1.0.weight`, `convblock1.2.running_mean`, …) and checkpoints load there.
 *
 *   block k = Conv2d(bias=False) → ReLU → BatchNorm2d → Dropout(0.1)   (nn.Sequential indices 0–3)
 */
import { ReLU, LogSoftmax } from '../layers/activations.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { AvgPool2d, MaxPool2d } from '../layers/pooling.js';
import { Sequential, leafLayers } from '../layers/sequential.js';
import { parseModelFile } from './model-file.js';

/** One MNIST image. */
export const SEED_CNN_INPUT = [1, 28, 28] as const;

/** The notebook's Net; `dropout` is every block's probability (default 0.1, SPEC.md §2). */
export function seedCnn(options: { dropout?: number } = {}): Sequential {
  const p = options.dropout ?? 0.1;
  const conv = (outChannels: number, kernelSize: number, padding = 0) => new Conv2d({ outChannels, kernelSize, padding, bias: false });
  const block = (outChannels: number, padding = 0) => new Sequential(conv(outChannels, 3, padding), new ReLU(), new BatchNorm2d(), new Dropout(p));
  return new Sequential({
    convblock1: block(16),
    convblock2: block(32),
    convblock3: new Sequential(conv(10, 1)),
    pool1: new MaxPool2d(2, 2),
    convblock4: block(16),
    convblock5: block(16),
    convblock6: block(16),
    convblock7: block(16, 1),
    gap: new Sequential(new AvgPool2d(6)),
    convblock8: new Sequential(conv(10, 1)),
    flatten: new Flatten(),
    log_softmax: new LogSoftmax(),
  });
}

/**
 * The dropout probability of a seed CNN saved as a model file (a checkpoint's `model_file`, where
 * `model` is seed-cnn: the CLI's --no-dropout saves p 0); undefined where it holds no Dropout.
 */
export function seedCnnDropout(modelFile: string, source: string): number | undefined {
  const { model } = parseModelFile(modelFile, source);
  const dropout = leafLayers(model).find((l) => l.layer instanceof Dropout)?.layer as Dropout | undefined;
  return dropout?.p;
}
