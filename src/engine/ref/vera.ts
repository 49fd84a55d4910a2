/**
 * CPU reference of the vera kernel family (shaders/vera.wgsl, src/gpu/kernels/vera.ts): plain loops,
 * written from the formulas, not from the GPU code. Also the whole VeRA branch in float64 (forward and
 * backward) — the oracle the adapter's GPU path and finite differences are checked against.
 *
 * Layouts: B (≥ outDim, r) row-major (only the first outDim rows are used), A (r, ≥ inDim) with row
 * stride `lda` (only the first inDim columns are used), x (N, inDim), y/dy (N, outDim).
 */

/** Beff (outDim, r) = diag(λ_b)·B[:outDim]·diag(λ_d). */
export function veraScaleB(
  B: ArrayLike<number>,
  lb: ArrayLike<number>,
  ld: ArrayLike<number>,
  outDim: number,
  r: number,
): Float32Array {
  const out = new Float32Array(outDim * r);
  for (let o = 0; o < outDim; o++) for (let k = 0; k < r; k++) out[o * r + k] = lb[o] * B[o * r + k] * ld[k];
  return out;
}

/** dλ_b[o] += Σ_k G[o,k]·B[o,k]·λ_d[k]. Returns a new array (dlb + the sum). */
export function veraGradB(
  G: ArrayLike<number>,
  B: ArrayLike<number>,
  ld: ArrayLike<number>,
  dlb: ArrayLike<number>,
  outDim: number,
  r: number,
): Float32Array {
  const out = Float32Array.from(dlb);
  for (let o = 0; o < outDim; o++) {
    let acc = 0;
    for (let k = 0; k < r; k++) acc += G[o * r + k] * B[o * r + k] * ld[k];
    out[o] += acc;
  }
  return out;
}

/** dλ_d[k] += Σ_o G[o,k]·B[o,k]·λ_b[o]. Returns a new array. */
export function veraGradD(
  G: ArrayLike<number>,
  B: ArrayLike<number>,
  lb: ArrayLike<number>,
  dld: ArrayLike<number>,
  outDim: number,
  r: number,
): Float32Array {
  const out = Float32Array.from(dld);
  for (let k = 0; k < r; k++) {
    let acc = 0;
    for (let o = 0; o < outDim; o++) acc += G[o * r + k] * B[o * r + k] * lb[o];
    out[k] += acc;
  }
  return out;
}

export interface VeraBranch {
  N: number;
  inDim: number;
  outDim: number;
  r: number;
  /** Row stride of A (the shared A is (r, maxIn)). */
  lda: number;
  A: ArrayLike<number>;
  B: ArrayLike<number>;
  lb: ArrayLike<number>;
  ld: ArrayLike<number>;
}

/** The branch output u (N, outDim) = ((x·A_slᵀ) ⊙ λ_d)·B_slᵀ ⊙ λ_b, in float64. */
export function veraBranchForwardF64(v: VeraBranch, x: ArrayLike<number>): Float64Array {
  const { N, inDim, outDim, r, lda } = v;
  const h = new Float64Array(r);
  const out = new Float64Array(N * outDim);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[n * inDim + i] * v.A[k * lda + i];
      h[k] = acc * v.ld[k];
    }
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += h[k] * v.B[o * r + k];
      out[n * outDim + o] = acc * v.lb[o];
    }
  }
  return out;
}

/** Gradients of Σ dy ⊙ branch(x) w.r.t. λ_b (outDim), λ_d (r) and x (N, inDim), in float64. */
export function veraBranchBackwardF64(
  v: VeraBranch,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
): { dlb: Float64Array; dld: Float64Array; dx: Float64Array } {
  const { N, inDim, outDim, r, lda } = v;
  const dlb = new Float64Array(outDim),
    dld = new Float64Array(r),
    dx = new Float64Array(N * inDim);
  const h = new Float64Array(r),
    dh2 = new Float64Array(r);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[n * inDim + i] * v.A[k * lda + i];
      h[k] = acc; // x·Aᵀ before λ_d
    }
    dh2.fill(0);
    for (let o = 0; o < outDim; o++) {
      const g = dy[n * outDim + o];
      let u = 0;
      for (let k = 0; k < r; k++) u += h[k] * v.ld[k] * v.B[o * r + k];
      dlb[o] += g * u;
      for (let k = 0; k < r; k++) dh2[k] += g * v.lb[o] * v.B[o * r + k];
    }
    for (let k = 0; k < r; k++) {
      dld[k] += dh2[k] * h[k];
      const dh = dh2[k] * v.ld[k];
      for (let i = 0; i < inDim; i++) dx[n * inDim + i] += dh * v.A[k * lda + i];
    }
  }
  return { dlb, dld, dx };
}
