/**
 * Host side of shaders/vera.wgsl: VeRA's effective up-projection and the deterministic reductions
 * that give the gradients of its scaling vectors. Every function records one dispatch into the step
 * encoder (never submits). CPU reference: src/engine/ref/vera.ts.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const SHADER = 'vera';
const WG = 64;

function params(outDim: number, r: number): ArrayBuffer {
  return new Params().u32(outDim, r, 0, 0).build();
}

export interface VeraDims {
  outDim: number;
  r: number;
  label?: string;
}

/** beff (outDim, r) = diag(lb)·B[:outDim]·diag(ld) (overwrite). B (≥ outDim, r), lb (outDim), ld (r). */
export function veraScaleB(
  enc: StepEncoder,
  a: VeraDims & { B: GpuTensor; lb: GpuTensor; ld: GpuTensor; beff: GpuTensor },
): void {
  const n = a.outDim * a.r;
  checkSize('veraScaleB', 'B', a.B, n);
  checkSize('veraScaleB', 'lb', a.lb, a.outDim);
  checkSize('veraScaleB', 'ld', a.ld, a.r);
  checkSize('veraScaleB', 'beff', a.beff, n);
  if (n === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'vera_scale_b' },
    bindings: { 1: a.B, 2: a.lb, 3: a.ld, 5: a.beff },
    params: params(a.outDim, a.r),
    workgroups: flatGrid(ceilDiv(n, WG)),
    label: a.label ?? `vera_scale_b ${a.outDim}x${a.r}`,
  });
}

/** dlb[o] += Σ_k G[o,k]·B[o,k]·ld[k]. G (outDim, r), B (≥ outDim, r), ld (r), dlb (outDim). */
export function veraGradB(
  enc: StepEncoder,
  a: VeraDims & { G: GpuTensor; B: GpuTensor; ld: GpuTensor; dlb: GpuTensor },
): void {
  checkSize('veraGradB', 'G', a.G, a.outDim * a.r);
  checkSize('veraGradB', 'B', a.B, a.outDim * a.r);
  checkSize('veraGradB', 'ld', a.ld, a.r);
  checkSize('veraGradB', 'dlb', a.dlb, a.outDim);
  if (a.outDim === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'vera_grad_b' },
    bindings: { 1: a.B, 3: a.ld, 4: a.G, 5: a.dlb },
    params: params(a.outDim, a.r),
    workgroups: flatGrid(ceilDiv(a.outDim, WG)),
    label: a.label ?? `vera_grad_b ${a.outDim}x${a.r}`,
  });
}

/** dld[k] += Σ_o G[o,k]·B[o,k]·lb[o]. G (outDim, r), B (≥ outDim, r), lb (outDim), dld (r). */
export function veraGradD(
  enc: StepEncoder,
  a: VeraDims & { G: GpuTensor; B: GpuTensor; lb: GpuTensor; dld: GpuTensor },
): void {
  checkSize('veraGradD', 'G', a.G, a.outDim * a.r);
  checkSize('veraGradD', 'B', a.B, a.outDim * a.r);
  checkSize('veraGradD', 'lb', a.lb, a.outDim);
  checkSize('veraGradD', 'dld', a.dld, a.r);
  if (a.r === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'vera_grad_d' },
    bindings: { 1: a.B, 2: a.lb, 4: a.G, 5: a.dld },
    params: params(a.outDim, a.r),
    workgroups: flatGrid(a.r),
    label: a.label ?? `vera_grad_d ${a.outDim}x${a.r}`,
  });
}
