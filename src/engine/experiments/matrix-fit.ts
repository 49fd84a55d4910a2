/**
 * The model-free experiment (issue 13 preset 9; KRAdapter, arXiv:2508.08050 — "LoRA struggles to
 * approximate matrices with relatively flat spectrums or high frequency components"): fit a target
 * matrix T (n, n) of controlled spectrum by gradient descent (Adam) on the GPU with
 *   - `lora`: T ≈ B·A, B (n, r), A (r, n) — 2·n·r parameters, rank ≤ r;
 *   - `kron`: T ≈ Σ_{k<r} A_k ⊗ B_k with A_k, B_k (f, f), n = f² — also 2·n·r parameters, but full
 *     rank is reachable (rank(A ⊗ B) = rank A · rank B): the Kronecker family (KronA, LoKr, and the
 *     Khatri–Rao KRAdapter) that the claim sets against LoRA.
 * The Kronecker sum is fitted through the Van Loan–Pitsianis rearrangement R: R(A ⊗ B) = vec(A)·vec(B)ᵀ
 * and R is a permutation of entries, so ‖Σ A_k⊗B_k − T‖_F = ‖Σ vec(A_k)vec(B_k)ᵀ − R(T)‖_F: the same
 * GPU routine (matmuls + Adam, the engine's kernels) fits B·A to T or to R(T), with identical
 * losses and gradients to fitting the Kronecker parameterisation directly. The Eckart–Young optimum
 * (truncated SVD, float64 on the CPU) is reported beside the fitted error, so a reader sees whether
 * gradient descent reached it.
 *
 * Targets (‖T‖_F = √n): `power-law` σ_i = (i+1)^−exponent, `flat` σ_i = 1 (both U diag(σ) Vᵀ with random
 * orthonormal U, V from the seed), `high-frequency` T_ij = cos(2π·i·j/n) (the real part of the DFT matrix:
 * every row an oscillation at a different frequency, half its singular values equal).
 */
import { z } from 'zod';
import type { Gpu } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { axpy } from '../../gpu/kernels/elementwise';
import { sumSquaresInto } from '../../gpu/kernels/reduce';
import { adamwStep, createStepScalars, writeStepScalars } from '../../gpu/kernels/adamw';
import { ConfigError } from '../config';
import { Rng } from '../rng';
import { matrixWithSpectrum } from '../ref/rsvd';
import { singularSpectrum } from '../analysis/spectra';
import { assertSafeKeys, issuesOneLine } from '../strings';

export const FitConfigSchema = z.strictObject({
  /** Target side n (square); `kron` needs a perfect square (n = f²). */
  size: z.int().min(4).max(256).default(64),
  spectrum: z.enum(['power-law', 'flat', 'high-frequency']).default('power-law'),
  exponent: z.number().min(0).max(8).default(1),
  adapter: z.enum(['lora', 'kron']).default('lora'),
  /** Parameter budget as a LoRA rank: both adapters get 2·n·rank parameters. */
  rank: z.int().min(1).max(256).default(4),
  steps: z.int().min(1).max(100_000).default(300),
  lr: z.number().positive().max(10).default(1e-2),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
});
export type FitConfig = z.infer<typeof FitConfigSchema>;

export function parseFitConfig(input: unknown): FitConfig {
  assertSafeKeys(input, 'fit config', (m) => new ConfigError(m));
  const r = FitConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(`invalid matrix-fit config: ${issuesOneLine(r.error.issues)}`);
  const c = r.data;
  const f = Math.round(Math.sqrt(c.size));
  if (c.adapter === 'kron' && f * f !== c.size)
    throw new ConfigError(`matrix-fit: adapter "kron" needs size = f² (e.g. 64 = 8²), got ${c.size}`);
  if (c.rank > c.size) throw new ConfigError(`matrix-fit: rank ${c.rank} exceeds size ${c.size}`);
  return c;
}

/** The target T (n, n) row-major, ‖T‖_F = √n. */
export function fitTarget(c: Pick<FitConfig, 'size' | 'spectrum' | 'exponent' | 'seed'>): Float32Array {
  const n = c.size;
  let T: Float32Array;
  if (c.spectrum === 'high-frequency') {
    T = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) T[i * n + j] = Math.cos((2 * Math.PI * ((i * j) % n)) / n);
  } else {
    const sigma = Array.from({ length: n }, (_, i) => (c.spectrum === 'flat' ? 1 : (i + 1) ** -c.exponent));
    T = matrixWithSpectrum(n, n, sigma, c.seed).A;
  }
  let ss = 0;
  for (const v of T) ss += v * v;
  const s = Math.sqrt(n / ss);
  for (let i = 0; i < T.length; i++) T[i] *= s;
  return T;
}

/** R(T): entry (i1·f+i2, j1·f+j2) of T goes to (i1·f+j1, i2·f+j2). A permutation (its own inverse). */
export function rearrange(T: ArrayLike<number>, n: number): Float32Array {
  const f = Math.round(Math.sqrt(n));
  const R = new Float32Array(n * n);
  for (let i1 = 0; i1 < f; i1++)
    for (let i2 = 0; i2 < f; i2++)
      for (let j1 = 0; j1 < f; j1++)
        for (let j2 = 0; j2 < f; j2++) R[(i1 * f + j1) * n + (i2 * f + j2)] = T[(i1 * f + i2) * n + (j1 * f + j2)];
  return R;
}

export interface FitResult {
  /** Relative Frobenius error ‖fit − T‖ / ‖T‖ after each step. */
  curve: number[];
  relError: number;
  /** The best any adapter of this family and budget can do (truncated SVD of T or R(T)). */
  optimalError: number;
  params: number;
  /** Singular values of T (descending), for the spectrum plot. */
  targetSigma: number[];
  seconds: number;
}

/** Fit one target with one adapter on the GPU (deterministic: seeded init, no atomics). */
export async function fitMatrix(
  gpu: Gpu,
  c: FitConfig,
  opts: { onStep?: (step: number, relError: number) => void } = {},
): Promise<FitResult> {
  const t0 = performance.now();
  const n = c.size,
    r = c.rank;
  const target = fitTarget(c);
  const goal = c.adapter === 'kron' ? rearrange(target, n) : target; // what B·A is fitted to
  const norm2 = n; // ‖T‖² = n by construction
  const goalSigma = singularSpectrum(goal, n, n);
  let tail = 0;
  for (let i = r; i < goalSigma.length; i++) tail += goalSigma[i] ** 2;
  const rng = new Rng(c.seed, `experiments/fit/${c.adapter}`);
  // LoRA's init: A ~ N(0, 1/n), B = 0 (the fit starts at 0, error 1).
  const A0 = rng.fillNormal(new Float32Array(r * n), 1 / Math.sqrt(n));
  const tensors = {
    T: gpu.upload(goal, [n, n], 'fit:target'),
    A: gpu.upload(A0, [r, n], 'fit:A'),
    B: gpu.zeros([n, r], 'fit:B'),
    dA: gpu.zeros([r, n], 'fit:dA'),
    dB: gpu.zeros([n, r], 'fit:dB'),
    R: gpu.zeros([n, n], 'fit:residual'),
    mA: gpu.zeros([r, n], 'fit:adam.m:A'),
    vA: gpu.zeros([r, n], 'fit:adam.v:A'),
    mB: gpu.zeros([n, r], 'fit:adam.m:B'),
    vB: gpu.zeros([n, r], 'fit:adam.v:B'),
    loss: gpu.zeros([1], 'fit:loss'),
    steps: createStepScalars(gpu, 'fit:adam-step'),
  };
  const { T, A, B, dA, dB, R, mA, vA, mB, vB, loss, steps } = tensors;
  const curve: number[] = [];
  try {
    for (let s = 0; s < c.steps; s++) {
      writeStepScalars(gpu, steps, { lr: c.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: s + 1 });
      const enc = gpu.encoder(`matrix-fit step ${s + 1}`);
      // R = B·A − T   (n, n)
      matmul(enc, { a: B, b: A, c: R, M: n, N: n, K: r, label: 'fit: B·A' });
      axpy(enc, { x: T, y: R, n: n * n, alpha: -1, label: 'fit: −T' });
      sumSquaresInto(enc, { x: R, partials: loss, slot: 0 });
      // L = ‖R‖²/‖T‖²:  dB = (2/‖T‖²)·R·Aᵀ (n, r),  dA = (2/‖T‖²)·Bᵀ·R (r, n)
      matmul(enc, { a: R, b: A, c: dB, M: n, N: r, K: n, transB: true, alpha: 2 / norm2, label: 'fit: dB' });
      matmul(enc, { a: B, b: R, c: dA, M: r, N: n, K: n, transA: true, alpha: 2 / norm2, label: 'fit: dA' });
      adamwStep(enc, { param: A, grad: dA, m: mA, v: vA, step: steps, weightDecay: 0, label: 'fit: adam A' });
      adamwStep(enc, { param: B, grad: dB, m: mB, v: vB, step: steps, weightDecay: 0, label: 'fit: adam B' });
      enc.submit();
      const l = (await gpu.read(loss, 1))[0];
      gpu.throwIfFailed();
      const rel = Math.sqrt(l / norm2); // the error of the parameters before this step's update
      curve.push(rel);
      opts.onStep?.(s + 1, rel);
    }
    // The error after the last update.
    const enc = gpu.encoder('matrix-fit final');
    matmul(enc, { a: B, b: A, c: R, M: n, N: n, K: r, label: 'fit: B·A' });
    axpy(enc, { x: T, y: R, n: n * n, alpha: -1, label: 'fit: −T' });
    sumSquaresInto(enc, { x: R, partials: loss, slot: 0 });
    enc.submit();
    const relError = Math.sqrt((await gpu.read(loss, 1))[0] / norm2);
    return {
      curve,
      relError,
      optimalError: Math.sqrt(tail / norm2),
      params: 2 * n * r,
      targetSigma: Array.from(singularSpectrum(target, n, n)),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    for (const t of Object.values(tensors)) gpu.release(t);
  }
}
