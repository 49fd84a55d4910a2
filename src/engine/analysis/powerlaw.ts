/**
 * Power-law exponent α of a layer's empirical spectral density (ESD), fitted as WeightWatcher does
 * (CalculatedContent/WeightWatcher, `weightwatcher/WW_powerlaw.py` class `WWFit`; reference §2.4),
 * which is the continuous Clauset–Shalizi–Newman (2009, SIAM Review 51(4), §3) procedure:
 *
 *   ESD: eigenvalues λ = σ² of WᵀW (not divided by N, as in current WeightWatcher), keeping λ > thresh
 *        (WeightWatcher's EVALS_THRESH = 1e-5, an absolute threshold);
 *   for every candidate xmin among the sorted λ except the largest:
 *        α(xmin) = 1 + n / Σ_{λ ≥ xmin} ln(λ / xmin)                         (MLE, n = tail size)
 *        D(xmin) = max_j | 1 − (λ_j / xmin)^(1−α) − j/n |, j = 0..n−1         (KS distance, tail sorted up)
 *   choose the xmin with the smallest D (first on ties, like np.argmin); σ_α = (α − 1)/√n.
 *
 * WeightWatcher's README: α ≈ 2 is "ideal", α < 2 suggests over-training, α > 8 fits are spurious, and
 * fits need ≳ 50 eigenvalues; we fit from 10 and flag small samples in `warning`.
 */

export interface PowerLawFit {
  alpha: number;
  xmin: number;
  /** KS distance of the chosen fit. */
  D: number;
  /** Standard error (α − 1)/√n_tail. */
  alphaStdErr: number;
  /** Eigenvalues in the tail (λ ≥ xmin). */
  nTail: number;
  /** Eigenvalues fitted (λ > thresh). */
  n: number;
  /** α·log10 λ_max (WeightWatcher alpha_weighted). */
  alphaWeighted: number;
  lambdaMax: number;
  warning?: string;
}

export interface PowerLawOptions {
  /** Absolute eigenvalue threshold (WeightWatcher EVALS_THRESH). Default 1e-5. */
  thresh?: number;
  /** Fewer eigenvalues than this above thresh: no fit (null). Default 10. */
  minEvals?: number;
}

/** Fit α to eigenvalues λ (any order). Returns null when fewer than minEvals survive the threshold. */
export function fitPowerLaw(eigenvalues: ArrayLike<number>, opts: PowerLawOptions = {}): PowerLawFit | null {
  const thresh = opts.thresh ?? 1e-5;
  const minEvals = Math.max(2, opts.minEvals ?? 10);
  const data = Array.from(eigenvalues)
    .filter((x) => x > thresh && Number.isFinite(x))
    .sort((a, b) => a - b);
  const N = data.length;
  if (N < minEvals) return null;
  const logs = data.map((x) => Math.log(x));
  // suffix sums of ln λ
  const suffix = new Float64Array(N + 1);
  for (let i = N - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + logs[i];
  let best = -1;
  let bestD = Infinity;
  let bestAlpha = NaN;
  for (let i = 0; i < N - 1; i++) {
    const n = N - i;
    const denom = suffix[i] - n * logs[i];
    const alpha = 1 + n / denom;
    let D = 1;
    if (denom > 0 && alpha > 1 && Number.isFinite(alpha)) {
      const xmin = data[i];
      D = 0;
      for (let j = 0; j < n; j++) {
        const d = Math.abs(1 - Math.pow(data[i + j] / xmin, 1 - alpha) - j / n);
        if (d > D) D = d;
      }
    }
    if (D < bestD) {
      bestD = D;
      best = i;
      bestAlpha = alpha;
    }
  }
  if (best < 0) return null;
  const nTail = N - best;
  const lambdaMax = data[N - 1];
  const fit: PowerLawFit = {
    alpha: bestAlpha,
    xmin: data[best],
    D: bestD,
    alphaStdErr: (bestAlpha - 1) / Math.sqrt(nTail),
    nTail,
    n: N,
    alphaWeighted: bestAlpha * Math.log10(lambdaMax),
    lambdaMax,
  };
  if (N < 50) fit.warning = `only ${N} eigenvalues above ${thresh}; WeightWatcher recommends ≥ 50`;
  else if (bestAlpha > 8) fit.warning = 'alpha > 8: WeightWatcher treats such fits as spurious';
  return fit;
}

export interface EsdHistogram {
  /** bin edges in log10 λ (bins + 1 values) */
  log10Edges: number[];
  counts: number[];
}

/** Histogram of log10 λ over λ > thresh, for the ESD plot (log-log view of WeightWatcher). */
export function esdHistogram(eigenvalues: ArrayLike<number>, bins = 40, thresh = 1e-5): EsdHistogram {
  const logs = Array.from(eigenvalues)
    .filter((x) => x > thresh && Number.isFinite(x))
    .map((x) => Math.log10(x));
  if (logs.length === 0) return { log10Edges: [], counts: [] };
  let lo = Math.min(...logs);
  let hi = Math.max(...logs);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const w = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const x of logs) counts[Math.min(bins - 1, Math.floor((x - lo) / w))]++;
  return { log10Edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * w), counts };
}
