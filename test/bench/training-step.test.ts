/**
 * The benchmark's training-step scenario (src/bench/training-step.ts) frees what it allocated:
 * a batch sweep holds one batch's network at a time; and it counts the pipelines its first step
 * created; with `alternate`, it times the probe and its steps in turn.
 */
import { expect, test } from 'vitest';
import { alternatedShare, pipelineSummary } from '../../src/bench/scenarios.js';
import { measureFmaShape } from '../../src/bench/fma-peak.js';
import { Trainer } from '../../src/train/trainer.js';
import { measureTrainingSteps } from '../../src/bench/training-step.js';
import type { MnistSplit } from '../../src/data/idx.js';
import { gpuTest } from '../helpers/gpu.js';

gpuTest('a scenario destroys its network, data and step buffers when it is done', async (ctx) => {
  const count = 64;
  const train: MnistSplit = {
    images: Uint8Array.from({ length: count * 784 }, (_, i) => (i * 37) % 256),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    rows: 28,
    cols: 28,
  };
  // Every buffer the context makes while the scenario runs, and whether it was destroyed.
  const made: { label: string; size: number; destroyed: boolean }[] = [];
  const device = ctx.device;
  const createBuffer = device.createBuffer;
  device.createBuffer = ((descriptor: GPUBufferDescriptor) => {
    const buffer = createBuffer.call(device, descriptor);
    const entry = { label: descriptor.label ?? '', size: descriptor.size, destroyed: false };
    made.push(entry);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      entry.destroyed = true;
      destroy();
    };
    return buffer;
  }) as typeof device.createBuffer;
  try {
    const timings = await measureTrainingSteps(ctx, train, { batch: 8, steps: 2 });
    expect(timings.samplesPerSecond).toBeGreaterThan(0);
    // The first step created most of the seed CNN's pipelines (this file's context had none; the
    // network made a few before it): its convolutions' among them; the summary counts them and
    // names the longest.
    const first = pipelineSummary(timings.firstStepPipelines);
    expect(first.created).toBeGreaterThan(20);
    const kernels = new Set(timings.firstStepPipelines.map((p) => p.kernel));
    for (const k of ['conv2d_forward', 'conv2d_backward_input', 'conv2d_backward_weight', 'conv2d_backward_weight_reduce']) expect(kernels, k).toContain(k);
    expect(first.longest_ms).toBeGreaterThan(0);
    expect(first.sum_ms).toBeGreaterThanOrEqual(first.longest_ms);
    expect(timings.firstStepPipelines.some((p) => p.kernel === first.longest && Math.abs(p.ms - first.longest_ms) < 0.1)).toBe(true);
  } finally {
    device.createBuffer = createBuffer;
  }
  // A second scenario on the context reuses every pipeline: none created for its first step.
  expect((await measureTrainingSteps(ctx, train, { batch: 8, steps: 1 })).firstStepPipelines).toEqual([]);
  const kept = made.filter((b) => !b.destroyed);
  const keptBytes = kept.reduce((sum, b) => sum + b.size, 0);
  const madeBytes = made.reduce((sum, b) => sum + b.size, 0);
  // The network's activations, gradients and workspace, the uploaded images and the step's
  // parameter buffers and maps are gone (7 MB here); what stays is a few bytes (the trainer's
  // 20-byte metrics read-back buffers, the shuffle's parameters: 76 bytes when this was written).
  expect(madeBytes, 'bytes made').toBeGreaterThan(1e6);
  expect(keptBytes, `kept: ${kept.map((b) => `${b.label} (${b.size})`).join(', ')}`).toBeLessThan(1024);
  for (const label of ['input', 'activation gradient A', 'convblock2.0 output']) {
    const entries = made.filter((b) => b.label === label);
    expect(entries.length, `${label} made`).toBeGreaterThan(0);
    expect(entries.every((b) => b.destroyed), `${label} destroyed`).toBe(true);
  }
});

test("the share from rounds timed in turn: each round's samples/s × FLOP a sample over its own probe, and their median", () => {
  const rounds = [
    { probeGflops: 100, samplesPerSecond: 1000 },
    { probeGflops: 50, samplesPerSecond: 1000 },
    { probeGflops: 100, samplesPerSecond: 2000 },
  ];
  // 1,000 samples/s × 1 MFLOP = 1 GFLOP/s: 1 % of a 100 GFLOP/s probe, 2 % of a 50.
  expect(alternatedShare(rounds, 1e6)).toEqual({
    rounds: [
      { probe_gflops: 100, samples_per_s: 1000, share: 0.01 },
      { probe_gflops: 50, samples_per_s: 1000, share: 0.02 },
      { probe_gflops: 100, samples_per_s: 2000, share: 0.02 },
    ],
    median: 0.02,
  });
  expect(() => alternatedShare([], 1e6)).toThrow(/no rounds/);
});

gpuTest('with `alternate`, the probe and the pipelined steps are timed in turn, a round each', async (ctx) => {
  const count = 32;
  const train: MnistSplit = { images: Uint8Array.from({ length: count * 784 }, (_, i) => (i * 53) % 256), labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, rows: 28, cols: 28 };
  const calls: string[] = [];
  const probes = [5, 7];
  let probed = 0;
  const trainEpoch = Trainer.prototype.trainEpoch;
  Trainer.prototype.trainEpoch = function (this: Trainer, ...args: Parameters<typeof trainEpoch>) {
    calls.push('steps');
    return trainEpoch.apply(this, args);
  };
  try {
    const timings = await measureTrainingSteps(ctx, train, { batch: 8, steps: 1, alternate: { rounds: 2, probe: async () => (calls.push('probe'), probes[probed++]!) } });
    // The scenario's own pipelined steps, then probe and steps twice.
    expect(calls).toEqual(['steps', 'probe', 'steps', 'probe', 'steps']);
    expect(timings.alternated.map((r) => r.probeGflops)).toEqual([5, 7]);
    for (const r of timings.alternated) expect(r.samplesPerSecond).toBeGreaterThan(0);
    // Without it, no rounds.
    calls.length = 0;
    expect((await measureTrainingSteps(ctx, train, { batch: 8, steps: 1 })).alternated).toEqual([]);
    expect(calls).toEqual(['steps']);
  } finally {
    Trainer.prototype.trainEpoch = trainEpoch;
  }
});

gpuTest("measureFmaShape times the one shape it is given, as the sweep measures it", async (ctx) => {
  const shape = { chains: 4, workgroupSize: 64, explicitFma: true, products: false };
  const before = ctx.pipelineTimes.length;
  const gflops = await measureFmaShape(ctx, shape);
  expect(gflops).toBeGreaterThan(0);
  // One variant compiled (none where an earlier test compiled it on this context): the sweep's 27 are not.
  expect(ctx.pipelineTimes.length - before).toBeLessThanOrEqual(1);
});
