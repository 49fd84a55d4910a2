/**
 * CPU side of the AdamW step scalars: the numbers that change every step and are shared by every
 * tensor (lr, β1, β2, eps and the bias corrections). Computed here in float64 once per step and written
 * into one small storage buffer (src/gpu/kernels/adamw.ts), so per-tensor uniforms never change.
 */

export interface AdamwHyper {
  /** Learning rate of this step (after the schedule). */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count (PyTorch's `state['step']` after the increment). */
  t: number;
}

export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/**
 * Number of f32 words in the step-scalar buffer: [lr, beta1, beta2, eps, bc1, bc2, 1−beta1, 1−beta2].
 * The 1−β terms are computed here in float64 (as PyTorch does in Python) rather than in the shader,
 * where 1 − f32(0.999) carries a 1.3e-5 relative error into v.
 */
export const STEP_SCALARS = 8;

export function stepScalars(h: AdamwHyper): Float32Array {
  if (!(Number.isFinite(h.lr) && h.lr >= 0)) throw new RangeError(`AdamW lr must be finite and ≥ 0, got ${h.lr}`);
  if (!(h.beta1 >= 0 && h.beta1 < 1)) throw new RangeError(`AdamW beta1 must be in [0, 1), got ${h.beta1}`);
  if (!(h.beta2 >= 0 && h.beta2 < 1)) throw new RangeError(`AdamW beta2 must be in [0, 1), got ${h.beta2}`);
  if (!(h.eps > 0)) throw new RangeError(`AdamW eps must be > 0, got ${h.eps}`);
  if (!(Number.isInteger(h.t) && h.t >= 1)) throw new RangeError(`AdamW step t must be an integer ≥ 1, got ${h.t}`);
  const bc1 = 1 - Math.pow(h.beta1, h.t);
  const bc2 = 1 - Math.pow(h.beta2, h.t);
  return Float32Array.of(h.lr, h.beta1, h.beta2, h.eps, bc1, bc2, 1 - h.beta1, 1 - h.beta2);
}
