/**
 * The benchmark scenarios, the same in Node (`npm run bench:node`) and in the browser
 * (`npm run bench`, bench.html): first the checks (one training step of the benchmarked network
 * against the float64 reference, the 2-2-2 run against the sheet), then the adapter probes (FMA
 * peak, bandwidth), the 2-2-2 run, and the network's training step at each batch size (the seed
 * CNN unless a model file is given).
 */
import type { GpuContext } from '../gpu/context.js';
import type { MnistSplit } from '../data/idx.js';
import { SHEET_EXAMPLE, runTwoTwoTwo } from '../models/two-two-two.js';
import { measureBandwidth } from './bandwidth.js';
import { describeFmaPeakVariant, measureFmaPeak, measureFmaShape } from './fma-peak.js';
import { SEED_CNN_BENCH, checkTrainingStep, flopsPerSample, layerRows, measureTrainingSteps, type BenchModel, type LayerTime, type StepCheck } from './training-step.js';
import { median, type TimingSource } from './profile.js';
import { tuneModel, type TuneEntry, type TuneMode, type TuningStore } from '../tune/tuner.js';
import type { ConvTile, WeightTile } from '../kernels/conv2d.js';
import type { DenseTile } from '../kernels/dense.js';

/** The sheet's E_total after 63 updates (SPEC.md §1). */
export const SHEET_FINAL_E_TOTAL = 0.0002558554597;

export interface TrainingScenario {
  /** `<network>-train-step`: `seed-cnn-train-step` for the seed CNN. */
  readonly scenario: string;
  readonly batch: number;
  readonly samples_per_s: number;
  readonly ms_per_step: { readonly min: number; readonly median: number; readonly max: number };
  readonly first_step_ms: number;
  /** The pipelines the first step created (StepTimings.firstStepPipelines): where its time went on a driver that compiles at creation. */
  readonly first_step_pipelines: PipelineSummary;
  readonly gflops: number;
  /** GFLOP/s over the adapter's measured FMA peak. */
  readonly peak_share: number;
  /** With `--alternate N`: the probe's best shape and the steps timed in turn, N rounds (alternatedShare). */
  readonly peak_share_alternated?: AlternatedShare;
  readonly mflop_per_sample: number;
  /** Bound bytes of one step (each tensor once per dispatch), and that traffic per second. */
  readonly mbytes_per_step: number;
  readonly gb_per_s: number;
  /** GB/s over the bandwidth probe's. */
  readonly bandwidth_share: number;
  /** GPU memory the network's plan allocated at this batch, in MB (the data set not counted). */
  readonly plan_mb: number;
  /**
   * The conv and dense tiles used (tuned), or that the default tiles were; `runs_with`, a weight
   * tile as the network runs it where its cap on the splits raises the rows (TuneEntry.runsWith).
   */
  readonly variants: readonly { kernel: string; layers: readonly string[]; tile: ConvTile | WeightTile | DenseTile; runs_with?: WeightTile; ms: number; default_ms: number }[] | string;
  /** Seconds spent tuning before this scenario (0: all from the cache, or no tuning). */
  readonly tuning_s: number;
  readonly layer_timing: TimingSource;
  readonly layers_ms: readonly LayerTime[];
}

export interface BenchReport {
  readonly adapter: string;
  readonly runtime: string;
  readonly date: string;
  readonly check: { readonly training_step: StepCheck; readonly two_two_two_final_E_total: number };
  readonly fma_peak_gflops: number;
  /** The probe's fastest shape on this adapter (vec4s, workgroup size, fma() or x·m + a, sums of products or chains). */
  readonly fma_peak_variant: { readonly chains: number; readonly workgroupSize: number; readonly explicitFma: boolean; readonly products: boolean };
  readonly bandwidth_gb_per_s: number;
  readonly two_two_two: { readonly scenario: 'two-two-two'; readonly rows: number; readonly ms: number };
  readonly scenarios: readonly TrainingScenario[];
  /** Every pipeline the run created (the checks', the probes', the tuner's, the scenarios'): see pipelineSummary. */
  readonly pipelines: PipelineSummary;
}

export interface BenchOptions {
  readonly batches: readonly number[];
  readonly steps: number;
  /** Where the runtime is described in the report (e.g. "Node 20, Dawn" or the browser's version). */
  readonly runtime: string;
  readonly log?: (line: string) => void;
  /** The network to time (default: the seed CNN). */
  readonly model?: BenchModel;
  /** Conv and dense tiles: from a tuning store (tuning what is missing, or all with 'full'); default tiles without. */
  readonly tuning?: { readonly store: TuningStore; readonly mode: TuneMode };
  /**
   * Rounds of the FMA probe's best shape and `steps` training steps timed in turn after each
   * scenario (0 or absent: none): on a machine whose speed moves by the minute, a share from
   * pairs read together (peak_share_alternated) next to the one against the sweep's best.
   */
  readonly alternate?: number;
}

/** A scenario's share of the probe from rounds of the two timed in turn: each round's, and their median. */
export interface AlternatedShare {
  readonly rounds: readonly { readonly probe_gflops: number; readonly samples_per_s: number; readonly share: number }[];
  readonly median: number;
}

/** The rounds' shares (samples/s × FLOP a sample over the round's probe) and their median. */
export function alternatedShare(rounds: readonly { readonly probeGflops: number; readonly samplesPerSecond: number }[], flopPerSample: number): AlternatedShare {
  if (rounds.length === 0) throw new Error('alternatedShare: no rounds');
  const shares = rounds.map((r) => (r.samplesPerSecond * flopPerSample) / 1e9 / r.probeGflops);
  return {
    rounds: rounds.map((r, i) => ({ probe_gflops: round(r.probeGflops, 2), samples_per_s: round(r.samplesPerSecond, 1), share: round(shares[i]!, 3) })),
    median: round(median(shares), 3),
  };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

export async function runBenchmarks(ctx: GpuContext, train: MnistSplit, options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const model = options.model ?? SEED_CNN_BENCH;
  log(`check: one ${model.name} training step against the float64 reference`);
  const check = await checkTrainingStep(ctx, model);
  log('check: the 2-2-2 run against the sheet');
  const [sheet] = await runTwoTwoTwo(ctx, { learningRates: [SHEET_EXAMPLE.learningRate], gradient: 'spreadsheet' });
  const last = sheet!.rows[sheet!.rows.length - 1]!;
  if (!(Math.abs(last.E_total - SHEET_FINAL_E_TOTAL) <= 1e-6)) throw new Error(`2-2-2 check: final E_total ${last.E_total}, the sheet has ${SHEET_FINAL_E_TOTAL}`);

  log('probe: FMA peak');
  const peak = await measureFmaPeak(ctx);
  log('probe: bandwidth');
  const bandwidth = await measureBandwidth(ctx);

  log(`scenario: the 2-2-2 run (${SHEET_EXAMPLE.rows} rows, one submission)`);
  await ctx.sync();
  const t0 = performance.now();
  await runTwoTwoTwo(ctx, { learningRates: [SHEET_EXAMPLE.learningRate] });
  const sheetMs = performance.now() - t0;

  const scenarios: TrainingScenario[] = [];
  for (const batch of options.batches) {
    const tuned = options.tuning && options.tuning.mode !== 'off'
      ? await tuneModel(ctx, model.model, { inputShape: model.input, batch, ...options.tuning, onProgress: (done, total, label) => done < total && log(`tuning ${done + 1}/${total}: ${label}`) })
      : undefined;
    log(`scenario: ${model.name} training step, batch ${batch}`);
    const alternate = options.alternate ? { rounds: options.alternate, probe: () => measureFmaShape(ctx, peak.best) } : undefined;
    const t = await measureTrainingSteps(ctx, train, { batch, steps: options.steps, model, tiles: tuned?.tiles, alternate });
    const gbPerSecond = (t.bytesPerStep * (t.samplesPerSecond / batch)) / 1e9;
    scenarios.push({
      scenario: `${model.name}-train-step`,
      batch,
      samples_per_s: round(t.samplesPerSecond, 1),
      ms_per_step: { min: round(t.msPerStep.min, 1), median: round(t.msPerStep.median, 1), max: round(t.msPerStep.max, 1) },
      first_step_ms: round(t.firstStepMs, 1),
      first_step_pipelines: pipelineSummary(t.firstStepPipelines),
      gflops: round(t.gflops, 2),
      peak_share: round(t.gflops / peak.gflops, 3),
      ...(t.alternated.length > 0 ? { peak_share_alternated: alternatedShare(t.alternated, flopsPerSample(model)) } : {}),
      mflop_per_sample: round(flopsPerSample(model) / 1e6, 3),
      mbytes_per_step: round(t.bytesPerStep / 1e6, 1),
      gb_per_s: round(gbPerSecond, 2),
      bandwidth_share: round(gbPerSecond / bandwidth.gbPerSecond, 3),
      plan_mb: round(t.planBytes / 1e6, 1),
      variants: tuned
        ? benchVariants(tuned.entries)
        : 'default tiles (no tuning)',
      tuning_s: tuned ? round(tuned.seconds, 1) : 0,
      layer_timing: t.layerTiming,
      layers_ms: t.layers,
    });
  }
  return {
    adapter: ctx.adapter.summary,
    runtime: options.runtime,
    date: new Date().toISOString(),
    check: { training_step: check, two_two_two_final_E_total: last.E_total },
    fma_peak_gflops: round(peak.gflops, 2),
    fma_peak_variant: { chains: peak.best.chains, workgroupSize: peak.best.workgroupSize, explicitFma: peak.best.explicitFma, products: peak.best.products },
    bandwidth_gb_per_s: round(bandwidth.gbPerSecond, 2),
    two_two_two: { scenario: 'two-two-two', rows: SHEET_EXAMPLE.rows, ms: round(sheetMs, 2) },
    scenarios,
    pipelines: pipelineSummary(ctx.pipelineTimes),
  };
}

export interface PipelineSummary {
  readonly created: number;
  /** Their creation times summed (creations overlap: more than the wall time they took). */
  readonly sum_ms: number;
  readonly longest_ms: number;
  readonly longest: string;
}

/** How many pipelines, their creation times summed, the longest (GpuContext.pipelineTimes). */
export function pipelineSummary(times: readonly { readonly kernel: string; readonly ms: number }[]): PipelineSummary {
  const longest = times.reduce<{ kernel: string; ms: number } | undefined>((a, b) => (a === undefined || b.ms > a.ms ? b : a), undefined);
  return { created: times.length, sum_ms: round(times.reduce((sum, t) => sum + t.ms, 0), 1), longest_ms: round(longest?.ms ?? 0, 1), longest: longest?.kernel ?? '' };
}

/** The benchmark JSON's record of the tuned tiles (TrainingScenario.variants). */
export function benchVariants(entries: readonly TuneEntry[]): Exclude<TrainingScenario['variants'], string> {
  return entries.map((e) => ({ kernel: e.kernel, layers: e.layers, tile: e.tile, ...('runsWith' in e && e.runsWith ? { runs_with: e.runsWith } : {}), ms: round(e.ms, 2), default_ms: round(e.defaultMs, 2) }));
}

/** A plain-text table of a report (one line per scenario), for stdout. */
export function formatBenchTable(report: BenchReport, extra: readonly string[] = []): string {
  const lines = [
    `adapter: ${report.adapter}`,
    `runtime: ${report.runtime}`,
    `checks: training step max |Δ| ${report.check.training_step.maxAbsError.toExponential(2)} (${report.check.training_step.worst}); 2-2-2 final E_total ${report.check.two_two_two_final_E_total.toPrecision(10)}`,
    `FMA peak ${report.fma_peak_gflops} GFLOP/s (${describeFmaPeakVariant(report.fma_peak_variant)}), bandwidth ${report.bandwidth_gb_per_s} GB/s, 2-2-2 run ${report.two_two_two.ms} ms`,
    '',
    'scenario              batch  samples/s  ms/step min / median / max   first step ms  GFLOP/s  share of peak   GB/s  share of bandwidth  plan MB',
  ];
  for (const s of report.scenarios) {
    const ms = `${s.ms_per_step.min} / ${s.ms_per_step.median} / ${s.ms_per_step.max}`;
    lines.push(
      `${s.scenario.padEnd(22)}${String(s.batch).padStart(5)}${String(s.samples_per_s).padStart(11)}  ${ms.padStart(28)}${String(s.first_step_ms).padStart(15)}${String(s.gflops).padStart(9)}${`${(100 * s.peak_share).toFixed(1)} %`.padStart(15)}${String(s.gb_per_s).padStart(7)}${`${(100 * s.bandwidth_share).toFixed(1)} %`.padStart(20)}${String(s.plan_mb).padStart(9)}`,
    );
  }
  const pipelines = (p: PipelineSummary) => `${p.created} pipelines created, ${p.sum_ms} ms summed (they overlap), the longest ${p.longest_ms} ms (${p.longest})`;
  lines.push('', `pipelines: ${pipelines(report.pipelines)} in the whole run`);
  for (const s of report.scenarios) if (s.first_step_pipelines.created > 0) lines.push(`first step at batch ${s.batch}: ${pipelines(s.first_step_pipelines)}`);
  for (const s of report.scenarios) {
    const a = s.peak_share_alternated;
    if (a) lines.push(`share of peak at batch ${s.batch}, the probe's best shape and the steps in turn: median ${(100 * a.median).toFixed(1)} % (${a.rounds.map((r) => `${(100 * r.share).toFixed(1)} % of ${r.probe_gflops}`).join(', ')})`);
  }
  const last = report.scenarios[report.scenarios.length - 1];
  if (last) {
    const cell = (t: LayerTime | undefined) => (t === undefined ? '' : `${t.ms.toFixed(2)} (${t.gb_per_s.toFixed(2)})`).padStart(18);
    lines.push('', `per layer at batch ${last.batch} (${last.layer_timing}): ms (GB/s of bound tensors; the probe: ${report.bandwidth_gb_per_s} GB/s)`);
    lines.push(`${'layer'.padEnd(16)}${'forward'.padStart(18)}${'backward'.padStart(18)}${'optimizer'.padStart(18)}`);
    for (const r of layerRows(last.layers_ms)) lines.push(`${r.layer.padEnd(16)}${cell(r.forward)}${cell(r.backward)}${cell(r.optimizer)}`);
  }
  return [...lines, ...extra].join('\n');
}
