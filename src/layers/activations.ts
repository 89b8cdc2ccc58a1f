/**
 * Element-wise activations and LogSoftmax, PyTorch's nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU,
 * nn.SiLU and nn.LogSoftmax(dim=1). ReLU's, Sigmoid's and Tanh's backward passes read the
 * forward's output (so a fused producer may store it), LeakyReLU's and SiLU's the input. Kernels:
 * src/kernels/relu.ts, sigmoid.ts, tanh.ts, activation.ts, log-softmax.ts.
 */
import { logSoftmaxBackward, logSoftmaxForward } from '../kernels/log-softmax.js';
import { reluBackward, reluForward } from '../kernels/relu.js';
import { sigmoidBackward, sigmoidForward } from '../kernels/sigmoid.js';
import { tanhBackward, tanhForward } from '../kernels/tanh.js';
import { activationBackward, activationForward } from '../kernels/activation.js';
import { Layer, ShapeError, perBatch, positionalOptions, shapeSize, type LayerBuild, type LayerProgram, type SampleShape, checkOptions, trueOrFalse } from './layer.js';

/** An element-wise activation: the output has the input's shape; no constructor arguments. */
abstract class Elementwise extends Layer {
  outputShape(input: SampleShape): SampleShape {
    return input;
  }
  config(): Record<string, unknown> {
    return {};
  }
}

export class ReLU extends Elementwise {
  readonly type = 'ReLU';

  /** PyTorch's `inplace` (`new ReLU(true)` or `{ inplace: true }`) changes no result here: taken and checked. */
  constructor(inplace?: boolean | { readonly inplace?: boolean }) {
    super();
    const options = typeof inplace === 'object' && inplace !== null ? checkOptions('ReLU', inplace, ['inplace']) : { inplace };
    trueOrFalse('ReLU', 'inplace', options.inplace, false);
  }
  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput, fusion } = b;
    const length = (batch: number) => batch * shapeSize(b.inShape);
    const forward = perBatch(async (batch) =>
      fusion.forwardByPrevious ? [] : [(await ctx.compile(reluForward)).bind({ x: input, y: output }, { length: length(batch) }, `${path} relu forward`)],
    );
    const backward = perBatch(async (batch) =>
      fusion.backwardByNext || !dOutput || !dInput ? [] : [(await ctx.compile(reluBackward)).bind({ dy: dOutput, y: output, dx: dInput }, { length: length(batch) }, `${path} relu backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

export class Sigmoid extends Elementwise {
  readonly type = 'Sigmoid';

  /**
   * `spreadsheetDerivative`: not PyTorch's. Every unit of a sample uses its first unit's
   * derivative, as the 2-2-2 spreadsheet's ∂E/∂w3, ∂E/∂w4 formula does (src/models/two-two-two.ts).
   */
  constructor(readonly options: { readonly spreadsheetDerivative?: boolean } = {}) {
    super();
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const count = (batch: number) => batch * shapeSize(b.inShape);
    const sheet = this.options.spreadsheetDerivative === true;
    const forward = perBatch(async (batch) => [(await ctx.compile(sigmoidForward)).bind({ x: input, y: output }, { count: count(batch) }, `${path} sigmoid forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput
        ? []
        : [(await ctx.compile(sigmoidBackward, { SPREADSHEET_DERIVATIVE: sheet })).bind({ dy: dOutput, y: output, dx: dInput }, { count: count(batch), features: shapeSize(b.inShape) }, `${path} sigmoid backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

export class Tanh extends Elementwise {
  readonly type = 'Tanh';

  constructor(...args: never[]) {
    super();
    if (args.length > 0) throw new RangeError(`Tanh: takes no arguments, got ${JSON.stringify(args)}`);
  }
  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const count = (batch: number) => batch * shapeSize(b.inShape);
    const forward = perBatch(async (batch) => [(await ctx.compile(tanhForward)).bind({ x: input, y: output }, { count: count(batch) }, `${path} tanh forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(tanhBackward)).bind({ dy: dOutput, y: output, dx: dInput }, { count: count(batch) }, `${path} tanh backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

/** LeakyReLU's and SiLU's passes: the activation kernels, the backward from the layer's input. */
function lowerFromInput(b: LayerBuild, name: string, silu: boolean, slope: number): LayerProgram {
  const { ctx, path, input, output, dOutput, dInput } = b;
  const params = (batch: number) => ({ count: batch * shapeSize(b.inShape), slope });
  const forward = perBatch(async (batch) => [(await ctx.compile(activationForward, { SILU: silu })).bind({ x: input, y: output }, params(batch), `${path} ${name} forward`)]);
  const backward = perBatch(async (batch) =>
    !dOutput || !dInput ? [] : [(await ctx.compile(activationBackward, { SILU: silu })).bind({ dy: dOutput, x: input, dx: dInput }, params(batch), `${path} ${name} backward`)],
  );
  return { forward: (batch) => forward(batch), backward };
}

/** PyTorch's nn.LeakyReLU(negative_slope=0.01, inplace=False): y = x if x > 0 else negative_slope · x. */
export class LeakyReLU extends Elementwise {
  readonly type = 'LeakyReLU';
  readonly negativeSlope: number;

  /** `new LeakyReLU()`, `new LeakyReLU(0.2)`, `new LeakyReLU(0.2, true)` or `new LeakyReLU({ negativeSlope: 0.2 })` (`inplace` changes no result here). */
  constructor(options?: { readonly negativeSlope?: number; readonly inplace?: boolean });
  constructor(negativeSlope?: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ negativeSlope?: number; inplace?: boolean }>('LeakyReLU', args, ['negativeSlope', 'inplace'], ['negativeSlope', 'inplace']);
    trueOrFalse('LeakyReLU', 'inplace', o.inplace, false);
    const slope = o.negativeSlope ?? 0.01;
    if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new RangeError(`LeakyReLU: negative_slope must be a finite number, got ${typeof slope === 'number' ? String(slope) : JSON.stringify(slope)}`);
    this.negativeSlope = slope;
  }
  override config(): Record<string, unknown> {
    return { negative_slope: this.negativeSlope };
  }
  lower(b: LayerBuild): LayerProgram {
    return lowerFromInput(b, 'leaky_relu', false, this.negativeSlope);
  }
}

/** PyTorch's nn.SiLU (x · σ(x), also called Swish). */
export class SiLU extends Elementwise {
  readonly type = 'SiLU';

  /** PyTorch's `inplace` (`new SiLU(true)` or `{ inplace: true }`) changes no result here: taken and checked. */
  constructor(inplace?: boolean | { readonly inplace?: boolean }) {
    super();
    const options = typeof inplace === 'object' && inplace !== null ? checkOptions('SiLU', inplace, ['inplace']) : { inplace };
    trueOrFalse('SiLU', 'inplace', options.inplace, false);
  }
  lower(b: LayerBuild): LayerProgram {
    return lowerFromInput(b, 'silu', true, 0);
  }
}

/** LogSoftmax over the features of each sample (dim = 1 of [N, features]). */
export class LogSoftmax extends Layer {
  readonly type = 'LogSoftmax';

  /** Over the classes of [batch, classes]: PyTorch's dim 1 (or −1), the default; any other is refused. */
  constructor(dim?: number | { readonly dim?: number }) {
    super();
    const value = typeof dim === 'object' && dim !== null ? checkOptions('LogSoftmax', dim, ['dim']).dim : dim;
    if (value !== undefined && value !== 1 && value !== -1) throw new RangeError(`LogSoftmax: dim must be 1 (or -1), the classes of [batch, classes]; got ${JSON.stringify(value)}`);
  }
  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 1) throw new ShapeError(`expects an input of shape [classes], got [${input.join(', ')}] (put a Flatten before it)`);
    return input;
  }
  config() {
    return { dim: 1 };
  }
  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const shape = (batch: number) => ({ batch, classes: b.inShape[0]! });
    const forward = perBatch(async (batch) => [(await ctx.compile(logSoftmaxForward)).bind({ x: input, y: output }, shape(batch), `${path} log_softmax forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(logSoftmaxBackward)).bind({ dy: dOutput, y: output, dx: dInput }, shape(batch), `${path} log_softmax backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}
