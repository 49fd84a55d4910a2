/**
 * Host side of shaders/matmul.wgsl: C = alpha·op(A)·op(B) + beta·C with optional batch, transposes
 * and strided views. Picks the kernel variant by shape (see the shader header):
 *   - `skinny` when one output dimension is ≤ 64 (low-rank adapters: x·Aᵀ, dy·B, dA, dB),
 *   - `tiled` otherwise,
 *   - `naive` only on request (the readable baseline, used as a second oracle in tests).
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';

export type MatmulVariant = 'auto' | 'naive' | 'tiled' | 'skinny';

export interface MatmulArgs {
  a: GpuTensor; // (M, K), or (K, M) when transA
  b: GpuTensor; // (K, N), or (N, K) when transB
  c: GpuTensor; // (M, N)
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  alpha?: number;
  /** 1 accumulates into C (C += alpha·A·B); 0 overwrites. */
  beta?: 0 | 1;
  /** Leading dimensions (row strides in elements) of the stored matrices, for strided views. */
  lda?: number;
  ldb?: number;
  ldc?: number;
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
  /** Element strides between batch items; 0 broadcasts one matrix over the batch. */
  aBatchStride?: number;
  bBatchStride?: number;
  cBatchStride?: number;
  variant?: MatmulVariant;
  label?: string;
}

interface Layout {
  M: number; N: number; K: number;
  aRow: number; aCol: number; bRow: number; bCol: number; cRow: number; cCol: number;
  aBatch: number; bBatch: number; cBatch: number; aOff: number; bOff: number; cOff: number;
}

const SKINNY_WIDTHS = [4, 8, 16, 32, 64];
export const SKINNY_MAX = 64;

function layoutOf(x: MatmulArgs): Layout {
  const { M, N, K } = x;
  const lda = x.lda ?? (x.transA ? M : K);
  const ldb = x.ldb ?? (x.transB ? K : N);
  const ldc = x.ldc ?? N;
  return {
    M, N, K,
    aRow: x.transA ? 1 : lda,
    aCol: x.transA ? lda : 1,
    bRow: x.transB ? 1 : ldb,
    bCol: x.transB ? ldb : 1,
    cRow: ldc,
    cCol: 1,
    aBatch: x.aBatchStride ?? M * K,
    bBatch: x.bBatchStride ?? K * N,
    cBatch: x.cBatchStride ?? M * N,
    aOff: x.aOffset ?? 0,
    bOff: x.bOffset ?? 0,
    cOff: x.cOffset ?? 0,
  };
}

/** The same product seen as Cᵀ = Bᵀ·Aᵀ: swaps the roles of A and B so a narrow M becomes a narrow N. */
function transposed(l: Layout): Layout {
  return {
    M: l.N, N: l.M, K: l.K,
    aRow: l.bCol, aCol: l.bRow, bRow: l.aCol, bCol: l.aRow, cRow: l.cCol, cCol: l.cRow,
    aBatch: l.bBatch, bBatch: l.aBatch, cBatch: l.cBatch, aOff: l.bOff, bOff: l.aOff, cOff: l.cOff,
  };
}

export function chooseVariant(M: number, N: number): Exclude<MatmulVariant, 'auto'> {
  return Math.min(M, N) <= SKINNY_MAX ? 'skinny' : 'tiled';
}

export function matmul(enc: StepEncoder, x: MatmulArgs): void {
  const batch = x.batch ?? 1;
  if (x.M === 0 || x.N === 0 || batch === 0) return;
  let variant = x.variant ?? 'auto';
  if (variant === 'auto') variant = chooseVariant(x.M, x.N);
  let l = layoutOf(x);
  let aBuf = x.a, bBuf = x.b;
  if (variant === 'skinny' && l.N > SKINNY_MAX) {
    if (l.M > SKINNY_MAX) throw new Error(`matmul_skinny needs M or N ≤ ${SKINNY_MAX}, got ${x.M}×${x.N}`);
    l = transposed(l);
    [aBuf, bBuf] = [bBuf, aBuf];
  }
  const params = new Params()
    .u32(l.M, l.N, l.K, batch, l.aRow, l.aCol, l.bRow, l.bCol, l.cRow, l.cCol, l.aBatch, l.bBatch, l.cBatch, l.aOff, l.bOff, l.cOff)
    .f32(x.alpha ?? 1, x.beta ?? 0)
    .u32(0, 0)
    .build();
  const bindings = { 1: aBuf, 2: bBuf, 3: x.c };
  const label = x.label ?? `matmul ${x.M}x${x.K}x${x.N}${x.transA ? ' Aᵀ' : ''}${x.transB ? ' Bᵀ' : ''}`;
  if (variant === 'naive') {
    enc.dispatch({ kernel: { shader: 'matmul', entry: 'matmul_naive' }, bindings, params, label,
      workgroups: [Math.ceil(l.N / 8), Math.ceil(l.M / 8), batch] });
  } else if (variant === 'tiled') {
    enc.dispatch({ kernel: { shader: 'matmul', entry: 'matmul_tiled' }, bindings, params, label,
      workgroups: [Math.ceil(l.N / 64), Math.ceil(l.M / 64), batch] });
  } else {
    const nt = SKINNY_WIDTHS.find((w) => w >= l.N) ?? 64;
    enc.dispatch({ kernel: { shader: 'matmul', entry: 'matmul_skinny', constants: { SK_NT: nt } }, bindings, params, label,
      workgroups: [Math.ceil(l.M / 64), Math.ceil(l.N / nt), batch] });
  }
}
