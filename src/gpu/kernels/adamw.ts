/**
 * Host side of shaders/adamw.wgsl: one AdamW step per parameter tensor, recorded into a StepEncoder
 * (never submitted here). The step-dependent scalars live in a small storage buffer written once per
 * step with `writeStepScalars` (before the step's encoder is submitted; it goes through
 * queue.writeBuffer, which lands before any later submit); the per-tensor uniform (n, weightDecay,
 * lrScale) is the same every step, so it is built once and cached by the Gpu.
 */
import { Params, type Gpu, type GpuTensor, type StepEncoder } from '../device';
import { STEP_SCALARS, stepScalars, type AdamwHyper } from '../../engine/optim/adamw';

export { ADAMW_DEFAULTS, type AdamwHyper } from '../../engine/optim/adamw';

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
  const groups = Math.ceil(n / WG);
  const maxDim = enc.gpu.description.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const gx = Math.min(groups, maxDim);
  const gy = Math.ceil(groups / gx);
  enc.dispatch({
    kernel: { shader: 'adamw', entry: 'adamw_step' },
    bindings: { 1: a.param, 2: a.grad, 3: a.m, 4: a.v, 5: clip, 6: a.step },
    params: new Params().u32(n).f32(a.weightDecay, lrScale).u32(0).build(),
    workgroups: [gx, gy],
    label: `adamw ${name}`,
  });
}
