/**
 * CPU reference for the vocabulary pieces (shaders/vocab.wgsl + src/engine/model/vocab.ts): the
 * UNSHARDED, unchunked math in float64 — the oracle the sharded, chunked GPU path must reproduce.
 *
 *   embed:     out[n] = W[tokens[n]]                       (NaN row for ids outside [0, V))
 *   embed bwd: dW[v] += Σ_{n: tokens[n] = v} dout[n]
 *   head loss: logits = x·Wᵀ (N, V); losses[n] = mask·(logsumexp − logits[n, target]) (0 if mask = 0 or
 *              target ∉ [0, V)); dlogits = gradScale·mask·(softmax − onehot); dx = dlogits·W; dW += dlogitsᵀ·x
 */

type Arr = ArrayLike<number>;

export function embedRef(W: Arr, tokens: Arr, V: number, C: number): Float32Array {
  const out = new Float32Array(tokens.length * C);
  for (let n = 0; n < tokens.length; n++) {
    const t = tokens[n];
    for (let c = 0; c < C; c++) out[n * C + c] = t >= 0 && t < V ? W[t * C + c] : NaN;
  }
  return out;
}

export function embedBackwardRef(dW: Arr, tokens: Arr, dout: Arr, C: number): Float32Array {
  const acc = Float64Array.from(dW);
  for (let n = 0; n < tokens.length; n++) for (let c = 0; c < C; c++) acc[tokens[n] * C + c] += dout[n * C + c];
  return Float32Array.from(acc);
}

export interface HeadLossRefArgs {
  x: Arr; // (N, C)
  W: Arr; // (V, C)
  targets: Arr; // (N)
  mask: Arr; // (N)
  N: number;
  V: number;
  C: number;
  gradScale?: number;
}

/** Per-token losses in float64 (the finite-difference oracle's f is their sum). */
export function headLossF64(a: HeadLossRefArgs): { losses: Float64Array; dlogits: Float64Array } {
  const { x, W, targets, mask, N, V, C } = a;
  const k0 = a.gradScale ?? 1;
  const losses = new Float64Array(N);
  const dlogits = new Float64Array(N * V);
  const row = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (mask[n] === 0 || t < 0 || t >= V) continue;
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[n * C + c] * W[v * C + c];
      row[v] = s;
      max = Math.max(max, s);
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
    losses[n] = mask[n] * (Math.log(sum) + max - row[t]);
    for (let v = 0; v < V; v++) dlogits[n * V + v] = k0 * mask[n] * (Math.exp(row[v] - max) / sum - (v === t ? 1 : 0));
  }
  return { losses, dlogits };
}

/** losses, dx = dlogits·W and dW (= dW0 + dlogitsᵀ·x). */
export function headLossRef(a: HeadLossRefArgs & { dW0?: Arr }): {
  losses: Float32Array;
  dx: Float32Array;
  dW: Float32Array;
} {
  const { x, W, N, V, C } = a;
  const { losses, dlogits } = headLossF64(a);
  const dx = new Float64Array(N * C);
  const dW = a.dW0 ? Float64Array.from(a.dW0) : new Float64Array(V * C);
  for (let n = 0; n < N; n++)
    for (let v = 0; v < V; v++) {
      const g = dlogits[n * V + v];
      if (g === 0) continue;
      for (let c = 0; c < C; c++) {
        dx[n * C + c] += g * W[v * C + c];
        dW[v * C + c] += g * x[n * C + c];
      }
    }
  return { losses: Float32Array.from(losses), dx: Float32Array.from(dx), dW: Float32Array.from(dW) };
}

/** logits (M, V) of the given rows of x. */
export function logitsRowsRef(x: Arr, W: Arr, rows: number[], V: number, C: number): Float32Array {
  const out = new Float32Array(rows.length * V);
  rows.forEach((n, m) => {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[n * C + c] * W[v * C + c];
      out[m * V + v] = s;
    }
  });
  return out;
}
