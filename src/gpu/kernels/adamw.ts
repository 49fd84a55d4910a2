/**
 * Host side of shaders/adamw.wgsl: one AdamW step per parameter tensor, recorded into a StepEncoder
 * (never submitted here). The step-dependent scalars live in a small storage buffer written once per
 * step with `writeStepScalars` (before the step's encoder is submitted; it goes through
 * queue.writeBuffer, which lands before any later submit); the per-tensor uniform (n, weightDecay,
 * lrScale) is the same every step, so it is built once and cached by the Gpu.
 */
import { Params, type Gpu, type GpuTensor, type StepEncoder } from '../device';
import { ceilDiv, flatGrid, gridLimit } from '../grid';

// ---- step scalars: the numbers that change every step and are shared by every tensor (lr, β1, β2, eps,
// the bias corrections), computed on the CPU in float64 once per step and written into one small storage
// buffer, so per-tensor uniforms never change. They live with the kernel that reads them.

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

const WG = 256;

/** The per-step scalar buffer (8 f32: lr, beta1, beta2, eps, bc1, bc2, 1−beta1, 1−beta2). Write it with `writeStepScalars`. */
export function createStepScalars(gpu: Gpu, label = 'adamw-step-scalars'): GpuTensor {
  return gpu.tensor([STEP_SCALARS], label, 'optimizer');
}

/** Compute bc1 = 1−β1^t, bc2 = 1−β2^t on the CPU (float64) and write the step scalars. */
export function writeStepScalars(gpu: Gpu, step: GpuTensor, h: AdamwHyper): void {
  if (step.size < STEP_SCALARS)
    throw new Error(`writeStepScalars: ${step.label} has ${step.size} elements, needs ${STEP_SCALARS}`);
  gpu.write(step, stepScalars(h));
}

const noClipByGpu = new WeakMap<Gpu, GpuTensor>();

/** A constant [0, 1] clip tensor for steps without gradient clipping. */
export function noClip(gpu: Gpu): GpuTensor {
  let t = noClipByGpu.get(gpu);
  if (!t) {
    t = gpu.upload(Float32Array.of(0, 1), [2], 'adamw-no-clip', 'optimizer');
    noClipByGpu.set(gpu, t);
  }
  return t;
}

export interface AdamwStepArgs {
  param: GpuTensor; // (n) updated in place
  grad: GpuTensor; // (n)
  m: GpuTensor; // (n) first moment, zero-initialised before step 1
  v: GpuTensor; // (n) second moment, zero-initialised before step 1
  /** Elements to update (default param.size). */
  n?: number;
  /** [globalNorm, clipScale] from globalNormClip; the gradient is multiplied by clip[1]. Default: no clipping. */
  clip?: GpuTensor;
  /** Step scalars from createStepScalars/writeStepScalars. */
  step: GpuTensor;
  weightDecay: number;
  /** Per-tensor learning-rate multiplier (LoRA+ uses λ for B). Default 1. */
  lrScale?: number;
  label?: string;
}

export function adamwStep(enc: StepEncoder, a: AdamwStepArgs): void {
  const n = a.n ?? a.param.size;
  const name = a.label ?? a.param.label;
  for (const [k, t] of [
    ['grad', a.grad],
    ['m', a.m],
    ['v', a.v],
  ] as const) {
    if (t.size < n) throw new Error(`adamwStep ${name}: ${k} (${t.label}) has ${t.size} elements, needs ${n}`);
  }
  if (a.param.size < n) throw new Error(`adamwStep ${name}: param has ${a.param.size} elements, needs ${n}`);
  if (a.step.size < STEP_SCALARS) throw new Error(`adamwStep ${name}: step scalars need ${STEP_SCALARS} elements`);
  const max = enc.gpu.description.limits.maxStorageBufferBindingSize;
  for (const t of [a.param, a.grad, a.m, a.v]) {
    if (max !== undefined && t.buffer.size > max) {
      throw new Error(
        `adamwStep ${name}: ${t.label} is ${t.buffer.size} bytes, over this adapter's ${max}-byte storage binding limit; split the tensor`,
      );
    }
  }
  const lrScale = a.lrScale ?? 1;
  if (!Number.isFinite(a.weightDecay) || !Number.isFinite(lrScale))
    throw new Error(`adamwStep ${name}: weightDecay and lrScale must be finite`);
  const clip = a.clip ?? noClip(enc.gpu);
  if (clip.size < 2) throw new Error(`adamwStep ${name}: clip needs 2 elements [norm, scale]`);
  enc.dispatch({
    kernel: { shader: 'adamw', entry: 'adamw_step' },
    bindings: { 1: a.param, 2: a.grad, 3: a.m, 4: a.v, 5: clip, 6: a.step },
    params: new Params().u32(n).f32(a.weightDecay, lrScale).u32(0).build(),
    workgroups: flatGrid(ceilDiv(n, WG), gridLimit(enc.gpu)),
    label: `adamw ${name}`,
  });
}
