/**
 * The plan compiler: a model + loss + optimizer + batch capacity → a replayable training step.
 * Every activation, gradient and optimizer tensor is allocated once (activation gradients in two
 * ping-pong buffers, since a chain's gradient lives from one layer's backward to the next, each as
 * large as the largest gradient it holds, a layer that writes its input gradient in place keeping
 * its slot; the
 * parameters, their gradients and each optimizer state in an arena apiece, src/gpu/arena.ts, which
 * one optimizer dispatch updates); every
 * kernel is bound once per batch size; a step is one list of dispatches. Per-step values (the
 * learning rate, the optimizer's step, dropout counters) are written into small buffers between
 * steps, never by re-binding.
 */
import { recordPass, type Dispatch, type GpuContext } from '../gpu/context.js';
import { Tensor } from '../gpu/tensor.js';
import { ARENA_BLOCK, ArenaBuilder, createArena, type Arena } from '../gpu/arena.js';
import { bindConvPacking, bindConvReduction, conv2dPackMapBytes, conv2dReduceMapBytes, type ConvPackJob, type ConvReduceJob } from '../kernels/conv2d.js';
import { adadeltaStep, adagradStep, adamStep, CLIP_AT, gradNorm, gradNormPartials, HYPER_LENGTH, rmspropStep, sgdStep } from '../kernels/optimizers.js';
import { decodeHealth, freshHealth, healthLength, HEALTH_SLOTS, type Divergence } from '../kernels/health.js';
import { checkOptions, perBatch, shapeSize, type BatchStatistics, type LayerProgram, type TileChooser, type Mode, type NodeFusion, type ParameterState, type SampleShape, type SharedWorkspace } from '../layers/layer.js';
import { Dropout } from '../layers/dropout.js';
import { MaxPool2d } from '../layers/pooling.js';
import { Conv2d } from '../layers/conv2d.js';
import { BatchNorm } from '../layers/batchnorm.js';
import type { Module } from '../layers/sequential.js';
import { Adadelta, Adagrad, Adam, Adamax, NAdam, RAdam, RMSprop, SGD, adadeltaKernelParams, adagradKernelParams, adamKernelParams, adamVariant, baseMomentum, clipVariant, hyperValues, initialStateValue, learningRates, paramGroupIndices, checkLambdaCoverage, rmspropKernelParams, sgdKernelParams, weightDecays, type Optimizer } from '../optim/optimizers.js';
import { initialPlateau, plateauStep, scheduledValues, type PlateauState, type ScheduleProgress } from '../optim/schedules.js';
import { hasGroupLambdas, isStepped } from '../optim/stepped-schedules.js';
import { checkClipping, describeClipping, type ClipGradNorm, type Clipping } from '../optim/clipping.js';
import { checkSeed } from '../reference/random.js';
import { logSoftmaxRef } from '../reference/nll.js';
import { Embedding } from '../layers/embedding.js';
import { aliasesInput, formatSummary, initialValues, planModel, planOptionsOf, PLAN_OPTION_KEYS, type ModelPlan, type PlanNode, type PlanOptions } from './plan.js';
import { checkInit, type Init } from './init.js';

export interface NetworkOptions extends PlanOptions {
  /** Largest batch the buffers hold (default 128). */
  readonly maxBatch?: number;
  /** Seed of the initial weights and of the dropout masks (default 1). */
  readonly seed?: number;
  /** Default: `new SGD()` (PyTorch 2's lr 1e-3, no momentum). */
  readonly optimizer?: Optimizer;
  /** Tuned tiles of the tiled kernels (src/tune/tuner.ts); default tiles where undefined. */
  readonly tiles?: TileChooser;
  /**
   * Clip the gradients before every optimizer step as torch.nn.utils.clip_grad_norm_(
   * model.parameters(), maxNorm, normType) would (a number: maxNorm with the 2-norm; normType 1,
   * 2 or 'inf'); `lastGradNorm()` reads the norm it measured. Default: no clipping.
   */
  readonly clipGradNorm?: ClipGradNorm;
  /** Clip every gradient element to ±clipGradValue before every step (torch.nn.utils.clip_grad_value_). */
  readonly clipGradValue?: number;
  /**
   * Initial values other than each layer's default, as a PyTorch loop over `model.modules()`
   * calling torch.nn.init applies them (src/plan/init.ts): asked once per parameter (its state_dict
   * name, its name within the layer, its shape, the layer's type); undefined keeps the default.
   * `(p) => p.layer === 'Conv2d' && p.local === 'weight' ? { kind: 'kaiming_normal', mode:
   * 'fan_out', nonlinearity: 'relu' } : undefined` is torchvision's ResNet's.
   */
  readonly init?: (parameter: { readonly name: string; readonly local: string; readonly shape: readonly number[]; readonly layer: string }) => Init | undefined;
}

/** A named non-trainable tensor (`convblock1.2.running_mean`). */
export interface BufferState {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Tensor;
}

/** Bytes the plan allocated, by kind. */
export interface PlanMemory {
  readonly parameters: number;
  readonly gradients: number;
  readonly optimizer: number;
  readonly buffers: number;
  readonly activations: number;
  readonly activationGradients: number;
  readonly workspace: number;
  /**
   * The maps of the conv layers' packing and partial-sum reduction dispatches (each dispatch owns
   * its map, made when the step is first bound): the training and the evaluation packing, and the
   * reduction at the largest batch.
   */
  readonly maps: number;
  readonly total: number;
}

/** The largest buffer a plan allocates per batch: its bytes per sample and what it holds. */
export function largestPlanBuffer(plan: ModelPlan): { perSample: number; what: string } {
  let best = { perSample: 0, what: '' };
  for (const node of plan.scheduled) {
    const candidates: [number, string][] = [
      [4 * shapeSize(node.outShape), `${node.path} output [${node.outShape.join(', ')}] and its gradient`],
      [4 * shapeSize(node.inShape), `${node.path} input [${node.inShape.join(', ')}] and its gradient`],
      // A layer's own tensor named with the layer (a MultiheadAttention's attention weights [H, L, L]).
      ...node.workspace.map((w): [number, string] => [4 * shapeSize(w.shape), `${node.path} (${node.layer.type}) ${w.name} [${w.shape.join(', ')}]`]),
    ];
    for (const [perSample, what] of candidates) if (perSample > best.perSample) best = { perSample, what };
  }
  return best;
}

/**
 * Throws a RangeError, before anything is allocated, when `maxBatch` makes one of the plan's
 * buffers larger than the device allows: naming the buffer, its size, the limit and the largest
 * batch that fits.
 */
export function checkPlanFits(plan: ModelPlan, maxBatch: number, limits: BufferLimits): void {
  partialSplitsCap(plan, limits);
  const { perSample, what } = largestPlanBuffer(plan);
  const { limit, name } = bufferLimit(limits);
  const bytes = perSample * maxBatch;
  if (bytes <= limit) return;
  throw new RangeError(`batch ${maxBatch} needs a buffer of ${formatBytes(bytes)} (${what}, ${perSample} bytes a sample); this adapter allows ${formatBytes(limit)} (${name}): the largest batch that fits is ${Math.floor(limit / perSample)}`);
}

export type BufferLimits = Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>;

/** The most bytes one buffer bound whole may hold here, and the limit's name. */
export function bufferLimit(limits: BufferLimits): { limit: number; name: string } {
  return {
    limit: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    name: limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize',
  };
}

export function formatBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * The most weight-gradient splits a layer may write (LayerBuild.maxPartialSplits) on a device
 * with these limits. The conv layers' partial sums (each a split's copy of the layer's weight and
 * bias) are members of the shared workspace, which the reduction binds whole; with at most this
 * many splits a layer they fit one binding whatever the tiles (a GPU's default tiles write up to 4
 * MB a layer: forty convs took 166 MB, past a 128 MiB binding). The bound counts every parameter
 * of the model and a block's padding for each (arenas start members on blocks): Σ ceil(splits ·
 * length) ≤ splits · Σ length + members · ARENA_BLOCK. Throws a RangeError where the parameters
 * themselves do not fit one binding (the optimizer binds them whole).
 */
export function partialSplitsCap(plan: ModelPlan, limits: BufferLimits): number {
  const { limit, name } = bufferLimit(limits);
  const members = plan.nodes.flatMap((n) => n.parameters);
  const total = members.reduce((sum, p) => sum + shapeSize(p.shape), 0);
  const room = Math.floor(limit / 4) - members.length * ARENA_BLOCK;
  if (total > room) {
    throw new RangeError(`the model's ${total.toLocaleString('en-US')} parameters need a buffer of ${formatBytes(4 * (total + members.length * ARENA_BLOCK))} (each parameter tensor on a ${ARENA_BLOCK}-element block), bound whole by the optimizer; this adapter allows ${formatBytes(limit)} (${name})`);
  }
  return Math.floor(room / total);
}

export class Network {
  /** Training steps taken (PyTorch's BatchNorm `num_batches_tracked`; they key the dropout draws). */
  stepsTaken = 0;
  /**
   * The `stepsTaken` at which the optimizer's state started from zero: 0, or the steps of a
   * checkpoint loaded without optimizer state (a PyTorch state_dict: PyTorch then makes a fresh
   * optimizer and scheduler, whose steps count from 0, whatever num_batches_tracked says).
   */
  optimizerOrigin = 0;

  /** The optimizer's own step count (PyTorch's per-parameter `step`; Adam's bias corrections, SGD's first step, OneCycle's position). */
  get optimizerSteps(): number {
    return this.stepsTaken - this.optimizerOrigin;
  }
  /** Shapes, names, fusion: the model as planned (src/plan/plan.ts). */
  readonly plan: ModelPlan;
  readonly input: Tensor;
  /** What the loss reads ([maxBatch, classes]: logits, or log-probabilities for an unfused NLL). */
  readonly output: Tensor;
  /** ∂loss/∂output, written by the loss. */
  readonly dOutput: Tensor;
  readonly parameters: readonly ParameterState[];
  readonly buffers: readonly BufferState[];
  /**
   * Each scheduled layer's output tensor by path (a fused neighbour's, or a view, where it
   * aliases; a conv that stores the max pool after it holds the pooled output, maxpool-epilogue,
   * and so does a ReLU between them).
   */
  readonly outputs: ReadonlyMap<string, Tensor>;
  /**
   * The layers whose output the training forward does not write, by path: a batch norm and the
   * dropout after it that the 1×1 conv after them applies as it loads its input (its NORM_MASK;
   * Conv2d.foldsNormInput). Their output tensor (in `outputs`) holds the eval forward's only.
   */
  readonly unwrittenInTraining: ReadonlySet<string>;
  /** Each layer's own per-sample tensors by path (a max pool's argmax, a dropout's mask). */
  readonly workspaces: ReadonlyMap<string, Readonly<Record<string, Tensor<'f32'> | Tensor<'u32'>>>>;
  readonly memory: PlanMemory;
  readonly maxBatch: number;
  readonly seed: number;
  readonly optimizer: Optimizer;
  /** The gradient clipping before each step (options clipGradNorm, clipGradValue); undefined: none. */
  readonly clipping?: Clipping;
  /** Each parameter's weight decay, by `parameters` (the optimizer's param groups, else its weight decay). */
  readonly weightDecays: readonly number[];
  /** Where the param groups' weight decays start in the slots tensor (the optimizer kernels' GROUP_DECAY); 0: none set apart. */
  private readonly decayAt: number;
  /** Each parameter's base learning rate, by `parameters` (its param group's, else the optimizer's); a schedule scales each. */
  readonly learningRates: readonly number[];
  /** Whether a param group sets a learning rate apart (the optimizer kernels' GROUP_LR: each parameter's written into `hyper` each step). */
  private readonly lrApart: boolean;
  /** Each parameter's learning rate in the step `beginStep` began (by `parameters`). */
  stepLearningRates: readonly number[] = [];
  /** clip_grad_norm_'s partial sums (src/kernels/optimizers.ts: gradNorm; its factor and norm go into `hyper`). */
  private readonly gradNormPartials?: Tensor;
  private readonly programs: { node: PlanNode; program: LayerProgram; backward: boolean }[];
  private readonly hyper: Tensor;
  /** The parameters' arenas (values, gradients, each optimizer state) and the guard's slot of each block. */
  private readonly arenas: { values: Arena; grads: Arena; states: Record<string, Arena>; slots: Tensor<'u32'> };
  /** The divergence guard's record (src/kernels/health.ts), written by the optimizer, loss and BatchNorm statistics kernels. */
  readonly health: Tensor<'u32'>;
  /** The names of the guard's slots: the parameters', then the buffers'. */
  private readonly guardNames: readonly string[];
  /**
   * A factor on the optimizer's (scheduled) learning rate, 1 unless a rollback after a divergence
   * halved it.
   */
  lrFactor = 1;
  /**
   * ReduceLROnPlateau's state where the optimizer's schedule is one (its current rate, best
   * metric, bad epochs, cooldown): stepped by `stepPlateau`, kept in snapshots and checkpoints.
   */
  plateau?: PlateauState;
  /**
   * Where a stepped schedule (LambdaLR, MultiplicativeLR, SequentialLR, ChainedScheduler) goes on
   * from after a checkpoint: the epoch and each param group's rate there (PyTorch's group order),
   * set by `loadCheckpoint`; undefined: from epoch 0.
   */
  scheduleFrom?: { readonly epoch: number; readonly lrs: readonly number[] };
  /** The epoch (from 0) of the last step begun: a checkpoint without its own `epoch` records the schedule's state there. */
  scheduleEpoch = 0;
  /** Each parameter's param group in PyTorch's order: its paramGroups index, or paramGroups.length for one in none. */
  readonly groupIndices: readonly number[];
  private update?: Promise<Dispatch[]>;
  private readonly packings: Partial<Record<Mode, Promise<Dispatch[]>>> = {};

  constructor(
    readonly ctx: GpuContext,
    readonly model: Module,
    options: NetworkOptions,
  ) {
    checkOptions('Network', options, [...PLAN_OPTION_KEYS, 'maxBatch', 'seed', 'optimizer', 'tiles', 'clipGradNorm', 'clipGradValue', 'init']);
    const plan = planModel(model, planOptionsOf(options));
    this.plan = plan;
    const maxBatch = (this.maxBatch = options.maxBatch ?? 128);
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a whole number ≥ 1, got ${maxBatch}`);
    checkPlanFits(plan, maxBatch, ctx.device.limits);
    const maxPartialSplits = partialSplitsCap(plan, ctx.device.limits);
    const seed = (this.seed = checkSeed(options.seed ?? 1, 'seed'));
    this.optimizer = options.optimizer ?? new SGD();
    if (!(this.optimizer instanceof SGD || this.optimizer instanceof Adam || this.optimizer instanceof RMSprop || this.optimizer instanceof Adagrad || this.optimizer instanceof NAdam || this.optimizer instanceof RAdam || this.optimizer instanceof Adamax || this.optimizer instanceof Adadelta)) {
      throw new TypeError(`optimizer: expected new SGD({ … }), new Adam({ … }), new AdamW({ … }), new RMSprop({ … }), new Adagrad({ … }), new NAdam({ … }), new RAdam({ … }), new Adamax({ … }) or new Adadelta({ … }), got ${JSON.stringify(this.optimizer)}`);
    }
    this.clipping = checkClipping(options);
    // The initial values, drawn (and any `init` checked, naming the parameter) before anything is allocated.
    if (options.init !== undefined && typeof options.init !== 'function') throw new TypeError(`init: expected a function of each parameter ({ name, local, shape, layer }) giving an init or undefined, got ${JSON.stringify(options.init)}`);
    const initial = new Map(plan.scheduled.flatMap((node) => node.parameters.map((p) => {
      // null or false (a JavaScript `condition && { … }`) keeps the default, as undefined does.
      const chosen = options.init?.({ name: p.name, local: p.local, shape: p.shape, layer: node.layer.type }) as Init | undefined | null | false;
      return [p.name, initialValues(node, p, seed, chosen === undefined || chosen === null || chosen === false ? undefined : checkInit(chosen, p.name))] as const;
    })));
    if (this.optimizer.schedule.kind === 'plateau') this.plateau = initialPlateau(this.optimizer.schedule, this.optimizer.lr);
    const bytes = { parameters: 0, gradients: 0, optimizer: 0, buffers: 0, activations: 0, activationGradients: 0, workspace: 0, maps: 0 };
    const batchOf = (shape: SampleShape) => [maxBatch, ...shape];

    this.input = ctx.tensor('input', batchOf(plan.inputShape), { empty: true });
    bytes.activations += this.input.byteLength;
    const parameters: ParameterState[] = [];
    const buffers: BufferState[] = [];
    const firstTrained = plan.scheduled.findIndex((n) => n.parameters.length > 0);
    // Backward: which gradient slot each node reads (∂output) and writes (∂input), last to first.
    // A node whose gradient the next one computes (backwardByNext) reads and writes none of its
    // own; one whose gradient the previous one computes (backwardByPrevious) hands its ∂output to
    // it; one that passes its gradient on as a view (Flatten) or writes it in place
    // (Layer.inputGradientInPlace) keeps the slot; any other writes the other slot of a pair.
    // Slots 0 and 1 are the network's pair. A residual block (src/layers/residual.ts) of depth d:
    // its sum hands its ∂output on in place to its shortcut, which runs in the pair it is in (and
    // leaves the shortcut's ∂input there: with the identity, the sum's ∂output itself), and keeps a
    // copy in slot 4 + 3d for its body, which runs in a pair of its own (2 + 3d, 3 + 3d) from it;
    // the block's input node adds the body's ∂input to the shortcut's. Blocks of one depth share
    // their slots (one block's backward ends before the next one's begins). Each slot is as large
    // as the largest gradient it holds.
    // A 2×2 max pool whose output and argmax the conv before it stores (maxpool-epilogue, no ReLU
    // between) and whose backward that conv folds in (Conv2d.foldsPoolBackward: its backward
    // tiles are the pointwise kernels', on this adapter and these tiles): the pool hands its
    // ∂output to the conv, as backwardByPrevious, and has no ∂input of its own.
    const foldedPools = new Set(plan.scheduled.filter((node, i) => {
      const conv = plan.scheduled[i - 1];
      // (Not at a residual block's ends, whose gradients the slots below route apart.)
      const atBlock = plan.residuals.some((r) => [r.input, r.bodyEnd, r.shortcut, r.add].some((n) => n === node || n === conv));
      return node.layer instanceof MaxPool2d && conv?.flags.poolEpilogue === true && conv.layer instanceof Conv2d && i - 1 >= firstTrained && !atBlock &&
        conv.layer.foldsPoolBackward({ ctx, inShape: conv.inShape, maxBatch, tiles: options.tiles, maxPartialSplits });
    }));
    const handsOn = (node: PlanNode) => node.flags.backwardByPrevious === true || foldedPools.has(node);
    // A training BatchNorm2d and the Dropout after it (batchnorm-dropout) that only a 1×1 conv
    // reads, and that conv applies as its training forward and weight gradient load their input
    // (Conv2d.foldsNormInput: the forward's tile is the 4-column one and the weight gradient's
    // the pointwise kernel's, on this adapter and these tiles): the batch norm writes the mask and
    // a per-channel affine, not its output (which the eval forward still writes and reads).
    // The conv by the batch norm it folds in.
    const foldedNorms = new Map<PlanNode, PlanNode>();
    plan.scheduled.forEach((conv, i) => {
      const [norm, dropout] = [plan.scheduled[i - 2], plan.scheduled[i - 1]];
      if (!norm || !dropout || !(conv.layer instanceof Conv2d) || norm.layer.type !== 'BatchNorm2d' || !(dropout.layer instanceof Dropout)) return;
      if (norm.flags.dropoutAfter !== true || dropout.flags.forwardByPrevious !== true || norm.flags.reluEpilogue) return;
      // (Not at a residual block's ends, where another branch or the sum reads the dropout's output.)
      if (plan.residuals.some((r) => [r.input, r.bodyEnd, r.shortcut, r.add].some((n) => n === norm || n === dropout || n === conv))) return;
      if (conv.layer.foldsNormInput({ ctx, inShape: conv.inShape, maxBatch, tiles: options.tiles, maxPartialSplits }, conv.flags.poolEpilogue === true)) foldedNorms.set(norm, conv);
    });
    // What the conv reads in place of its input: the batch norm's input, the mask and the affine.
    const normInputs = new Map<PlanNode, NonNullable<NodeFusion['normInput']>>();
    type SlotView = { slot: number; shape: SampleShape; label: string };
    const dOutAt = new Map<PlanNode, SlotView>();
    const dInAt = new Map<PlanNode, SlotView>();
    const kept = new Map<PlanNode, SlotView>();
    const lastNode = plan.scheduled[plan.scheduled.length - 1]!;
    const lastOutput: SlotView = { slot: 0, shape: lastNode.outShape, label: `∂loss/∂${lastNode.path} output` };
    const indexOf = new Map(plan.scheduled.map((n, i) => [n, i]));
    const blockOfBodyEnd = new Map(plan.residuals.map((r) => [r.bodyEnd, r]));
    const blockOfInput = new Map(plan.residuals.map((r) => [r.input, r]));
    const blockOfShortcut = new Map(plan.residuals.filter((r) => r.shortcut).map((r) => [r.shortcut!, r]));
    // Where the gradient is (slot), in which pair, and each open block's place to return to.
    let [slot, pair] = [0, 0];
    const outside = new Map<string, { slot: number; pair: number }>();
    for (let i = plan.scheduled.length - 1; i >= firstTrained; i--) {
      const node = plan.scheduled[i]!;
      const next = plan.scheduled[i + 1];
      const ending = blockOfBodyEnd.get(node);
      // With the identity shortcut and nothing learning before the block, nobody reads the shortcut's
      // gradient: the body runs on from the sum's ∂output, no copy kept.
      const body = ending && (ending.shortcut || indexOf.get(ending.input)! > firstTrained) ? ending : undefined;
      if (body) {
        // A body's last node: its ∂output is the block output's, kept by the sum; the body runs in its own pair.
        outside.set(body.path, { slot, pair });
        const copy: SlotView = { slot: 4 + 3 * body.depth, shape: body.add.outShape, label: `∂loss/∂${body.path} output, kept for its body` };
        kept.set(body.add, copy);
        [slot, pair] = [copy.slot, 2 + 3 * body.depth];
      }
      let out: SlotView | undefined;
      if (next && handsOn(next)) out = dOutAt.get(next);
      else if (!node.flags.backwardByNext) out = { slot, shape: node.outShape, label: `∂loss/∂${node.path} output` };
      if (out) dOutAt.set(node, out);
      if (i === firstTrained) break;
      if (foldedPools.has(node)) continue;
      const label = `∂loss/∂${node.path} input`;
      // A shortcut's input gradient goes only to its block's input node: none where that has no backward.
      const start = blockOfShortcut.get(node);
      if (start && indexOf.get(start.input)! < firstTrained) continue;
      const block = blockOfInput.get(node);
      if (block) {
        // A block's input node: the body's ∂input (here) added to the shortcut's, where the shortcut left it.
        ({ slot, pair } = outside.get(block.path)!);
        dInAt.set(node, { slot, shape: node.inShape, label });
        continue;
      }
      if (!node.flags.backwardByNext && !handsOn(node) && !aliasesInputGradient(node, ctx.adapter)) slot = slot === pair ? pair + 1 : pair;
      dInAt.set(node, { slot, shape: node.inShape, label });
    }
    const held = [lastOutput, ...dOutAt.values(), ...dInAt.values(), ...kept.values()];
    const slotLength = (k: number) => Math.max(1, ...held.filter((v) => v.slot === k).map((v) => shapeSize(v.shape)));
    const slotCount = Math.max(2, ...held.map((v) => v.slot + 1));
    const slots = Array.from({ length: slotCount }, (_, k) =>
      k < 2 || held.some((v) => v.slot === k) ? ctx.tensor(k < 2 ? `activation gradient ${'AB'[k]}` : `residual gradient ${k}`, [maxBatch * slotLength(k)], { empty: true }) : undefined,
    );
    bytes.activationGradients = slots.reduce((sum, t) => sum + (t?.byteLength ?? 0), 0);
    const view = (v: SlotView) => new Tensor(slots[v.slot]!.buffer, batchOf(v.shape), 'f32', v.label);
    this.dOutput = view(lastOutput);
    const dOut = new Map([...dOutAt].map(([node, v]) => [node, view(v)] as const));
    const dIn = new Map([...dInAt].map(([node, v]) => [node, view(v)] as const));
    // Each block's sum reads the other branch's output (the body's where a shortcut arrives as its input, else the block's input) and keeps its ∂output for the body.
    const residualOf = new Map<PlanNode, { other?: PlanNode; kept?: Tensor }>();
    for (const r of plan.residuals) residualOf.set(r.add, { other: r.shortcut ? r.bodyEnd : r.input, kept: kept.has(r.add) ? view(kept.get(r.add)!) : undefined });

    // The divergence guard's record: a slot per parameter, then one per buffer (src/kernels/health.ts).
    const parameterNames = plan.scheduled.flatMap((n) => n.parameters.map((p) => p.name));
    const bufferNames = plan.scheduled.flatMap((n) => n.buffers.map((b) => b.name));
    this.guardNames = [...parameterNames, ...bufferNames];
    this.health = ctx.tensor('divergence guard', [healthLength(this.guardNames.length)], { dtype: 'u32', data: freshHealth(this.guardNames.length) });
    // A node's buffer by its local name (`running_var`): its state_dict name is `<path>.running_var`, or the name itself in a one-layer model.
    const guardOf = (node: PlanNode) => ({
      health: this.health,
      slot: (buffer: string) => HEALTH_SLOTS.parameters + this.guardNames.indexOf(node.buffers.find((b) => b.local === buffer)!.name),
    });

    // The parameters, their gradients and each optimizer state: an arena apiece, the members in
    // the guard's order (parameter k's blocks carry its slot, for the one optimizer dispatch).
    const specs = plan.scheduled.flatMap((node) => node.parameters.map((p) => ({ node, p })));
    const arena = (what: string, suffix: string) => createArena(ctx, what, specs.map(({ p }) => ({ label: `${p.name}${suffix}`, shape: p.shape })));
    const values = arena('parameters', '');
    const grads = arena('parameter gradients', ' grad');
    const states = Object.fromEntries(this.optimizer.stateNames.map((s) => [s, arena(`optimizer ${s}`, ` ${s}`)]));
    const slotOfBlock = Uint32Array.from(values.layout.memberOfBlock, (k) => HEALTH_SLOTS.parameters + k);
    // Each parameter's weight decay, in the guard's order (its param group's, else the optimizer's);
    // where a group sets one apart, after the blocks' slots as f32 bits (GROUP_DECAY reads them from decayAt).
    this.weightDecays = weightDecays(this.optimizer, specs.map(({ p }) => p));
    this.learningRates = learningRates(this.optimizer, specs.map(({ p }) => p));
    this.groupIndices = paramGroupIndices(this.optimizer, specs.map(({ p }) => p));
    checkLambdaCoverage(this.optimizer, specs.map(({ p }) => p.name), this.groupIndices);
    // A function a group (LambdaLR's, MultiplicativeLR's list) sets rates apart from the same base.
    this.lrApart = this.learningRates.some((lr) => lr !== this.optimizer.lr) || hasGroupLambdas(this.optimizer.schedule);
    const apart = this.weightDecays.some((d) => d !== this.optimizer.weightDecay);
    this.decayAt = apart ? slotOfBlock.length : 0;
    const slotData = apart ? Uint32Array.from([...slotOfBlock, ...new Uint32Array(Float32Array.from(this.weightDecays).buffer)]) : slotOfBlock;
    this.arenas = { values, grads, states, slots: ctx.tensor('parameter slots', [Math.max(1, slotData.length)], { dtype: 'u32', data: slotData }) };
    specs.forEach(({ p }, k) => ctx.write(values.members[k]!, initial.get(p.name)!));
    // A state that does not start at 0 (Adagrad's sum: initial_accumulator_value).
    for (const [name, a] of Object.entries(states)) {
      const start = initialStateValue(this.optimizer, name);
      if (start !== 0) for (const member of a.members) ctx.write(member, new Float32Array(member.length).fill(start));
    }
    bytes.parameters = values.all.byteLength;
    bytes.gradients = grads.all.byteLength;
    bytes.optimizer = Object.values(states).reduce((sum, a) => sum + a.all.byteLength, 0);

    let x = this.input;
    const outputs = new Map<string, Tensor>();
    const workspaces = new Map<string, Record<string, Tensor<'f32'> | Tensor<'u32'>>>();
    // Workspace tensors that a fused neighbour writes, made when it is lowered (workspaceAhead).
    const ahead = new Map<PlanNode, Record<string, Tensor<'u32'>>>();
    const built: { node: PlanNode; program: LayerProgram; backward: boolean }[] = [];
    let statistics: BatchStatistics | undefined;
    // The tensors one dispatch serves for every layer (LayerBuild.shared): allocated once all are asked for.
    const sharedArenas = { uniform: new ArenaBuilder('shared uniform workspace', { uniform: true }), storage: new ArenaBuilder('shared workspace') };
    const shared: SharedWorkspace = {
      uniform: (label, shape) => sharedArenas.uniform.add(label, shape),
      storage: (label, shape) => sharedArenas.storage.add(label, shape),
    };
    // The max pool whose output x holds already (maxpool-epilogue), from its conv up to the pool.
    let poolAhead: PlanNode | undefined;
    plan.scheduled.forEach((node, i) => {
      const next = plan.scheduled[i + 1];
      // A residual block's shortcut reads the block's input (its input node's output, a view of it).
      const restart = blockOfShortcut.get(node);
      if (restart) x = outputs.get(restart.input.path)!;
      // A conv that stores the max pool after it (maxpool-epilogue; a ReLU between or not) holds
      // the pooled output only; the ReLU's output and the pool's are views of it.
      const pooled = node.flags.poolEpilogue ? plan.scheduled.slice(i + 1, i + 3).find((n) => n.layer instanceof MaxPool2d) : undefined;
      const output = aliasesInput(node)
        ? new Tensor(x.buffer, batchOf((poolAhead ?? node).outShape), 'f32', poolAhead && poolAhead !== node ? `${node.path} output, max-pooled by ${poolAhead.path}` : `${node.path} output`)
        : ctx.tensor(pooled ? `${node.path} output, max-pooled by ${pooled.path}` : `${node.path} output`, batchOf((pooled ?? node).outShape), { empty: true });
      if (pooled) poolAhead = pooled;
      else if (node === poolAhead) poolAhead = undefined;
      if (output.buffer !== x.buffer) bytes.activations += output.byteLength;
      const params: Record<string, ParameterState> = {};
      for (const p of node.parameters) {
        const k = parameters.length;
        const state = Object.fromEntries(Object.entries(states).map(([name, a]) => [name, a.members[k]!]));
        params[p.local] = { name: p.name, shape: p.shape, value: values.members[k]!, grad: grads.members[k]!, state };
        parameters.push(params[p.local]!);
      }
      const bufs: Record<string, Tensor> = {};
      for (const b of node.buffers) {
        bufs[b.local] = ctx.tensor(b.name, b.shape, { data: new Float32Array(shapeSize(b.shape)).fill(b.value) });
        bytes.buffers += bufs[b.local]!.byteLength;
        buffers.push({ name: b.name, shape: b.shape, value: bufs[b.local]! });
      }
      const workspace: Record<string, Tensor<'f32'> | Tensor<'u32'>> = {};
      for (const w of node.workspace) {
        // A Dropout's mask or a MaxPool2d's argmax may exist already: the layer before it writes it.
        const made = ahead.get(node)?.[w.name];
        workspace[w.name] = made ?? ctx.tensor(`${node.path} ${w.name}`, batchOf(w.shape), { dtype: w.dtype, empty: true });
        if (!made) bytes.workspace += workspace[w.name]!.byteLength;
      }
      workspaces.set(node.path, workspace);
      const foldedInto = foldedNorms.get(node);
      let normOnLoad: NodeFusion['normOnLoad'];
      if (foldedInto && next) {
        normOnLoad = { affine: ctx.tensor(`${node.path} batchnorm affine (applied on ${foldedInto.path}'s loads)`, [4 * node.inShape[0]!]) };
        bytes.workspace += normOnLoad.affine.byteLength;
        normInputs.set(foldedInto, { x, mask: workspaceAhead(ctx, next, 'mask', batchOf, ahead, bytes), affine: normOnLoad.affine });
      }
      const fusion: NodeFusion = {
        reluEpilogue: node.flags.reluEpilogue,
        forwardByPrevious: node.flags.forwardByPrevious,
        reluInput: node.flags.reluInput,
        backwardByNext: node.flags.backwardByNext,
        backwardByPrevious: handsOn(node),
        dropout: node.flags.dropoutAfter && next?.layer instanceof Dropout ? { p: next.layer.p, stream: next.stream, mask: workspaceAhead(ctx, next, 'mask', batchOf, ahead, bytes) } : undefined,
        pool: pooled ? { argmax: workspaceAhead(ctx, pooled, 'argmax', batchOf, ahead, bytes), backward: foldedPools.has(pooled) } : undefined,
        statsEpilogue: node.flags.statsEpilogue,
        statistics: node.flags.statsByProducer ? statistics : undefined,
        normOnLoad,
        normInput: normInputs.get(node),
      };
      if (node.flags.statsByProducer && !statistics) throw new Error(`${node.path}: batchnorm-stats-epilogue applied, but the layer before it left no partial moments`);
      // The layer's own tensors (a conv's packed weights and weight-gradient partial sums) count
      // as workspace.
      const lowered = ctx.scoped(() => node.layer.lower({
        ctx,
        path: node.path,
        maxBatch,
        inShape: node.inShape,
        outShape: node.outShape,
        input: x,
        output,
        parameters: params,
        buffers: bufs,
        dOutput: dOut.get(node),
        dInput: dIn.get(node),
        fusion,
        seed,
        stream: node.stream,
        workspace,
        shared,
        maxPartialSplits,
        tiles: options.tiles,
        guard: guardOf(node),
        residual: residualTensors(residualOf.get(node)),
      }));
      const program = lowered.value;
      // Partial moments for the batch norm after this layer (batchnorm-stats-epilogue).
      if (node.flags.statsEpilogue) statistics = program.statistics;
      bytes.workspace += lowered.tensors.reduce((sum, t) => sum + t.buffer.size, 0);
      built.push({ node, program, backward: i >= firstTrained });
      outputs.set(node.path, output);
      x = output;
    });
    function residualTensors(ends: { other?: PlanNode; kept?: Tensor } | undefined) {
      return ends && { other: ends.other && outputs.get(ends.other.path), kept: ends.kept };
    }
    for (const builder of Object.values(sharedArenas)) bytes.workspace += builder.build(ctx)?.all.byteLength ?? 0;
    this.output = x;
    this.outputs = outputs;
    this.workspaces = workspaces;
    this.unwrittenInTraining = new Set([...foldedNorms.keys()].flatMap((norm) => [norm.path, plan.scheduled[plan.scheduled.indexOf(norm) + 1]!.path]));
    this.programs = built;
    this.parameters = parameters;
    this.buffers = buffers;
    // The clip factor and norm after the per-step values: NaN until a step measures them.
    // With param groups' own learning rates, each parameter's [lr, stepSize] after them.
    const hyperLength = HYPER_LENGTH + (this.lrApart ? 2 * parameters.length : 0);
    this.hyper = ctx.tensor('optimizer hyper-parameters', [hyperLength], { data: Float32Array.from({ length: hyperLength }, (_, i) => (i >= CLIP_AT && i < HYPER_LENGTH ? NaN : 0)) });
    if (this.clipping?.kind === 'norm') {
      this.gradNormPartials = ctx.tensor('gradient norm partials', [gradNormPartials(grads.all.length)]);
      bytes.optimizer += this.gradNormPartials.byteLength;
    }
    bytes.maps = conv2dPackMapBytes(this.packJobs('train')) + conv2dPackMapBytes(this.packJobs('eval')) + conv2dReduceMapBytes(this.reduceJobs(maxBatch));
    const total = Object.values(bytes).reduce((a, b) => a + b, 0);
    this.memory = { ...bytes, total };
  }

  /**
   * The forward pass over `input` for `batch` samples. The layers' kernels are compiled at once,
   * not one after another: the driver compiles pipelines on several threads (on lavapipe, which
   * compiles every pipeline when a process starts, six conv pipelines took 550–630 ms together
   * against 840–990 ms in turn).
   */
  async forward(batch: number, mode: Mode): Promise<Dispatch[]> {
    this.checkBatch(batch);
    if (mode === 'eval') this.checkUntrackedBatchNorm(batch);
    const [packing, ...layers] = await Promise.all([this.packing(mode), ...this.programs.map(({ program }) => program.forward(batch, mode))]);
    return [...packing!, ...layers.flat()];
  }

  /** The backward pass from `dOutput` to every parameter gradient (overwritten); compiled at once, as the forward. */
  async backward(batch: number): Promise<Dispatch[]> {
    this.checkBatch(batch);
    const trained = [...this.programs].reverse().filter(({ backward }) => backward);
    const [reduction, ...layers] = await Promise.all([this.reduction(batch), ...trained.map(({ program }) => program.backward(batch))]);
    return [...layers.flat(), ...reduction!];
  }

  /**
   * Every layer's weight repackings (LayerProgram.packs) in one dispatch: the forward's in every
   * mode, the input gradient's too in training (none without conv layers).
   */
  private packing(mode: Mode): Promise<Dispatch[]> {
    return (this.packings[mode] ??= (async () => {
      const jobs = this.packJobs(mode);
      return jobs.length > 0 ? [await bindConvPacking(this.ctx, jobs, `network conv weight packing${mode === 'eval' ? ' (forward)' : ''}`)] : [];
    })());
  }

  /** The packing's jobs in a mode: every layer's forward packs, and in training its input gradient's. */
  private packJobs(mode: Mode): ConvPackJob[] {
    return this.programs.flatMap(({ program }) => {
      const packs = program.packs?.();
      return packs ? [...packs.forward, ...(mode === 'train' ? packs.input : [])] : [];
    });
  }

  /** The reduction's jobs at a batch: every trained layer's partial sums. */
  private reduceJobs(batch: number): ConvReduceJob[] {
    return this.programs.filter(({ backward }) => backward).flatMap(({ program }) => program.reductions?.(batch) ?? []);
  }

  /** Every layer's weight-gradient partial sums (LayerProgram.reductions) reduced in one dispatch, bound once per batch size. */
  private readonly reduction = perBatch(async (batch): Promise<Dispatch[]> => {
    const jobs = this.reduceJobs(batch);
    return jobs.length > 0 ? [await bindConvReduction(this.ctx, jobs, 'network conv weight gradient reduce')] : [];
  });

  /**
   * The optimizer's update of every parameter (values for the step come from `beginStep`): one
   * dispatch over the parameter arena (none without parameters).
   */
  optimizerStep(): Promise<Dispatch[]> {
    this.update ??= (async () => {
      const opt = this.optimizer;
      const { values, grads, states, slots } = this.arenas;
      const length = values.layout.length;
      if (length === 0) return [];
      const label = `${opt.kind} parameters`;
      const variant = { ...clipVariant(this.clipping), GROUP_DECAY: this.decayAt > 0, GROUP_LR: this.lrApart };
      const groupLrs = this.lrApart ? this.parameters.length : 0;
      const norm = await this.gradNormDispatches();
      if (opt.kind === 'sgd') {
        const kernel = await this.ctx.compile(sgdStep, variant);
        const tensors = { hyper: this.hyper, grad: grads.all, velocity: states.momentum_buffer!.all, param: values.all, health: this.health, slots };
        return [...norm, kernel.bind(tensors, { length, ...sgdKernelParams(opt, this.clipping, this.decayAt, groupLrs) }, label)];
      }
      if (opt.kind === 'rmsprop') {
        const [buffer, gradAvg] = [states.momentum_buffer, states.grad_avg];
        const kernel = await this.ctx.compile(rmspropStep, { ...variant, MOMENTUM: buffer !== undefined, CENTERED: gradAvg !== undefined });
        const tensors = {
          hyper: this.hyper, grad: grads.all, squareAvg: states.square_avg!.all, param: values.all, health: this.health, slots,
          ...(buffer ? { momentumBuffer: buffer.all } : {}), ...(gradAvg ? { gradAvg: gradAvg.all } : {}),
        };
        return [...norm, kernel.bind(tensors, { length, ...rmspropKernelParams(opt, this.clipping, this.decayAt, groupLrs) }, label)];
      }
      if (opt.kind === 'adagrad') {
        const kernel = await this.ctx.compile(adagradStep, variant);
        const tensors = { hyper: this.hyper, grad: grads.all, sum: states.sum!.all, param: values.all, health: this.health, slots };
        return [...norm, kernel.bind(tensors, { length, ...adagradKernelParams(opt, this.clipping, this.decayAt, groupLrs) }, label)];
      }
      if (opt.kind === 'adadelta') {
        const kernel = await this.ctx.compile(adadeltaStep, variant);
        const tensors = { hyper: this.hyper, grad: grads.all, squareAvg: states.square_avg!.all, accDelta: states.acc_delta!.all, param: values.all, health: this.health, slots };
        return [...norm, kernel.bind(tensors, { length, ...adadeltaKernelParams(opt, this.clipping, this.decayAt, groupLrs) }, label)];
      }
      // Adam, AdamW, NAdam, RAdam and Adamax: two moments (adam_step's variants; Adamax's exp_inf in exp_avg_sq's place).
      const kernel = await this.ctx.compile(adamStep, { ...variant, ...adamVariant(opt) });
      const tensors = {
        hyper: this.hyper, grad: grads.all, expAvg: states.exp_avg!.all, expAvgSq: (opt.kind === 'adamax' ? states.exp_inf : states.exp_avg_sq)!.all, param: values.all, health: this.health, slots,
        ...(states.max_exp_avg_sq ? { maxExpAvgSq: states.max_exp_avg_sq.all } : {}),
      };
      return [...norm, kernel.bind(tensors, { length, ...adamKernelParams(opt, this.clipping, this.decayAt, groupLrs) }, label)];
    })();
    return this.update;
  }

  /** clip_grad_norm_'s two dispatches (the gradients' partial norms, then the factor), or none. */
  private async gradNormDispatches(): Promise<Dispatch[]> {
    const partials = this.gradNormPartials;
    if (this.clipping?.kind !== 'norm' || !partials) return [];
    const { maxNorm, normType } = this.clipping;
    const kernel = await this.ctx.compile(gradNorm, { L1: normType === 1, INF: normType === Infinity });
    const grads = this.arenas.grads.all;
    const fold = this.ctx.device.limits.maxComputeWorkgroupsPerDimension;
    return [
      kernel.bind({ x: grads, y: partials }, { length: grads.length, maxNorm, finish: 0, at: 0, fold }, 'gradient norm partials'),
      kernel.bind({ x: partials, y: this.hyper }, { length: partials.length, maxNorm, finish: 1, at: CLIP_AT, fold }, 'gradient clip factor'),
    ];
  }

  /**
   * The total norm of the last training step's gradients before clipping (what
   * clip_grad_norm_ returns; the `clipGradNorm` option's norm type); NaN before this network's
   * first step (a loaded checkpoint's steps were measured elsewhere). Waits for the GPU.
   */
  async lastGradNorm(): Promise<number> {
    return (await this.clipResult('lastGradNorm'))[CLIP_AT + 1]!;
  }

  /** The factor the last step's gradients were multiplied by: min(maxNorm / (norm + 1e-6), 1); NaN before the first step. */
  async lastClipFactor(): Promise<number> {
    return (await this.clipResult('lastClipFactor'))[CLIP_AT]!;
  }

  private async clipResult(caller: string): Promise<Float32Array> {
    if (!this.gradNormPartials) throw new Error(`${caller}: this network clips no gradient norm (give the clipGradNorm option)`);
    return this.ctx.read(this.hyper);
  }

  /**
   * Sets the per-step values of the next training step (number `stepsTaken + 1`): the scheduled
   * learning rate and momentum for the optimizer, the step the dropout masks are drawn for.
   * Returns the learning rate used.
   */
  beginStep(batch: number, epoch: number): number {
    const opt = this.optimizer;
    const progress = { epoch, step: this.optimizerSteps } satisfies ScheduleProgress;
    this.scheduleEpoch = epoch;
    const scheduled = scheduledValues(opt.schedule, this.plateau?.lr ?? opt.lr, baseMomentum(opt), { ...progress, ...this.groupProgress(opt.paramGroups.length, epoch) });
    const lr = scheduled.lr * this.lrFactor;
    this.ctx.write(this.hyper, hyperValues(opt, this.optimizerSteps + 1, lr, scheduled.momentum));
    // Each param group's rate through the same schedule from the group's own (PyTorch's base_lrs);
    // the same for a parameter in none. A stepped schedule runs each group apart (its function, its saved rate).
    const stepped = isStepped(opt.schedule);
    const mainKey = stepped ? opt.paramGroups.length : opt.lr;
    const rates = new Map<number, number>([[mainKey, lr]]);
    this.stepLearningRates = this.learningRates.map((base, i) => {
      const group = this.groupIndices[i]!;
      const key = stepped ? group : base;
      if (!rates.has(key)) rates.set(key, scheduledValues(opt.schedule, base, baseMomentum(opt), { ...progress, ...this.groupProgress(group, epoch) }).lr * this.lrFactor);
      return rates.get(key)!;
    });
    if (this.lrApart) this.ctx.write(this.hyper, this.stepLearningRates.flatMap((r) => { const h = hyperValues(opt, this.optimizerSteps + 1, r, scheduled.momentum); return [h[0], h[2]]; }), HYPER_LENGTH);
    this.ctx.write(this.health, [this.stepsTaken + 1], HEALTH_SLOTS.step);
    this.setDropoutStep(batch, this.stepsTaken);
    return lr;
  }

  /** A param group's place for a stepped schedule: its index, and its rate where a checkpoint saved one. */
  private groupProgress(group: number, epoch: number): Pick<ScheduleProgress, 'group' | 'from'> {
    const from = this.scheduleFrom;
    return { group, ...(from && epoch >= from.epoch ? { from: { epoch: from.epoch, lr: from.lrs[group]! } } : {}) };
  }

  /**
   * Each param group's scheduled rate at `epoch` (PyTorch's group order: the optimizer's
   * paramGroups, then the parameters in none; param_groups' lr, before a rollback's lrFactor).
   */
  groupRates(epoch: number): number[] {
    const opt = this.optimizer;
    return [...opt.paramGroups.map((g) => g.lr ?? opt.lr), opt.lr].map((base, group) =>
      scheduledValues(opt.schedule, group === opt.paramGroups.length ? this.plateau?.lr ?? base : base, baseMomentum(opt), { epoch, step: this.optimizerSteps, ...this.groupProgress(group, epoch) }).lr);
  }

  /**
   * ReduceLROnPlateau's step with an epoch's metric (PyTorch's `scheduler.step(val_loss)`; a
   * `Trainer`'s `fit` calls it after each evaluation with the schedule's `metric`): the rate for
   * the steps after it, and whether it fell. Refused where the schedule is another.
   */
  stepPlateau(metric: number): { lr: number; reduced: boolean } {
    const schedule = this.optimizer.schedule;
    if (schedule.kind !== 'plateau' || !this.plateau) throw new Error(`stepPlateau: the optimizer's schedule is ${schedule.kind}, not ReduceLROnPlateau ({ kind: 'plateau' })`);
    if (typeof metric !== 'number') throw new TypeError(`stepPlateau: the metric must be a number, got ${JSON.stringify(metric)}`);
    const before = this.plateau.lr;
    this.plateau = plateauStep(schedule, this.plateau, metric);
    return { lr: this.plateau.lr, reduced: this.plateau.lr < before };
  }

  /**
   * The divergence guard's verdict: the first step whose loss or gradient was non-finite, or
   * undefined (waits for the GPU).
   */
  async divergence(): Promise<Divergence | undefined> {
    return decodeHealth(await this.ctx.read(this.health), this.guardNames, this.parameters.length);
  }

  /** Clears the divergence guard's record (after a rollback). */
  resetHealth(): void {
    this.ctx.write(this.health, freshHealth(this.guardNames.length));
  }

  /** Sets the step number the dropout masks of a `batch`-sized training forward pass are drawn for. */
  setDropoutStep(batch: number, step: number): void {
    for (const { program } of this.programs) program.setStep?.(batch, step);
  }

  /**
   * The model's outputs for `inputs` (count samples of the input shape, one after another), in
   * eval mode: PyTorch's `model.eval(); with torch.no_grad(): model(x)`. Returns count × classes
   * values: the last layer's outputs (logits; log-probabilities where the model ends in a
   * LogSoftmax, whose fusion into the loss leaves the GPU's output as logits: applied here, in
   * float64, rounded once). Runs in batches of the network's capacity.
   */
  async predict(inputs: Float32Array): Promise<Float32Array> {
    const size = shapeSize(this.plan.inputShape);
    if (!(inputs instanceof Float32Array)) throw new TypeError(`predict: inputs must be a Float32Array of samples of [${this.plan.inputShape.join(', ')}], got ${(inputs as object | null)?.constructor?.name ?? typeof inputs}`);
    if (inputs.length === 0 || inputs.length % size !== 0) {
      throw new RangeError(`predict: ${inputs.length} values are not whole samples of [${this.plan.inputShape.join(', ')}] (${size} values each)`);
    }
    // As uploadSplit refuses them: a non-finite input is a data error, not something to train or predict on.
    const bad = inputs.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new RangeError(`predict: inputs[${bad}] (sample ${Math.floor(bad / size)}) is ${inputs[bad]}, expected a finite number`);
    // An Embedding that reads the inputs takes them as token ids (the GPU would give a NaN row for one that is no row).
    const first = this.plan.nodes.find((n) => !n.layer.view);
    if (first?.layer instanceof Embedding) {
      const rows = first.layer.numEmbeddings;
      const id = inputs.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= rows);
      if (id >= 0) throw new RangeError(`predict: inputs[${id}] (sample ${Math.floor(id / size)}, position ${id % size}) is ${inputs[id]}, but layer '${first.path}' (Embedding) takes token ids: whole numbers from 0 to ${rows - 1}`);
    }
    const count = inputs.length / size;
    this.checkWholeBatchStatistics(count);
    const classes = this.plan.classes;
    const out = new Float32Array(count * classes);
    const logSoftmax = this.plan.nodes.some((n) => n.flags.intoLoss);
    for (let first = 0; first < count; first += this.maxBatch) {
      const batch = Math.min(this.maxBatch, count - first);
      const dispatches = await this.forward(batch, 'eval');
      this.ctx.write(this.input, inputs.subarray(first * size, (first + batch) * size));
      this.ctx.submit('predict', (encoder) => recordPass(encoder, 'predict', dispatches));
      const y = (await this.ctx.read(this.output)).subarray(0, batch * classes);
      out.set(logSoftmax ? logSoftmaxRef(y, batch, classes) : y, first * classes);
    }
    return out;
  }

  /** torchsummary's table, the fusion rules applied, and the gradient clipping where there is one. */
  summary(): string {
    return formatSummary(this.plan) + (this.clipping ? `\nGradients clipped before each step: ${describeClipping(this.clipping)}` : '');
  }

  /**
   * predict runs in chunks of maxBatch; a batch norm without running statistics normalises each
   * chunk with that chunk's statistics, where PyTorch's model(x) takes the whole batch's. Refused,
   * naming the layer, rather than answering otherwise than PyTorch.
   */
  private checkWholeBatchStatistics(count: number): void {
    if (count <= this.maxBatch) return;
    const node = this.plan.nodes.find((n) => n.layer instanceof BatchNorm && (n.layer as { trackRunningStats?: boolean }).trackRunningStats === false);
    if (node === undefined) return;
    throw new RangeError(`predict: ${count} samples, more than the network's maxBatch ${this.maxBatch}, and ${node.layer.type} '${node.path}' (track_running_stats false) normalises with its batch's own statistics in eval, which ${this.maxBatch}-sample chunks would change (PyTorch's model(x) normalises over all ${count}); predict at most ${this.maxBatch} samples at a time, or build the network with maxBatch ${count}`);
  }

  /**
   * A batch norm without running statistics normalises with its batch's own in eval too: one value
   * a channel (a batch of 1 with nothing else per channel) leaves it nothing to normalise with, and
   * PyTorch raises ("Expected more than 1 value per channel when training"). Refused, naming it.
   */
  private checkUntrackedBatchNorm(batch: number): void {
    for (const node of this.plan.nodes) {
      const layer = node.layer as { trackRunningStats?: boolean };
      if (!(node.layer instanceof BatchNorm) || layer.trackRunningStats !== false || batch * shapeSize(node.inShape.slice(1)) > 1) continue;
      throw new RangeError(`${node.layer.type} '${node.path}' (track_running_stats false): 1 value per channel in an evaluation batch of 1, as PyTorch refuses too ("Expected more than 1 value per channel when training": it normalises with the batch's own statistics); evaluate at least 2 samples together`);
    }
  }

  private checkBatch(batch: number): void {
    if (!Number.isInteger(batch) || batch < 1 || batch > this.maxBatch) {
      throw new RangeError(`batch ${batch} must be a whole number from 1 to the network's capacity ${this.maxBatch}`);
    }
  }
}

/** Flatten and Identity pass the gradient through as a view: no kernel, no new slot. */
function aliasesInputGradient(node: PlanNode, adapter: { readonly software: boolean }): boolean {
  return node.layer.view || node.layer.inputGradientInPlace(adapter);
}

/**
 * A u32 workspace tensor of `node` that the layer before it writes, made ahead of `node`'s own
 * lowering (once, shared by both): a Dropout's mask bits (batchnorm-dropout), a MaxPool2d's
 * argmax (maxpool-epilogue).
 */
function workspaceAhead(
  ctx: GpuContext,
  node: PlanNode,
  name: string,
  batchOf: (s: SampleShape) => number[],
  ahead: Map<PlanNode, Record<string, Tensor<'u32'>>>,
  bytes: { workspace: number },
): Tensor<'u32'> {
  const made = ahead.get(node) ?? {};
  let tensor = made[name];
  if (!tensor) {
    const spec = node.workspace.find((w) => w.name === name && w.dtype === 'u32');
    if (!spec) throw new Error(`${node.path}: a ${node.layer.type} declares its ${name} as a u32 workspace tensor`);
    tensor = ctx.tensor(`${node.path} ${name}`, batchOf(spec.shape), { dtype: 'u32', empty: true });
    bytes.workspace += tensor.byteLength;
    ahead.set(node, { ...made, [name]: tensor });
  }
  return tensor;
}
