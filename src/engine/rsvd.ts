/**
 * Randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 4.4 + 5.1): the GPU finds the range
 * (src/gpu/kernels/rsvd.ts, `rsvdRange`: sketch, power iterations, CholeskyQR2, Bᵀ = Aᵀ·Q), then the
 * small SVD of B runs here on the CPU in float64 (src/engine/linalg.ts): SVD of Bᵀ (N, l) = P Σ Wᵀ
 * ⇒ B = W Σ Pᵀ, so U = Q·W (M, k), V = P. The orchestration lives in the engine because it needs the
 * CPU SVD; src/gpu holds none.
 *
 *   rsvd(gpu, {matrix, M, N, k})  top-k U, Σ, Vᵀ of a dense (M, N) GpuTensor
 *   rsvd(gpu, {operator, k})      the same for an implicit operator (e.g. lowRankOperator)
 */
import { rsvdRange, type RsvdInput } from '../gpu/kernels/rsvd';
import type { Gpu } from '../gpu/device';
import { flipSigns, jacobiSvd, orthogonalityError } from './linalg';

export interface RsvdResult {
  M: number;
  N: number;
  k: number;
  /** sketch width k + p (capped at min(M, N)) */
  l: number;
  U: Float32Array; // (M, k)
  S: Float32Array; // (k) descending
  Vt: Float32Array; // (k, N)
  /** ‖QᵀQ − I‖_F of the final range basis Q (M, l), in float64 from the read-back Q. */
  orthError: number;
  /** Columns deflated and refilled over all orthonormalization passes (0 for a full-rank sketch). */
  deflated: number;
  /** Wall-clock split: GPU part including readback, CPU small SVD. */
  gpuMs: number;
  cpuMs: number;
}

/** Top-k singular triplets of a matrix or operator; signs as exactSvd (largest |entry| of each U column positive). */
export async function rsvd(gpu: Gpu, input: RsvdInput): Promise<RsvdResult> {
  const { M, N, k, l, Q, Bt, deflated, gpuMs } = await rsvdRange(gpu, input);
  const t1 = performance.now();
  const svd = jacobiSvd(Bt, N, l, { vectors: 'both', maxVectors: k });
  const P = svd.U!; // (N, k)
  const Wt = svd.Vt!; // (k, l), row j = Û[:, j]ᵀ
  const U = new Float32Array(M * k); // (M, k) = Q·Û
  for (let i = 0; i < M; i++) {
    const qo = i * l;
    for (let j = 0; j < k; j++) {
      let s = 0;
      const wo = j * l;
      for (let t = 0; t < l; t++) s += Q[qo + t] * Wt[wo + t];
      U[i * k + j] = s;
    }
  }
  const Vt = new Float32Array(k * N);
  for (let j = 0; j < k; j++) for (let i = 0; i < N; i++) Vt[j * N + i] = P[i * k + j];
  const S = Float32Array.from(svd.S.subarray(0, k));
  flipSigns(U, Vt, M, N, k);
  const orthError = orthogonalityError(Q, M, l);
  return { M, N, k, l, U, S, Vt, orthError, deflated, gpuMs, cpuMs: performance.now() - t1 };
}
