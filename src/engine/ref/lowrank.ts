/**
 * CPU reference for the low-rank family (shaders/lowrank.wgsl): the LoRA-adapted linear layer written
 * straight from its definition with plain loops and float64 accumulation. Shares no code with the GPU
 * side (an oracle derived from the same spec, not from the kernel).
 *
 *   y (N, out) = x·W + b + s·(x·Aᵀ)·Bᵀ       x (N, in), W (in, out), A (r, in), B (out, r)
 *   h = x·Aᵀ,  dh = s·dy·B,  dB = s·dyᵀ·h,  dA = dhᵀ·x,  dx = dy·Wᵀ + dh·A
 */

export interface LowrankRefDims {
  N: number;
  inDim: number;
  outDim: number;
  r: number;
  scaling: number;
}

type Arr = ArrayLike<number>;

export interface LowrankRefForwardArgs extends LowrankRefDims {
  x: Arr;
  W: Arr | null;
  bias: Arr | null;
  A: Arr;
  B: Arr;
}

function forward(
  a: LowrankRefForwardArgs,
  out: { y: Float32Array | Float64Array; h: Float32Array | Float64Array },
): void {
  const { N, inDim, outDim, r, scaling: s, x, W, bias, A, B } = a;
  const { y, h } = out;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[n * inDim + i] * A[k * inDim + i];
      h[n * r + k] = acc;
    }
  }
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < outDim; o++) {
      let base = bias ? bias[o] : 0;
      if (W) for (let i = 0; i < inDim; i++) base += x[n * inDim + i] * W[i * outDim + o];
      let low = 0;
      for (let k = 0; k < r; k++) low += h[n * r + k] * B[o * r + k];
      y[n * outDim + o] = base + s * low;
    }
  }
}

/** y (N, out) and the saved h (N, r), float32 results of float64 sums. */
export function lowrankForward(a: LowrankRefForwardArgs): { y: Float32Array; h: Float32Array } {
  const out = { y: new Float32Array(a.N * a.outDim), h: new Float32Array(a.N * a.r) };
  forward(a, out);
  return out;
}

/** The same forward in float64 end to end, for finite differences. */
export function lowrankForwardF64(a: LowrankRefForwardArgs): { y: Float64Array; h: Float64Array } {
  const out = { y: new Float64Array(a.N * a.outDim), h: new Float64Array(a.N * a.r) };
  forward(a, out);
  return out;
}

export interface LowrankRefBackwardArgs extends LowrankRefDims {
  x: Arr;
  W: Arr | null;
  A: Arr;
  B: Arr;
  h: Arr; // (N, r) from the forward
  dy: Arr; // (N, out)
}

/** dx (N, in), dA (r, in), dB (out, r): the gradients of Σ dy ⊙ y (fresh arrays, nothing accumulated). */
export function lowrankBackward(a: LowrankRefBackwardArgs): {
  dx: Float32Array;
  dA: Float32Array;
  dB: Float32Array;
  dh: Float32Array;
} {
  const { N, inDim, outDim, r, scaling: s, x, W, A, B, h, dy } = a;
  const dh = new Float64Array(N * r);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let o = 0; o < outDim; o++) acc += dy[n * outDim + o] * B[o * r + k];
      dh[n * r + k] = s * acc;
    }
  }
  const dB = new Float32Array(outDim * r);
  for (let o = 0; o < outDim; o++) {
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += dy[n * outDim + o] * h[n * r + k];
      dB[o * r + k] = s * acc;
    }
  }
  const dA = new Float32Array(r * inDim);
  for (let k = 0; k < r; k++) {
    for (let i = 0; i < inDim; i++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += dh[n * r + k] * x[n * inDim + i];
      dA[k * inDim + i] = acc;
    }
  }
  const dx = new Float32Array(N * inDim);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < inDim; i++) {
      let acc = 0;
      if (W) for (let o = 0; o < outDim; o++) acc += dy[n * outDim + o] * W[i * outDim + o];
      for (let k = 0; k < r; k++) acc += dh[n * r + k] * A[k * inDim + i];
      dx[n * inDim + i] = acc;
    }
  }
  return { dx, dA, dB, dh: Float32Array.from(dh) };
}
