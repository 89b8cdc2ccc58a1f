/**
 * The TensorFlow.js side of the side-by-side benchmark: the SPEC §2 MNIST CNN built with
 * tfjs-layers on the tfjs WebGPU backend, trained with SGD momentum on one fixed synthetic batch,
 * timed step by step. Driven from tfjs.html (src/web/tfjs/page.ts) through `window.tfjsBench`.
 *
 * Mapping from the PyTorch model (channels-last, NHWC):
 * - conv (no bias) → ReLU → BatchNormalization → Dropout(0.1) blocks, in that order;
 *   Keras BN momentum 0.9 is PyTorch momentum 0.1; epsilon 1e-5.
 * - conv weights init uniform(±1/√fan_in): varianceScaling(scale 1/3, fanIn, uniform) has limit
 *   √(3·scale/fan_in) = 1/√fan_in, as PyTorch's kaiming_uniform(a = √5).
 * - the final 1×1 conv 16→10 on the 1×1 pooled map is a dense layer without bias (same 160 weights).
 * - loss: log-softmax + NLL, mean over the batch.
 * - SGD lr 0.01 momentum 0.9 (tf.train.momentum: v ← 0.9·v + g, p ← p − 0.01·v; v starts at 0,
 *   so v = g on the first step, as PyTorch).
 * One difference we accept: Keras updates the BN moving variance with the biased batch variance
 * (PyTorch uses the unbiased one); it does not change the cost of a step.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
// Registers the 'webgpu' backend (side effect).
import '@tensorflow/tfjs-backend-webgpu';
import { median } from '../../bench/profile.js';
import { MNIST_INPUT } from '../../train/trainer.js';

export interface TfjsSeedCnnBenchOptions {
  batch: number;
  /** Timed training steps (after the first step and the warm-up steps). */
  steps: number;
  /** Untimed steps after the first step, before the timed ones (default 0). */
  warmup?: number;
}

export interface TfjsSeedCnnBenchResult {
  backend: string;
  adapter: string;
  tfjs_version: string;
  batch: number;
  /** batch / median timed step (seconds). */
  samples_per_s: number;
  ms_per_step: { min: number; median: number; max: number };
  /** The first step alone: includes building the WebGPU pipelines (shader compilation). */
  first_step_ms: number;
  trainable_params: number;
  loss_first: number;
  loss_last: number;
}

export const SEED_CNN_TRAINABLE_PARAMS = 13_808;

const BN_MOMENTUM = 0.9; // Keras convention: moving = 0.9·moving + 0.1·batch (PyTorch momentum 0.1)
const BN_EPSILON = 1e-5;
const DROPOUT = 0.1;
const LR = 0.01;
const MOMENTUM = 0.9;

/** PyTorch's default conv/linear weight init: uniform(±1/√fan_in). */
function torchInit(seed: number) {
  return tfl.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed });
}

/** The SPEC §2 CNN, NHWC input [batch, 28, 28, 1], output logits [batch, 10]. */
export function buildSeedCnnTfjs(seed = 1): tfl.Sequential {
  const model = tfl.sequential({ name: 'seed_cnn' });
  let layerSeed = seed;
  const conv = (filters: number, kernelSize: number, padding: 'valid' | 'same', inputShape?: number[]) =>
    tfl.layers.conv2d({
      filters,
      kernelSize,
      padding,
      useBias: false,
      kernelInitializer: torchInit(layerSeed++),
      ...(inputShape ? { inputShape } : {}),
    });
  const block = (filters: number, padding: 'valid' | 'same', inputShape?: number[]) => {
    model.add(conv(filters, 3, padding, inputShape));
    model.add(tfl.layers.reLU());
    model.add(tfl.layers.batchNormalization({ axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON }));
    model.add(tfl.layers.dropout({ rate: DROPOUT }));
  };
  block(16, 'valid', [28, 28, 1]); // 26×26×16
  block(32, 'valid'); // 24×24×32
  model.add(conv(10, 1, 'valid')); // 24×24×10, no ReLU/BN/Dropout
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 })); // 12×12×10
  block(16, 'valid'); // 10×10×16
  block(16, 'valid'); // 8×8×16
  block(16, 'valid'); // 6×6×16
  block(16, 'same'); // 6×6×16 (pad 1)
  model.add(tfl.layers.globalAveragePooling2d({})); // 16
  model.add(tfl.layers.dense({ units: 10, useBias: false, kernelInitializer: torchInit(layerSeed++) })); // 10 logits
  return model;
}

/** Trainable parameters of the model, counted from the variables' shapes. */
export function countTrainableParams(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/** log-softmax + NLL, mean over the batch. `oneHot` is [batch, 10]. */
function nllLoss(logits: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

/** mulberry32: a small seeded PRNG, so the synthetic batch is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A fixed MNIST-like batch: each 28×28 image is black with a few thick bright strokes inside the
 * central 20×20 box (about 19 % of pixels lit, like MNIST), normalised as the training data
 * ((x/255 − 0.1307)/0.3081); labels 0..9 cycled.
 */
export function syntheticMnistBatch(batch: number, seed = 1): { images: Float32Array; labels: Int32Array } {
  const rand = prng(seed);
  const images = new Float32Array(batch * 28 * 28);
  const labels = new Int32Array(batch);
  for (let n = 0; n < batch; n++) {
    labels[n] = n % 10;
    const pixels = new Float32Array(28 * 28);
    const strokes = 2 + Math.floor(rand() * 3);
    for (let s = 0; s < strokes; s++) {
      const x0 = 4 + rand() * 20;
      const y0 = 4 + rand() * 20;
      const x1 = 4 + rand() * 20;
      const y1 = 4 + rand() * 20;
      const len = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
      for (let i = 0; i <= len; i++) {
        const cx = x0 + ((x1 - x0) * i) / len;
        const cy = y0 + ((y1 - y0) * i) / len;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            const px = Math.round(cx) + dx;
            const py = Math.round(cy) + dy;
            if (px < 0 || px >= 28 || py < 0 || py >= 28) continue;
            const d = Math.hypot(px - cx, py - cy);
            const v = d < 1 ? 255 : d < 2.2 ? Math.round(255 * (2.2 - d) / 1.2) : 0;
            const k = py * 28 + px;
            pixels[k] = Math.max(pixels[k] ?? 0, v);
          }
        }
      }
    }
    for (let k = 0; k < 28 * 28; k++) {
      images[n * 28 * 28 + k] = ((pixels[k] ?? 0) / 255 - MNIST_INPUT.mean) / MNIST_INPUT.deviation;
    }
  }
  return { images, labels };
}

/** The adapter the browser gives for the same request as the tfjs backend (high-performance). */
async function describeAdapter(): Promise<string> {
  try {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
    const info = adapter?.info;
    if (!info) return 'unknown';
    const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
    return parts.length > 0 ? parts.join(' / ') : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function runTfjsSeedCnnBench(options: TfjsSeedCnnBenchOptions): Promise<TfjsSeedCnnBenchResult> {
  const { batch, steps } = options;
  const warmup = options.warmup ?? 0;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`tfjs bench: batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`tfjs bench: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`tfjs bench: warmup must be a non-negative integer, got ${warmup}`);

  if (typeof navigator === 'undefined' || !navigator.gpu) {
    throw new Error('tfjs bench: WebGPU is not available here (navigator.gpu is missing)');
  }
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
    await tf.ready();
  } catch (error) {
    throw new Error(`tfjs bench: could not initialise the TF.js 'webgpu' backend: ${(error as Error).message}`);
  }
  if (!ok || tf.getBackend() !== 'webgpu') {
    throw new Error(`tfjs bench: could not initialise the TF.js 'webgpu' backend (active backend: ${tf.getBackend() ?? 'none'})`);
  }
  const adapter = await describeAdapter();

  const model = buildSeedCnnTfjs(1);
  const trainableParams = countTrainableParams(model);
  if (trainableParams !== SEED_CNN_TRAINABLE_PARAMS || model.countParams() !== SEED_CNN_TRAINABLE_PARAMS + 224) {
    model.dispose();
    throw new Error(
      `tfjs bench: the TF.js seed CNN has ${trainableParams} trainable parameters ` +
        `(${model.countParams()} in all), expected ${SEED_CNN_TRAINABLE_PARAMS} (+224 BN running stats)`,
    );
  }
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.momentum(LR, MOMENTUM, false);

  const data = syntheticMnistBatch(batch, 1);
  const x = tf.tensor4d(data.images, [batch, 28, 28, 1]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(data.labels, 'int32'), 10), 'float32'));

  // One training step; resolves when the GPU has finished it (the loss has been read back).
  const step = async (): Promise<number> => {
    const loss = tf.tidy((): tf.Scalar => {
      const cost = optimizer.minimize(
        () => {
          const logits = model.apply(x, { training: true }) as tf.Tensor;
          return nllLoss(logits, y);
        },
        true,
        variables,
      );
      if (!cost) throw new Error('tfjs bench: optimizer.minimize returned no loss');
      return cost;
    });
    try {
      const value = (await loss.data())[0];
      if (value === undefined || !Number.isFinite(value)) throw new Error(`tfjs bench: loss is ${value}`);
      return value;
    } finally {
      loss.dispose();
    }
  };

  try {
    let t0 = performance.now();
    const lossFirst = await step();
    const firstStepMs = performance.now() - t0;
    for (let i = 0; i < warmup; i++) await step();
    const tensorsBefore = tf.memory().numTensors;

    const times: number[] = [];
    let lossLast = lossFirst;
    for (let i = 0; i < steps; i++) {
      t0 = performance.now();
      lossLast = await step();
      times.push(performance.now() - t0);
    }
    const tensorsAfter = tf.memory().numTensors;
    if (tensorsAfter !== tensorsBefore) {
      console.warn(`tfjs bench: tensor count changed over the timed steps: ${tensorsBefore} → ${tensorsAfter}`);
    }

    const sorted = [...times].sort((a, b) => a - b);
    const med = median(sorted);
    return {
      backend: tf.getBackend(),
      adapter,
      tfjs_version: tf.version_core,
      batch,
      // Throughput from the median timed step: batch / (median step in seconds).
      samples_per_s: batch / (med / 1000),
      ms_per_step: { min: sorted[0]!, median: med, max: sorted[sorted.length - 1]! },
      first_step_ms: firstStepMs,
      trainable_params: trainableParams,
      loss_first: lossFirst,
      loss_last: lossLast,
    };
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
    model.dispose();
  }
}
