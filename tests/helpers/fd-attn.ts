/**
 * Central finite differences in float64 for the attention / optimizer tests (kept separate from the
 * shared tests/helpers/fd.ts so parallel work does not collide). f must compute in float64.
 */

/** ∂f/∂xᵢ by (f(x+εeᵢ) − f(x−εeᵢ))/2ε for every i (x is copied, never modified). */
export function centralDiff(f: (x: Float64Array) => number, x: ArrayLike<number>, eps = 1e-5): Float64Array {
  const xp = Float64Array.from(x);
  const g = new Float64Array(xp.length);
  for (let i = 0; i < xp.length; i++) {
    const x0 = xp[i];
    xp[i] = x0 + eps;
    const fp = f(xp);
    xp[i] = x0 - eps;
    const fm = f(xp);
    xp[i] = x0;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

/** Σ wᵢ·yᵢ in float64. */
export function dot64(w: ArrayLike<number>, y: ArrayLike<number>): number {
  if (w.length !== y.length) throw new Error(`dot64: lengths ${w.length} and ${y.length}`);
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * y[i];
  return s;
}
