/**
 * Host side of shaders/hra.wgsl: HRA's reflection-vector normalisation û = u/‖u‖ (U (in, r) as PEFT's
 * hra_u → Û transposed (r, in) and the norms (r)) and its backward (dU += (dû − û·(ûᵀdû))/‖u‖). Each
 * function records one dispatch (never submits). CPU twin: src/engine/ref/hra.ts.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const params = (inDim: number, r: number) => new Params().u32(inDim, r, 0, 0).build();

/** Ut (r, in) ← columns of U (in, r) divided by their norms; norm (r) ← ‖U[:, k]‖. */
export function hraNormalize(
  enc: StepEncoder,
  a: { U: GpuTensor; Ut: GpuTensor; norm: GpuTensor; inDim: number; r: number; label?: string },
): void {
  const n = a.inDim * a.r;
  checkSize('hraNormalize', 'U', a.U, n);
  checkSize('hraNormalize', 'Ut', a.Ut, n);
  checkSize('hraNormalize', 'norm', a.norm, a.r);
  if (n === 0) return;
  enc.dispatch({
    kernel: { shader: 'hra', entry: 'hra_normalize' },
    bindings: { 1: a.U, 4: a.Ut, 5: a.norm },
    params: params(a.inDim, a.r),
    workgroups: flatGrid(ceilDiv(a.r, 64)),
    label: a.label ?? `hra normalize ${a.inDim}x${a.r}`,
  });
}

/** dU (in, r) += (dÛ − Û·(ÛᵀdÛ)) / ‖u‖ per column, from dUt and Ut (r, in) and the norms (r). */
export function hraNormalizeBackward(
  enc: StepEncoder,
  a: { dUt: GpuTensor; Ut: GpuTensor; norm: GpuTensor; dU: GpuTensor; inDim: number; r: number; label?: string },
): void {
  const n = a.inDim * a.r;
  checkSize('hraNormalizeBackward', 'dUt', a.dUt, n);
  checkSize('hraNormalizeBackward', 'Ut', a.Ut, n);
  checkSize('hraNormalizeBackward', 'norm', a.norm, a.r);
  checkSize('hraNormalizeBackward', 'dU', a.dU, n);
  if (n === 0) return;
  enc.dispatch({
    kernel: { shader: 'hra', entry: 'hra_norm_back' },
    bindings: { 1: a.dUt, 2: a.Ut, 3: a.norm, 4: a.dU },
    params: params(a.inDim, a.r),
    workgroups: flatGrid(ceilDiv(a.r, 64)),
    label: a.label ?? `hra normalize backward ${a.inDim}x${a.r}`,
  });
}
