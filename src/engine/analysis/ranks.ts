/**
 * Scalar summaries of a singular spectrum σ (any order, non-negative). Pure functions of σ, no matrix.
 * Formulas as in shared/reference/peft-spectra-formats.md §2.4–2.5; each is labelled because several
 * "effective ranks" exist and differ:
 *
 *   erank        Roy & Vetterli (2007, EUSIPCO) entropy effective rank: p_k = σ_k / Σσ (L1 on σ, NOT σ²),
 *                erank = exp(−Σ p_k ln p_k) ∈ [1, min(m, n)]
 *   stableRank   ‖W‖_F² / ‖W‖_2² = Σσ² / σ₁²  (WeightWatcher `stable_rank`)
 *   matrixEntropy  WeightWatcher's normalized spectral entropy with p = σ²/Σσ², divided by ln(rank)
 *   energyRank   smallest r whose Σ_{k<r} σ_k² reaches a fraction (e.g. 0.9) of Σσ²
 *   numericalRank  #{σ_k > rtol·σ₁}
 * Norms: spectral σ₁, Frobenius √Σσ², nuclear Σσ.
 */

export interface SpectrumStats {
  erank: number;
  stableRank: number;
  spectralNorm: number;
  frobenius: number;
  nuclear: number;
  /** WeightWatcher matrix_entropy in [0, 1] (σ² weights). */
  matrixEntropy: number;
  /** Smallest r with 90% of Σσ². */
  energyRank90: number;
  numericalRank: number;
}

function sortedDesc(sigma: ArrayLike<number>): number[] {
  return Array.from(sigma, (s) => Math.max(0, s)).sort((a, b) => b - a);
}

/** Roy–Vetterli entropy effective rank; 0 for the zero matrix. */
export function effectiveRank(sigma: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < sigma.length; i++) sum += Math.max(0, sigma[i]);
  if (!(sum > 0)) return 0;
  let h = 0;
  for (let i = 0; i < sigma.length; i++) {
    const p = Math.max(0, sigma[i]) / sum;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/** ‖W‖_F² / ‖W‖_2²; 0 for the zero matrix. */
export function stableRank(sigma: ArrayLike<number>): number {
  let s2 = 0;
  let mx = 0;
  for (let i = 0; i < sigma.length; i++) {
    s2 += sigma[i] * sigma[i];
    mx = Math.max(mx, Math.abs(sigma[i]));
  }
  return mx > 0 ? s2 / (mx * mx) : 0;
}

/** WeightWatcher `matrix_entropy`: −Σ p ln p / ln(rank) with p = σ²/Σσ² (rank = #σ > 0). */
export function matrixEntropy(sigma: ArrayLike<number>): number {
  let s2 = 0;
  let rank = 0;
  for (let i = 0; i < sigma.length; i++) {
    s2 += sigma[i] * sigma[i];
    if (sigma[i] > 0) rank++;
  }
  if (!(s2 > 0) || rank < 2) return 0;
  let h = 0;
  for (let i = 0; i < sigma.length; i++) {
    const p = (sigma[i] * sigma[i]) / s2;
    if (p > 0) h -= p * Math.log(p);
  }
  return h / Math.log(rank);
}

/** Smallest r such that the top r singular values hold `fraction` of Σσ². */
export function energyRank(sigma: ArrayLike<number>, fraction = 0.9): number {
  const s = sortedDesc(sigma);
  const total = s.reduce((a, x) => a + x * x, 0);
  if (!(total > 0)) return 0;
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc += s[i] * s[i];
    if (acc >= fraction * total * (1 - 1e-12)) return i + 1;
  }
  return s.length;
}

/** #{σ_k > rtol·σ₁}. */
export function numericalRank(sigma: ArrayLike<number>, rtol = 1e-4): number {
  let mx = 0;
  for (let i = 0; i < sigma.length; i++) mx = Math.max(mx, sigma[i]);
  if (!(mx > 0)) return 0;
  let r = 0;
  for (let i = 0; i < sigma.length; i++) if (sigma[i] > rtol * mx) r++;
  return r;
}

export function spectrumStats(sigma: ArrayLike<number>): SpectrumStats {
  let s1 = 0;
  let s2 = 0;
  let nuc = 0;
  for (let i = 0; i < sigma.length; i++) {
    const s = Math.max(0, sigma[i]);
    s1 = Math.max(s1, s);
    s2 += s * s;
    nuc += s;
  }
  return {
    erank: effectiveRank(sigma),
    stableRank: stableRank(sigma),
    spectralNorm: s1,
    frobenius: Math.sqrt(s2),
    nuclear: nuc,
    matrixEntropy: matrixEntropy(sigma),
    energyRank90: energyRank(sigma, 0.9),
    numericalRank: numericalRank(sigma),
  };
}
