/**
 * The loss of a network's output, its gradient, and the batch's loss and accuracy accumulated on
 * the GPU, for one split (labels, or a regression's targets, are written by the batch kernel). Cross-entropy on logits, and an
 * NLL on a LogSoftmax at the model's end (fusion rule log-softmax-nll), are one log-softmax + NLL
 * kernel; an NLL on log-probabilities left unfused is its own kernel (both with per-class weights:
 * their WEIGHTED variants; with an ignore index their IGNORE variants, weights of 1 bound where none are given); the pointwise losses (MSE, ½Σ(t − a)², L1, smooth L1, Huber, BCE with
 * logits, with pos_weight its POS_WEIGHT variant, BCE, KL divergence) compare the output with
 * one-hot targets, or float targets (regression, multi-label, distributions). Accuracy is the argmax of the output (none is
 * correct for a float-target sample, which has no class); a sample whose label is the ignore index
 * counts as neither right nor wrong (the accuracy is over the others, as a PyTorch user would
 * count it), and the loss its batch's mean over the others (PyTorch's), summed by the batch.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { nllBackward, nllForward } from '../kernels/log-softmax.js';
import { POINTWISE_LOSSES, pointwiseKind, pointwiseLoss } from '../kernels/pointwise-loss.js';
import { isPointwiseLoss } from '../plan/fusion.js';
import { batchMetrics, logSoftmaxNllBackward, logSoftmaxNllForward } from '../kernels/nll.js';
import type { Network } from '../plan/network.js';

/**
 * A loss head's running sums: the last batch's mean loss, the summed loss (each batch's mean times
 * its samples), the correct predictions, the samples seen, and of those the ignored ones (whose
 * label is the ignore index; absent: none): the accuracy is correct / (count − ignored).
 */
export interface RunningMetrics {
  readonly batchLoss: number;
  readonly lossSum: number;
  readonly correct: number;
  readonly count: number;
  readonly ignored?: number;
}

/** The accuracy's denominator: the samples whose labels are not the ignore index. */
export const scoredSamples = (m: RunningMetrics): number => m.count - (m.ignored ?? 0);

export class LossHead {
  readonly labels: Tensor<'u32'>;
  /** Float targets (regression, multi-label): each sample's, [maxBatch, outputs], which a pointwise loss compares with. */
  readonly targets?: Tensor;
  /** The log-probabilities written by the fused kernel; else the network's output (whose argmax is the prediction). */
  readonly logp: Tensor;
  readonly sampleLoss: Tensor;
  readonly metrics: Tensor;
  readonly counts: Tensor<'u32'>;
  /**
   * The NLL losses' per-class weights (ones with an ignore index and no weights), and [Σ_b w[label_b]
   * of the last batch, Σ_j w[j]] (written by the forward kernel, read by the backward).
   */
  private readonly classWeights?: { readonly weight: Tensor; readonly weightSum: Tensor };
  /** BCEWithLogitsLoss's pos_weight, one an output. */
  private readonly posWeight?: Tensor;
  private readonly fused: boolean;
  private readonly loss: Network['plan']['loss'];
  /**
   * An output of `logp` as the probability the loss reads it as: exp of a log-probability (the NLL
   * losses), the sigmoid of a logit (BCE with logits), else the output itself (BCE's
   * probabilities; the squared and absolute errors' scores).
   */
  readonly probability: (value: number) => number;

  constructor(
    private readonly ctx: GpuContext,
    private readonly network: Network,
    name: string,
    options: { readonly targets?: boolean } = {},
  ) {
    const { maxBatch, plan } = network;
    this.loss = plan.loss;
    this.probability = plan.loss === 'nll' || plan.loss === 'cross-entropy' || plan.loss === 'kl-div' ? Math.exp : plan.loss === 'bce-with-logits' ? (v) => 1 / (1 + Math.exp(-v)) : (v) => v;
    this.fused = plan.loss === 'cross-entropy' || plan.nodes.some((n) => n.flags.intoLoss);
    this.labels = ctx.tensor(`${name} batch labels`, [maxBatch], { dtype: 'u32' });
    if (options.targets) {
      if (!isPointwiseLoss(plan.loss)) throw new Error(`float targets need a loss that compares outputs with targets (${Object.keys(POINTWISE_LOSSES).map((k) => `'${k}'`).join(', ')}), not '${plan.loss}', which takes class labels`);
      this.targets = ctx.tensor(`${name} batch targets`, [maxBatch, plan.classes]);
    }
    this.logp = this.fused ? ctx.tensor(`${name} log-probabilities`, [maxBatch, plan.classes]) : network.output;
    this.sampleLoss = ctx.tensor(`${name} per-sample loss`, [maxBatch]);
    this.metrics = ctx.tensor(`${name} metrics`, [2]);
    this.counts = ctx.tensor(`${name} counts`, [3], { dtype: 'u32' });
    if (plan.classWeights || plan.ignoreIndex !== undefined) {
      const weights = plan.classWeights ?? new Array<number>(plan.classes).fill(1);
      this.classWeights = { weight: ctx.tensor(`${name} class weights`, [plan.classes], { data: weights }), weightSum: ctx.tensor(`${name} class weight sums`, [2]) };
    }
    if (plan.posWeight) this.posWeight = ctx.tensor(`${name} pos_weight`, [plan.classes], { data: plan.posWeight });
  }

  reset(): void {
    this.restore({ batchLoss: 0, lossSum: 0, correct: 0, count: 0 });
  }

  /** Sets the accumulated metrics (an epoch continued from a checkpoint saved part-way through it). */
  restore(m: RunningMetrics): void {
    this.ctx.write(this.metrics, [m.batchLoss, m.lossSum]);
    this.ctx.write(this.counts, [m.correct, m.count, m.ignored ?? 0]);
  }

  async dispatches(batch: number, withGradient: boolean): Promise<Dispatch[]> {
    const { ctx, network } = this;
    const { ignoreIndex } = network.plan;
    const shape = { batch, classes: network.plan.classes, ignoreIndex: ignoreIndex ?? 0 };
    const ignoring = { IGNORE: ignoreIndex !== undefined };
    const list: Dispatch[] = [];
    const loss = this.loss;
    const pointwise = isPointwiseLoss(loss);
    if (pointwise) {
      // One kernel writes the loss and its gradient; in eval the gradient buffer is scratch.
      const params = { batch, features: shape.classes, kind: pointwiseKind(loss, network.plan.logTarget), beta: network.plan.lossBeta };
      const { targets, posWeight } = this;
      const tensors = { prediction: network.output, labels: this.labels, loss: this.sampleLoss, grad: network.dOutput };
      const kernel = await ctx.compile(pointwiseLoss, { TARGETS: targets !== undefined, POS_WEIGHT: posWeight !== undefined });
      list.push(kernel.bind({ ...tensors, ...(targets ? { targets } : {}), ...(posWeight ? { posWeight } : {}) }, params, this.loss));
    } else {
      const weighted = { WEIGHTED: this.classWeights !== undefined, ...ignoring };
      const weights = this.classWeights ?? {};
      list.push(
        this.fused
          ? (await ctx.compile(logSoftmaxNllForward, weighted)).bind({ logits: network.output, labels: this.labels, logp: this.logp, loss: this.sampleLoss, ...weights }, { ...shape, smoothing: network.plan.labelSmoothing }, 'log_softmax nll')
          : (await ctx.compile(nllForward, weighted)).bind({ logp: network.output, labels: this.labels, loss: this.sampleLoss, ...weights }, shape, 'nll'),
      );
    }
    // A training step's loss feeds the divergence guard; an evaluation's does not.
    list.push((await ctx.compile(batchMetrics, ignoring)).bind(
      { loss: this.sampleLoss, logp: this.logp, labels: this.labels, metrics: this.metrics, counts: this.counts, health: network.health },
      { ...shape, guard: withGradient ? 1 : 0 },
      'batch metrics',
    ));
    if (withGradient && !pointwise) {
      const weighted = { WEIGHTED: this.classWeights !== undefined, ...ignoring };
      const weights = this.classWeights ?? {};
      list.push(
        this.fused
          ? (await ctx.compile(logSoftmaxNllBackward, weighted)).bind({ logp: this.logp, labels: this.labels, dlogits: network.dOutput, ...weights }, { ...shape, smoothing: network.plan.labelSmoothing }, 'log_softmax nll backward')
          : (await ctx.compile(nllBackward, weighted)).bind({ labels: this.labels, dlogp: network.dOutput, ...weights }, shape, 'nll backward'),
      );
    }
    return list;
  }

  /** Reads the accumulated metrics (waits for the GPU). */
  async read(): Promise<RunningMetrics> {
    const [metrics, counts] = await Promise.all([this.ctx.read(this.metrics), this.ctx.read(this.counts)]);
    return { batchLoss: metrics[0]!, lossSum: metrics[1]!, correct: counts[0]!, count: counts[1]!, ...(counts[2] ? { ignored: counts[2] } : {}) };
  }
}
