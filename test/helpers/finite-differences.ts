/** Central finite differences in float64, for checking the CPU reference's backward functions. */

/** The step of the central differences. */
export const FD_STEP = 1e-6;
const H = FD_STEP;

/** Central differences in float64 with h = 1e-6 are good to about 1e-9 here. */
export const FD = { atol: 1e-8, rtol: 1e-6 };

/** ∂(Σ dy · f(x))/∂x by central differences. */
export function numericalGrad(f: (x: Float64Array) => ArrayLike<number>, x: Float64Array, dy: ArrayLike<number>): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const plus = Float64Array.from(x);
    const minus = Float64Array.from(x);
    plus[i]! += H;
    minus[i]! -= H;
    const fp = f(plus);
    const fm = f(minus);
    let s = 0;
    for (let j = 0; j < dy.length; j++) s += dy[j]! * (fp[j]! - fm[j]!);
    g[i] = s / (2 * H);
  }
  return g;
}
