/**
 * Parameter initialisations other than a layer's default, as torch.nn.init's functions give them:
 * `kaiming_uniform_`, `kaiming_normal_`, `xavier_uniform_`, `xavier_normal_`, `normal_`, `uniform_`,
 * `constant_`, `zeros_`, `ones_`, with PyTorch's fans (`_calculate_fan_in_and_fan_out`) and gains
 * (`calculate_gain`). A Network's `init` option picks one per parameter, as a PyTorch loop over
 * `model.modules()` applies them after construction; the draws come from the run's seed (Philox,
 * src/reference/random.ts), so a run stays reproducible.
 */
import { randomWord } from '../reference/random.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export type Init =
  | { readonly kind: 'kaiming_uniform' | 'kaiming_normal'; readonly a?: number; readonly mode?: 'fan_in' | 'fan_out'; readonly nonlinearity?: Nonlinearity }
  | { readonly kind: 'xavier_uniform' | 'xavier_normal'; readonly gain?: number }
  | { readonly kind: 'normal'; readonly mean?: number; readonly std?: number }
  | { readonly kind: 'uniform'; readonly a?: number; readonly b?: number }
  | { readonly kind: 'constant'; readonly val: number }
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' };

const FIELDS: Record<Init['kind'], readonly string[]> = {
  kaiming_uniform: ['a', 'mode', 'nonlinearity'],
  kaiming_normal: ['a', 'mode', 'nonlinearity'],
  xavier_uniform: ['gain'],
  xavier_normal: ['gain'],
  normal: ['mean', 'std'],
  uniform: ['a', 'b'],
  constant: ['val'],
  zeros: [],
  ones: [],
};

/** torch.nn.init.calculate_gain(nonlinearity, param). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
  }
}

/** PyTorch's _calculate_fan_in_and_fan_out: [out, in, …receptive field] (a Linear's [out, in]). */
export function fanInAndOut(shape: readonly number[], name: string): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new RangeError(`init of '${name}': fan in and fan out can not be computed for a tensor of fewer than 2 dimensions ([${shape.join(', ')}]), as PyTorch says; use normal, uniform or constant there`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** An Init checked as torch.nn.init checks its arguments (naming the parameter); returns it. */
export function checkInit(init: unknown, name: string): Init {
  const kind = (init as { kind?: unknown } | null)?.kind;
  if (typeof init !== 'object' || init === null || typeof kind !== 'string' || !(kind in FIELDS)) {
    throw new TypeError(`init of '${name}': expected { kind: ${Object.keys(FIELDS).map((k) => `'${k}'`).join(' | ')}, … }, got ${JSON.stringify(init)}`);
  }
  const extra = Object.keys(init).find((k) => k !== 'kind' && !FIELDS[kind as Init['kind']].includes(k));
  if (extra !== undefined) throw new RangeError(`init of '${name}': ${kind} takes ${FIELDS[kind as Init['kind']].join(', ') || 'no arguments'}, not '${extra}'`);
  const i = init as Init;
  const finite = (field: string, v: unknown, ok = (x: number) => Number.isFinite(x)) => {
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) throw new RangeError(`init of '${name}': ${kind}'s ${field} must be a finite number${field === 'std' ? ' ≥ 0' : ''}, got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
  };
  if (i.kind === 'kaiming_uniform' || i.kind === 'kaiming_normal') {
    finite('a', i.a);
    if (i.mode !== undefined && i.mode !== 'fan_in' && i.mode !== 'fan_out') throw new RangeError(`init of '${name}': mode must be 'fan_in' or 'fan_out', got ${JSON.stringify(i.mode)}`);
    const kinds: readonly Nonlinearity[] = ['linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'];
    if (i.nonlinearity !== undefined && !kinds.includes(i.nonlinearity)) throw new RangeError(`init of '${name}': nonlinearity must be ${kinds.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(i.nonlinearity)}`);
  } else if (i.kind === 'xavier_uniform' || i.kind === 'xavier_normal') finite('gain', i.gain);
  else if (i.kind === 'normal') {
    finite('mean', i.mean);
    finite('std', i.std, (x) => Number.isFinite(x) && x >= 0);
  } else if (i.kind === 'uniform') {
    finite('a', i.a);
    finite('b', i.b);
    if ((i.a ?? 0) > (i.b ?? 1)) throw new RangeError(`init of '${name}': uniform's a must not exceed b, got a ${i.a ?? 0}, b ${i.b ?? 1}`);
  } else if (i.kind === 'constant') {
    // PyTorch: constant_() missing 1 required positional argument: 'val'.
    if (typeof i.val !== 'number' || !Number.isFinite(i.val)) throw new RangeError(`init of '${name}': constant's val must be a finite number, got ${typeof i.val === 'number' ? String(i.val) : JSON.stringify(i.val)}`);
  }
  return i;
}

/**
 * The values of one parameter under `init`: `length` elements from the run's seed, `key` and
 * `offset` as the default draws take them (src/plan/plan.ts: initialValues): a uniform draw takes
 * the word `offset + i` of `stream`, a normal one two words of `normalStream` (Box–Muller), so that
 * a layer's normal weight and the uniform bias after it share no word. Values that do not fit
 * float32 are refused, naming the parameter (PyTorch refuses them too).
 */
export function initValues(init: Init, shape: readonly number[], name: string, draw: { seed: number; stream: number; normalStream: number; key: number; offset: number }): Float32Array {
  const values = draws(init, shape, name, draw);
  if (!values.every(Number.isFinite)) throw new RangeError(`init of '${name}': ${JSON.stringify(init)} gives values that do not fit float32`);
  return values;
}

function draws(init: Init, shape: readonly number[], name: string, draw: { seed: number; stream: number; normalStream: number; key: number; offset: number }): Float32Array {
  const length = shape.reduce((a, b) => a * b, 1);
  const uniform = (lo: number, hi: number) => Float32Array.from({ length }, (_, i) => lo + (hi - lo) * (randomWord(draw.seed, draw.stream, draw.key, draw.offset + i) / 2 ** 32));
  const normal = (mean: number, std: number) =>
    Float32Array.from({ length }, (_, i) => {
      const word = (k: number) => randomWord(draw.seed, draw.normalStream, draw.key, 2 * (draw.offset + i) + k);
      const u1 = (word(0) + 1) / (2 ** 32 + 1);
      const u2 = word(1) / 2 ** 32;
      return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    });
  switch (init.kind) {
    case 'kaiming_uniform':
    case 'kaiming_normal': {
      const { fanIn, fanOut } = fanInAndOut(shape, name);
      const fan = (init.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
      const std = calculateGain(init.nonlinearity ?? 'leaky_relu', init.a ?? 0) / Math.sqrt(fan);
      return init.kind === 'kaiming_normal' ? normal(0, std) : uniform(-Math.sqrt(3) * std, Math.sqrt(3) * std);
    }
    case 'xavier_uniform':
    case 'xavier_normal': {
      const { fanIn, fanOut } = fanInAndOut(shape, name);
      const std = (init.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
      return init.kind === 'xavier_normal' ? normal(0, std) : uniform(-Math.sqrt(3) * std, Math.sqrt(3) * std);
    }
    case 'normal':
      return normal(init.mean ?? 0, init.std ?? 1);
    case 'uniform':
      return uniform(init.a ?? 0, init.b ?? 1);
    case 'constant':
      return new Float32Array(length).fill(init.val);
    case 'zeros':
      return new Float32Array(length);
    case 'ones':
      return new Float32Array(length).fill(1);
  }
}
