/**
 * Host side of shaders/matmul.wgsl: C = alpha·op(A)·op(B) + beta·C with optional batch, transposes
 * and strided views. Variants (see the shader header):
 *   - `vec4` (what `auto` picks unless C is narrow, N ≤ 16): the register-blocked kernels with vec4
 *     loads — `matmul_vec4n` when B is row-contiguous (A·B, Aᵀ·B), `matmul_vec4k` when B is K-contiguous
 *     (A·Bᵀ) or when C is narrow (N ≤ 8, run as Cᵀ = Bᵀ·Aᵀ) — whenever the layout meets their alignment
 *     rules (unit stride on the vectorised axis, other strides/offsets multiples of 4, buffers of whole
 *     vec4s); otherwise it falls back to `regs`, so `vec4` is valid for every layout,
 *   - `regs` (what `auto` picks for N ≤ 16): the one register-blocked GEMM core (shaders/gemm-core.wgsl,
 *     shared with the fused low-rank kernels) as its one-segment case, scalar loads, any strides,
 *   - `naive` only on request (the readable oracle, used as a second oracle in tests).
 * The workgroup-memory `tiled` and `skinny` kernels were retired: slower than `vec4` on every shape of
 * `bench matmul --variants` (README, "Matmul").
 *
 * Measured on Dawn + Mesa llvmpipe against TensorFlow.js's WebGPU backend in the same process
 * (`bench matmul`); the reasons for the design are in the shader header.
 */
import { Params, type GpuTensor, type StepEncoder } from '../device';
import { ceilDiv } from '../grid';

export type MatmulVariant = 'auto' | 'naive' | 'regs' | 'vec4';

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
  M: number;
  N: number;
  K: number;
  aRow: number;
  aCol: number;
  bRow: number;
  bCol: number;
  cRow: number;
  cCol: number;
  aBatch: number;
  bBatch: number;
  cBatch: number;
  aOff: number;
  bOff: number;
  cOff: number;
}

function layoutOf(x: MatmulArgs): Layout {
  const { M, N, K } = x;
  const lda = x.lda ?? (x.transA ? M : K);
  const ldb = x.ldb ?? (x.transB ? K : N);
  const ldc = x.ldc ?? N;
  return {
    M,
    N,
    K,
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
    M: l.N,
    N: l.M,
    K: l.K,
    aRow: l.bCol,
    aCol: l.bRow,
    bRow: l.aCol,
    bCol: l.aRow,
    cRow: l.cCol,
    cCol: l.cRow,
    aBatch: l.bBatch,
    bBatch: l.aBatch,
    cBatch: l.cBatch,
    aOff: l.bOff,
    bOff: l.aOff,
    cOff: l.cOff,
  };
}

/**
 * The variant `auto` runs for an M×N output. Every shape goes to the register-blocked family. A narrow C
 * (N ≤ 16: the adapters' x·Aᵀ-like products) runs `regs`, which beat `vec4` there in three runs of
 * `bench matmul --variants regs,vec4` on llvmpipe (1024×768×{4,8,16}: 1.1–2.2×; README, "Matmul");
 * otherwise `vec4` picks its kernel and orientation from the layout and falls back to `regs` for
 * unaligned views.
 */
export function chooseVariant(M: number, N: number): Exclude<MatmulVariant, 'auto'> {
  void M;
  return N <= 16 ? 'regs' : 'vec4';
}

const m4 = (x: number) => x % 4 === 0;

/** Whether A can be read through the vec4 view, and along which axis (K-contiguous or M-contiguous). */
function aMode(l: Layout, batch: number, aBuf: GpuTensor): 'k' | 'm' | null {
  if (!m4(aBuf.buffer.size) || !m4(l.aOff) || (batch > 1 && !m4(l.aBatch))) return null;
  if (l.aCol === 1 && m4(l.aRow)) return 'k';
  if (l.aRow === 1 && m4(l.aCol)) return 'm';
  return null;
}

interface Plan {
  entry: 'matmul_vec4n' | 'matmul_vec4n_c4' | 'matmul_vec4k' | 'matmul_regs';
  l: Layout;
  swap: boolean;
  aRows: boolean;
}

/** Pick the register-blocked kernel for a layout, trying the product as given and as Cᵀ = Bᵀ·Aᵀ. */
function planVec4(l0: Layout, batch: number, a: GpuTensor, b: GpuTensor): Plan {
  const tryLayout = (l: Layout, aBuf: GpuTensor, bBuf: GpuTensor): Omit<Plan, 'swap'> | null => {
    const am = aMode(l, batch, aBuf);
    if (!am) return null;
    const bOk = m4(bBuf.buffer.size) && m4(l.bOff) && (batch === 1 || m4(l.bBatch));
    if (!bOk) return null;
    // B row-contiguous and C wide enough to fill 8 lanes with column quads: vec4n.
    if (l.bCol === 1 && m4(l.bRow) && l.N > 8) return { entry: 'matmul_vec4n', l, aRows: am === 'm' };
    // B K-contiguous: vec4k (one column per lane).
    if (l.bRow === 1 && m4(l.bCol)) return { entry: 'matmul_vec4k', l, aRows: am === 'm' };
    if (l.bCol === 1 && m4(l.bRow)) return { entry: 'matmul_vec4n', l, aRows: am === 'm' };
    return null;
  };
  const t = transposed(l0);
  // A narrow C (N ≤ 8) is better as Cᵀ: its few columns become the uniform rows of each workgroup.
  const order: [Layout, GpuTensor, GpuTensor, boolean][] =
    l0.N <= 8 && l0.M > l0.N
      ? [
          [t, b, a, true],
          [l0, a, b, false],
        ]
      : [
          [l0, a, b, false],
          [t, b, a, true],
        ];
  for (const [l, aBuf, bBuf, swap] of order) {
    const p = tryLayout(l, aBuf, bBuf);
    if (p) return { ...p, swap };
  }
  return l0.N >= l0.M || l0.N > 8
    ? { entry: 'matmul_regs', l: l0, swap: false, aRows: false }
    : { entry: 'matmul_regs', l: t, swap: true, aRows: false };
}

/** Smallest power of two ≥ n, clamped to [8, 64]: invocations per workgroup along the columns. */
const laneCount = (n: number) => Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(1, n)))));

export function matmul(enc: StepEncoder, x: MatmulArgs): void {
  const batch = x.batch ?? 1;
  if (x.M === 0 || x.N === 0 || batch === 0) return;
  let variant = x.variant ?? 'auto';
  if (variant === 'auto') variant = chooseVariant(x.M, x.N);
  let l = layoutOf(x);
  let aBuf = x.a,
    bBuf = x.b;
  let entry: Plan['entry'] | null = null;
  let aRows = false;
  if (variant === 'vec4' || variant === 'regs') {
    const plan: Plan =
      variant === 'vec4'
        ? planVec4(l, batch, x.a, x.b)
        : l.N >= l.M || l.N > 8
          ? { entry: 'matmul_regs', l, swap: false, aRows: false }
          : { entry: 'matmul_regs', l: transposed(l), swap: true, aRows: false };
    entry = plan.entry;
    l = plan.l;
    aRows = plan.aRows;
    if (plan.swap) [aBuf, bBuf] = [bBuf, aBuf];
    // vec4 stores of C when its rows are whole, aligned vec4s.
    if (
      entry === 'matmul_vec4n' &&
      l.cCol === 1 &&
      m4(l.N) &&
      m4(l.cRow) &&
      m4(l.cOff) &&
      (batch === 1 || m4(l.cBatch)) &&
      m4(x.c.buffer.size)
    )
      entry = 'matmul_vec4n_c4';
  }
  const params = new Params()
    .u32(
      l.M,
      l.N,
      l.K,
      batch,
      l.aRow,
      l.aCol,
      l.bRow,
      l.bCol,
      l.cRow,
      l.cCol,
      l.aBatch,
      l.bBatch,
      l.cBatch,
      l.aOff,
      l.bOff,
      l.cOff,
    )
    .f32(x.alpha ?? 1, x.beta ?? 0)
    .u32(0, 0)
    .build();
  const label = x.label ?? `matmul ${x.M}x${x.K}x${x.N}${x.transA ? ' Aᵀ' : ''}${x.transB ? ' Bᵀ' : ''}`;
  const bindings = { 1: aBuf, 2: bBuf, 3: x.c };
  if (entry) {
    const rows = l.M <= 4 ? 4 : 8;
    const quads = entry === 'matmul_vec4n' || entry === 'matmul_vec4n_c4';
    const cols = quads ? ceilDiv(l.N, 4) : entry === 'matmul_regs' ? ceilDiv(l.N, 2) : l.N;
    const wg = laneCount(cols);
    const perGroup = entry === 'matmul_regs' ? 2 * wg : quads ? 4 * wg : wg;
    const constants: Record<string, number> = { WG: wg, R: rows };
    if (entry === 'matmul_regs') constants.CN = 2;
    else constants.A_MROWS = aRows ? 1 : 0;
    enc.dispatch({
      kernel: { shader: 'matmul', entry, constants },
      bindings,
      params,
      label,
      workgroups: [ceilDiv(l.N, perGroup), ceilDiv(l.M, rows), batch],
    });
  } else {
    enc.dispatch({
      kernel: { shader: 'matmul', entry: 'matmul_naive' },
      bindings,
      params,
      label,
      workgroups: [ceilDiv(l.N, 8), ceilDiv(l.M, 8), batch],
    });
  }
}
