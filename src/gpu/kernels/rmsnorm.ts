/**
 * Host side of shaders/rmsnorm.wgsl: RMSNorm as transformers' LlamaRMSNorm (also Qwen2/Qwen3, and
 * Qwen3's per-head q_norm/k_norm), computed in f32. Records dispatches only; never submits.
 *
 * API (for model files):
 *   rmsnormForward(enc, { x, w, out, rstd, N, C, eps })        out = x·rsqrt(mean(x²)+eps)·w; saves rstd (N)
 *   rmsnormBackward(enc, { dout, x, w, rstd, dx, dw, N, C, accumulateDx? })
 *       dx = ∂L/∂x (OVERWRITTEN by default; `accumulateDx: true` makes it dx +=), dw += ∂L/∂w (accumulates).
 *   Qwen3 q/k norm: pass the (N, NH·HS) q tensor as N·NH rows of width C = HS (same memory, no copy).
 *   `out` may not alias `x`; `dx` may not alias `dout` (when overwriting, the kernel reads dout after writing).
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const SHADER = 'rmsnorm';
const BP_COLS = 16; // shader const BP_COLS

export interface RmsnormForwardArgs {
  x: GpuTensor; // (N, C)
  w: GpuTensor; // (C)
  out: GpuTensor; // (N, C)
  rstd: GpuTensor; // (N) saved for backward
  N: number;
  C: number;
  eps?: number; // config.rms_norm_eps; 1e-6 when absent (LlamaRMSNorm's default)
  label?: string;
}

export function rmsnormForward(enc: StepEncoder, a: RmsnormForwardArgs): void {
  const op = 'rmsnormForward';
  checkSize(op, 'x', a.x, a.N * a.C);
  checkSize(op, 'w', a.w, a.C);
  checkSize(op, 'out', a.out, a.N * a.C);
  checkSize(op, 'rstd', a.rstd, a.N);
  if (a.N === 0 || a.C === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'rmsnorm_forward' },
    bindings: { 1: a.x, 2: a.w, 3: a.out, 4: a.rstd },
    params: new Params()
      .u32(a.N, a.C)
      .f32(a.eps ?? 1e-6)
      .u32(0)
      .build(),
    workgroups: flatGrid(a.N),
    label: a.label ?? `rmsnorm_forward ${a.N}x${a.C}`,
  });
}

export interface RmsnormBackwardArgs {
  dout: GpuTensor; // (N, C)
  x: GpuTensor; // (N, C) the forward's input
  w: GpuTensor; // (C)
  rstd: GpuTensor; // (N) from the forward
  dx: GpuTensor; // (N, C) overwritten (or += with accumulateDx)
  dw: GpuTensor; // (C) accumulated
  N: number;
  C: number;
  accumulateDx?: boolean;
  label?: string;
}

/** Two dispatches: per-row dx, then per-column dw (deterministic, fixed row order). */
export function rmsnormBackward(enc: StepEncoder, a: RmsnormBackwardArgs): void {
  const op = 'rmsnormBackward';
  checkSize(op, 'dout', a.dout, a.N * a.C);
  checkSize(op, 'x', a.x, a.N * a.C);
  checkSize(op, 'w', a.w, a.C);
  checkSize(op, 'rstd', a.rstd, a.N);
  checkSize(op, 'dx', a.dx, a.N * a.C);
  checkSize(op, 'dw', a.dw, a.C);
  if (a.N === 0 || a.C === 0) return;
  const params = new Params()
    .u32(a.N, a.C)
    .f32(0)
    .u32(a.accumulateDx ? 1 : 0)
    .build();
  const label = a.label ?? `rmsnorm_backward ${a.N}x${a.C}`;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'rmsnorm_backward_dx' },
    bindings: { 1: a.x, 2: a.w, 5: a.dout, 6: a.rstd, 7: a.dx },
    params,
    workgroups: flatGrid(a.N),
    label: `${label} dx`,
  });
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'rmsnorm_backward_w' },
    bindings: { 1: a.x, 5: a.dout, 6: a.rstd, 8: a.dw },
    params,
    workgroups: [ceilDiv(a.C, BP_COLS)],
    label: `${label} dw`,
  });
}
