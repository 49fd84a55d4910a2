/**
 * When ΔW is rounding noise, its "ranks" are meaningless: PiSSA's and DoRA's step-0 ΔW = (W_res + s·B·A)
 * − W0 is float32 round-off spread over every direction, so its effective rank came out near full
 * (76, 104) and then "collapsed" once training gave ΔW real structure (issue 16). Below a relative
 * norm of DELTA_ZERO_REL the views say "ΔW ≈ 0" instead of a rank.
 *
 * Why 1e-5: float32 rounds each entry of W0 + ΔW to ~6e-8 relative, so round-off ΔW sits near 1e-7 of
 * ‖W0‖F — two orders below; one AdamW step at lr 1e-5 already moves entries of size ~0.05 by ~2e-4
 * relative — an order above. Exact zero (LoRA's B = 0) is below it too.
 */
import type { SpectrumSnapshot } from '../worker/protocol';

export const DELTA_ZERO_REL = 1e-5;

/** ‖ΔW‖F / ‖W0‖F of a snapshot: the engine's figure, else from the singular values it carries. */
export function relDeltaNorm(s: Pick<SpectrumSnapshot, 'sigmaBase' | 'sigmaDelta' | 'intruders'>): number {
  if (s.intruders.relFrobenius !== undefined) return s.intruders.relFrobenius;
  const sq = (a: Float32Array) => a.reduce((t, v) => t + v * v, 0);
  const base = sq(s.sigmaBase);
  return base > 0 ? Math.sqrt(sq(s.sigmaDelta) / base) : 0;
}

export function deltaIsZero(s: Pick<SpectrumSnapshot, 'sigmaBase' | 'sigmaDelta' | 'intruders'>): boolean {
  return relDeltaNorm(s) < DELTA_ZERO_REL;
}

export const DELTA_ZERO_TITLE = `‖ΔW‖/‖W₀‖ is below ${DELTA_ZERO_REL}: ΔW is float32 rounding noise, and ranks of noise mean nothing`;
