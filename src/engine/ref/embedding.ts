/**
 * CPU reference for the embedding family (shaders/embedding.wgsl): token + position embeddings.
 * Plain loops, float64 accumulation; the oracle for the GPU kernels.
 *
 *   out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]
 *   dwte[v,:] += Σ_{(b,t): tokens[b,t]=v} dout[b,t,:],   dwpe[t,:] += Σ_b dout[b,t,:]
 *
 * A token id outside [0, V) makes its output row NaN (the GPU kernel does the same) so a bad id shows
 * up as a NaN loss instead of silently reading some other row.
 */

type Arr = ArrayLike<number>;

export interface EmbeddingForwardRefArgs {
  tokens: ArrayLike<number>; // (B*T) int ids
  wte: Arr; // (V, C)
  wpe: Arr; // (Tmax, C), Tmax ≥ T
  B: number;
  T: number;
  C: number;
}

export function embeddingForwardF64(a: EmbeddingForwardRefArgs): Float64Array {
  const { tokens, wte, wpe, B, T, C } = a;
  const V = Math.floor(wte.length / C);
  const out = new Float64Array(B * T * C); // (B*T, C)
  for (let n = 0; n < B * T; n++) {
    const tok = tokens[n];
    const t = n % T;
    const ok = Number.isInteger(tok) && tok >= 0 && tok < V;
    for (let c = 0; c < C; c++) out[n * C + c] = ok ? wte[tok * C + c] + wpe[t * C + c] : NaN;
  }
  return out;
}

export function embeddingForward(a: EmbeddingForwardRefArgs): Float32Array {
  return Float32Array.from(embeddingForwardF64(a));
}

export interface EmbeddingBackwardRefArgs {
  tokens: ArrayLike<number>; // (B*T)
  dout: Arr; // (B*T, C)
  dwte: Arr; // (V, C) initial accumulator
  dwpe: Arr; // (Tmax, C) initial accumulator
  B: number;
  T: number;
  C: number;
}

/** Returns new arrays: the given accumulators plus this backward's contribution. */
export function embeddingBackward(a: EmbeddingBackwardRefArgs): { dwte: Float32Array; dwpe: Float32Array } {
  const { tokens, dout, B, T, C } = a;
  const dwte = Float64Array.from(a.dwte);
  const dwpe = Float64Array.from(a.dwpe);
  const V = Math.floor(dwte.length / C);
  for (let n = 0; n < B * T; n++) {
    const tok = tokens[n];
    const t = n % T;
    for (let c = 0; c < C; c++) {
      if (tok >= 0 && tok < V) dwte[tok * C + c] += dout[n * C + c];
      dwpe[t * C + c] += dout[n * C + c];
    }
  }
  return { dwte: Float32Array.from(dwte), dwpe: Float32Array.from(dwpe) };
}
