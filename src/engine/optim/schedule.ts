/**
 * Learning-rate schedules (CPU, one number per step): linear warmup, then cosine, linear or constant
 * down to lr·minLrRatio at the last step. Not a GPU kernel: the value goes into the per-step scalar
 * buffer of AdamW (src/gpu/kernels/adamw.ts `writeStepScalars`).
 *
 * Conventions (llm.c `get_learning_rate`, nanoGPT `get_lr`, with the end point made exact):
 *   - `step` is 0-based; the run has steps 0 … totalSteps−1.
 *   - warmup: step < warmupSteps ⇒ lr·(step+1)/warmupSteps, so step 0 already moves (lr/warmupSteps)
 *     and step warmupSteps−1 reaches the full lr.
 *   - decay: progress p = (step − warmupSteps)/(totalSteps − 1 − warmupSteps) ∈ [0, 1], so the first
 *     step after warmup is at the peak and the final step (totalSteps−1) lands exactly on lr·minLrRatio.
 *     cosine: min + (lr − min)·½(1 + cos πp);  linear: lr − (lr − min)·p;  constant: lr.
 *   - steps past the end hold lr·minLrRatio (constant: lr).
 */

export type LrScheduleKind = 'cosine' | 'linear' | 'constant';

export interface LrSchedule {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  schedule: LrScheduleKind;
  /** Floor of the decay as a fraction of lr (default 0.1). Ignored by 'constant'. */
  minLrRatio?: number;
}

export function validateSchedule(s: LrSchedule): void {
  if (!(Number.isFinite(s.lr) && s.lr >= 0))
    throw new RangeError(`learning rate must be a finite number ≥ 0, got ${s.lr}`);
  if (!(Number.isInteger(s.warmupSteps) && s.warmupSteps >= 0))
    throw new RangeError(`warmupSteps must be an integer ≥ 0, got ${s.warmupSteps}`);
  if (!(Number.isInteger(s.totalSteps) && s.totalSteps >= 1))
    throw new RangeError(`totalSteps must be an integer ≥ 1, got ${s.totalSteps}`);
  const r = s.minLrRatio ?? 0.1;
  if (!(r >= 0 && r <= 1)) throw new RangeError(`minLrRatio must be in [0, 1], got ${r}`);
  if (!['cosine', 'linear', 'constant'].includes(s.schedule))
    throw new RangeError(`unknown schedule "${s.schedule}" (cosine, linear, constant)`);
}

/** The learning rate of 0-based `step`. */
export function learningRate(step: number, s: LrSchedule): number {
  validateSchedule(s);
  if (!(Number.isInteger(step) && step >= 0)) throw new RangeError(`step must be an integer ≥ 0, got ${step}`);
  const { lr, warmupSteps, totalSteps } = s;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (s.schedule === 'constant') return lr;
  const minLr = lr * (s.minLrRatio ?? 0.1);
  const span = totalSteps - 1 - warmupSteps;
  const p = span <= 0 ? 1 : Math.min(1, (step - warmupSteps) / span);
  if (s.schedule === 'linear') return lr - (lr - minLr) * p;
  return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * p));
}

/** The whole schedule as an array (for the UI preview and the CLI summary). */
export function learningRateSeries(s: LrSchedule): Float64Array {
  const out = new Float64Array(s.totalSteps);
  for (let i = 0; i < s.totalSteps; i++) out[i] = learningRate(i, s);
  return out;
}
