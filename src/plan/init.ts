/**
 * Parameter initialisations other than a layer's default, as torch.nn.init's functions give them:
 * `kaiming_uniform_`, `kaiming_normal_`, `xavier_uniform_`, `xavier_normal_`, `normal_`, `uniform_`,
 * `trunc_normal_`, `orthogonal_`, `constant_`, `zeros_`, `ones_`, with PyTorch's fans (`_calculate_fan_in_and_fan_out`) and gains
 * (`calculate_gain`). A Network's `init` option picks one per parameter, as a PyTorch loop over
 * `model.modules()` applies them after construction; the draws come from the run's seed (Philox,
 * src/reference/random.ts), so a run stays reproducible.
 */
import { normalCdfRef } from '../reference/activation.js';
import { randomWord } from '../reference/random.js';
import { shownValue } from '../layers/layer.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export type Init =
  | { readonly kind: 'kaiming_uniform' | 'kaiming_normal'; readonly a?: number; readonly mode?: 'fan_in' | 'fan_out'; readonly nonlinearity?: Nonlinearity }
  | { readonly kind: 'xavier_uniform' | 'xavier_normal'; readonly gain?: number }
  | { readonly kind: 'normal'; readonly mean?: number; readonly std?: number }
  | { readonly kind: 'uniform'; readonly a?: number; readonly b?: number }
  | { readonly kind: 'trunc_normal'; readonly mean?: number; readonly std?: number; readonly a?: number; readonly b?: number }
  | { readonly kind: 'orthogonal'; readonly gain?: number }
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
  trunc_normal: ['mean', 'std', 'a', 'b'],
  orthogonal: ['gain'],
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
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) throw new RangeError(`init of '${name}': ${kind}'s ${field} must be a finite number${field === 'std' ? ' ≥ 0' : ''}, got ${shownValue(v)}`);
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
  } else if (i.kind === 'trunc_normal') {
    finite('mean', i.mean);
    // PyTorch divides by std ((a − mean)/std): 0 raises there.
    if (i.std !== undefined && (typeof i.std !== 'number' || !(i.std > 0) || !Number.isFinite(i.std))) throw new RangeError(`init of '${name}': trunc_normal's std must be a finite number > 0 (PyTorch divides by it), got ${typeof i.std === 'number' ? String(i.std) : JSON.stringify(i.std)}`);
    finite('a', i.a);
    finite('b', i.b);
    if ((i.a ?? -2) >= (i.b ?? 2)) throw new RangeError(`init of '${name}': trunc_normal's a must be below b, got a ${i.a ?? -2}, b ${i.b ?? 2}`);
  } else if (i.kind === 'orthogonal') finite('gain', i.gain);
  else if (i.kind === 'constant') {
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
    case 'trunc_normal': {
      // PyTorch's inverse-CDF method: a uniform draw between Φ(α) and Φ(β), through Φ⁻¹, clamped to [a, b].
      const [mean, std, a, b] = [init.mean ?? 0, init.std ?? 1, init.a ?? -2, init.b ?? 2];
      const [lo, hi] = [normalCdfRef((a - mean) / std), normalCdfRef((b - mean) / std)];
      return Float32Array.from(uniform(0, 1), (p) => Math.min(Math.max(mean + std * inverseNormalCdf(lo + (hi - lo) * p), a), b));
    }
    case 'orthogonal':
      return orthogonal(shape, name, init.gain ?? 1, normal(0, 1));
    case 'constant':
      return new Float32Array(length).fill(init.val);
    case 'zeros':
      return new Float32Array(length);
    case 'ones':
      return new Float32Array(length).fill(1);
  }
}

/**
 * Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error 1.2e-9), then one step of
 * Halley's method on Φ (normalCdfRef) to float64's accuracy. 0 and 1 give ∓∞ (clamped by the caller).
 */
export function inverseNormalCdf(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    if (p > 1 - low) x = -x;
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  }
  // Halley: e = Φ(x) − p, u = e·√(2π)·e^(x²/2), x ← x − u / (1 + x·u/2).
  const e = normalCdfRef(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/**
 * torch.nn.init.orthogonal_: the tensor as [rows, columns] (its first dimension, the rest), a
 * normal draw of that shape (transposed where rows < columns) made orthonormal by QR with R's
 * diagonal positive (PyTorch multiplies Q by the signs of R's diagonal: the same Q), transposed
 * back, times gain. Modified Gram–Schmidt, each column orthogonalised twice, in float64.
 */
function orthogonal(shape: readonly number[], name: string, gain: number, draws: Float32Array): Float32Array {
  // PyTorch: "Only tensors with 2 or more dimensions are supported".
  if (shape.length < 2) throw new RangeError(`init of '${name}': orthogonal needs a tensor of 2 or more dimensions, got [${shape.join(', ')}] (as PyTorch)`);
  const rows = shape[0]!;
  const columns = draws.length / rows;
  const [m, n] = rows < columns ? [columns, rows] : [rows, columns];
  // q: n orthonormal columns of length m, from the draws as an m × n matrix (transposed where rows < columns).
  const q = Array.from({ length: n }, (_, j) => Float64Array.from({ length: m }, (_, i) => (rows < columns ? draws[j * columns + i]! : draws[i * columns + j]!)));
  for (let j = 0; j < n; j++) {
    const v = q[j]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const u = q[k]!;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += u[i]! * v[i]!;
        for (let i = 0; i < m; i++) v[i]! -= dot * u[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) v[i]! /= norm;
  }
  // Back to [rows, columns]: element (r, c) is q's (r, c), or (c, r) where it was transposed.
  return Float32Array.from({ length: rows * columns }, (_, k) => {
    const [r, c] = [Math.floor(k / columns), k % columns];
    return gain * (rows < columns ? q[r]![c]! : q[c]![r]!);
  });
}
