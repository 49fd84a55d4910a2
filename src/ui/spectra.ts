/**
 * Small numerical helpers for the spectra views (main thread, O(n) on a few hundred values):
 * the empirical spectral density on log-spaced bins, the fitted power law drawn over it, and
 * per-matrix intruder counts at a chosen ε.
 */
import type { SpectrumSnapshot } from '../worker/protocol';
import { cmp, intruderIndices, splitMatrixName } from './store/runData';

export interface EsdPoint {
  lambda: number;
  density: number | null;
  fit?: number | null;
}

/**
 * Histogram of eigenvalues λ = σ² on log-spaced bins, as a density (count / (n · bin width)),
 * plus the power law p(λ) = c·λ^(−α) for λ ≥ λmin scaled so its mass equals the tail's share.
 * (WeightWatcher's convention: the ESD of WᵀW, whose eigenvalues are the squared singular values.)
 */
export function esd(sigma: ArrayLike<number>, alpha: number, xmin: number, bins = 24): EsdPoint[] {
  const lam: number[] = [];
  for (let i = 0; i < sigma.length; i++) {
    const s = sigma[i];
    if (Number.isFinite(s) && s > 0) lam.push(s * s);
  }
  if (lam.length < 2) return [];
  const lo = Math.log10(Math.min(...lam));
  const hi = Math.log10(Math.max(...lam));
  const span = Math.max(hi - lo, 1e-6);
  const edges = Array.from({ length: bins + 1 }, (_, i) => Math.pow(10, lo + (span * i) / bins));
  const counts = new Array<number>(bins).fill(0);
  for (const l of lam) {
    const k = Math.min(bins - 1, Math.floor(((Math.log10(l) - lo) / span) * bins));
    counts[k]++;
  }
  const n = lam.length;
  const tail = lam.filter((l) => l >= xmin).length / n;
  const okFit = Number.isFinite(alpha) && alpha > 1 && Number.isFinite(xmin) && xmin > 0 && tail > 0;
  const out: EsdPoint[] = [];
  for (let i = 0; i < bins; i++) {
    const x = Math.sqrt(edges[i] * edges[i + 1]); // geometric centre
    const d = counts[i] / (n * (edges[i + 1] - edges[i]));
    const fit = okFit && x >= xmin ? tail * (alpha - 1) * Math.pow(xmin, alpha - 1) * Math.pow(x, -alpha) : null;
    out.push({ lambda: x, density: d > 0 ? d : null, fit });
  }
  return out;
}

/**
 * The engine's own histogram (all eigenvalues, log10 bins) as a density, with the same power-law
 * overlay as esd(). Preferred when a snapshot carries it.
 */
export function esdFromHistogram(
  h: { log10Edges: number[]; counts: number[] },
  alpha: number,
  xmin: number,
): EsdPoint[] {
  const n = h.counts.reduce((a, b) => a + b, 0);
  if (n === 0 || h.log10Edges.length !== h.counts.length + 1) return [];
  let tailCount = 0;
  for (let i = 0; i < h.counts.length; i++) if (Math.pow(10, h.log10Edges[i]) >= xmin) tailCount += h.counts[i];
  const tail = tailCount / n;
  const okFit = Number.isFinite(alpha) && alpha > 1 && Number.isFinite(xmin) && xmin > 0 && tail > 0;
  return h.counts.map((c, i) => {
    const a = Math.pow(10, h.log10Edges[i]);
    const b = Math.pow(10, h.log10Edges[i + 1]);
    const x = Math.sqrt(a * b);
    const d = c / (n * (b - a));
    const fit = okFit && x >= xmin ? tail * (alpha - 1) * Math.pow(xmin, alpha - 1) * Math.pow(x, -alpha) : null;
    return { lambda: x, density: d > 0 ? d : null, fit };
  });
}

export interface MatrixCount {
  name: string;
  layer: number | null;
  module: string;
  count: number;
  k: number;
  step: number;
}

export function intruderCounts(latest: Record<string, SpectrumSnapshot>, eps: number): MatrixCount[] {
  return Object.values(latest)
    .map((s) => ({
      ...splitMatrixName(s.name),
      name: s.name,
      count: intruderIndices(s, eps).length,
      k: s.intruders.maxCos.length,
      step: s.step,
    }))
    .sort((a, b) => (a.layer ?? -1) - (b.layer ?? -1) || cmp(a.module, b.module));
}

/** Intruder count against ε from the maxCos of one snapshot (a smooth curve at any resolution). */
export function sweepFromMaxCos(snap: SpectrumSnapshot, points = 40): { eps: number; count: number }[] {
  const out = [];
  for (let i = 1; i <= points; i++) {
    const eps = i / (points + 1);
    out.push({ eps, count: intruderIndices(snap, eps).length });
  }
  return out;
}

/** Rotation threshold of the intruder classification (src/engine/analysis/intruders.ts states the rule). */
export const ROTATION_THRESHOLD = 0.5;

export interface IntruderSummary {
  count: number;
  /** Intruders that point outside W₀'s near-degenerate σ cluster: the paper's "new directions". */
  newDirections: number;
  /** Intruders inside such a cluster (projection norm ≥ 0.5): rotations, not new directions. */
  rotations: number;
  /** min over the top-k of max|cos| (the nearest miss). */
  minMaxCos: number;
  /** ‖ΔW‖F/‖W₀‖F over the matrices summarised (√Σ‖ΔW‖² / √Σ‖W₀‖² is not available per snapshot; mean of ratios). */
  relFrobenius: number;
  matrices: number;
}

/** Intruders at ε over the adapted matrices (‖ΔW‖ > 0) of a run, with the split and the figures beside the count. */
export function intruderSummary(latest: Record<string, SpectrumSnapshot>, eps: number): IntruderSummary {
  let count = 0,
    rot = 0,
    minCos = 1,
    rel = 0,
    n = 0;
  for (const s of Object.values(latest)) {
    if (s.intruders.relFrobenius === 0) continue; // not adapted: totals cover the adapted matrices only
    n++;
    const idx = intruderIndices(s, eps);
    count += idx.length;
    const cn = s.intruders.clusterNorm;
    if (cn) rot += idx.filter((i) => cn[i] >= ROTATION_THRESHOLD).length;
    for (const c of s.intruders.maxCos) minCos = Math.min(minCos, c);
    rel += s.intruders.relFrobenius ?? 0;
  }
  return {
    count,
    newDirections: count - rot,
    rotations: rot,
    minMaxCos: minCos,
    relFrobenius: n ? rel / n : 0,
    matrices: n,
  };
}
