/**
 * CPU reference for the DoRA family (shaders/dora.wgsl + the fused low-rank layer): the DoRA linear
 * layer from its definition (Liu et al. 2024, §4; PEFT dora.py), plain loops, float64 sums. The norm
 * is computed from the dense V = W + s·Aᵀ·Bᵀ column by column — not from the G/M expansion the GPU
 * uses — so the two are independent.
 *
 *   V (in, out) = W + s·Aᵀ·Bᵀ,  norm[o] = ‖V[:, o]‖ (detached),  mns = m / norm
 *   z = x·V = x·W + s·(x·Aᵀ)·Bᵀ,  y = mns ⊙ z + b
 *   backward with the norm a constant: dz = mns ⊙ dy, dm = Σ_n dy ⊙ z / norm,
 *   dB = s·dzᵀ·h, dh = s·dz·B, dA = dhᵀ·x, dx = dz·Wᵀ + dh·A
 */

type Arr = ArrayLike<number>;

export interface DoraRefDims {
  N: number;
  inDim: number;
  outDim: number;
  r: number;
  scaling: number;
}

export interface DoraRefArgs extends DoraRefDims {
  x: Arr;
  W: Arr;
  bias: Arr | null;
  A: Arr; // (r, in)
  B: Arr; // (out, r)
  m: Arr; // (out)
  /** Hold the norm at these values (the detached norm as a constant, for finite differences). */
  fixedNorm?: Arr;
}

/** ‖W[:, o] + s·(Aᵀ·Bᵀ)[:, o]‖ for every output column o, float64. */
export function doraColumnNorms(
  W: Arr,
  A: Arr,
  B: Arr,
  inDim: number,
  outDim: number,
  r: number,
  s: number,
): Float64Array {
  const out = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let sq = 0;
    for (let i = 0; i < inDim; i++) {
      let d = 0;
      for (let k = 0; k < r; k++) d += A[k * inDim + i] * B[o * r + k];
      const v = W[i * outDim + o] + s * d;
      sq += v * v;
    }
    out[o] = Math.sqrt(sq);
  }
  return out;
}

function forward(a: DoraRefArgs) {
  const { N, inDim, outDim, r, scaling: s, x, W, bias, A, B, m } = a;
  const norm = a.fixedNorm ? Float64Array.from(a.fixedNorm) : doraColumnNorms(W, A, B, inDim, outDim, r, s);
  const mns = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) mns[o] = norm[o] === 0 ? 0 : m[o] / norm[o];
  const h = new Float64Array(N * r);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[n * inDim + i] * A[k * inDim + i];
      h[n * r + k] = acc;
    }
  const z = new Float64Array(N * outDim),
    y = new Float64Array(N * outDim);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[n * inDim + i] * W[i * outDim + o];
      let low = 0;
      for (let k = 0; k < r; k++) low += h[n * r + k] * B[o * r + k];
      z[n * outDim + o] = acc + s * low;
      y[n * outDim + o] = mns[o] * z[n * outDim + o] + (bias ? bias[o] : 0);
    }
  return { y, z, h, norm, mns };
}

/** y, and what the backward keeps (z, h, norm, mns), as float32. */
export function doraForward(a: DoraRefArgs): {
  y: Float32Array;
  z: Float32Array;
  h: Float32Array;
  norm: Float32Array;
  mns: Float32Array;
} {
  const f = forward(a);
  return {
    y: Float32Array.from(f.y),
    z: Float32Array.from(f.z),
    h: Float32Array.from(f.h),
    norm: Float32Array.from(f.norm),
    mns: Float32Array.from(f.mns),
  };
}

/** The forward in float64 end to end (finite differences). */
export function doraForwardF64(a: DoraRefArgs): { y: Float64Array; norm: Float64Array } {
  const f = forward(a);
  return { y: f.y, norm: f.norm };
}

export interface DoraRefBackwardArgs extends DoraRefDims {
  x: Arr;
  W: Arr;
  A: Arr;
  B: Arr;
  z: Arr; // (N, out)
  h: Arr; // (N, r)
  norm: Arr; // (out), detached
  mns: Arr; // (out)
  dy: Arr; // (N, out)
}

/** Gradients of Σ dy ⊙ y with the norm held constant (PEFT's detach). Fresh arrays. */
export function doraBackward(a: DoraRefBackwardArgs): {
  dx: Float32Array;
  dA: Float32Array;
  dB: Float32Array;
  dm: Float32Array;
} {
  const { N, inDim, outDim, r, scaling: s, x, W, A, B, z, h, norm, mns, dy } = a;
  const dm = new Float32Array(outDim);
  const dz = new Float64Array(N * outDim);
  for (let o = 0; o < outDim; o++) {
    let acc = 0;
    for (let n = 0; n < N; n++) {
      acc += dy[n * outDim + o] * z[n * outDim + o];
      dz[n * outDim + o] = mns[o] * dy[n * outDim + o];
    }
    dm[o] = norm[o] === 0 ? 0 : acc / norm[o];
  }
  const dh = new Float64Array(N * r);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let o = 0; o < outDim; o++) acc += dz[n * outDim + o] * B[o * r + k];
      dh[n * r + k] = s * acc;
    }
  const dB = new Float32Array(outDim * r);
  for (let o = 0; o < outDim; o++)
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += dz[n * outDim + o] * h[n * r + k];
      dB[o * r + k] = s * acc;
    }
  const dA = new Float32Array(r * inDim);
  for (let k = 0; k < r; k++)
    for (let i = 0; i < inDim; i++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += dh[n * r + k] * x[n * inDim + i];
      dA[k * inDim + i] = acc;
    }
  const dx = new Float32Array(N * inDim);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < inDim; i++) {
      let acc = 0;
      for (let o = 0; o < outDim; o++) acc += dz[n * outDim + o] * W[i * outDim + o];
      for (let k = 0; k < r; k++) acc += dh[n * r + k] * A[k * inDim + i];
      dx[n * inDim + i] = acc;
    }
  return { dx, dA, dB, dm };
}

/** PEFT's merge in our layout: W' = V ⊙ (m / ‖V‖_col), V = W + ΔW (ΔW (in, out) dense). */
export function doraMergeRef(W: Arr, delta: Arr, m: Arr, inDim: number, outDim: number): Float32Array {
  const out = new Float32Array(inDim * outDim);
  for (let o = 0; o < outDim; o++) {
    let sq = 0;
    for (let i = 0; i < inDim; i++) sq += (W[i * outDim + o] + delta[i * outDim + o]) ** 2;
    const f = sq === 0 ? 0 : m[o] / Math.sqrt(sq);
    for (let i = 0; i < inDim; i++) out[i * outDim + o] = f * (W[i * outDim + o] + delta[i * outDim + o]);
  }
  return out;
}
