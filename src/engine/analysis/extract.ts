/**
 * PHLoRA-style extraction (methods-catalog §1.8, tier A): a LoRA adapter from any full fine-tune.
 * Per matrix, ΔW = W_tuned − W_0 in PyTorch's (out, in) orientation is factorised by its SVD,
 * ΔW ≈ U_r Σ_r V_rᵀ, and split symmetrically as B = U_r Σ_r^½ (out, r), A = Σ_r^½ V_rᵀ (r, in), so
 * B·A is the best rank-r approximation (Eckart–Young) with lora_alpha = r (s = 1). The rank is either
 * uniform (`rank`) or, per matrix, the smallest r whose captured energy Σ_{i<r} σᵢ² / Σ σᵢ² reaches
 * `energy` (written as PEFT's rank_pattern).
 *
 * The SVD is our float64 one-sided Jacobi (exactSvd): exact, CPU, fine up to ~1024 on a side.
 */
import { exactSvd } from '../linalg';
import type { AdapterState } from '../io/peft';

export interface RankChoice {
  rank?: number;
  energy?: number;
}

export interface ExtractedMatrix {
  module: string;
  r: number;
  inDim: number;
  outDim: number;
  A: Float32Array; // (r, in)
  B: Float32Array; // (out, r)
  /** Cumulative energy captured at ranks 1 … min(out, in). */
  energyCurve: number[];
  /** Energy captured at the chosen r. */
  captured: number;
  /** ‖ΔW − B·A‖_F / ‖ΔW‖_F. */
  relError: number;
}

/** (in, out) stored Conv1D layout → (out, in). */
export function transposeInOut(x: ArrayLike<number>, inDim: number, outDim: number): Float32Array {
  const t = new Float32Array(inDim * outDim);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) t[o * inDim + i] = x[i * outDim + o];
  return t;
}

/** Cumulative energy fractions of a spectrum. */
export function energyCurve(S: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < S.length; i++) total += S[i] * S[i];
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < S.length; i++) {
    acc += S[i] * S[i];
    out.push(total > 0 ? acc / total : 1);
  }
  return out;
}

/** The rank a choice selects for a curve: the uniform rank (capped), or the smallest reaching the energy. */
export function chooseRank(curve: readonly number[], c: RankChoice): number {
  const max = curve.length;
  if (c.rank !== undefined) return Math.max(1, Math.min(c.rank, max));
  const e = c.energy ?? 0.9;
  const i = curve.findIndex((x) => x >= e - 1e-12);
  return i < 0 ? max : i + 1;
}

/** Extract one matrix from ΔW in (out, in) orientation. */
export function extractMatrix(
  module: string,
  deltaOutIn: ArrayLike<number>,
  outDim: number,
  inDim: number,
  choice: RankChoice,
): ExtractedMatrix {
  const svd = exactSvd(deltaOutIn, outDim, inDim);
  const k = svd.S.length;
  const curve = energyCurve(svd.S64);
  const r = chooseRank(curve, choice);
  const A = new Float32Array(r * inDim),
    B = new Float32Array(outDim * r);
  for (let j = 0; j < r; j++) {
    const h = Math.sqrt(svd.S64[j]);
    for (let o = 0; o < outDim; o++) B[o * r + j] = svd.U[o * k + j] * h;
    for (let i = 0; i < inDim; i++) A[j * inDim + i] = svd.Vt[j * inDim + i] * h;
  }
  let err = 0,
    tot = 0;
  for (let o = 0; o < outDim; o++)
    for (let i = 0; i < inDim; i++) {
      let s = 0;
      for (let j = 0; j < r; j++) s += B[o * r + j] * A[j * inDim + i];
      const d = deltaOutIn[o * inDim + i];
      err += (d - s) ** 2;
      tot += d * d;
    }
  return {
    module,
    r,
    inDim,
    outDim,
    A,
    B,
    energyCurve: curve,
    captured: curve[r - 1] ?? 1,
    relError: tot > 0 ? Math.sqrt(err / tot) : 0,
  };
}

/** The adapter state of extracted matrices, as a plain LoRA with s = 1 (exportPeft writes lora_alpha = r). */
export function extractedState(mats: readonly ExtractedMatrix[]): AdapterState {
  const tensors = new Map<string, Float32Array>();
  const ranks: Record<string, number> = {},
    scaling: Record<string, number> = {};
  for (const m of mats) {
    tensors.set(`${m.module}.lora_A`, m.A);
    tensors.set(`${m.module}.lora_B`, m.B);
    ranks[m.module] = m.r;
    scaling[m.module] = 1;
  }
  return { tensors, meta: { ranks, scaling, extracted: 'phlora' } };
}
