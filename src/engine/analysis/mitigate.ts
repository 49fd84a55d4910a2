/**
 * Intruder-dimension mitigation exactly as PEFT's `reduce_intruder_dimension`
 * (huggingface/peft src/peft/tuners/lora/intruders.py, PR #2999, after Shuttleworth et al. 2024,
 * arXiv:2410.21228 §5), per LoRA layer, with W the base weight in the (out, in) orientation of an
 * nn.Linear (PEFT's tests use LLaMA's q_proj):
 *
 *   U_0 = svd(W).U                      (thin: all min(out, in) left vectors)
 *   U, S, Vᵀ = svd(W + ΔW)             ΔW = s·B·A
 *   cos_j = max_i |U[:, j]ᵀ U_0[:, i]|; intruders = { j < k : cos_j < ε }      (k = 10, ε = 0.5)
 *   none  → the adapter is copied unchanged
 *   else  → W_mit = W + ΔW + (λ − 1)·Σ_{j∈int} σ_j u_j v_jᵀ                     (λ = 0.75)
 *           ΔW' = (W_mit − W)/s,  U', S', V'ᵀ = svd(ΔW'),  B' = U'_r √S'_r,  A' = √S'_r V'_rᵀ
 *
 * The detection rule is the one our live intruder count uses (analysis/intruders.ts: top-k tuned
 * vectors, max over all base vectors, strictly below ε); a test checks both agree on a fixed pair.
 * Deviation from running PEFT itself on GPT-2: PEFT takes `get_base_layer().weight` as stored, which
 * for GPT-2's Conv1D is (in, out) — its "left" vectors are then the input space, and its re-factorised
 * B' (in, r) has the wrong shape unless in = out. We always work in the (out, in) orientation (what
 * PEFT does for every nn.Linear model), so GPT-2 gets the paper's output-space rule.
 */
import { exactSvd } from '../linalg';

export interface MitigateOptions {
  k?: number;
  eps?: number;
  lambda?: number;
}

export interface MitigatedLayer {
  /** Intruding tuned directions (indices among the top k of W + ΔW). */
  intruders: number[];
  /** max |cos| of each of the top-k tuned left vectors with the base's. */
  maxCos: number[];
  /** New factors (or the old ones when there was no intruder). */
  A: Float32Array; // (r, in)
  B: Float32Array; // (out, r)
  changed: boolean;
}

/**
 * @param W (out, in) base weight
 * @param A (r, in), B (out, r) the LoRA factors, s the scaling: ΔW = s·B·A
 */
export function mitigateLayer(
  W: ArrayLike<number>,
  A: Float32Array,
  B: Float32Array,
  r: number,
  s: number,
  outDim: number,
  inDim: number,
  opts: MitigateOptions = {},
): MitigatedLayer {
  const k = opts.k ?? 10,
    eps = opts.eps ?? 0.5,
    lambda = opts.lambda ?? 0.75;
  const merged = new Float64Array(outDim * inDim);
  for (let o = 0; o < outDim; o++)
    for (let i = 0; i < inDim; i++) {
      let d = 0;
      for (let j = 0; j < r; j++) d += B[o * r + j] * A[j * inDim + i];
      merged[o * inDim + i] = W[o * inDim + i] + s * d;
    }
  const base = exactSvd(W, outDim, inDim, { vectors: 'left' });
  const tuned = exactSvd(merged, outDim, inDim);
  const q = base.S.length;
  const kk = Math.min(k, q);
  const maxCos: number[] = [];
  for (let j = 0; j < kk; j++) {
    let mx = 0;
    for (let b = 0; b < q; b++) {
      let d = 0;
      for (let o = 0; o < outDim; o++) d += tuned.U[o * q + j] * base.U[o * q + b];
      mx = Math.max(mx, Math.abs(d));
    }
    maxCos.push(mx);
  }
  const intruders = maxCos.map((c, j) => (c < eps ? j : -1)).filter((j) => j >= 0);
  if (!intruders.length) return { intruders, maxCos, A: A.slice(), B: B.slice(), changed: false };
  // ΔW' = (W + ΔW + (λ−1)·Σ σ u vᵀ − W)/s = (ΔW + (λ−1)·Σ σ u vᵀ)/s, formed as PEFT forms it.
  const dW = new Float64Array(outDim * inDim);
  for (let o = 0; o < outDim; o++)
    for (let i = 0; i < inDim; i++) {
      let v = merged[o * inDim + i];
      for (const j of intruders) v += (lambda - 1) * tuned.S64[j] * tuned.U[o * q + j] * tuned.Vt[j * inDim + i];
      dW[o * inDim + i] = (v - W[o * inDim + i]) / s;
    }
  const f = exactSvd(dW, outDim, inDim);
  const A2 = new Float32Array(r * inDim),
    B2 = new Float32Array(outDim * r);
  for (let j = 0; j < Math.min(r, q); j++) {
    const h = Math.sqrt(f.S64[j]);
    for (let o = 0; o < outDim; o++) B2[o * r + j] = f.U[o * q + j] * h;
    for (let i = 0; i < inDim; i++) A2[j * inDim + i] = f.Vt[j * inDim + i] * h;
  }
  return { intruders, maxCos, A: A2, B: B2, changed: true };
}
