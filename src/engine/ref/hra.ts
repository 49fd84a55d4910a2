/**
 * CPU twin of shaders/hra.wgsl (float32 rounding of the GPU's fma where it matters) plus HRA's merged
 * weight, the definition the adapter (src/engine/adapters/methods/hra.ts) is checked against.
 * PEFT (hra/layer.py get_delta_weight): H = Π_{k=0..r−1} (I − 2 û_k û_kᵀ), W_pt' = W_pt·H with
 * W_pt (out, in). In our (in, out) layout W' = Hᵀ·W = H_{r−1}⋯H_0·W.
 */

/** Ut (r, in) and norms (r) from U (in, r). */
export function hraNormalize(U: ArrayLike<number>, inDim: number, r: number): { Ut: Float32Array; norm: Float32Array } {
  const Ut = new Float32Array(r * inDim),
    norm = new Float32Array(r);
  for (let k = 0; k < r; k++) {
    let ss = 0;
    for (let i = 0; i < inDim; i++) ss = Math.fround(U[i * r + k] * U[i * r + k] + ss);
    const n = Math.fround(Math.sqrt(ss));
    const inv = n === 0 ? 0 : Math.fround(1 / n);
    for (let i = 0; i < inDim; i++) Ut[k * inDim + i] = Math.fround(U[i * r + k] * inv);
    norm[k] = n;
  }
  return { Ut, norm };
}

/** dU (in, r) += (dû − û·(ûᵀdû)) / ‖u‖, in place; returns dU. */
export function hraNormalizeBackward(
  dUt: ArrayLike<number>,
  Ut: ArrayLike<number>,
  norm: ArrayLike<number>,
  dU: Float32Array,
  inDim: number,
  r: number,
): Float32Array {
  for (let k = 0; k < r; k++) {
    if (norm[k] === 0) continue;
    let c = 0;
    for (let i = 0; i < inDim; i++) c += Ut[k * inDim + i] * dUt[k * inDim + i];
    for (let i = 0; i < inDim; i++) dU[i * r + k] += (dUt[k * inDim + i] - Ut[k * inDim + i] * c) / norm[k];
  }
  return dU;
}

/** W' = H_{r−1}⋯H_0·W for W (in, out) and U (in, r), rounded to float32. */
export function hraMerge(
  W: ArrayLike<number>,
  U: ArrayLike<number>,
  inDim: number,
  outDim: number,
  r: number,
): Float32Array {
  return Float32Array.from(hraMergeF64(W, U, inDim, outDim, r));
}

/** W' = H_{r−1}⋯H_0·W in float64 (also the finite-difference oracle's forward). */
export function hraMergeF64(
  W: ArrayLike<number>,
  U: ArrayLike<number>,
  inDim: number,
  outDim: number,
  r: number,
): Float64Array {
  const w = Float64Array.from(W);
  for (let k = 0; k < r; k++) {
    const u = new Float64Array(inDim);
    let ss = 0;
    for (let i = 0; i < inDim; i++) ss += (u[i] = U[i * r + k]) ** 2;
    if (ss === 0) continue;
    const v = new Float64Array(outDim); // uᵀW / ‖u‖²
    for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) v[o] += u[i] * w[i * outDim + o];
    for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) w[i * outDim + o] -= (2 * u[i] * v[o]) / ss;
  }
  return w;
}
