/**
 * BatchNorm2d and BatchNorm1d with PyTorch's semantics: training normalises with the batch
 * statistics and updates the running ones (unbiased variance, momentum); eval uses the running
 * statistics. affine=false: no weight and bias (the kernels read a constant 1 and 0);
 * track_running_stats=false: no running statistics, the batch's in eval too (as PyTorch's).
 * BatchNorm1d takes [C] or [C, L]. Kernels:
 * src/kernels/batchnorm.ts; the training forward applies a Dropout after it in the same pass, and
 * the input gradient applies a ReLU before it (fusion rules batchnorm → dropout, relu ← batchnorm).
 * On a CPU adapter, where a conv summed its statistics, big planes merge them and apply the
 * forward in one dispatch (batchnorm_merge_forward). Where the 1×1 conv after the dropout applies
 * both as it loads its input (NodeFusion.normOnLoad: Conv2d.foldsNormInput), the training forward
 * writes the mask and a per-channel affine only (MASK_ONLY), no output.
 */
import {
  batchnormBackwardInput,
  batchnormBackwardReduce,
  batchnormReduceSubgroup,
  batchnormDropoutForward,
  batchnormEvalStats,
  batchnormForward,
  batchnormMergeForward,
  batchnormMergeForwardFits,
  batchnormMergeGroups,
  batchnormMomentsMerge,
  batchnormReduceGroups,
  batchnormStats,
  batchnormStatsMerge,
  batchnormSumsMerge,
  batchnormVariant,
} from '../kernels/batchnorm.js';
import { dropoutParams } from '../kernels/dropout.js';
import { HEALTH_SLOTS, freshHealth, healthLength } from '../kernels/health.js';
import type { Dispatch } from '../gpu/context.js';
import { Layer, ShapeError, checkOptions, fixedParameter, positionalOptions, perBatch, trueOrFalse, whole, type BufferSpec, type LayerBuild, type LayerProgram, type StepKernel, type ParameterSpec, type SampleShape } from './layer.js';

export interface BatchNormOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly numFeatures?: number;
  /** Default 1e-5, as PyTorch. */
  readonly eps?: number;
  /** Default 0.1, as PyTorch. */
  readonly momentum?: number;
  /** A learnt weight and bias (PyTorch's affine; default true). */
  readonly affine?: boolean;
  /** Running statistics, used in eval (PyTorch's track_running_stats; default true). */
  readonly trackRunningStats?: boolean;
}

export abstract class BatchNorm extends Layer {
  readonly numFeatures?: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  /**
   * `new BatchNorm2d()` (the features inferred), `new BatchNorm2d({ eps, momentum, affine,
   * trackRunningStats })`, or PyTorch's positional `new BatchNorm2d(16, 1e-5, 0.1, false)`
   * (num_features, eps, momentum, affine, track_running_stats; then an options object if need be).
   */
  constructor(first?: BatchNormOptions | number, ...rest: unknown[]) {
    super();
    const known = ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats'] as const;
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${new.target.name}: an options object takes no other arguments`);
    const options: BatchNormOptions = typeof first === 'number' ? positionalOptions<BatchNormOptions>(new.target.name, [first, ...rest], [...known], known) : checkOptions(new.target.name, first ?? {}, known);
    this.affine = trueOrFalse(new.target.name, 'affine', options.affine, true);
    this.trackRunningStats = trueOrFalse(new.target.name, 'track_running_stats', options.trackRunningStats, true);
    if (options.numFeatures !== undefined) whole(new.target.name, 'num_features', options.numFeatures);
    this.numFeatures = options.numFeatures;
    this.eps = options.eps ?? 1e-5;
    // PyTorch's momentum=None (a cumulative average) is not this option's undefined (the default 0.1).
    if ((options.momentum as unknown) === null) throw new RangeError(`${new.target.name}: momentum None (a cumulative moving average) is not supported; give a number in [0, 1] (default 0.1)`);
    this.momentum = options.momentum ?? 0.1;
    if (typeof this.eps !== 'number' || !(this.eps > 0)) throw new RangeError(`${new.target.name}: eps must be > 0, got ${JSON.stringify(this.eps)}`);
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) throw new RangeError(`${new.target.name}: momentum must be in [0, 1], got ${this.momentum}`);
  }

  protected abstract accepts(input: SampleShape): boolean;
  protected abstract readonly expected: string;

  outputShape(input: SampleShape): SampleShape {
    if (!this.accepts(input)) throw new ShapeError(`expects an input of shape ${this.expected}, got [${input.join(', ')}]`);
    if (this.numFeatures !== undefined && input[0] !== this.numFeatures) {
      throw new ShapeError(`num_features is ${this.numFeatures} but the input has ${input[0]} channels (input [${input.join(', ')}])`);
    }
    return input;
  }

  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    if (!this.affine) return [];
    return [
      { name: 'weight', shape: [input[0]!], init: { constant: 1 } },
      { name: 'bias', shape: [input[0]!], init: { constant: 0 } },
    ];
  }

  override bufferSpecs(input: SampleShape): BufferSpec[] {
    if (!this.trackRunningStats) return [];
    return [
      { name: 'running_mean', shape: [input[0]!], value: 0 },
      { name: 'running_var', shape: [input[0]!], value: 1 },
    ];
  }

  config() {
    return { num_features: this.numFeatures, eps: this.eps, momentum: this.momentum, ...(this.affine ? {} : { affine: false }), ...(this.trackRunningStats ? {} : { track_running_stats: false }) };
  }

  /**
   * On a CPU adapter the input gradient is written by the sums' dispatch (APPLY), and there over
   * dy (IN_PLACE): the other gradient slot need not hold this layer's gradients (the seed CNN's
   * plan: 30 KB a sample less, 31 MB at batch 1024).
   */
  override inputGradientInPlace(adapter: { readonly software: boolean }): boolean {
    return adapter.software;
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input: x, output, dOutput, dInput, fusion } = b;
    const channels = b.inShape[0]!;
    const area = b.inShape.slice(1).reduce((a, v) => a * v, 1);
    // Without affine: a constant weight 1 and bias 0 (x̂ · 1 + 0 is x̂ to the bit), their gradients summed into scratch.
    const gamma = this.affine ? b.parameters.weight! : fixedParameter(ctx, `${path} batchnorm weight`, channels, 1);
    const beta = this.affine ? b.parameters.bias! : fixedParameter(ctx, `${path} batchnorm bias`, channels, 0);
    // Without running statistics: the kernels' running updates go into scratch, checked against a guard of the layer's own.
    const track = this.trackRunningStats;
    const runningMean = track ? b.buffers.running_mean! : ctx.tensor(`${path} batchnorm running_mean (untracked)`, [channels]);
    const runningVar = track ? b.buffers.running_var! : ctx.tensor(`${path} batchnorm running_var (untracked)`, [channels], { data: new Float32Array(channels).fill(1) });
    const stats = ctx.tensor(`${path} batchnorm stats`, [2, channels]);
    const ownGuard = () => ({ health: ctx.tensor(`${path} divergence guard`, [healthLength(2)], { dtype: 'u32', data: freshHealth(2) }), slot: (name: string) => HEALTH_SLOTS.parameters + (name === 'running_var' ? 1 : 0) });
    const guard = (track ? b.guard : undefined) ?? ownGuard();
    const slots = { meanSlot: guard.slot('running_mean'), varSlot: guard.slot('running_var') };
    const { eps, momentum } = this;
    const shape = (batch: number) => ({ batch, channels, area });
    const variant = batchnormVariant({ batch: 1, channels, area });
    const dropout = fusion.dropout;
    // The ReLU after it (batchnorm-relu), applied as the output is stored; its backward reads x, not the output.
    const forwardVariant = { ...variant, RELU: fusion.reluEpilogue === true };
    const reluWords = fusion.reluEpilogue ? ' and relu' : '';
    const dropoutKernels = new Map<number, StepKernel>();
    // The step of the dropout draws (setStep), also for a kernel made after it was set.
    let dropoutStep = 0;
    // On a GPU the conv's partial moments are merged in two steps (slot groups, then the groups),
    // so that more than a workgroup a channel walks them; the groups grow with the batch, so the
    // largest batch's size the scratch tensor (allocated here: the plan's memory counts it).
    const fromConv = fusion.statistics;
    const mergeGroups = (batch: number) => (fromConv ? batchnormMergeGroups({ slots: fromConv.slots(batch), channels }, ctx.adapter) : 1);
    const maxMergeGroups = mergeGroups(b.maxBatch);
    const mergedMoments = maxMergeGroups > 1 ? ctx.tensor(`${path} batchnorm merged moments`, [channels, maxMergeGroups, 3]) : undefined;
    // Applied with the dropout by the 1×1 conv after them as it loads its input (normOnLoad,
    // Conv2d.foldsNormInput): the training forward writes the mask and the affine only (MASK_ONLY).
    const onLoad = fusion.normOnLoad;
    if (onLoad && !dropout) throw new Error(`${path}: the batch norm is applied on the next conv's loads with the dropout after it (normOnLoad), but no dropout follows it`);
    const outputs = onLoad ? { affine: onLoad.affine } : { x, y: output };
    const maskOnly = onLoad ? ' mask (applied on the next conv\'s loads)' : '';
    // On a CPU adapter, big planes: the conv's moments merged and the forward applied in one dispatch.
    const mergeForward = fromConv !== undefined && maxMergeGroups === 1 && batchnormMergeForwardFits({ area }, ctx.adapter, ctx.device.limits, dropout !== undefined, onLoad !== undefined);
    const trainForward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (mergeForward && fromConv) {
        const kernel = (await ctx.compile(batchnormMergeForward, { ...variant, DROPOUT: dropout !== undefined, RELU: !dropout && fusion.reluEpilogue === true, MASK_ONLY: onLoad !== undefined })).bind(
          { moments: fromConv.moments, stats, runningMean, runningVar, health: guard.health, gamma: gamma.value, beta: beta.value, ...(dropout ? { mask: dropout.mask } : {}), ...outputs },
          { ...shape(batch), slots: fromConv.slots(batch), eps, momentum, ...slots, ...(dropout ? dropoutParams(dropout.p) : { threshold: 0, scale: 1 }), seed: b.seed, stream: dropout?.stream ?? 0, step: dropoutStep },
          `${path} batchnorm${dropout ? ` and dropout${maskOnly}` : reluWords} (with its statistics)`,
        );
        if (dropout) dropoutKernels.set(batch, kernel);
        return [kernel];
      }
      // The statistics: from partial moments the conv before it wrote (batchnorm-stats-epilogue), else from x.
      const list: Dispatch[] = [];
      if (fromConv) {
        const convSlots = fromConv.slots(batch);
        const groups = mergeGroups(batch);
        const merged = groups > 1 ? mergedMoments : undefined;
        if (merged) {
          list.push((await ctx.compile(batchnormMomentsMerge)).bind({ moments: fromConv.moments, merged }, { channels, slots: convSlots, groups }, `${path} batchnorm moments merge`));
        }
        list.push(
          (await ctx.compile(batchnormStatsMerge)).bind(
            { moments: merged ?? fromConv.moments, stats, runningMean, runningVar, health: guard.health },
            { channels, slots: merged ? groups : convSlots, eps, momentum, ...slots },
            `${path} batchnorm stats merge`,
          ),
        );
      } else {
        list.push((await ctx.compile(batchnormStats, variant)).bind({ x, stats, runningMean, runningVar, health: guard.health }, { ...shape(batch), eps, momentum, ...slots }, `${path} batchnorm stats`));
      }
      if (dropout) {
        const fused = (await ctx.compile(batchnormDropoutForward, { ...variant, MASK_ONLY: onLoad !== undefined })).bind(
          { stats, gamma: gamma.value, beta: beta.value, mask: dropout.mask, ...outputs },
          { ...shape(batch), ...dropoutParams(dropout.p), seed: b.seed, stream: dropout.stream, step: dropoutStep },
          `${path} batchnorm and dropout${maskOnly}`,
        );
        dropoutKernels.set(batch, fused);
        list.push(fused);
      } else {
        list.push((await ctx.compile(batchnormForward, forwardVariant)).bind({ x, stats, gamma: gamma.value, beta: beta.value, y: output }, shape(batch), `${path} batchnorm${reluWords}`));
      }
      return list;
    });
    const evalForward = perBatch(async (batch): Promise<Dispatch[]> => [
      // Untracked: the batch's statistics, from x (its running update into scratch).
      track
        ? (await ctx.compile(batchnormEvalStats)).bind({ runningMean, runningVar, stats }, { channels, eps }, `${path} batchnorm eval stats`)
        : (await ctx.compile(batchnormStats, variant)).bind({ x, stats, runningMean, runningVar, health: guard.health }, { ...shape(batch), eps, momentum, ...slots }, `${path} batchnorm stats (untracked)`),
      (await ctx.compile(batchnormForward, forwardVariant)).bind({ x, stats, gamma: gamma.value, beta: beta.value, y: output }, shape(batch), `${path} batchnorm${reluWords}`),
    ]);
    // With the dropout fused in, dOutput is the dropout's output gradient and the kernels apply its mask.
    const backwardVariant = { ...variant, DROPOUT: dropout !== undefined };
    // Where the adapter's subgroups are 8 (lavapipe), the sums' big-plane walks share the dropout's mask words (the same bits).
    const reduceVariant = { ...backwardVariant, SUBGROUP: dropout !== undefined && batchnormReduceSubgroup({ area }, ctx) };
    const mask = dropout ? { mask: dropout.mask } : {};
    const dropoutScale = dropout ? dropoutParams(dropout.p).scale : 1;
    // On a CPU adapter the sums' workgroup a channel also writes the input gradient (APPLY): one
    // dispatch, its second walk over the channel in cache, and a CPU's few threads kept busy by
    // the channels. A GPU wants the input gradient's invocation a mask word, in a dispatch of its own.
    const apply = ctx.adapter.software && dInput !== undefined;
    // There it writes dInput over dOutput (IN_PLACE), and the network hands it one tensor for both
    // (inputGradientInPlace): the second walk reads each element's dy before it writes its dx.
    const inPlace = apply && this.inputGradientInPlace(ctx.adapter);
    if (inPlace && (dInput!.buffer !== dOutput?.buffer || dInput!.byteOffset !== dOutput.byteOffset)) {
      throw new Error(`${path}: the batch norm writes its input gradient in place, but the network gave it ${dInput} apart from ${dOutput}`);
    }
    const relu = fusion.reluInput === true;
    const inputLabel = `${path} ${relu ? (dropout ? 'dropout, batchnorm and relu backward' : 'batchnorm and relu backward') : dropout ? 'dropout and batchnorm backward input' : 'batchnorm backward input'}`;
    // On a GPU the sums split the batch into groups (channels × groups workgroups), their partial
    // sums then added per channel; APPLY needs the whole sums in its workgroup, so 1 with it. The
    // largest batch has the most groups and sizes the partial sums.
    const reduceGroups = (batch: number) => (apply ? 1 : batchnormReduceGroups({ batch, channels }, ctx.adapter));
    const maxReduceGroups = dOutput ? reduceGroups(b.maxBatch) : 1;
    const partialSums = maxReduceGroups > 1
      ? { gamma: ctx.tensor(`${path} batchnorm partial dgamma`, [channels, maxReduceGroups]), beta: ctx.tensor(`${path} batchnorm partial dbeta`, [channels, maxReduceGroups]) }
      : undefined;
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const reduceLabel = dropout ? `${path} dropout and batchnorm backward reduce` : `${path} batchnorm backward reduce`;
      const groups = reduceGroups(batch);
      const partial = groups > 1 ? partialSums : undefined;
      const list: Dispatch[] = [
        (await ctx.compile(batchnormBackwardReduce, { ...reduceVariant, APPLY: apply, IN_PLACE: inPlace })).bind(
          { dy: dOutput, x, stats, dgamma: partial?.gamma ?? gamma.grad, dbeta: partial?.beta ?? beta.grad, ...mask, ...(apply ? { gamma: gamma.value } : {}), ...(apply && !inPlace ? { dx: dInput } : {}) },
          { ...shape(batch), dropoutScale, reluInput: relu ? 1 : 0, groups },
          apply ? `${inputLabel} (with its sums)` : reduceLabel,
        ),
      ];
      if (partial) {
        list.push((await ctx.compile(batchnormSumsMerge)).bind({ partialGamma: partial.gamma, partialBeta: partial.beta, dgamma: gamma.grad, dbeta: beta.grad }, { channels, groups }, `${path} batchnorm sums merge`));
      }
      if (dInput && !apply) {
        list.push(
          (await ctx.compile(batchnormBackwardInput, backwardVariant)).bind(
            { dy: dOutput, x, stats, gamma: gamma.value, dgamma: gamma.grad, dbeta: beta.grad, dx: dInput, ...mask },
            { ...shape(batch), reluInput: relu ? 1 : 0, dropoutScale },
            inputLabel,
          ),
        );
      }
      return list;
    });
    return {
      forward: (batch, mode) => (mode === 'train' ? trainForward(batch) : evalForward(batch)),
      backward,
      setStep: (batch, step) => {
        dropoutStep = step;
        dropoutKernels.get(batch)?.update({ step });
      },
    };
  }
}

export class BatchNorm2d extends BatchNorm {
  readonly type = 'BatchNorm2d';
  protected readonly expected = '[C, H, W]';
  protected accepts(input: SampleShape) {
    return input.length === 3;
  }
}

export class BatchNorm1d extends BatchNorm {
  readonly type = 'BatchNorm1d';
  protected readonly expected = '[C] or [C, L]';
  protected accepts(input: SampleShape) {
    return input.length === 1 || input.length === 2;
  }
}
