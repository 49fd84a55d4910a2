/**
 * Host side of shaders/elementwise.wgsl: GELU (tanh form) forward/backward, add, axpy, scale, fill,
 * copy, bias add and the deterministic bias gradient. Every function records one dispatch into the
 * step encoder (never submits). Also home of `checkSize`, which the other kernel hosts share (a
 * readable error instead of a silent out-of-bounds clamp); grid arithmetic lives in src/gpu/grid.ts.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { ceilDiv, flatGrid } from '../grid';

const SHADER = 'elementwise';
const WG = 256; // elementwise workgroup size (shader const WG)
const BB_COLS = 16; // bias_backward columns per workgroup (shader const BB_COLS)

/** Throws when `t` holds fewer than `count` elements (the GPU would clamp silently). */
export function checkSize(op: string, name: string, t: GpuTensor, count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new Error(`${op}: bad element count ${count} for ${name}`);
  if (t.size < count)
    throw new Error(`${op}: ${name} (${t.label}, ${t.size} elements) is smaller than the ${count} elements needed`);
}

function params(n: number, rows = 0, cols = 0, s = 0): ArrayBuffer {
  return new Params().u32(n, rows, cols).f32(s).build();
}

function elementwise(
  enc: StepEncoder,
  entry: string,
  n: number,
  bindings: Record<number, GpuTensor>,
  p: ArrayBuffer,
  label?: string,
): void {
  if (n === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry },
    bindings,
    params: p,
    workgroups: flatGrid(ceilDiv(n, WG)),
    label: label ?? `${entry} n=${n}`,
  });
}

/** out = gelu(x), tanh form. x, out (n). */
export function geluForward(enc: StepEncoder, a: { x: GpuTensor; out: GpuTensor; n: number; label?: string }): void {
  checkSize('geluForward', 'x', a.x, a.n);
  checkSize('geluForward', 'out', a.out, a.n);
  elementwise(enc, 'gelu_forward', a.n, { 1: a.x, 3: a.out }, params(a.n), a.label);
}

/** dx = dout·gelu'(x) (overwrites dx; dx may not alias dout). x, dout, dx (n). */
export function geluBackward(
  enc: StepEncoder,
  a: { x: GpuTensor; dout: GpuTensor; dx: GpuTensor; n: number; label?: string },
): void {
  checkSize('geluBackward', 'x', a.x, a.n);
  checkSize('geluBackward', 'dout', a.dout, a.n);
  checkSize('geluBackward', 'dx', a.dx, a.n);
  elementwise(enc, 'gelu_backward', a.n, { 1: a.x, 2: a.dout, 3: a.dx }, params(a.n), a.label);
}

/** out = a + b. a, b, out (n); out must be a distinct buffer. */
export function add(
  enc: StepEncoder,
  x: { a: GpuTensor; b: GpuTensor; out: GpuTensor; n: number; label?: string },
): void {
  checkSize('add', 'a', x.a, x.n);
  checkSize('add', 'b', x.b, x.n);
  checkSize('add', 'out', x.out, x.n);
  elementwise(enc, 'add', x.n, { 1: x.a, 2: x.b, 3: x.out }, params(x.n), x.label);
}

/** y += alpha·x. x, y (n). */
export function axpy(
  enc: StepEncoder,
  a: { x: GpuTensor; y: GpuTensor; n: number; alpha: number; label?: string },
): void {
  checkSize('axpy', 'x', a.x, a.n);
  checkSize('axpy', 'y', a.y, a.n);
  elementwise(enc, 'axpy', a.n, { 1: a.x, 3: a.y }, params(a.n, 0, 0, a.alpha), a.label);
}

/** x *= s in place. x (n). */
export function scale(enc: StepEncoder, a: { x: GpuTensor; n: number; s: number; label?: string }): void {
  checkSize('scale', 'x', a.x, a.n);
  elementwise(enc, 'scale', a.n, { 3: a.x }, params(a.n, 0, 0, a.s), a.label);
}

/** x = value. x (n). (For zeros, `enc.clear(t)` is cheaper.) */
export function fill(enc: StepEncoder, a: { x: GpuTensor; n: number; value: number; label?: string }): void {
  checkSize('fill', 'x', a.x, a.n);
  elementwise(enc, 'fill', a.n, { 3: a.x }, params(a.n, 0, 0, a.value), a.label);
}

/**
 * dst = src inside the compute pass. (`enc.copy` uses copyBufferToBuffer, which ends the pass; this
 * keeps one pass per step.) src, dst (n); distinct buffers.
 */
export function copy(enc: StepEncoder, a: { src: GpuTensor; dst: GpuTensor; n: number; label?: string }): void {
  checkSize('copy', 'src', a.src, a.n);
  checkSize('copy', 'dst', a.dst, a.n);
  elementwise(enc, 'copy', a.n, { 1: a.src, 3: a.dst }, params(a.n), a.label);
}

/** x[n,c] += bias[c]. x (N, C), bias (C). */
export function addBias(
  enc: StepEncoder,
  a: { x: GpuTensor; bias: GpuTensor; N: number; C: number; label?: string },
): void {
  checkSize('addBias', 'x', a.x, a.N * a.C);
  checkSize('addBias', 'bias', a.bias, a.C);
  elementwise(enc, 'add_bias', a.N * a.C, { 2: a.bias, 3: a.x }, params(a.N * a.C, a.N, a.C), a.label);
}

/**
 * dbias[c] += Σ_n dout[n,c], rows summed in a fixed order (bit-identical run to run).
 * dout (N, C), dbias (C).
 */
export function biasBackward(
  enc: StepEncoder,
  a: { dout: GpuTensor; dbias: GpuTensor; N: number; C: number; label?: string },
): void {
  checkSize('biasBackward', 'dout', a.dout, a.N * a.C);
  checkSize('biasBackward', 'dbias', a.dbias, a.C);
  if (a.C === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'bias_backward' },
    bindings: { 1: a.dout, 3: a.dbias },
    params: params(a.N * a.C, a.N, a.C),
    workgroups: [ceilDiv(a.C, BB_COLS)],
    label: a.label ?? `bias_backward ${a.N}x${a.C}`,
  });
}
