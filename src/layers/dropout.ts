/**
 * Dropout (PyTorch's nn.Dropout): inverted dropout in training, identity in eval. Masks come from
 * the counter-based Philox generator (seed, this layer's stream, the step), so a run is
 * reproducible and no mask comes from the CPU; a mask is kept as bits. Kernels:
 * src/kernels/dropout.ts; after a batch norm the training forward and the backward are the batch
 * norm's (fusion rule batchnorm → dropout).
 */
import { alphaDropoutParams, dropoutBackward, dropoutForward, dropoutForwardVariant, dropoutParams, maskWords } from '../kernels/dropout.js';
import type { Dispatch } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, perBatch, positionalOptions, trueOrFalse, shapeSize, type LayerBuild, type LayerProgram, type StepKernel, type SampleShape, type WorkspaceSpec } from './layer.js';

export class Dropout extends Layer {
  readonly type: string = 'Dropout';
  readonly p: number;
  /** Whole channels dropped (Dropout2d, Dropout1d, FeatureAlphaDropout) rather than elements. */
  readonly channelWise: boolean = false;
  /** SELU's self-normalising dropout (AlphaDropout, FeatureAlphaDropout): kept a·x + b, dropped a·α' + b. */
  readonly alpha: boolean = false;
  override readonly drawsRandom = true;

  /** `new Dropout(0.1)`, `new Dropout(0.1, true)` or `new Dropout({ p: 0.1 })` (PyTorch's `inplace` changes no result here). */
  constructor(options?: { readonly p?: number; readonly inplace?: boolean });
  constructor(p?: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    // Not PyTorch's None here (positionalOptions reads a null so): Dropout(None) fails there too.
    const name = new.target.name;
    if (args[0] === null) throw new RangeError(`${name}: p must be a number in [0, 1], got null`);
    const o = positionalOptions<{ p?: number; inplace?: boolean }>(name, args, ['p', 'inplace'], ['p', 'inplace']);
    this.inplace = trueOrFalse(name, 'inplace', o.inplace, false);
    const p = o.p === undefined ? 0.5 : o.p;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${name}: p must be a number in [0, 1], got ${JSON.stringify(p)}`);
    this.p = p;
  }

  outputShape(input: SampleShape): SampleShape {
    return input;
  }

  config() {
    return { p: this.p, ...(this.inplace ? { inplace: true } : {}) };
  }

  /**
   * The mask, a bit per element (kept or dropped; shaders/lib/dropout_mask.wgsl), written by the
   * forward pass or a fused batch norm: [⌈elements / 32⌉] words a sample, so a batch's bits fit.
   */
  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    return [{ name: 'mask', shape: [maskWords(shapeSize(input))], dtype: 'u32' }];
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput, fusion } = b;
    const mask = b.workspace.mask as Tensor<'u32'>;
    const length = (batch: number) => batch * shapeSize(b.inShape);
    const kernels = new Map<number, StepKernel>();
    // The step of the draws (setStep), also for a kernel made after it was set.
    let step = 0;
    // Dropout2d, Dropout1d: a draw a channel of [C, H, W] or [C, L], its elements kept or dropped together.
    const area = this.channelWise ? shapeSize(b.inShape.slice(1)) : 1;
    // The kernel's threshold and affine map for drop probability p (p = 0: a copy, in either form).
    const affine = (p: number) => (this.alpha ? alphaDropoutParams(p) : { ...dropoutParams(p), shift: 0, dropped: 0 });
    const bind = async (batch: number, p: number, label: string) =>
      (await ctx.compile(dropoutForward, dropoutForwardVariant(length(batch), { channels: this.channelWise, alpha: this.alpha }))).bind({ x: input, mask, y: output }, { length: length(batch), ...affine(p), seed: b.seed, stream: b.stream, step, area }, label);
    const trainForward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (fusion.forwardByPrevious) return [];
      const kernel = await bind(batch, this.p, `${path} dropout forward`);
      kernels.set(batch, kernel);
      return [kernel];
    });
    // Identity in eval: a copy (p = 0 keeps every element, scale 1), unless the batch norm before wrote the output.
    const evalForward = perBatch(async (batch): Promise<Dispatch[]> => (fusion.forwardByPrevious ? [] : [await bind(batch, 0, `${path} dropout (eval: copy)`)]));
    // After a batch norm, the batch norm's backward kernels apply the mask (fusion rule batchnorm → dropout).
    const backward = perBatch(async (batch): Promise<Dispatch[]> =>
      !dOutput || !dInput || fusion.backwardByPrevious
        ? []
        : [(await ctx.compile(dropoutBackward, { VEC4: length(batch) % 4 === 0 })).bind({ dy: dOutput, mask, dx: dInput }, { length: length(batch), scale: affine(this.p).scale }, `${path} dropout backward`)],
    );
    return {
      forward: (batch, mode) => (mode === 'train' ? trainForward(batch) : evalForward(batch)),
      backward,
      setStep: (batch, next) => {
        step = next;
        kernels.get(batch)?.update({ step });
      },
    };
  }
}

/**
 * PyTorch's nn.Dropout2d: in training each channel of each sample ([C, H, W]) is zeroed with
 * probability p, the kept ones scaled by 1/(1 − p); identity in eval. Its own dropout kernel
 * (variant CHANNELS: a draw a channel), never fused into a batch norm before it.
 */
export class Dropout2d extends Dropout {
  override readonly type: string = 'Dropout2d';
  override readonly channelWise = true;

  override outputShape(input: SampleShape): SampleShape {
    if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W] (channels to drop whole), got [${input.join(', ')}]`);
    return input;
  }
}

/**
 * PyTorch's nn.Dropout1d: in training each channel of each sample ([C, L]) is zeroed with
 * probability p, the kept ones scaled by 1/(1 − p); identity in eval. Dropout2d's kernel (a draw a
 * channel), never fused into a batch norm before it.
 */
export class Dropout1d extends Dropout {
  override readonly type: string = 'Dropout1d';
  override readonly channelWise = true;

  override outputShape(input: SampleShape): SampleShape {
    if (input.length !== 2) throw new ShapeError(`expects an input of shape [C, L] (channels to drop whole), got [${input.join(', ')}]`);
    return input;
  }
}

/**
 * PyTorch's nn.AlphaDropout(p=0.5): SELU's self-normalising dropout. In training each element is
 * dropped with probability p, set to SELU's negative saturation α' = −1.7580993408473766, and then
 * every element mapped by a·v + b, a = ((1 − p)(1 + p·α'²))^−½, b = −a·α'·p, so that zero mean and
 * unit variance survive; identity in eval; p = 1 gives zeros, as PyTorch's. Dropout's kernels (variant
 * ALPHA; the backward multiplies by a where kept), never fused into a batch norm before it.
 */
export class AlphaDropout extends Dropout {
  override readonly type: string = 'AlphaDropout';
  override readonly alpha = true;
}

/**
 * PyTorch's nn.FeatureAlphaDropout(p=0.5): AlphaDropout with whole channels of each sample
 * dropped (the sample's first dimension: channels of [C, H, W] or [C, L]; features of [F], each on
 * its own, as PyTorch's on [N, F]).
 */
export class FeatureAlphaDropout extends Dropout {
  override readonly type: string = 'FeatureAlphaDropout';
  override readonly alpha = true;
  override readonly channelWise = true;
}
