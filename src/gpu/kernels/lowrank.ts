/**
 * Host side of shaders/lowrank.wgsl: the LoRA-adapted linear layer, fused. ΔW = s·B·A is never formed.
 *   lowrankForward   h = x·Aᵀ (kept), then y (=|+=) x·W + s·h·Bᵀ (+ bias)          2 dispatches
 *   lowrankBackward  dh = s·dy·B ‖ dB += s·dyᵀ·h, then dx (=|+=) dy·Wᵀ + dh·A ‖ dA += dhᵀ·x   2 dispatches
 * (‖: two independent products in one dispatch; the y product runs as lowrank_gemm4, vec4 along the
 * output columns, when out % 4 = 0.) The unfused sequence of matmuls
 * (src/engine/adapters/lowrank.ts, `fused = false`) stays as the readable path and second oracle; the CPU
 * reference is src/engine/ref/lowrank.ts.
 *
 * Layouts (PEFT's): x (N, inDim), W (inDim, outDim) (HF Conv1D), A (ldr, inDim) and B (outDim, ldr)
 * of which the first r ≤ ldr components take part (DyLoRA's nested prefixes), h/dh (N, ldr).
 * `W = null` leaves the base product out (recordForward/recordBackward: y += s·h·Bᵀ only).
 */
import { Params, type Gpu, type GpuTensor, type StepEncoder } from '../device';
import { checkSize } from './elementwise';
import { ceilDiv } from '../grid';

const SHADER = 'lowrank';
const RMAX = 8;
const CMAX = 8;

/** Register-blocking of one dispatch: R rows × (WG·CN) columns per workgroup (shader override constants). */
export interface LowrankTiling {
  R: number;
  CN: number;
  WG: number;
}

const unfused = new WeakSet<Gpu>();

/**
 * Engine option: `false` makes every adapter created afterwards on this Gpu (LowRankAdapter, DoRA's
 * fused norm path) use the unfused matmul sequences even where the fused kernels are supported. The
 * conformance suite runs with it on and off; it is also the way to rule the fused kernels out.
 */
export function setLowrankFused(gpu: Gpu, enabled: boolean): void {
  if (enabled) unfused.delete(gpu);
  else unfused.add(gpu);
}

/**
 * Whether this device runs the fused kernels: they bind 7 storage buffers in one stage (WebGPU's
 * guaranteed minimum is 8; the shared core selects operands without storage pointer parameters, so no
 * WGSL language extension is needed), and setLowrankFused did not turn them off. Elsewhere the adapter
 * keeps the unfused path.
 */
export function lowrankFusedSupported(gpu: Gpu): boolean {
  if (unfused.has(gpu)) return false;
  const maxSb = gpu.device.limits?.maxStorageBuffersPerShaderStage ?? 8;
  return maxSb >= 7;
}

/** CPU Vulkan drivers (llvmpipe/lavapipe, SwiftShader) run a workgroup as SIMD lanes on one core. */
export function isCpuAdapter(gpu: Gpu): boolean {
  const d = gpu.description;
  return (
    d.isFallbackAdapter ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(`${d.description} ${d.device} ${d.architecture} ${d.vendor}`)
  );
}

export type TilingClass = 'cpu' | 'gpu';

/**
 * The tiling for an output `width` columns wide. CPU drivers: 8 lanes (one AVX2 vector) × up to 8
 * columns each × 8 rows, measured best of a sweep on llvmpipe (see `bench lowrank`). GPUs: 64 lanes
 * (two warps / one wavefront) along the columns, CN = 2, 8 rows; narrow (rank-wide) outputs use as few
 * lanes as cover them.
 */
export function lowrankTiling(
  gpu: Gpu,
  width: number,
  kind: TilingClass = isCpuAdapter(gpu) ? 'cpu' : 'gpu',
): LowrankTiling {
  if (kind === 'cpu') return { R: 8, WG: 8, CN: Math.max(1, Math.min(CMAX, Math.ceil(width / 8))) };
  if (width <= 32) return { R: 8, WG: 32, CN: 1 };
  if (width <= 64) return { R: 8, WG: 64, CN: 1 };
  return { R: 8, WG: 64, CN: 2 };
}

/** Tiling of lowrank_gemm4 (4 adjacent columns per invocation, G quads each): R rows × 4·WG·G columns. */
export function lowrankTiling4(
  gpu: Gpu,
  width: number,
  kind: TilingClass = isCpuAdapter(gpu) ? 'cpu' : 'gpu',
): { R: number; G: number; WG: number } {
  if (kind === 'cpu') return { R: 8, WG: 8, G: width > 32 ? 2 : 1 };
  return { R: 8, WG: Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(Math.ceil(width / 4))))), G: 1 };
}

/** One operand pair of a job: Σ_{k<K} α·A[i][k]·B[k][j], A and B addressed through element strides. */
interface Segment {
  K: number;
  aOff?: number;
  aRow: number;
  aCol: number;
  bOff?: number;
  bRow: number;
  bCol: number;
  alpha: number;
}

interface Job {
  M: number;
  N: number;
  s1: Segment | null;
  s2: Segment | null;
  cRow: number;
  accumulate: boolean;
  bias?: boolean;
}

const NONE: Segment = { K: 0, aRow: 0, aCol: 0, bRow: 0, bCol: 0, alpha: 0 };

function jobWords(p: Params, j: Job | null, rowBlocks: number): void {
  const J = j ?? { M: 0, N: 0, s1: null, s2: null, cRow: 0, accumulate: false };
  const s1 = J.s1 ?? NONE,
    s2 = J.s2 ?? NONE;
  p.u32(
    J.M,
    J.N,
    s1.K,
    s2.K,
    s1.aOff ?? 0,
    s1.aRow,
    s1.aCol,
    s1.bOff ?? 0,
    s1.bRow,
    s1.bCol,
    s2.aOff ?? 0,
    s2.aRow,
    s2.aCol,
    s2.bOff ?? 0,
    s2.bRow,
    s2.bCol,
    0,
    J.cRow,
    rowBlocks,
    (J.accumulate ? 1 : 0) | (J.bias ? 2 : 0),
  )
    .f32(s1.alpha, s2.alpha)
    .u32(0, 0);
}

const live = (j: Job | null): j is Job => !!j && j.M > 0 && j.N > 0;

/** Record one dispatch of `entry` running job0 (→ binding 6) and job1 (→ binding 7). */
function dispatch(
  enc: StepEncoder,
  entry: string,
  j0: Job | null,
  j1: Job | null,
  bindings: Record<number, GpuTensor>,
  width: number,
  label: string,
  kind?: TilingClass,
): void {
  const J0 = live(j0) ? j0 : null,
    J1 = live(j1) ? j1 : null;
  if (!J0 && !J1) return;
  const t = lowrankTiling(enc.gpu, width, kind);
  if (t.R > RMAX || t.CN > CMAX) throw new Error(`lowrank tiling ${JSON.stringify(t)} exceeds RMAX/CMAX`);
  const rb0 = J0 ? ceilDiv(J0.M, t.R) : 0,
    rb1 = J1 ? ceilDiv(J1.M, t.R) : 0;
  const cols = t.WG * t.CN;
  const gx = Math.max(J0 ? ceilDiv(J0.N, cols) : 0, J1 ? ceilDiv(J1.N, cols) : 0);
  const p = new Params();
  jobWords(p, J0, rb0);
  jobWords(p, J1, rb1);
  // The core's operand selectors (gemm_a/gemm_b/gemm_put) name every binding in every entry point.
  const d = dummy(enc.gpu);
  enc.dispatch({
    kernel: { shader: SHADER, entry, constants: { R: t.R, CN: t.CN, WG: t.WG } },
    bindings: { 1: d.read, 2: d.read, 3: d.read, 4: d.read, 5: d.read, 6: d.write, 7: d.write, ...bindings },
    params: p.build(),
    workgroups: [gx, rb0 + rb1],
    label,
  });
}

/** The vec4 variant's layout rules: B1 row-contiguous and every vec4-addressed quantity 4-aligned. */
function gemm4Eligible(j: Job): boolean {
  const s1 = j.s1;
  return (
    j.N % 4 === 0 &&
    j.cRow % 4 === 0 &&
    (!s1 || s1.K === 0 || (s1.bCol === 1 && s1.bRow % 4 === 0 && (s1.bOff ?? 0) % 4 === 0))
  );
}

/** Record lowrank_gemm (or its vec4 form when the layout allows) for one job writing binding 6. */
function dispatchGemm(
  enc: StepEncoder,
  j: Job,
  bindings: Record<number, GpuTensor>,
  label: string,
  kind?: TilingClass,
): void {
  if (!live(j)) return;
  if (!gemm4Eligible(j)) {
    dispatch(enc, 'lowrank_gemm', j, null, bindings, j.N, label, kind);
    return;
  }
  const t = lowrankTiling4(enc.gpu, j.N, kind);
  const p = new Params();
  const rb = ceilDiv(j.M, t.R);
  jobWords(p, j, rb);
  jobWords(p, null, 0);
  enc.dispatch({
    kernel: { shader: SHADER, entry: 'lowrank_gemm4', constants: { R: t.R, G: t.G, WG: t.WG } },
    bindings,
    params: p.build(),
    workgroups: [ceilDiv(j.N, 4 * t.WG * t.G), rb],
    label: `${label} (vec4)`,
  });
}

/** Placeholders for bindings a dispatch declares but does not read or write (distinct buffers: no aliasing). */
const dummies = new WeakMap<Gpu, { read: GpuTensor; write: GpuTensor }>();
function dummy(gpu: Gpu): { read: GpuTensor; write: GpuTensor } {
  let d = dummies.get(gpu);
  if (!d) {
    d = {
      read: gpu.zeros([4], 'lowrank-unused-read', 'scratch'),
      write: gpu.zeros([4], 'lowrank-unused-write', 'scratch'),
    };
    dummies.set(gpu, d);
  }
  return d;
}

export interface LowrankDims {
  N: number;
  inDim: number;
  outDim: number;
  /** Active rank: the first r components of A/B take part. */
  r: number;
  /** Stored rank (row length of B, h, dh; rows of A); default r. */
  ldr?: number;
  scaling: number;
  label?: string;
  /** Force the CPU-driver or GPU tiling (tests exercise both on one adapter); default: by adapter. */
  tiling?: TilingClass;
}

export interface LowrankForwardArgs extends LowrankDims {
  x: GpuTensor; // (N, inDim)
  A: GpuTensor; // (ldr, inDim)
  B: GpuTensor; // (outDim, ldr)
  h: GpuTensor; // (N, ldr) ← x·Aᵀ (first r columns written)
  y: GpuTensor; // (N, outDim)
  /** Base weight (inDim, outDim); null: the low-rank term only. */
  W?: GpuTensor | null;
  bias?: GpuTensor | null; // (outDim)
  /** y += … instead of y = … */
  accumulate?: boolean;
}

function checkDims(op: string, d: LowrankDims): number {
  const ldr = d.ldr ?? d.r;
  for (const [k, v] of Object.entries({ N: d.N, inDim: d.inDim, outDim: d.outDim, r: d.r, ldr })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${op}: ${k} must be an integer ≥ 0, got ${v}`);
  }
  if (d.r > ldr) throw new Error(`${op}: active rank ${d.r} exceeds the stored rank ${ldr}`);
  if (!Number.isFinite(d.scaling)) throw new Error(`${op}: scaling must be finite, got ${d.scaling}`);
  return ldr;
}

/** h = x·A[:r]ᵀ; y (=|+=) x·W + s·h·B[:, :r]ᵀ (+ bias). Two dispatches; y is written once. */
export function lowrankForward(enc: StepEncoder, a: LowrankForwardArgs): void {
  const op = 'lowrankForward';
  const ldr = checkDims(op, a);
  const { N, inDim, outDim, r } = a;
  checkSize(op, 'x', a.x, N * inDim);
  checkSize(op, 'A', a.A, ldr * inDim);
  checkSize(op, 'B', a.B, outDim * ldr);
  checkSize(op, 'h', a.h, N * ldr);
  checkSize(op, 'y', a.y, N * outDim);
  if (a.W) checkSize(op, 'W', a.W, inDim * outDim);
  if (a.bias) checkSize(op, 'bias', a.bias, outDim);
  const d = dummy(enc.gpu);
  const label = a.label ?? `lowrank ${N}x${inDim}x${outDim} r=${r}`;
  // h (N, r) = x (N, in) · Aᵀ:  B-operand Aᵀ[k][j] = A[j·in + k]
  dispatch(
    enc,
    'lowrank_gemm',
    {
      M: N,
      N: r,
      cRow: ldr,
      accumulate: false,
      s1: { K: inDim, aRow: inDim, aCol: 1, bRow: 1, bCol: inDim, alpha: 1 },
      s2: null,
    },
    null,
    { 1: a.x, 2: a.A, 3: d.read, 4: d.read, 5: d.read, 6: a.h },
    r,
    `${label} h`,
    a.tiling,
  );
  // y (N, out) = x·W + s·h·Bᵀ + bias:  Bᵀ[k][j] = B[j·ldr + k]
  const hasLowRank = r > 0 && inDim > 0;
  dispatchGemm(
    enc,
    {
      M: N,
      N: outDim,
      cRow: outDim,
      accumulate: !!a.accumulate,
      bias: !!a.bias,
      s1: a.W ? { K: inDim, aRow: inDim, aCol: 1, bRow: outDim, bCol: 1, alpha: 1 } : null,
      s2: hasLowRank ? { K: r, aRow: ldr, aCol: 1, bRow: 1, bCol: ldr, alpha: a.scaling } : null,
    },
    { 1: a.x, 2: a.W ?? d.read, 3: a.h, 4: a.B, 5: a.bias ?? d.read, 6: a.y },
    `${label} y`,
    a.tiling,
  );
}

export interface LowrankBackwardArgs extends LowrankDims {
  x: GpuTensor; // (N, inDim)
  dy: GpuTensor; // (N, outDim)
  A: GpuTensor; // (ldr, inDim)
  B: GpuTensor; // (outDim, ldr)
  h: GpuTensor; // (N, ldr) saved by the forward
  dh: GpuTensor; // (N, ldr) scratch ← s·dy·B
  /** (N, inDim) ← dy·Wᵀ + dh·A (overwritten unless accumulateDx); null: not needed. */
  dx: GpuTensor | null;
  dA: GpuTensor | null; // (ldr, inDim) += dhᵀ·x
  dB: GpuTensor | null; // (outDim, ldr) += s·dyᵀ·h
  /** Base weight (inDim, outDim) for dx; null: dx gets the low-rank term only. */
  W?: GpuTensor | null;
  accumulateDx?: boolean;
}

/** dh = s·dy·B ‖ dB += s·dyᵀ·h, then dx (=|+=) dy·Wᵀ + dh·A ‖ dA += dhᵀ·x. Two dispatches. */
export function lowrankBackward(enc: StepEncoder, a: LowrankBackwardArgs): void {
  const op = 'lowrankBackward';
  const ldr = checkDims(op, a);
  const { N, inDim, outDim, r, scaling: s } = a;
  checkSize(op, 'x', a.x, N * inDim);
  checkSize(op, 'dy', a.dy, N * outDim);
  checkSize(op, 'A', a.A, ldr * inDim);
  checkSize(op, 'B', a.B, outDim * ldr);
  checkSize(op, 'h', a.h, N * ldr);
  checkSize(op, 'dh', a.dh, N * ldr);
  if (a.dx) checkSize(op, 'dx', a.dx, N * inDim);
  if (a.dA) checkSize(op, 'dA', a.dA, ldr * inDim);
  if (a.dB) checkSize(op, 'dB', a.dB, outDim * ldr);
  if (a.W) checkSize(op, 'W', a.W, inDim * outDim);
  const d = dummy(enc.gpu);
  const label = a.label ?? `lowrank bwd ${N}x${inDim}x${outDim} r=${r}`;
  const needDh = !!(a.dA || a.dx) && r > 0;
  // dh (N, r) = s·dy (N, out)·B (out, r)          ‖  dB (out, r) += s·dyᵀ·h:  dyᵀ[i][k] = dy[k·out + i]
  dispatch(
    enc,
    'lowrank_bwd_h',
    needDh
      ? {
          M: N,
          N: r,
          cRow: ldr,
          accumulate: false,
          s1: { K: outDim, aRow: outDim, aCol: 1, bRow: ldr, bCol: 1, alpha: s },
          s2: null,
        }
      : null,
    a.dB
      ? {
          M: outDim,
          N: r,
          cRow: ldr,
          accumulate: true,
          s1: { K: N, aRow: 1, aCol: outDim, bRow: ldr, bCol: 1, alpha: s },
          s2: null,
        }
      : null,
    { 1: a.dy, 2: a.B, 4: a.h, 6: needDh ? a.dh : d.write, 7: a.dB ?? d.write },
    r,
    `${label} dh|dB`,
    a.tiling,
  );
  // dx (N, in) = dy·Wᵀ + dh·A:  Wᵀ[k][j] = W[j·out + k]   ‖  dA (r, in) += dhᵀ·x:  dhᵀ[i][k] = dh[k·ldr + i]
  const dxJob: Job | null = a.dx
    ? {
        M: N,
        N: inDim,
        cRow: inDim,
        accumulate: !!a.accumulateDx,
        s1: a.W ? { K: outDim, aRow: outDim, aCol: 1, bRow: 1, bCol: outDim, alpha: 1 } : null,
        s2: needDh ? { K: r, aRow: ldr, aCol: 1, bRow: inDim, bCol: 1, alpha: 1 } : null,
      }
    : null;
  // dx with neither term (no W, r = 0) must still be overwritten with zeros: the job runs with K = 0.
  dispatch(
    enc,
    'lowrank_bwd_x',
    dxJob,
    a.dA && r > 0
      ? {
          M: r,
          N: inDim,
          cRow: inDim,
          accumulate: true,
          s1: { K: N, aRow: 1, aCol: ldr, bRow: inDim, bCol: 1, alpha: 1 },
          s2: null,
        }
      : null,
    { 1: a.dy, 2: a.W ?? d.read, 3: a.dh, 4: a.A, 5: a.x, 6: a.dx ?? d.write, 7: a.dA ?? d.write },
    inDim,
    `${label} dx|dA`,
    a.tiling,
  );
}

export interface LowrankGemmArgs {
  a: GpuTensor;
  b: GpuTensor;
  c: GpuTensor;
  M: number;
  N: number;
  K: number;
  /** A[i][k] = a[i·aRow + k·aCol], B[k][j] = b[k·bRow + j·bCol], C[i][j] = c[i·cRow + j] (cRow default N). */
  aRow: number;
  aCol: number;
  bRow: number;
  bCol: number;
  cRow?: number;
  alpha?: number;
  accumulate?: boolean;
  label?: string;
  tiling?: TilingClass;
}

/**
 * C (M, N) (=|+=) α·A·B through the same register-blocked core, one dispatch. For small products
 * around the adapters (DoRA's A·W and A·Aᵀ) where a strided view saves a transpose.
 */
export function lowrankGemm(enc: StepEncoder, g: LowrankGemmArgs): void {
  const cRow = g.cRow ?? g.N;
  const last = (rows: number, cols: number, rs: number, cs: number) =>
    rows && cols ? (rows - 1) * rs + (cols - 1) * cs + 1 : 0;
  checkSize('lowrankGemm', 'a', g.a, last(g.M, g.K, g.aRow, g.aCol));
  checkSize('lowrankGemm', 'b', g.b, last(g.K, g.N, g.bRow, g.bCol));
  checkSize('lowrankGemm', 'c', g.c, last(g.M, g.N, cRow, 1));
  const d = dummy(enc.gpu);
  dispatchGemm(
    enc,
    {
      M: g.M,
      N: g.N,
      cRow,
      accumulate: !!g.accumulate,
      s1: { K: g.K, aRow: g.aRow, aCol: g.aCol, bRow: g.bRow, bCol: g.bCol, alpha: g.alpha ?? 1 },
      s2: null,
    },
    { 1: g.a, 2: g.b, 3: d.read, 4: d.read, 5: d.read, 6: g.c },
    g.label ?? `lowrank gemm ${g.M}x${g.K}x${g.N}`,
    g.tiling,
  );
}
