/**
 * CPU reference for the AdamW family: one optimizer step over a flat tensor, PyTorch `torch.optim.AdamW`
 * semantics (decoupled weight decay, Loshchilov & Hutter 2019, Algorithm 2; bias correction of
 * Kingma & Ba 2015, §2), with the gradient first multiplied by the global-norm clip scale.
 *
 *   g = grad·clipScale
 *   m = β1·m + (1−β1)·g            v = β2·v + (1−β2)·g²
 *   param −= lr·lrScale·( (m/bc1) / (√(v/bc2) + eps) + weightDecay·param ),   bc1 = 1−β1^t, bc2 = 1−β2^t
 *
 * Float64 arithmetic per element, state rounded to float32 after every step exactly as the GPU keeps
 * it. The oracle for shaders/adamw.wgsl; shares no code with it.
 */

export interface AdamwRefHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count (PyTorch's `state['step']` after the increment). */
  t: number;
  weightDecay: number;
  lrScale?: number;
  clipScale?: number;
}

export interface AdamwRefState {
  param: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** One AdamW step; returns new arrays (the inputs are not modified). */
export function adamwStepRef(state: AdamwRefState, grad: Float32Array, h: AdamwRefHyper): AdamwRefState {
  const n = state.param.length;
  if (grad.length !== n || state.m.length !== n || state.v.length !== n)
    throw new Error('adamwStepRef: length mismatch');
  if (!(h.t >= 1)) throw new Error(`adamwStepRef: step t must be ≥ 1, got ${h.t}`);
  const bc1 = 1 - Math.pow(h.beta1, h.t);
  const bc2 = 1 - Math.pow(h.beta2, h.t);
  const lr = h.lr * (h.lrScale ?? 1);
  const clip = h.clipScale ?? 1;
  const param = new Float32Array(n),
    m = new Float32Array(n),
    v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = grad[i] * clip;
    const mi = h.beta1 * state.m[i] + (1 - h.beta1) * g;
    const vi = h.beta2 * state.v[i] + (1 - h.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const p = state.param[i];
    param[i] = p - lr * (mi / bc1 / (Math.sqrt(vi / bc2) + h.eps) + h.weightDecay * p);
  }
  return { param, m, v };
}
