/**
 * Spectral analysis of fine-tuned weights, shared by the studio's worker and the CLI (`analyze`).
 *
 * `analyzeMatrix` takes one weight matrix before (W0) and after (W) tuning and reports, for W0, W and
 * ΔW = W − W0: the singular spectrum, effective rank (Roy–Vetterli), stable rank, spectral/Frobenius/
 * nuclear norms and the WeightWatcher power-law α of the ESD; intruder dimensions of W against W0
 * (Shuttleworth et al. 2024) with an ε sweep and the |U_tunedᵀ U_0| heatmap block; and the principal
 * angles between ΔW's top-r column space and W0's top-r left singular subspace. The result is a plain
 * JSON-able object.
 *
 * Orientation: matrices are analysed as (out, in) — Conv1D weights stored (in, out) are transposed
 * first (see spectra.ts) — so left singular vectors live in the output space, as in the paper.
 *
 * Where the work runs: exact SVDs are float64 one-sided Jacobi on the CPU (needed for the base: the
 * intruder test takes a max over ALL base singular vectors); the top-k vectors of W and ΔW come from
 * the GPU randomized SVD when the matrix is large (min side > exactLimit) or when asked (`tunedMethod:
 * 'rsvd'`, the studio's live probes); full spectra of W and ΔW are float64 values-only.
 */
import type { Gpu } from '../../gpu/device';
import {
  DEFAULT_EPS_SWEEP,
  intruderDimensions,
  principalAngles,
  type IntruderResult,
  type PrincipalAngles,
} from './intruders';
import { esdHistogram, fitPowerLaw, type EsdHistogram, type PowerLawFit } from './powerlaw';
import { numericalRank, spectrumStats, type SpectrumStats } from './ranks';
import {
  asOutIn,
  computeBaseSvd,
  singularSpectrum,
  topLeftSingular,
  type BaseSvd,
  type TopMethod,
  type WeightLayout,
} from './spectra';

export * from './ranks';
export * from './powerlaw';
export * from './intruders';
export * from './spectra';
export * from './computable';
import { assertComputable } from './computable';

export interface SpectrumSummary extends SpectrumStats {
  /** Singular values, descending (all of them). */
  sigma: number[];
  /** WeightWatcher α of the ESD (λ = σ²); null when fewer than 10 eigenvalues exceed 1e-5. */
  powerLaw: PowerLawFit | null;
  /** log10-binned histogram of λ = σ² for the ESD plot. */
  esd: EsdHistogram;
}

export interface MatrixAnalysis {
  name: string;
  /** Analysed (out, in) shape. */
  shape: [number, number];
  /** Shape as stored. */
  storedShape: [number, number];
  /** True when the stored matrix was (in, out) and was transposed. */
  transposed: boolean;
  base: SpectrumSummary;
  tuned: SpectrumSummary;
  delta: SpectrumSummary & { relFrobenius: number };
  intruders: IntruderResult & { method: TopMethod };
  /** Principal angles between span of ΔW's top-r left singular vectors and W0's top-r. */
  angles: PrincipalAngles & { method: TopMethod };
  ms: number;
}

export interface AnalyzeOptions {
  name: string;
  base: Float32Array;
  tuned: Float32Array;
  /** Stored shape. */
  rows: number;
  cols: number;
  /** Stored layout; default 'out-in'. Conv1D weights: 'in-out' (see layoutForName). */
  layout?: WeightLayout;
  /** Cached exact SVD of the (out, in) base; computed when absent. */
  baseSvd?: BaseSvd;
  k?: number;
  eps?: number;
  epsSweep?: number[];
  heatmapCols?: number;
  /** How the top-k vectors of W and ΔW are found; 'auto' = exact up to exactLimit on the short side. */
  tunedMethod?: 'auto' | TopMethod;
  exactLimit?: number;
  /** Rank of the subspaces compared by principal angles; default k (capped by ΔW's numerical rank). */
  angleRank?: number;
  powerIters?: number;
  seed?: number;
}

function summarize(sigma: ArrayLike<number>): SpectrumSummary {
  const s = Array.from(sigma);
  const lambdas = s.map((x) => x * x);
  return { ...spectrumStats(s), sigma: s, powerLaw: fitPowerLaw(lambdas), esd: esdHistogram(lambdas) };
}

export async function analyzeMatrix(gpu: Gpu | null, o: AnalyzeOptions): Promise<MatrixAnalysis> {
  const t0 = performance.now();
  assertComputable(o.name, o.base, o.tuned, o.cols); // NaN/Inf or all zeros: named, never figures
  const layout = o.layout ?? 'out-in';
  const W0 = asOutIn(o.base, o.rows, o.cols, layout);
  const W = asOutIn(o.tuned, o.rows, o.cols, layout);
  const { M, N } = W0;
  const r = Math.min(M, N);
  const k = Math.min(o.k ?? 10, r);
  const eps = o.eps ?? 0.5;
  const method: TopMethod =
    o.tunedMethod && o.tunedMethod !== 'auto' ? o.tunedMethod : r <= (o.exactLimit ?? 1024) ? 'exact' : 'rsvd';
  const rsvdOpts = { method, powerIters: o.powerIters, seed: o.seed };

  const bsvd = o.baseSvd ?? computeBaseSvd(W0.data, M, N);
  if (bsvd.M !== M || bsvd.N !== N)
    throw new Error(`${o.name}: cached base SVD is (${bsvd.M}, ${bsvd.N}), matrix is (${M}, ${N})`);

  // Tuned: top-k left vectors (+ full spectrum).
  const top = await topLeftSingular(gpu, W.data, M, N, k, rsvdOpts);
  const tunedSigma = top.allS ?? singularSpectrum(W.data, M, N);
  const intr = intruderDimensions(top.U, top.k, bsvd.U, bsvd.r, M, {
    k,
    eps,
    epsSweep: o.epsSweep ?? DEFAULT_EPS_SWEEP,
    heatmapCols: o.heatmapCols,
    sigmaTuned: tunedSigma,
    sigmaBase: bsvd.S,
  });

  // ΔW = W − W0: full spectrum, then its top-r column space against W0's top-r.
  const D = new Float32Array(M * N);
  for (let i = 0; i < D.length; i++) D[i] = W.data[i] - W0.data[i];
  const deltaSigma = singularSpectrum(D, M, N);
  const rA = Math.min(o.angleRank ?? k, numericalRank(deltaSigma, 1e-4));
  let angles: PrincipalAngles = { r: 0, cosines: [], degrees: [] };
  if (rA > 0) {
    const topD = await topLeftSingular(gpu, D, M, N, rA, rsvdOpts);
    angles = principalAngles(topD.U, topD.k, bsvd.U, bsvd.r, M, rA);
  }

  const base = summarize(bsvd.S);
  const delta = summarize(deltaSigma);
  return {
    name: o.name,
    shape: [M, N],
    storedShape: [o.rows, o.cols],
    transposed: layout === 'in-out',
    base,
    tuned: summarize(tunedSigma),
    delta: { ...delta, relFrobenius: base.frobenius > 0 ? delta.frobenius / base.frobenius : 0 },
    intruders: { ...intr, method: top.method },
    angles: { ...angles, method },
    ms: performance.now() - t0,
  };
}

export interface GradientStats extends SpectrumStats {
  sigma: number[];
}

/** Effective rank, nuclear norm (and the other spectrum figures) of a gradient, as (out, in). */
export function gradientStats(
  grad: ArrayLike<number>,
  rows: number,
  cols: number,
  layout: WeightLayout = 'out-in',
): GradientStats {
  const g = asOutIn(grad, rows, cols, layout);
  const sigma = Array.from(singularSpectrum(g.data, g.M, g.N));
  return { ...spectrumStats(sigma), sigma };
}
