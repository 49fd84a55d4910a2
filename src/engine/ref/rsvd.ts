/**
 * CPU reference for the rsvd family, all in float64: randomized SVD (Halko, Martinsson & Tropp 2011,
 * "Finding structure with randomness", SIAM Review 53(2), Alg. 4.4 randomized subspace iteration +
 * Alg. 5.1 direct SVD) and test matrices with a prescribed spectrum.
 *
 * What this file is: the oracle for src/gpu/kernels/rsvd.ts + src/engine/rsvd.ts (its randomized SVD
 * draws the very same Gaussian sketch Ω from the Philox stream, so GPU and CPU results are comparable
 * run for run). The linear algebra it is built from (Jacobi SVD, Householder QR, GEMM) is
 * src/engine/linalg.ts, shared with the analysis.
 *
 * Layout: every matrix is a dense row-major array `(rows, cols)`.
 */
import { Rng } from '../rng';
import { RSVD_SKETCH_PURPOSE } from '../../gpu/purposes';
import { gemm, jacobiSvd, orthogonalityError, qrThin } from '../linalg';

/** Ω (rows, cols) row-major: element (i, j) is normal number i·cols + j of Rng(seed, 'rsvd.sketch'). */
export function gaussianSketch(seed: number, rows: number, cols: number): Float32Array {
  return new Rng(seed, RSVD_SKETCH_PURPOSE).fillNormal(new Float32Array(rows * cols));
}

export interface RsvdOptions {
  k: number;
  oversample?: number;
  powerIters?: number;
  seed?: number;
}

export interface RsvdRefResult {
  U: Float64Array; // (M, k)
  S: Float64Array; // (k)
  Vt: Float64Array; // (k, N)
  /** ‖QᵀQ − I‖_F of the final range basis */
  orthError: number;
  l: number;
}

/**
 * Randomized SVD in float64 (HMT Alg. 4.4 + 5.1): Y = AΩ, q power iterations Q ← orth(A·orth(AᵀQ)),
 * each re-orthonormalized by Householder QR, B = QᵀA, SVD(B) = ÛΣVᵀ by Jacobi, U = QÛ.
 */
export function rsvdRef(a: ArrayLike<number>, M: number, N: number, opts: RsvdOptions): RsvdRefResult {
  const r = Math.min(M, N);
  const k = Math.min(opts.k, r);
  const l = Math.min(k + (opts.oversample ?? 10), r);
  const q = opts.powerIters ?? 2;
  const omega = gaussianSketch(opts.seed ?? 0, N, l); // (N, l)
  let Q = qrThin(gemm(a, omega, M, l, N), M, l).Q; // (M, l)
  for (let it = 0; it < q; it++) {
    const Z = qrThin(gemm(a, Q, N, l, M, true, false), N, l).Q; // (N, l)
    Q = qrThin(gemm(a, Z, M, l, N), M, l).Q;
  }
  const B = gemm(Q, a, l, N, M, true, false); // (l, N)
  const svd = jacobiSvd(B, l, N, { vectors: 'both' });
  const Uh = svd.U!; // (l, l)
  const U = new Float64Array(M * k);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < l; t++) s += Q[i * l + t] * Uh[t * l + j];
      U[i * k + j] = s;
    }
  }
  return {
    U,
    S: svd.S.slice(0, k),
    Vt: svd.Vt!.slice(0, k * N),
    orthError: orthogonalityError(Q, M, l),
    l,
  };
}

/**
 * A test matrix with a prescribed spectrum: A = U diag(σ) Vᵀ with U, V random orthonormal (QR of
 * Gaussian matrices from the given seed). Returns A (M, N) row-major in float32 plus the factors.
 */
export function matrixWithSpectrum(
  M: number,
  N: number,
  sigma: ArrayLike<number>,
  seed: number,
): { A: Float32Array; U: Float64Array; V: Float64Array } {
  const r = sigma.length;
  const g1 = new Rng(seed, 'test.spectrum.U').fillNormal(new Float32Array(M * r));
  const g2 = new Rng(seed, 'test.spectrum.V').fillNormal(new Float32Array(N * r));
  const U = qrThin(g1, M, r).Q; // (M, r)
  const V = qrThin(g2, N, r).Q; // (N, r)
  const A = new Float32Array(M * N);
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let t = 0; t < r; t++) {
      const u = U[i * r + t] * sigma[t];
      if (u === 0) continue;
      for (let j = 0; j < N; j++) row[j] += u * V[j * r + t];
    }
    for (let j = 0; j < N; j++) A[i * N + j] = row[j];
  }
  return { A, U, V };
}
