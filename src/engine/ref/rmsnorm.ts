/**
 * CPU reference for the rmsnorm family (shaders/rmsnorm.wgsl): plain loops, float64 accumulation.
 * The oracle for the GPU kernels; shares no code with them. Not a fast path.
 *
 *   out[n,c] = x[n,c]·rstd[n]·w[c],   rstd = 1/√(mean_c x² + eps)      (transformers' LlamaRMSNorm)
 *
 * Backward with xhat = x·rstd and dnorm = w·dout:
 *   dx[n,c] = rstd·(dnorm − xhat·mean_c(dnorm·xhat))     dw[c] += Σ_n dout·xhat
 */

type Arr = ArrayLike<number>;

export interface RmsnormForwardRefArgs {
  x: Arr; // (N, C)
  w: Arr; // (C)
  N: number;
  C: number;
  eps?: number;
}

/** Float64 forward: the finite-difference oracle's f. */
export function rmsnormForwardF64(a: RmsnormForwardRefArgs): { out: Float64Array; rstd: Float64Array } {
  const { x, w, N, C } = a;
  const eps = a.eps ?? 1e-6;
  const out = new Float64Array(N * C); // (N, C)
  const rstd = new Float64Array(N); // (N)
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let q = 0;
    for (let c = 0; c < C; c++) q += x[o + c] * x[o + c];
    const r = 1 / Math.sqrt(q / C + eps);
    for (let c = 0; c < C; c++) out[o + c] = x[o + c] * r * w[c];
    rstd[n] = r;
  }
  return { out, rstd };
}

export function rmsnormForward(a: RmsnormForwardRefArgs): { out: Float32Array; rstd: Float32Array } {
  const r = rmsnormForwardF64(a);
  return { out: Float32Array.from(r.out), rstd: Float32Array.from(r.rstd) };
}

export interface RmsnormBackwardRefArgs {
  dout: Arr; // (N, C)
  x: Arr; // (N, C)
  w: Arr; // (C)
  rstd: Arr; // (N) saved by the forward
  N: number;
  C: number;
  /** Initial dx to accumulate onto (the GPU's accumulateDx); dx is overwritten when absent. */
  dx?: Arr; // (N, C)
  /** Initial dw to accumulate onto (the GPU kernel always does +=); zeros when absent. */
  dw?: Arr; // (C)
}

export function rmsnormBackward(a: RmsnormBackwardRefArgs): { dx: Float32Array; dw: Float32Array } {
  const { dout, x, w, rstd, N, C } = a;
  const dx = new Float64Array(N * C);
  const dw = new Float64Array(C);
  if (a.dx) for (let i = 0; i < N * C; i++) dx[i] = a.dx[i];
  if (a.dw) for (let c = 0; c < C; c++) dw[c] = a.dw[c];
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const r = rstd[n];
    let m = 0;
    for (let c = 0; c < C; c++) {
      const xhat = x[o + c] * r;
      m += w[c] * dout[o + c] * xhat;
      dw[c] += dout[o + c] * xhat;
    }
    m /= C;
    for (let c = 0; c < C; c++) dx[o + c] += r * (w[c] * dout[o + c] - x[o + c] * r * m);
  }
  return { dx: Float32Array.from(dx), dw: Float32Array.from(dw) };
}
