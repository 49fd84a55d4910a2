/**
 * Finite-difference helpers under the names the attention / optimizer tests use; the one
 * implementation is tests/helpers/fd.ts. Their default step is 1e-5 (float64 forwards).
 */
import { numericGrad, dot, type Vec } from './fd';

/** ∂f/∂xᵢ by (f(x+εeᵢ) − f(x−εeᵢ))/2ε for every i (x is copied, never modified). */
export function centralDiff(f: (x: Float64Array) => number, x: ArrayLike<number>, eps = 1e-5): Float64Array {
  return numericGrad(f as (x: Vec) => number, Float64Array.from(x), eps);
}

export { dot as dot64 };
