/**
 * Finite-difference gradients: the oracle for every backward CPU reference (and, through it, every
 * GPU backward). Central differences (f(x+εeᵢ) − f(x−εeᵢ)) / 2ε in float64, truncation error O(ε²).
 * `f` must compute in float64 too (the refs' `*F64` forwards): a float32 forward would add rounding
 * noise of ~1e-7/ε to every component and drown the check.
 */

export type Vec = Float64Array | Float32Array;

/**
 * ∂f/∂xᵢ for every i. `x` is not modified; `f` is called 2·x.length times on a float64 copy of x with
 * one component perturbed.
 */
export function numericGrad(f: (x: Vec) => number, x: Vec, eps = 1e-3): Float64Array {
  const xp = Float64Array.from(x);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
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

/** Σᵢ wᵢ·yᵢ in float64: turns a vector-valued forward into the scalar f whose gradient is the backward with dout = w. */
export function dot(w: ArrayLike<number>, y: ArrayLike<number>): number {
  if (w.length !== y.length) throw new Error(`dot: lengths ${w.length} and ${y.length}`);
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * y[i];
  return s;
}
