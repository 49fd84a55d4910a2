/**
 * Host side of shaders/dora.wgsl: DoRA's detached column norm of W + ΔW (from G = A·W and M = A·Aᵀ,
 * never from ΔW), the magnitude scaling of the fused low-rank output, and the magnitude gradient.
 * Each function records dispatches into the step encoder (never submits). CPU reference:
 * src/engine/ref/dora.ts. The adapter that strings them together: src/engine/adapters/dora-adapter.ts.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv, flatGrid } from '../grid';
import { lowrankFusedSupported, lowrankGemm, type TilingClass } from './lowrank';
import { matmul } from './matmul';

const SHADER = 'dora';

function params(N: number, inDim: number, outDim: number, r: number, s: number, flags = 0): ArrayBuffer {
  return new Params().u32(N, inDim, outDim, r).f32(s).u32(flags, 0, 0).build();
}

export interface DoraNormArgs {
  W: GpuTensor; // (inDim, outDim), frozen
  wsq: GpuTensor; // (outDim) Σ_i W[i,o]²
  A: GpuTensor; // (r, inDim)
  B: GpuTensor; // (outDim, r)
  m: GpuTensor; // (outDim) magnitude
  G: GpuTensor; // (r, outDim) scratch ← A·W
  M: GpuTensor; // (r, r) scratch ← A·Aᵀ
  norm: GpuTensor; // (outDim) ← ‖W[:, o] + s·(AᵀBᵀ)[:, o]‖
  mns: GpuTensor; // (outDim) ← m / norm
  inDim: number;
  outDim: number;
  r: number;
  scaling: number;
  label?: string;
  tiling?: TilingClass;
  /** Keep `norm` as it is (from an earlier call) and only recompute mns = m / norm: one dispatch. */
  holdNorm?: boolean;
}

/** norm and mns = m/norm (3 dispatches: G = A·W, M = A·Aᵀ, then one invocation per column). */
export function doraNorm(enc: StepEncoder, a: DoraNormArgs): void {
  const { inDim, outDim, r } = a;
  const op = 'doraNorm';
  checkSize(op, 'W', a.W, inDim * outDim);
  checkSize(op, 'wsq', a.wsq, outDim);
  checkSize(op, 'A', a.A, r * inDim);
  checkSize(op, 'B', a.B, outDim * r);
  checkSize(op, 'm', a.m, outDim);
  checkSize(op, 'G', a.G, r * outDim);
  checkSize(op, 'M', a.M, r * r);
  checkSize(op, 'norm', a.norm, outDim);
  checkSize(op, 'mns', a.mns, outDim);
  if (outDim === 0) return;
  const label = a.label ?? `dora norm ${inDim}x${outDim} r=${r}`;
  if (a.holdNorm) {
    enc.dispatch({
      kernel: { shader: SHADER, entry: 'dora_norm' },
      bindings: { 1: a.wsq, 2: a.G, 3: a.M, 4: a.B, 5: a.m, 6: a.norm, 7: a.mns },
      params: params(0, inDim, outDim, r, a.scaling, 2),
      workgroups: flatGrid(ceilDiv(outDim, 64)),
      label: `${label} (held)`,
    });
    return;
  }
  // G (r, out) = A (r, in) · W (in, out);  M (r, r) = A · Aᵀ
  if (lowrankFusedSupported(enc.gpu)) {
    lowrankGemm(enc, {
      a: a.A,
      b: a.W,
      c: a.G,
      M: r,
      N: outDim,
      K: inDim,
      aRow: inDim,
      aCol: 1,
      bRow: outDim,
      bCol: 1,
      label: `${label} A·W`,
      tiling: a.tiling,
    });
    lowrankGemm(enc, {
      a: a.A,
      b: a.A,
      c: a.M,
      M: r,
      N: r,
      K: inDim,
      aRow: inDim,
      aCol: 1,
      bRow: 1,
      bCol: inDim,
      label: `${label} A·Aᵀ`,
      tiling: a.tiling,
    });
  } else {
    matmul(enc, { a: a.A, b: a.W, c: a.G, M: r, N: outDim, K: inDim, label: `${label} A·W` });
    matmul(enc, { a: a.A, b: a.A, c: a.M, M: r, N: r, K: inDim, transB: true, label: `${label} A·Aᵀ` });
  }
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'dora_norm' },
    bindings: { 1: a.wsq, 2: a.G, 3: a.M, 4: a.B, 5: a.m, 6: a.norm, 7: a.mns },
    params: params(0, inDim, outDim, r, a.scaling),
    workgroups: flatGrid(ceilDiv(outDim, 64)),
    label,
  });
}

/** y (N, out) = mns ⊙ z (+ bias), column-wise. z and y distinct. */
export function doraScale(
  enc: StepEncoder,
  a: { z: GpuTensor; mns: GpuTensor; bias: GpuTensor | null; y: GpuTensor; N: number; outDim: number; label?: string },
): void {
  const n = a.N * a.outDim;
  checkSize('doraScale', 'z', a.z, n);
  checkSize('doraScale', 'mns', a.mns, a.outDim);
  if (a.bias) checkSize('doraScale', 'bias', a.bias, a.outDim);
  checkSize('doraScale', 'y', a.y, n);
  if (n === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'dora_scale' },
    bindings: { 1: a.z, 2: a.mns, 3: a.bias ?? a.mns, 6: a.y },
    params: params(a.N, 0, a.outDim, 0, 0, a.bias ? 1 : 0),
    workgroups: flatGrid(ceilDiv(n, 256)),
    label: a.label ?? `dora scale ${a.N}x${a.outDim}`,
  });
}

/** dz = mns ⊙ dy (overwritten); dm[o] += Σ_n dy[n,o]·z[n,o] / norm[o]. */
export function doraGrad(
  enc: StepEncoder,
  a: {
    dy: GpuTensor;
    z: GpuTensor;
    mns: GpuTensor;
    norm: GpuTensor;
    dz: GpuTensor;
    dm: GpuTensor;
    N: number;
    outDim: number;
    label?: string;
  },
): void {
  const n = a.N * a.outDim;
  for (const [k, t, c] of [
    ['dy', a.dy, n],
    ['z', a.z, n],
    ['dz', a.dz, n],
    ['mns', a.mns, a.outDim],
    ['norm', a.norm, a.outDim],
    ['dm', a.dm, a.outDim],
  ] as const)
    checkSize('doraGrad', k, t, c);
  if (a.outDim === 0) return;
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'dora_grad' },
    bindings: { 1: a.dy, 2: a.z, 3: a.mns, 4: a.norm, 6: a.dz, 7: a.dm },
    params: params(a.N, 0, a.outDim, 0, 0),
    workgroups: flatGrid(ceilDiv(a.outDim, 64)),
    label: a.label ?? `dora grad ${a.N}x${a.outDim}`,
  });
}
