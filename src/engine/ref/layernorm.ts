/**
 * CPU reference for the layernorm family (shaders/layernorm.wgsl): plain loops, float64 accumulation.
 * The oracle for the GPU kernels; shares no code with them. Not a fast path.
 *
 *   out[n,c] = (x[n,c] − mean[n])·rstd[n]·gamma[c] + beta[c],   rstd = 1/√(var + eps), var biased (÷C)
 *
 * Backward with xhat = (x − mean)·rstd and dnorm = gamma·dout:
 *   dx[n,c]    += rstd·(dnorm − mean_c(dnorm) − xhat·mean_c(dnorm·xhat))
 *   dgamma[c]  += Σ_n dout·xhat,   dbeta[c] += Σ_n dout
 */

type Arr = ArrayLike<number>;

export interface LayernormForwardRefArgs {
  x: Arr; // (N, C)
  gamma: Arr; // (C)
  beta: Arr; // (C)
  N: number;
  C: number;
  eps?: number;
}

/** Float64 forward: the finite-difference oracle's f. */
export function layernormForwardF64(a: LayernormForwardRefArgs): {
  out: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
} {
  const { x, gamma, beta, N, C } = a;
  const eps = a.eps ?? 1e-5;
  const out = new Float64Array(N * C); // (N, C)
  const mean = new Float64Array(N); // (N)
  const rstd = new Float64Array(N); // (N)
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += x[o + c];
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[o + c] - m) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[o + c] = (x[o + c] - m) * r * gamma[c] + beta[c];
    mean[n] = m;
    rstd[n] = r;
  }
  return { out, mean, rstd };
}

export function layernormForward(a: LayernormForwardRefArgs): {
  out: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
} {
  const r = layernormForwardF64(a);
  return { out: Float32Array.from(r.out), mean: Float32Array.from(r.mean), rstd: Float32Array.from(r.rstd) };
}

export interface LayernormBackwardRefArgs {
  dout: Arr; // (N, C)
  x: Arr; // (N, C)
  gamma: Arr; // (C)
  mean: Arr; // (N) saved by the forward
  rstd: Arr; // (N) saved by the forward
  N: number;
  C: number;
  /** Initial values to accumulate onto (the GPU kernel does +=); zeros when absent. */
  dx?: Arr; // (N, C)
  dgamma?: Arr; // (C)
  dbeta?: Arr; // (C)
}

/** Returns new arrays: the given accumulators plus this backward's contribution. */
export function layernormBackward(a: LayernormBackwardRefArgs): {
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
} {
  const { dout, x, gamma, mean, rstd, N, C } = a;
  const dx = new Float64Array(N * C);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  if (a.dx) for (let i = 0; i < N * C; i++) dx[i] = a.dx[i];
  if (a.dgamma) for (let c = 0; c < C; c++) dgamma[c] = a.dgamma[c];
  if (a.dbeta) for (let c = 0; c < C; c++) dbeta[c] = a.dbeta[c];
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const m = mean[n],
      r = rstd[n];
    let sd = 0,
      sdx = 0;
    for (let c = 0; c < C; c++) {
      const xhat = (x[o + c] - m) * r;
      const dnorm = gamma[c] * dout[o + c];
      sd += dnorm;
      sdx += dnorm * xhat;
      dgamma[c] += dout[o + c] * xhat;
      dbeta[c] += dout[o + c];
    }
    sd /= C;
    sdx /= C;
    for (let c = 0; c < C; c++) {
      const xhat = (x[o + c] - m) * r;
      const dnorm = gamma[c] * dout[o + c];
      dx[o + c] += r * (dnorm - sd - xhat * sdx);
    }
  }
  return { dx: Float32Array.from(dx), dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}
