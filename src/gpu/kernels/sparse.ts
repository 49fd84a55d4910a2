/**
 * Host side of shaders/sparse.wgsl: gather and scatter-axpy by an index list (u32 indices in a
 * GpuTensor written with gpu.upload(Uint32Array)). Each call records one dispatch; CPU twin in
 * src/engine/ref/sparse.ts.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';

const WG = 256;

function dispatch(
  enc: StepEncoder,
  entry: string,
  n: number,
  b: { src: GpuTensor; idx: GpuTensor; dst: GpuTensor },
  s: number,
  label?: string,
): void {
  if (n === 0) return;
  enc.dispatch({
    kernel: { shader: 'sparse', entry },
    bindings: { 1: b.src, 2: b.idx, 3: b.dst },
    params: new Params().u32(n, 0, 0).f32(s).build(),
    workgroups: flatGrid(ceilDiv(n, WG)),
    label: label ?? `${entry} n=${n}`,
  });
}

/** out[j] = src[idx[j]], j < n. idx, out (n). */
export function gather(
  enc: StepEncoder,
  a: { src: GpuTensor; idx: GpuTensor; out: GpuTensor; n: number; label?: string },
): void {
  checkSize('gather', 'idx', a.idx, a.n);
  checkSize('gather', 'out', a.out, a.n);
  dispatch(enc, 'gather', a.n, { src: a.src, idx: a.idx, dst: a.out }, 0, a.label);
}

/** dst[idx[j]] += alpha·src[j], j < n; the indices must be distinct. src, idx (n). */
export function scatterAxpy(
  enc: StepEncoder,
  a: { src: GpuTensor; idx: GpuTensor; dst: GpuTensor; n: number; alpha: number; label?: string },
): void {
  checkSize('scatterAxpy', 'src', a.src, a.n);
  checkSize('scatterAxpy', 'idx', a.idx, a.n);
  dispatch(enc, 'scatter_axpy', a.n, { src: a.src, idx: a.idx, dst: a.dst }, a.alpha, a.label);
}
