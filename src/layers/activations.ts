/**
 * Element-wise activations and LogSoftmax, PyTorch's nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU,
 * nn.SiLU, nn.GELU, nn.ELU, nn.SELU, nn.Softplus, nn.Mish, nn.Hardswish, nn.Hardsigmoid,
 * nn.Hardtanh, nn.ReLU6, nn.CELU, nn.LogSigmoid, nn.Softsign, nn.Softshrink, nn.Hardshrink,
 * nn.Threshold, nn.Tanhshrink, nn.PReLU, nn.RReLU, nn.GLU, nn.LogSoftmax, nn.Softmax and nn.Softmin
 * (dim=1). ReLU's, Sigmoid's and Tanh's backward passes read the forward's output (so a fused producer
 * may store it), the others' (InputActivation) the input. Kernels: src/kernels/relu.ts, sigmoid.ts,
 * tanh.ts, activation.ts, prelu.ts, rrelu.ts, glu.ts, log-softmax.ts.
 */
import { logSoftmaxBackward, logSoftmaxForward } from '../kernels/log-softmax.js';
import { reluBackward, reluForward } from '../kernels/relu.js';
import { sigmoidBackward, sigmoidForward } from '../kernels/sigmoid.js';
import { tanhBackward, tanhForward } from '../kernels/tanh.js';
import { activationBackward, activationDefines, activationForward, activationVec4, type ActivationVariant } from '../kernels/activation.js';
import { prelu, preluBackwardWeight, preluSplits, preluVariant } from '../kernels/prelu.js';
import { glu } from '../kernels/glu.js';
import { rrelu } from '../kernels/rrelu.js';
import type { Dispatch } from '../gpu/context.js';
import { Layer, ShapeError, perBatch, positionalOptions, shapeSize, whole, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape, type StepKernel, checkOptions, trueOrFalse } from './layer.js';

/** An element-wise activation: the output has the input's shape; no constructor arguments. */
abstract class Elementwise extends Layer {
  outputShape(input: SampleShape): SampleShape {
    return input;
  }
  config(): Record<string, unknown> {
    return inplaceConfig(this);
  }
}

export class ReLU extends Elementwise {
  readonly type = 'ReLU';

  /** PyTorch's `inplace` (`new ReLU(true)` or `{ inplace: true }`) changes no result here: taken and checked. */
  constructor(inplace?: boolean | { readonly inplace?: boolean }) {
    super();
    const options = typeof inplace === 'object' && inplace !== null ? checkOptions('ReLU', inplace, ['inplace']) : { inplace };
    this.inplace = trueOrFalse('ReLU', 'inplace', options.inplace, false);
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

/**
 * An activation whose backward reads its input: the activation kernels' variant and its two
 * arguments (shaders/lib/activation_math.wgsl's a, b). LeakyReLU, SiLU, GELU, ELU, SELU, Softplus,
 * Mish, Hardswish, Hardsigmoid, Hardtanh and ReLU6.
 */
export abstract class InputActivation extends Elementwise {
  abstract readonly variant: ActivationVariant;
  /** The kernels' arguments a and b (unused ones 0). */
  abstract readonly args: readonly [number, number];
  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const defines = activationDefines(this.variant);
    const name = this.type.toLowerCase();
    const params = (batch: number) => ({ count: batch * shapeSize(b.inShape), a: this.args[0], b: this.args[1] });
    const variant = (batch: number) => ({ ...defines, ...activationVec4(params(batch).count) });
    const forward = perBatch(async (batch) => [(await ctx.compile(activationForward, variant(batch))).bind({ x: input, y: output }, params(batch), `${path} ${name} forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(activationBackward, variant(batch))).bind({ dy: dOutput, x: input, dx: dInput }, params(batch), `${path} ${name} backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

/** The largest float32 (the kernels take the arguments as f32: anything past it would be ±∞, which PyTorch refuses as an overflow). */
const F32_MAX = 3.4028234663852886e38;

/**
 * A number argument within float32's range (or ±∞ where `infinite`, as PyTorch's threshold and
 * bounds take it), or the default where left out.
 */
function numberArg(owner: string, field: string, value: unknown, fallback: number, options: { ok?: (v: number) => boolean; expected?: string; infinite?: boolean } = {}): number {
  if (value === undefined) return fallback;
  const { ok = () => true, infinite = false } = options;
  const expected = options.expected ?? `a ${infinite ? '' : 'finite '}number`;
  const inRange = typeof value === 'number' && !Number.isNaN(value) && (Math.abs(value) <= F32_MAX || (infinite && !Number.isFinite(value)));
  if (!inRange || !ok(value as number)) {
    const past = typeof value === 'number' && Number.isFinite(value) && Math.abs(value) > F32_MAX ? ' (past float32\'s range: it would be ±∞)' : '';
    throw new RangeError(`${owner}: ${field} must be ${expected}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}${past}`);
  }
  return value as number;
}

/** A number as a model file writes it: ±∞ as "inf" / "-inf" (PyTorch's float('inf')), which JSON has no number for. */
export const jsonNumber = (v: number): number | string => (v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v);

/** PyTorch's `inplace` alone (`new SiLU(true)` or `{ inplace: true }`): changes no result here, taken, checked and kept (Layer.inplace). */
function inplaceOnly(owner: string, args: readonly unknown[]): boolean {
  const o = positionalOptions<{ inplace?: boolean }>(owner, args, ['inplace'], ['inplace']);
  return trueOrFalse(owner, 'inplace', o.inplace, false);
}

/** `inplace: true` where it was given, for model files (PyTorch's default, false, left out). */
export const inplaceConfig = (layer: Layer): Record<string, unknown> => (layer.inplace ? { inplace: true } : {});

/** PyTorch's nn.LeakyReLU(negative_slope=0.01, inplace=False): y = x if x > 0 else negative_slope · x. */
export class LeakyReLU extends InputActivation {
  readonly type = 'LeakyReLU';
  readonly variant = 'LEAKY_RELU';
  readonly negativeSlope: number;

  /** `new LeakyReLU()`, `new LeakyReLU(0.2)`, `new LeakyReLU(0.2, true)` or `new LeakyReLU({ negativeSlope: 0.2 })` (`inplace` changes no result here). */
  constructor(options?: { readonly negativeSlope?: number; readonly inplace?: boolean });
  constructor(negativeSlope?: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ negativeSlope?: number; inplace?: boolean }>('LeakyReLU', args, ['negativeSlope', 'inplace'], ['negativeSlope', 'inplace']);
    this.inplace = trueOrFalse('LeakyReLU', 'inplace', o.inplace, false);
    this.negativeSlope = numberArg('LeakyReLU', 'negative_slope', o.negativeSlope, 0.01);
  }
  get args(): readonly [number, number] {
    return [this.negativeSlope, 0];
  }
  override config(): Record<string, unknown> {
    return { negative_slope: this.negativeSlope, ...inplaceConfig(this) };
  }
}

/**
 * PyTorch's nn.PReLU(num_parameters=1, init=0.25): LeakyReLU with a learnt slope, `weight`, one for
 * all channels or one per channel (the sample's first dimension: channels of [C, H, W], features of
 * [F]). Kernels: src/kernels/prelu.ts.
 */
export class PReLU extends Elementwise {
  readonly type = 'PReLU';
  readonly numParameters: number;
  readonly init: number;

  /** `new PReLU()`, `new PReLU(16)`, `new PReLU(16, 0.1)` or `new PReLU({ numParameters: 16, init: 0.1 })`. */
  constructor(options?: { readonly numParameters?: number; readonly init?: number });
  constructor(numParameters?: number, init?: number);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ numParameters?: number; init?: number }>('PReLU', args, ['numParameters', 'init'], ['numParameters', 'init']);
    this.numParameters = o.numParameters === undefined ? 1 : whole('PReLU', 'num_parameters', o.numParameters);
    this.init = numberArg('PReLU', 'init', o.init, 0.25);
  }

  override outputShape(input: SampleShape): SampleShape {
    // PyTorch: "Mismatch in parameter count" where num_parameters is neither 1 nor the channels.
    if (this.numParameters !== 1 && input[0] !== this.numParameters) {
      throw new ShapeError(`num_parameters is ${this.numParameters}, so the input needs ${this.numParameters} channels (its first dimension), got [${input.join(', ')}] (PyTorch: num_parameters 1, or the channels)`);
    }
    return input;
  }

  override parameterSpecs(): ParameterSpec[] {
    return [{ name: 'weight', shape: [this.numParameters], init: { constant: this.init } }];
  }

  override config(): Record<string, unknown> {
    return { num_parameters: this.numParameters, init: this.init };
  }

  /** [channels, area] of a sample: one slope's elements (all of a sample where num_parameters is 1). */
  layout(input: SampleShape): { channels: number; area: number } {
    return this.numParameters === 1 ? { channels: 1, area: shapeSize(input) } : { channels: this.numParameters, area: shapeSize(input.slice(1)) };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const weight = b.parameters.weight!;
    const { channels, area } = this.layout(b.inShape);
    // The slopes' gradient as partial sums over splits of each channel, in the network's shared
    // arena, reduced by it in order after the backward pass (as the conv layers' weight gradients).
    const splits = (batch: number) => preluSplits(batch * area, b.maxPartialSplits);
    const partial = b.shared.storage(`${path} prelu weight-gradient partial sums`, [splits(b.maxBatch) * channels]);
    const forward = perBatch(async (batch) => [(await ctx.compile(prelu, preluVariant(area))).bind({ x: input, weight: weight.value, v: input, out: output }, { count: batch * channels * area, channels, area }, `${path} prelu forward`)]);
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const list: Dispatch[] = [(await ctx.compile(preluBackwardWeight)).bind({ x: input, dy: dOutput, partial: partial() }, { batch, channels, area, splits: splits(batch) }, `${path} prelu weight gradient`)];
      if (dInput) list.push((await ctx.compile(prelu, preluVariant(area))).bind({ x: input, weight: weight.value, v: dOutput, out: dInput }, { count: batch * channels * area, channels, area }, `${path} prelu backward`));
      return list;
    });
    return {
      forward: (batch) => forward(batch),
      backward,
      reductions: (batch) => (dOutput ? [{ partial: partial(), dweight: weight.grad, length: channels, splits: splits(batch) }] : []),
    };
  }
}

/** PyTorch's nn.SiLU (x · σ(x), also called Swish). */
export class SiLU extends InputActivation {
  readonly type = 'SiLU';
  readonly variant = 'SILU';
  readonly args = [0, 0] as const;

  /** PyTorch's `inplace` (`new SiLU(true)` or `{ inplace: true }`) changes no result here: taken and checked. */
  constructor(...args: [inplace?: boolean | { readonly inplace?: boolean }]) {
    super();
    this.inplace = inplaceOnly('SiLU', args);
  }
}

/** PyTorch's nn.GELU(approximate='none'): x · Φ(x); approximate 'tanh': ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export class GELU extends InputActivation {
  readonly type = 'GELU';
  readonly approximate: 'none' | 'tanh';
  readonly args = [0, 0] as const;

  /** `new GELU()`, `new GELU('tanh')` or `new GELU({ approximate: 'tanh' })`. */
  constructor(...args: [approximate?: 'none' | 'tanh' | { readonly approximate?: 'none' | 'tanh' }]) {
    super();
    const o = positionalOptions<{ approximate?: unknown }>('GELU', args, ['approximate'], ['approximate']);
    if (o.approximate !== undefined && o.approximate !== 'none' && o.approximate !== 'tanh') throw new RangeError(`GELU: approximate must be 'none' or 'tanh', got ${JSON.stringify(o.approximate)}`);
    this.approximate = (o.approximate as 'none' | 'tanh' | undefined) ?? 'none';
  }
  get variant(): ActivationVariant {
    return this.approximate === 'tanh' ? 'GELU_TANH' : 'GELU';
  }
  override config(): Record<string, unknown> {
    return this.approximate === 'none' ? {} : { approximate: this.approximate };
  }
}

/** PyTorch's nn.ELU(alpha=1.0, inplace=False): x if x > 0 else alpha·(e^x − 1). */
export class ELU extends InputActivation {
  readonly type = 'ELU';
  readonly variant = 'ELU';
  readonly alpha: number;

  constructor(options?: { readonly alpha?: number; readonly inplace?: boolean });
  constructor(alpha?: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ alpha?: number; inplace?: boolean }>('ELU', args, ['alpha', 'inplace'], ['alpha', 'inplace']);
    this.inplace = trueOrFalse('ELU', 'inplace', o.inplace, false);
    this.alpha = numberArg('ELU', 'alpha', o.alpha, 1);
  }
  get args(): readonly [number, number] {
    return [this.alpha, 1];
  }
  override config(): Record<string, unknown> {
    return { alpha: this.alpha, ...inplaceConfig(this) };
  }
}

/** SELU's constants (PyTorch's, from Klambauer et al.). */
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** PyTorch's nn.SELU: scale · ELU(x, alpha) with its fixed alpha and scale. */
export class SELU extends InputActivation {
  readonly type = 'SELU';
  readonly variant = 'ELU';
  readonly args = [SELU_ALPHA, SELU_SCALE] as const;

  constructor(...args: [inplace?: boolean | { readonly inplace?: boolean }]) {
    super();
    this.inplace = inplaceOnly('SELU', args);
  }
}

/** PyTorch's nn.Softplus(beta=1.0, threshold=20.0): log(1 + e^(beta·x))/beta, or x where beta·x > threshold. */
export class Softplus extends InputActivation {
  readonly type = 'Softplus';
  readonly variant = 'SOFTPLUS';
  readonly beta: number;
  readonly threshold: number;

  constructor(options?: { readonly beta?: number; readonly threshold?: number });
  constructor(beta?: number, threshold?: number);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ beta?: number; threshold?: number }>('Softplus', args, ['beta', 'threshold'], ['beta', 'threshold']);
    // beta 0 divides by zero (PyTorch gives ∞ and NaN); a negative one PyTorch computes (log(1 + e^(βx))/β, as here).
    this.beta = numberArg('Softplus', 'beta', o.beta, 1, { ok: (v) => v !== 0, expected: 'a finite number other than 0' });
    this.threshold = numberArg('Softplus', 'threshold', o.threshold, 20, { infinite: true });
  }
  get args(): readonly [number, number] {
    return [this.beta, this.threshold];
  }
  override config(): Record<string, unknown> {
    return { beta: this.beta, threshold: jsonNumber(this.threshold) };
  }
}

/** PyTorch's nn.Mish: x · tanh(softplus(x)). */
export class Mish extends InputActivation {
  readonly type = 'Mish';
  readonly variant = 'MISH';
  readonly args = [0, 0] as const;

  constructor(...args: [inplace?: boolean | { readonly inplace?: boolean }]) {
    super();
    this.inplace = inplaceOnly('Mish', args);
  }
}

/** PyTorch's nn.Hardswish: x · clamp(x + 3, 0, 6)/6. */
export class Hardswish extends InputActivation {
  readonly type = 'Hardswish';
  readonly variant = 'HARDSWISH';
  readonly args = [0, 0] as const;

  constructor(...args: [inplace?: boolean | { readonly inplace?: boolean }]) {
    super();
    this.inplace = inplaceOnly('Hardswish', args);
  }
}

/** PyTorch's nn.Hardsigmoid: clamp(x + 3, 0, 6)/6. */
export class Hardsigmoid extends InputActivation {
  readonly type = 'Hardsigmoid';
  readonly variant = 'HARDSIGMOID';
  readonly args = [0, 0] as const;

  constructor(...args: [inplace?: boolean | { readonly inplace?: boolean }]) {
    super();
    this.inplace = inplaceOnly('Hardsigmoid', args);
  }
}

/** PyTorch's nn.Hardtanh(min_val=-1.0, max_val=1.0): clamp(x, min_val, max_val); the gradient 0 at and outside the bounds. */
export class Hardtanh extends InputActivation {
  readonly type: string = 'Hardtanh';
  readonly variant = 'HARDTANH';
  readonly minVal: number;
  readonly maxVal: number;

  constructor(options?: { readonly minVal?: number; readonly maxVal?: number; readonly inplace?: boolean });
  constructor(minVal?: number, maxVal?: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ minVal?: number; maxVal?: number; inplace?: boolean }>('Hardtanh', args, ['minVal', 'maxVal', 'inplace'], ['minVal', 'maxVal', 'inplace']);
    this.inplace = trueOrFalse('Hardtanh', 'inplace', o.inplace, false);
    this.minVal = numberArg('Hardtanh', 'min_val', o.minVal, -1, { infinite: true });
    this.maxVal = numberArg('Hardtanh', 'max_val', o.maxVal, 1, { infinite: true });
    // PyTorch asserts max_val > min_val.
    if (!(this.maxVal > this.minVal)) throw new RangeError(`Hardtanh: max_val must be greater than min_val, got min_val ${this.minVal}, max_val ${this.maxVal}`);
  }
  get args(): readonly [number, number] {
    return [this.minVal, this.maxVal];
  }
  override config(): Record<string, unknown> {
    return { min_val: jsonNumber(this.minVal), max_val: jsonNumber(this.maxVal), ...inplaceConfig(this) };
  }
}

/** PyTorch's nn.ReLU6: Hardtanh(0, 6) (its gradient 0 at x = 0 and x = 6, as PyTorch's). */
export class ReLU6 extends Hardtanh {
  override readonly type: string = 'ReLU6';

  constructor(...args: [inplace?: boolean | { readonly inplace?: boolean }]) {
    super(0, 6);
    this.inplace = inplaceOnly('ReLU6', args);
  }
  override config(): Record<string, unknown> {
    return inplaceConfig(this);
  }
}

/** PyTorch's nn.CELU(alpha=1.0, inplace=False): x if x > 0 else alpha·(e^(x/alpha) − 1). */
export class CELU extends InputActivation {
  readonly type = 'CELU';
  readonly variant = 'CELU';
  readonly alpha: number;

  constructor(options?: { readonly alpha?: number; readonly inplace?: boolean });
  constructor(alpha?: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ alpha?: number; inplace?: boolean }>('CELU', args, ['alpha', 'inplace'], ['alpha', 'inplace']);
    this.inplace = trueOrFalse('CELU', 'inplace', o.inplace, false);
    // PyTorch: "ZeroDivisionError" for alpha 0 (x/alpha).
    this.alpha = numberArg('CELU', 'alpha', o.alpha, 1, { ok: (v) => v !== 0, expected: 'a finite number other than 0' });
  }
  get args(): readonly [number, number] {
    return [this.alpha, 0];
  }
  override config(): Record<string, unknown> {
    return { alpha: this.alpha, ...inplaceConfig(this) };
  }
}

/** PyTorch's nn.LogSigmoid: log σ(x), without the cancellation of log(1/(1 + e^(−x))). */
export class LogSigmoid extends InputActivation {
  readonly type = 'LogSigmoid';
  readonly variant = 'LOGSIGMOID';
  readonly args = [0, 0] as const;
  constructor() {
    super();
  }
}

/** PyTorch's nn.Softsign: x / (1 + |x|). */
export class Softsign extends InputActivation {
  readonly type = 'Softsign';
  readonly variant = 'SOFTSIGN';
  readonly args = [0, 0] as const;
  constructor() {
    super();
  }
}

/** PyTorch's nn.Tanhshrink: x − tanh(x) (a series near 0, where the difference cancels in float32). */
export class Tanhshrink extends InputActivation {
  readonly type = 'Tanhshrink';
  readonly variant = 'TANHSHRINK';
  readonly args = [0, 0] as const;
  constructor() {
    super();
  }
}

/**
 * PyTorch's nn.RReLU(lower=1/8, upper=1/3, inplace=False): in training y = x where x > 0, else r·x
 * with r drawn for each element from U(lower, upper), from the counter-based Philox generator (this
 * layer's random stream and the step: reproducible under a seed; the backward draws the same r,
 * its gradient r·dy there, as PyTorch's noise); in eval LeakyReLU with slope (lower + upper)/2.
 * Kernels: src/kernels/rrelu.ts (training), activation.ts (eval).
 */
export class RReLU extends Elementwise {
  readonly type = 'RReLU';
  override readonly drawsRandom = true;
  /** PyTorch's `lower` and `upper` (`lower` is every layer's lowering method here). */
  readonly lowerBound: number;
  readonly upperBound: number;

  /** `new RReLU()`, `new RReLU(0.1, 0.3)`, `new RReLU(0.1, 0.3, true)` or `new RReLU({ lower: 0.1, upper: 0.3 })`. */
  constructor(options?: { readonly lower?: number; readonly upper?: number; readonly inplace?: boolean });
  constructor(lower?: number, upper?: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ lower?: number; upper?: number; inplace?: boolean }>('RReLU', args, ['lower', 'upper', 'inplace'], ['lower', 'upper', 'inplace']);
    this.inplace = trueOrFalse('RReLU', 'inplace', o.inplace, false);
    this.lowerBound = numberArg('RReLU', 'lower', o.lower, 1 / 8);
    this.upperBound = numberArg('RReLU', 'upper', o.upper, 1 / 3);
    // PyTorch: "Lower bound should be less than or equal to the upper bound".
    if (this.lowerBound > this.upperBound) {
      throw new RangeError(`RReLU: lower must be at most upper (PyTorch: Lower bound should be less than or equal to the upper bound), got lower ${this.lowerBound}, upper ${this.upperBound}`);
    }
  }
  override config(): Record<string, unknown> {
    return { lower: this.lowerBound, upper: this.upperBound, ...inplaceConfig(this) };
  }
  /** The eval slope, PyTorch's (lower + upper)/2. */
  get evalSlope(): number {
    return (this.lowerBound + this.upperBound) / 2;
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const count = (batch: number) => batch * shapeSize(b.inShape);
    const kernels = new Map<number, StepKernel[]>();
    // The step of the draws (setStep), also for a kernel made after it was set.
    let step = 0;
    const params = (batch: number) => ({ count: count(batch), lower: this.lowerBound, upper: this.upperBound, seed: b.seed, stream: b.stream, step });
    const trainForward = perBatch(async (batch) => {
      const kernel = (await ctx.compile(rrelu)).bind({ x: input, y: output }, params(batch), `${path} rrelu forward`);
      kernels.set(batch, [...(kernels.get(batch) ?? []), kernel]);
      return [kernel];
    });
    const evalForward = perBatch(async (batch) => [(await ctx.compile(activationForward, activationVec4(count(batch)))).bind({ x: input, y: output }, { count: count(batch), a: this.evalSlope, b: 0 }, `${path} rrelu forward (eval: leaky_relu)`)]);
    const backward = perBatch(async (batch) => {
      if (!dOutput || !dInput) return [];
      const kernel = (await ctx.compile(rrelu, { BACKWARD: true })).bind({ x: input, dy: dOutput, dx: dInput }, params(batch), `${path} rrelu backward`);
      kernels.set(batch, [...(kernels.get(batch) ?? []), kernel]);
      return [kernel];
    });
    return {
      forward: (batch, mode) => (mode === 'train' ? trainForward(batch) : evalForward(batch)),
      backward,
      setStep: (batch, next) => {
        step = next;
        for (const kernel of kernels.get(batch) ?? []) kernel.update({ step });
      },
    };
  }
}

/**
 * PyTorch's nn.GLU(dim=-1): the dimension `dim` split in halves a, b, y = a·σ(b); the output has
 * that dimension halved (it must be even). dim counts as PyTorch's does with the batch: 1 is a
 * sample's first dimension (the channels of [C, H, W], [C, L]), −1 its last; the batch's own (0) is
 * refused. Kernel: src/kernels/glu.ts.
 */
export class GLU extends Layer {
  readonly type = 'GLU';
  readonly dim: number;

  /** `new GLU()`, `new GLU(1)` or `new GLU({ dim: 1 })`. */
  constructor(dim?: number | { readonly dim?: number });
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ dim?: number }>('GLU', args, ['dim'], ['dim']);
    if (o.dim !== undefined && (typeof o.dim !== 'number' || !Number.isInteger(o.dim))) throw new RangeError(`GLU: dim must be a whole number, got ${JSON.stringify(o.dim)}`);
    this.dim = o.dim ?? -1;
  }

  /** The split dimension's index within a sample of `rank` dimensions (PyTorch's dim, counted with the batch). */
  axis(rank: number): number {
    const full = rank + 1;
    if (this.dim < -full || this.dim >= full) throw new ShapeError(`dim ${this.dim} is out of range for the input's ${full} dimensions (batch included): expected one in [${-full}, ${full - 1}]`);
    const index = this.dim < 0 ? this.dim + full : this.dim;
    if (index === 0) throw new ShapeError(`dim ${this.dim} is the batch dimension, which this engine does not split (give a sample's dimension: 1 … ${rank}, or -1 … ${-rank})`);
    return index - 1;
  }

  outputShape(input: SampleShape): SampleShape {
    const axis = this.axis(input.length);
    const size = input[axis]!;
    // PyTorch: "Halving dimension must be even, but dimension 1 is size 3".
    if (size % 2 !== 0) throw new ShapeError(`the split dimension must be even (its halves a, b give a·σ(b)), but dimension ${this.dim} of [N, ${input.join(', ')}] is size ${size}`);
    return input.map((s, i) => (i === axis ? s / 2 : s));
  }

  config(): Record<string, unknown> {
    return { dim: this.dim };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const axis = this.axis(b.inShape.length);
    const half = b.inShape[axis]! / 2;
    const inner = shapeSize(b.inShape.slice(axis + 1));
    const params = (batch: number) => ({ count: batch * shapeSize(b.outShape), half, inner });
    const forward = perBatch(async (batch) => [(await ctx.compile(glu)).bind({ x: input, y: output }, params(batch), `${path} glu forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(glu, { BACKWARD: true })).bind({ x: input, dy: dOutput, dx: dInput }, params(batch), `${path} glu backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

/** Softshrink and Hardshrink: one argument, lambd (default 0.5), positional or as { lambd }. */
abstract class Shrink extends InputActivation {
  readonly lambd: number;
  constructor(owner: string, args: readonly unknown[], nonNegative: boolean) {
    super();
    const o = positionalOptions<{ lambd?: number }>(owner, args, ['lambd'], ['lambd']);
    // PyTorch's Softshrink: "lambda must be greater or equal to 0" (Hardshrink takes any).
    this.lambd = nonNegative
      ? numberArg(owner, 'lambd', o.lambd, 0.5, { ok: (v) => v >= 0, expected: 'a finite number ≥ 0 (PyTorch: lambda must be greater or equal to 0)' })
      : numberArg(owner, 'lambd', o.lambd, 0.5);
  }
  get args(): readonly [number, number] {
    return [this.lambd, 0];
  }
  override config(): Record<string, unknown> {
    return { lambd: this.lambd };
  }
}

/** PyTorch's nn.Softshrink(lambd=0.5): x − lambd above lambd, x + lambd below −lambd, else 0. */
export class Softshrink extends Shrink {
  readonly type = 'Softshrink';
  readonly variant = 'SOFTSHRINK';
  constructor(lambd?: number | { readonly lambd?: number });
  constructor(...args: unknown[]) {
    super('Softshrink', args, true);
  }
}

/** PyTorch's nn.Hardshrink(lambd=0.5): 0 where −lambd ≤ x ≤ lambd, else x. */
export class Hardshrink extends Shrink {
  readonly type = 'Hardshrink';
  readonly variant = 'HARDSHRINK';
  constructor(lambd?: number | { readonly lambd?: number });
  constructor(...args: unknown[]) {
    super('Hardshrink', args, false);
  }
}

/** PyTorch's nn.Threshold(threshold, value, inplace=False): x where x > threshold, else value. */
export class Threshold extends InputActivation {
  readonly type = 'Threshold';
  readonly variant = 'THRESHOLD';
  readonly threshold: number;
  readonly value: number;

  constructor(options: { readonly threshold: number; readonly value: number; readonly inplace?: boolean });
  constructor(threshold: number, value: number, inplace?: boolean);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<{ threshold?: number; value?: number; inplace?: boolean }>('Threshold', args, ['threshold', 'value', 'inplace'], ['threshold', 'value', 'inplace']);
    // PyTorch: __init__() missing 2 required positional arguments: 'threshold' and 'value'.
    if (o.threshold === undefined || o.value === undefined) throw new RangeError(`Threshold: threshold and value are required (PyTorch's Threshold(threshold, value)), got ${JSON.stringify(o)}`);
    this.inplace = trueOrFalse('Threshold', 'inplace', o.inplace, false);
    this.threshold = numberArg('Threshold', 'threshold', o.threshold, 0, { infinite: true });
    this.value = numberArg('Threshold', 'value', o.value, 0);
  }
  get args(): readonly [number, number] {
    return [this.threshold, this.value];
  }
  override config(): Record<string, unknown> {
    return { threshold: jsonNumber(this.threshold), value: this.value, ...inplaceConfig(this) };
  }
}

/**
 * LogSoftmax, Softmax and Softmin over the features of each sample (dim = 1 of [N, features]): one
 * kernel source (no variant: LogSoftmax; SOFTMAX; SOFTMIN, softmax of −x).
 */
abstract class OverClasses extends Layer {
  /** The kernels' variant: Softmax's or Softmin's probabilities, else (undefined) LogSoftmax's log-probabilities. */
  protected abstract readonly variant: 'SOFTMAX' | 'SOFTMIN' | undefined;

  /** Over the classes of [batch, classes]: PyTorch's dim 1 (or −1), the default; any other is refused. */
  constructor(owner: string, dim?: number | { readonly dim?: number }) {
    super();
    const value = typeof dim === 'object' && dim !== null ? checkOptions(owner, dim, ['dim']).dim : dim;
    if (value !== undefined && value !== 1 && value !== -1) throw new RangeError(`${owner}: dim must be 1 (or -1), the classes of [batch, classes]; got ${JSON.stringify(value)}`);
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
    const variant = this.variant === undefined ? {} : { [this.variant]: true };
    const name = this.variant?.toLowerCase() ?? 'log_softmax';
    const forward = perBatch(async (batch) => [(await ctx.compile(logSoftmaxForward, variant)).bind({ x: input, y: output }, shape(batch), `${path} ${name} forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(logSoftmaxBackward, variant)).bind({ dy: dOutput, y: output, dx: dInput }, shape(batch), `${path} ${name} backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

/** PyTorch's nn.LogSoftmax(dim=1): log-probabilities (fused with an NLL loss after it: log-softmax-nll). */
export class LogSoftmax extends OverClasses {
  readonly type = 'LogSoftmax';
  protected readonly variant = undefined;
  constructor(dim?: number | { readonly dim?: number }) {
    super('LogSoftmax', dim);
  }
}

/**
 * PyTorch's nn.Softmax(dim=1): probabilities, for a squared-error loss or for predictions (a
 * classifier's loss wants logits or a LogSoftmax: the plan refuses one after a Softmax, saying so).
 */
export class Softmax extends OverClasses {
  readonly type = 'Softmax';
  protected readonly variant = 'SOFTMAX';
  constructor(dim?: number | { readonly dim?: number }) {
    super('Softmax', dim);
  }
}

/**
 * PyTorch's nn.Softmin(dim=1): softmax of −x, probabilities highest where x is lowest (as Softmax,
 * a cross-entropy or NLL loss after it is refused).
 */
export class Softmin extends OverClasses {
  readonly type = 'Softmin';
  protected readonly variant = 'SOFTMIN';
  constructor(dim?: number | { readonly dim?: number }) {
    super('Softmin', dim);
  }
}
