/**
 * Host side of shaders/layernorm.wgsl: LayerNorm forward (saving mean and rstd) and its backward, which
 * ACCUMULATES into dx, dgamma and dbeta (gradient buffers are zeroed at step start; residual
 * gradients sum into them, llm.c style). Records dispatches only; never submits.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const SHADER = 'layernorm';
const BP_COLS = 16; // shader const BP_COLS

export interface LayernormForwardArgs {
  x: GpuTensor; // (N, C)
  gamma: GpuTensor; // (C)
  beta: GpuTensor; // (C)
  out: GpuTensor; // (N, C)
  mean: GpuTensor; // (N) saved for backward
  rstd: GpuTensor; // (N) saved for backward
  N: number;
  C: number;
  eps?: number; // 1e-5 (GPT-2)
  label?: string;
}

export function layernormForward(enc: StepEncoder, a: LayernormForwardArgs): void {
  const op = 'layernormForward';
  checkSize(op, 'x', a.x, a.N * a.C);
  checkSize(op, 'gamma', a.gamma, a.C);
  checkSize(op, 'beta', a.beta, a.C);
  checkSize(op, 'out', a.out, a.N * a.C);
  checkSize(op, 'mean', a.mean, a.N);
  checkSize(op, 'rstd', a.rstd, a.N);
  if (a.N === 0 || a.C === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'layernorm_forward' },
    bindings: { 1: a.x, 2: a.gamma, 3: a.beta, 4: a.out, 5: a.mean, 6: a.rstd },
    params: new Params()
      .u32(a.N, a.C)
      .f32(a.eps ?? 1e-5)
      .u32(0)
      .build(),
    workgroups: flatGrid(a.N),
    label: a.label ?? `layernorm_forward ${a.N}x${a.C}`,
  });
}

export interface LayernormBackwardArgs {
  dout: GpuTensor; // (N, C)
  x: GpuTensor; // (N, C) the forward's input
  gamma: GpuTensor; // (C)
  mean: GpuTensor; // (N) from the forward
  rstd: GpuTensor; // (N) from the forward
  dx: GpuTensor; // (N, C) accumulated: dx += ∂L/∂x
  dgamma: GpuTensor; // (C) accumulated
  dbeta: GpuTensor; // (C) accumulated
  N: number;
  C: number;
  label?: string;
}

/** Two dispatches: per-row dx, then per-column dgamma/dbeta (deterministic, fixed row order). */
export function layernormBackward(enc: StepEncoder, a: LayernormBackwardArgs): void {
  const op = 'layernormBackward';
  checkSize(op, 'dout', a.dout, a.N * a.C);
  checkSize(op, 'x', a.x, a.N * a.C);
  checkSize(op, 'gamma', a.gamma, a.C);
  checkSize(op, 'mean', a.mean, a.N);
  checkSize(op, 'rstd', a.rstd, a.N);
  checkSize(op, 'dx', a.dx, a.N * a.C);
  checkSize(op, 'dgamma', a.dgamma, a.C);
  checkSize(op, 'dbeta', a.dbeta, a.C);
  if (a.N === 0 || a.C === 0) return;
  const params = new Params().u32(a.N, a.C).f32(0).u32(0).build();
  const label = a.label ?? `layernorm_backward ${a.N}x${a.C}`;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'layernorm_backward_dx' },
    bindings: { 1: a.x, 2: a.gamma, 7: a.dout, 8: a.mean, 9: a.rstd, 10: a.dx },
    params,
    workgroups: flatGrid(a.N),
    label: `${label} dx`,
  });
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'layernorm_backward_params' },
    bindings: { 1: a.x, 7: a.dout, 8: a.mean, 9: a.rstd, 11: a.dgamma, 12: a.dbeta },
    params,
    workgroups: [ceilDiv(a.C, BP_COLS)],
    label: `${label} dgamma/dbeta`,
  });
}
