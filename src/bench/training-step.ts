/**
 * The training-step benchmark of a network (the seed CNN unless told otherwise): a correctness
 * check against the float64 reference first, then the timings.
 *
 * - `pipelined`: steps as the training loop runs them (at most two in flight) → samples/s;
 * - `isolated`: each step submitted and waited for alone → min / median / max ms; the first step
 *   (pipeline compilation and binding included) apart;
 * - `layers`: each dispatch of one step timed (GPU timestamps where the adapter has them, else wall
 *   time around a lone dispatch), summed per layer and phase (forward, backward, optimizer).
 */
import { recordPass, type Dispatch, type GpuContext } from '../gpu/context.js';
import type { MnistSplit } from '../data/idx.js';
import type { SampleShape, TileChooser } from '../layers/layer.js';
import type { Module } from '../layers/sequential.js';
import { SEED_CNN_INPUT, seedCnn } from '../models/seed-cnn.js';
import { SGD } from '../optim/optimizers.js';
import { Network } from '../plan/network.js';
import { checkNetworkStep, formatCheckReport } from '../plan/check.js';
import { planModel, trainingFlops } from '../plan/plan.js';
import { uploadSplit } from '../train/gpu-dataset.js';
import { median, profileDispatches, type DispatchProfile, type TimingSource } from './profile.js';
import { Trainer } from '../train/trainer.js';

/** The network a benchmark times: its definition, input shape and name (scenario `<name>-train-step`). */
export interface BenchModel {
  readonly name: string;
  readonly model: Module;
  readonly input: SampleShape;
}

/** The default: the seed CNN (training FLOP per sample, SPEC.md: 6.79 + 6.79 + 6.59 MFLOP = 20.17). */
export const SEED_CNN_BENCH: BenchModel = { name: 'seed-cnn', model: seedCnn(), input: SEED_CNN_INPUT };

/** Training FLOP per sample of a benchmarked network (`trainingFlops` of its plan). */
export const flopsPerSample = (m: BenchModel) => trainingFlops(planModel(m.model, { inputShape: m.input })).total;

export interface StepCheck {
  readonly batch: number;
  readonly maxAbsError: number;
  readonly worst: string;
}

/**
 * One training step at a small batch against the float64 reference composed for any network
 * (src/plan/check.ts: same weights, batch and dropout masks). Throws if any activation, gradient
 * or updated tensor is off by more than 1e-4 + 1e-3·|expected|.
 */
export async function checkTrainingStep(ctx: GpuContext, m: BenchModel = SEED_CNN_BENCH, batch = 4): Promise<StepCheck> {
  const network = new Network(ctx, m.model, { inputShape: m.input, maxBatch: batch, seed: 11, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }) });
  const images = Float32Array.from({ length: network.input.length }, (_, i) => Math.sin(i * 0.37) * 1.5 + 0.5);
  const labels = Uint32Array.from({ length: batch }, (_, b) => (3 * b + 1) % 10);
  const report = await checkNetworkStep(network, images, labels);
  if (!report.passed) throw new Error(`benchmark check: the GPU step disagrees with the float64 reference\n${formatCheckReport(report)}`);
  const worst = report.rows.reduce((a, b) => (b.maxAbsError > a.maxAbsError ? b : a));
  return { batch, maxAbsError: worst.maxAbsError, worst: `${worst.tensor}[${worst.worst.index}]` };
}

export interface StepTimings {
  readonly batch: number;
  readonly firstStepMs: number;
  /**
   * The pipelines created for the first step, with their creation times (GpuContext.pipelineTimes;
   * those an earlier network on the context made are reused, not created again).
   */
  readonly firstStepPipelines: readonly { readonly kernel: string; readonly ms: number }[];
  readonly msPerStep: { readonly min: number; readonly median: number; readonly max: number };
  readonly samplesPerSecond: number;
  readonly gflops: number;
  /** Bound bytes of one step's dispatches, each tensor counted once per dispatch. */
  readonly bytesPerStep: number;
  /** How `layers` was timed: GPU timestamps per dispatch, or wall clock around lone dispatches. */
  readonly layerTiming: TimingSource;
  readonly layers: readonly LayerTime[];
  /** Bytes the network's plan allocated (parameters, optimizer state, activations, gradients, workspace). */
  readonly planBytes: number;
  /** With `alternate`: each round's probe (GFLOP/s) and the pipelined steps' samples/s right after it. */
  readonly alternated: readonly { readonly probeGflops: number; readonly samplesPerSecond: number }[];
}

export interface LayerTime {
  readonly layer: string;
  readonly phase: 'forward' | 'backward' | 'optimizer';
  readonly ms: number;
  /** Bound bytes of the layer's dispatches in this phase, each tensor counted once per dispatch. */
  readonly bytes: number;
  /** bytes / ms: the least memory traffic rate, against the bandwidth probe. */
  readonly gb_per_s: number;
}

/** The layer and phase of a training-step dispatch, from its label. */
export function phaseOf(label: string): { layer: string; phase: LayerTime['phase'] } {
  const optimizer = /^(sgd|adam|adamw) (\S+)/.exec(label);
  if (optimizer) return { layer: optimizer[2]!.split('.')[0]!, phase: 'optimizer' };
  const layer = label.split(' ')[0]!.split('.')[0]!;
  const phase = /backward|gradient/.test(label) ? 'backward' : 'forward';
  return { layer: /^(train|log_softmax|nll|batch)$/.test(layer) ? 'loss and data' : layer, phase };
}

export type LayerRow = { layer: string } & Partial<Record<LayerTime['phase'], LayerTime>>;

/** One row per layer (in step order) with its forward, backward and optimizer times (absent: none). */
export function layerRows(layers: readonly LayerTime[]): LayerRow[] {
  const rows = new Map<string, LayerRow>();
  for (const l of layers) {
    const row = rows.get(l.layer) ?? { layer: l.layer };
    row[l.phase] = l;
    rows.set(l.layer, row);
  }
  return [...rows.values()];
}

/** Dispatch times summed per layer and phase, in step order. */
export function layerTimes(profile: DispatchProfile): LayerTime[] {
  const byLayer = new Map<string, { layer: string; phase: LayerTime['phase']; ms: number; bytes: number }>();
  for (const d of profile.dispatches) {
    const { layer, phase } = phaseOf(d.label);
    const key = `${layer}/${phase}`;
    const entry = byLayer.get(key) ?? { layer, phase, ms: 0, bytes: 0 };
    entry.ms += d.ms;
    entry.bytes += d.bytes;
    byLayer.set(key, entry);
  }
  return [...byLayer.values()].map((l) => ({ ...l, ms: Number(l.ms.toFixed(3)), gb_per_s: Number((l.ms > 0 ? l.bytes / l.ms / 1e6 : 0).toFixed(3)) }));
}

/**
 * Times training steps of a network (SGD momentum 0.9) at `batch` on real MNIST images. With
 * `alternate`, then `rounds` times: `probe()` (the FMA probe's best shape), then `steps` pipelined
 * steps, so that the step's share of the probe is read in pairs from the same minutes.
 */
export async function measureTrainingSteps(
  ctx: GpuContext,
  train: MnistSplit,
  options: { batch: number; steps?: number; model?: BenchModel; tiles?: TileChooser; alternate?: { readonly rounds: number; readonly probe: () => Promise<number> } },
): Promise<StepTimings> {
  const { batch } = options;
  const steps = options.steps ?? 10;
  const m = options.model ?? SEED_CNN_BENCH;
  // The network's, data's and trainer's tensors are freed when the timing is done, so a batch
  // sweep holds one batch's network at a time.
  const scope = ctx.scoped(() => {
    const model = new Network(ctx, m.model, { inputShape: m.input, maxBatch: batch, seed: 1, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }), tiles: options.tiles });
    const split = uploadSplit(ctx, 'train', train, Math.min(train.count, batch * (steps + 1)));
    // Rotation on, as `npm start` trains (the step measured is the CLI's).
    return { model, split, trainer: new Trainer(ctx, model, split, split, { batch, seed: 1, augment: true }) };
  });
  const { model, split, trainer } = scope.value;
  let step: Dispatch[] = [];
  try {
    model.beginStep(batch, 0);

    await ctx.sync();
    const pipelinesBefore = ctx.pipelineTimes.length;
    let t0 = performance.now();
    const program = await trainer.program(split, batch, 'train');
    step = [program.batch, ...program.rest];
    const runStep = async () => {
      ctx.submit('benchmark step', (e) => recordPass(e, 'benchmark step', step));
      await ctx.sync();
    };
    await runStep();
    const firstStepMs = performance.now() - t0;
    const firstStepPipelines = ctx.pipelineTimes.slice(pipelinesBefore);

    const isolated: number[] = [];
    for (let i = 0; i < Math.min(steps, 5); i++) {
      t0 = performance.now();
      await runStep();
      isolated.push(performance.now() - t0);
    }

    await ctx.sync();
    const pipelined = await trainer.trainEpoch(1, { maxSteps: steps });

    const profile = await profileDispatches(ctx, step);
    const alternated: { probeGflops: number; samplesPerSecond: number }[] = [];
    for (let round = 0; round < (options.alternate?.rounds ?? 0); round++) {
      const probeGflops = await options.alternate!.probe();
      await ctx.sync();
      alternated.push({ probeGflops, samplesPerSecond: (await trainer.trainEpoch(1, { maxSteps: steps })).samplesPerSecond });
    }
    const samplesPerSecond = pipelined.samplesPerSecond;
    return {
      batch,
      firstStepMs,
      firstStepPipelines,
      msPerStep: { min: Math.min(...isolated), median: median(isolated), max: Math.max(...isolated) },
      samplesPerSecond,
      gflops: (samplesPerSecond * flopsPerSample(m)) / 1e9,
      bytesPerStep: step.reduce((sum, d) => sum + (d.bytes ?? 0), 0),
      layerTiming: profile.source,
      layers: layerTimes(profile),
      planBytes: model.memory.total,
      alternated,
    };
  } finally {
    for (const d of step) d.destroy?.();
    scope.destroy();
  }
}
