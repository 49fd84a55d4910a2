/**
 * Host side of shaders/rsvd.wgsl (and of the fill entry points of shaders/random.wgsl): the GPU part of
 * the randomized SVD after Halko, Martinsson & Tropp (2011, SIAM Review 53(2)). The small SVD of B at
 * the end runs on the CPU in float64 and lives in the engine (src/engine/rsvd.ts: `rsvd` = rsvdRange +
 * that SVD); this file holds no CPU linear algebra.
 *
 *   rsvdRange(gpu, {matrix, M, N, k}) the GPU part of a top-k randomized SVD of a dense (M, N) GpuTensor:
 *                                     the range basis Q (M, l) and Bᵀ = Aᵀ·Q (N, l), read back
 *   rsvdRange(gpu, {operator, k})     the same for an implicit operator (records Y = A·X, Z = Aᵀ·Y),
 *                                     e.g. lowRankOperator for W0 + s·B·A without materialising it
 *   orthonormalize(...)               shifted CholeskyQR2 of a tall block, recorded into a StepEncoder
 *   randomNormal / randomUniform / randomU32   Philox fills equal to src/engine/rng.ts streams
 *
 * Algorithm (HMT Alg. 4.4, randomized subspace iteration, then Alg. 5.1):
 *   Ω (N, l) Gaussian on the GPU (l = k + p, p = 10)            §4.1, §4.2
 *   Y = A·Ω, Q = orth(Y)                                          Alg. 4.1
 *   q times: Z = orth(Aᵀ·Q), Q = orth(A·Z)                        Alg. 4.4: re-orthonormalized at every
 *                                                                 step, since (AAᵀ)^q A Ω in float32 loses
 *                                                                 all but the top direction (§4.5)
 *   Bᵀ = Aᵀ·Q (N, l) on the GPU; read Q and Bᵀ back              Alg. 5.1 step 1
 *   then, in src/engine/rsvd.ts: SVD of the small B in float64 on the CPU, U = Q·Û   Alg. 5.1 steps 2–3
 * orth() is CholeskyQR2 (Gram matrix by a GPU matmul, Cholesky of the (l, l) Gram in one workgroup,
 * Q = Y·R⁻¹ on the GPU) preceded by one shifted pass — shifted CholeskyQR3 of Fukaya et al. (2020) — so
 * the block may be ill-conditioned or numerically rank-deficient: deflated columns are refilled with
 * fresh random vectors and orthonormalized by the following passes.
 *
 * Deviations from the card, both for speed at equal accuracy:
 *   - the triangular solve is a multiplication by R⁻¹ (computed by substitution in the Cholesky
 *     workgroup): R is well conditioned in every pass by construction (the shift bounds κ(R) in the
 *     first, κ(R) ≈ 1 in the others), so the explicit inverse costs no accuracy and turns the solve
 *     into one BLAS-3 product;
 *   - the products use rsvd_tsmm (shaders/rsvd.wgsl), a tall-skinny GEMM with split-K for the Gram,
 *     rather than matmul.wgsl, whose kernels do not split K for an (l, l) Gram; blocks wider than 64
 *     columns fall back to matmul.wgsl's default kernel.
 */
import { Params, type Gpu, type GpuTensor, type StepEncoder } from '../device';
import { matmul } from './matmul';
import { purposeTag, RSVD_REFILL_PURPOSE, RSVD_SKETCH_PURPOSE } from '../purposes';
import { ceilDiv, flatGrid } from '../grid';

// ---- random fills ---------------------------------------------------------------------------------

export interface RandomFillOptions {
  seed: number;
  purpose: string;
  /** Values to write (default: the whole tensor after `offset`). */
  count?: number;
  /** First Philox block of the stream (Rng's counterStart). */
  counter?: number;
  /** Element offset into the output tensor. */
  offset?: number;
}

/** Grid of rsvd_sketch: one invocation per 4 values (one Philox block), 64 per workgroup. */
const fillGrid = (count: number) => flatGrid(Math.max(1, ceilDiv(ceilDiv(count, 4), 64)));

/** Grid of rsvd_refill: one invocation per element, 64 per workgroup. */
const elementGrid = (count: number) => flatGrid(Math.max(1, ceilDiv(count, 64)));

function randomParams(o: RandomFillOptions, count: number, a: number, b: number): ArrayBuffer {
  const ctr = o.counter ?? 0;
  return new Params()
    .u32(count, o.seed >>> 0, purposeTag(o.purpose), ctr >>> 0, Math.floor(ctr / 4294967296) >>> 0, o.offset ?? 0)
    .f32(a, b)
    .build();
}

function recordFill(enc: StepEncoder, entry: string, out: GpuTensor, o: RandomFillOptions, a: number, b: number): void {
  const count = o.count ?? out.size - (o.offset ?? 0);
  if (count <= 0) return;
  enc.dispatch({
    kernel: { shader: 'random', entry },
    bindings: { 1: out },
    params: randomParams(o, count, a, b),
    workgroups: fillGrid(count),
    label: `${entry}:${o.purpose}`,
  });
}

/** out[offset + w] = mean + std·normal(w) of stream (seed, purpose), as Rng.fillNormal (to ~1e-6). */
export function randomNormal(
  enc: StepEncoder,
  out: GpuTensor,
  o: RandomFillOptions & { mean?: number; std?: number },
): void {
  recordFill(enc, 'random_normal', out, o, o.mean ?? 0, o.std ?? 1);
}

/** out[offset + w] = lo + (hi − lo)·uniform(w); with lo = 0, hi = 1 bit-identical to Rng.uniform(). */
export function randomUniform(
  enc: StepEncoder,
  out: GpuTensor,
  o: RandomFillOptions & { lo?: number; hi?: number },
): void {
  const lo = o.lo ?? 0;
  const hi = o.hi ?? 1;
  recordFill(enc, 'random_uniform', out, o, lo, hi - lo);
}

/** Raw Philox words (read them back with gpu.readInt and `>>> 0`). */
export function randomU32(enc: StepEncoder, out: GpuTensor, o: RandomFillOptions): void {
  recordFill(enc, 'random_u32', out, o, 0, 1);
}

/** Ω (rows, cols) = the Gaussian sketch of HMT §4.1 for this seed (rsvd_sketch in rsvd.wgsl). */
export function gaussianSketchGpu(enc: StepEncoder, out: GpuTensor, seed: number, rows: number, cols: number): void {
  const count = rows * cols;
  enc.dispatch({
    kernel: { shader: 'rsvd', entry: 'rsvd_sketch' },
    bindings: { 1: out },
    params: new Params().u32(count, seed >>> 0, purposeTag(RSVD_SKETCH_PURPOSE), 0, 0, 0, 0, 0).build(),
    workgroups: fillGrid(count),
    label: 'rsvd_sketch',
  });
}

// ---- linear operators -----------------------------------------------------------------------------

/** An (M, N) matrix seen only through its products; each method records dispatches, nothing more. */
export interface LinearOperator {
  M: number;
  N: number;
  /** Record Y (M, cols) = A · X (N, cols). */
  apply(enc: StepEncoder, X: GpuTensor, Y: GpuTensor, cols: number): void;
  /** Record Z (N, cols) = Aᵀ · Y (M, cols). */
  applyT(enc: StepEncoder, Y: GpuTensor, Z: GpuTensor, cols: number): void;
  /** Release scratch buffers the operator owns. */
  dispose?(): void;
}

// ---- tall-skinny products (rsvd_tsmm) --------------------------------------------------------------

export interface TsmmArgs {
  a: GpuTensor; // (M, K), or (K, M) when transA
  b: GpuTensor; // (K, N)
  c: GpuTensor; // (M, N)
  M: number;
  N: number; // ≤ 64
  K: number;
  transA?: boolean;
  /** Split K over this many workgroup rows; the partials go to `partial` (splits·M·N) and are summed into c. */
  splits?: number;
  partial?: GpuTensor;
  label?: string;
}

export const TSMM_MAX_N = 64;

/** Record C (M, N) = op(A)·B with the tall-skinny kernel (N ≤ 64); C is overwritten. */
export function tsmm(enc: StepEncoder, x: TsmmArgs): void {
  const { M, N, K } = x;
  if (M === 0 || N === 0) return;
  if (N > TSMM_MAX_N) throw new Error(`rsvd_tsmm needs N ≤ ${TSMM_MAX_N}, got ${N}`);
  const splits = Math.max(1, Math.min(x.splits ?? 1, Math.ceil(K / 16)));
  const kChunk = Math.ceil(Math.ceil(K / splits) / 32) * 32;
  const nSplit = Math.max(1, Math.ceil(K / kChunk));
  const toPartial = nSplit > 1;
  if (toPartial && (!x.partial || x.partial.size < nSplit * M * N))
    throw new Error(`rsvd_tsmm: split-K needs a partial buffer of ${nSplit * M * N} values`);
  const aRow = x.transA ? 1 : K;
  const aCol = x.transA ? M : 1;
  const params = new Params()
    .u32(M, N, K, kChunk, aRow, aCol, N, 1, N, toPartial ? M * N : 0, 0, 0, 0, 0, 0, 0)
    .build();
  const label = x.label ?? `tsmm ${M}x${K}x${N}${x.transA ? ' Aᵀ' : ''}`;
  enc.dispatch({
    kernel: { shader: 'rsvd', entry: 'rsvd_tsmm', constants: { TS_NV: Math.ceil(N / 8) } },
    bindings: { 1: x.a, 2: x.b, 3: toPartial ? x.partial! : x.c },
    params,
    workgroups: [ceilDiv(M, 64), nSplit],
    label,
  });
  if (toPartial) {
    enc.dispatch({
      kernel: { shader: 'rsvd', entry: 'rsvd_sum_partials' },
      bindings: { 1: x.partial!, 2: x.c },
      params: new Params().u32(M * N, nSplit, 0, 0).build(),
      workgroups: [ceilDiv(M * N, 64)],
      label: `${label} Σsplits`,
    });
  }
}

/**
 * Narrow products go through rsvd_tsmm (columns exactly ceil(l/8)·8 wide, 8×8·NV register blocks,
 * split-K Gram); measured on llvmpipe, 768×3072·42: 2× faster than a 64×64-tiled matmul for A·X and
 * Aᵀ·Y, 5–10× for the Gram. Wider blocks (l > 64) use matmul.wgsl's default (register-blocked vec4)
 * kernel, which replaced the retired `tiled` one there (`bench matmul --variants`, README "Matmul").
 */
/** C (M, n) = op(A)·B, overwriting C: rsvd_tsmm when n ≤ 64, else the default matmul. */
function narrowProduct(enc: StepEncoder, x: TsmmArgs): void {
  if (x.N <= TSMM_MAX_N) tsmm(enc, x);
  else matmul(enc, { a: x.a, b: x.b, c: x.c, M: x.M, N: x.N, K: x.K, transA: x.transA, label: x.label });
}

/** A dense row-major (M, N) tensor as an operator. */
export function matrixOperator(A: GpuTensor, M: number, N: number): LinearOperator {
  if (A.size < M * N)
    throw new Error(`matrixOperator: tensor ${A.label} has ${A.size} values, (${M}, ${N}) needs ${M * N}`);
  return {
    M,
    N,
    apply: (enc, X, Y, cols) => narrowProduct(enc, { a: A, b: X, c: Y, M, N: cols, K: N, label: 'rsvd A·X' }),
    applyT: (enc, Y, Z, cols) =>
      narrowProduct(enc, { a: A, b: Y, c: Z, M: N, N: cols, K: M, transA: true, label: 'rsvd Aᵀ·Y' }),
  };
}

export interface LowRankOperatorArgs {
  /** W0 (M, N), or null for the update s·B·A alone (ΔW). */
  base: GpuTensor | null;
  B: GpuTensor; // (M, r)
  A: GpuTensor; // (r, N)
  M: number;
  N: number;
  r: number;
  scale: number;
}

/**
 * W0 + s·B·A applied without materialising it (reference §2.3): (W0 + sBA)·X = W0·X + s·B·(A·X), and
 * (W0 + sBA)ᵀ·Y = W0ᵀ·Y + s·Aᵀ·(Bᵀ·Y). One (r, cols) scratch, grown on demand.
 */
export function lowRankOperator(gpu: Gpu, a: LowRankOperatorArgs): LinearOperator {
  const { M, N, r, scale } = a;
  let tmp: GpuTensor | null = null;
  const scratch = (cols: number) => {
    if (!tmp || tmp.size < r * cols) {
      if (tmp) gpu.release(tmp);
      tmp = gpu.tensor([r, cols], 'lowrank-op:tmp', 'analysis');
    }
    return tmp;
  };
  return {
    M,
    N,
    apply(enc, X, Y, cols) {
      const T = scratch(cols); // (r, cols)
      matmul(enc, { a: a.A, b: X, c: T, M: r, N: cols, K: N, label: 'lowrank A·X' });
      if (a.base) {
        narrowProduct(enc, { a: a.base, b: X, c: Y, M, N: cols, K: N, label: 'lowrank W0·X' });
        matmul(enc, { a: a.B, b: T, c: Y, M, N: cols, K: r, alpha: scale, beta: 1, label: 'lowrank +s·B·(A·X)' });
      } else {
        matmul(enc, { a: a.B, b: T, c: Y, M, N: cols, K: r, alpha: scale, label: 'lowrank s·B·(A·X)' });
      }
    },
    applyT(enc, Y, Z, cols) {
      const T = scratch(cols); // (r, cols)
      matmul(enc, { a: a.B, b: Y, c: T, M: r, N: cols, K: M, transA: true, label: 'lowrank Bᵀ·Y' });
      if (a.base) {
        narrowProduct(enc, { a: a.base, b: Y, c: Z, M: N, N: cols, K: M, transA: true, label: 'lowrank W0ᵀ·Y' });
        matmul(enc, {
          a: a.A,
          b: T,
          c: Z,
          M: N,
          N: cols,
          K: r,
          transA: true,
          alpha: scale,
          beta: 1,
          label: 'lowrank +s·Aᵀ·(Bᵀ·Y)',
        });
      } else {
        matmul(enc, {
          a: a.A,
          b: T,
          c: Z,
          M: N,
          N: cols,
          K: r,
          transA: true,
          alpha: scale,
          label: 'lowrank s·Aᵀ·(Bᵀ·Y)',
        });
      }
    },
    dispose() {
      if (tmp) gpu.release(tmp);
      tmp = null;
    },
  };
}

// ---- orthonormalization (shifted CholeskyQR2) ------------------------------------------------------

const U32_EPS = 2 ** -24;
/** Pivot ratio below which a column is treated as dependent in the unshifted passes (κ(R) ≤ ~300). */
export const DEFLATION_TOL = 1e-5;

/** Scratch for orthonormalizing blocks with l columns. */
export interface OrthWorkspace {
  l: number;
  G: GpuTensor; // (l, l)
  R: GpuTensor; // (l, l)
  Rinv: GpuTensor; // (l, l)
  /** Split-K partial Gram matrices (GRAM_MAX_SPLITS, l, l). */
  partial: GpuTensor;
  /** Flags per pass: at base p·(l+1) the deflation count of pass p, then one flag per column. */
  info: GpuTensor;
  passes: number; // capacity of info
  used: number; // passes recorded so far
  seed: number;
}

/** The Gram XᵀX of a tall block is split over K in chunks of ~256 rows, at most this many. */
const GRAM_MAX_SPLITS = 32;

export function orthWorkspace(gpu: Gpu, l: number, passes: number, seed = 0): OrthWorkspace {
  return {
    l,
    G: gpu.tensor([l, l], 'rsvd:G', 'analysis'),
    R: gpu.tensor([l, l], 'rsvd:R', 'analysis'),
    Rinv: gpu.tensor([l, l], 'rsvd:Rinv', 'analysis'),
    partial: gpu.tensor([GRAM_MAX_SPLITS, l, l], 'rsvd:partial', 'analysis'),
    info: gpu.zeros([passes * (l + 1)], 'rsvd:info', 'analysis'),
    passes,
    used: 0,
    seed,
  };
}

export function releaseOrthWorkspace(gpu: Gpu, ws: OrthWorkspace): void {
  for (const t of [ws.G, ws.R, ws.Rinv, ws.partial, ws.info]) gpu.release(t);
}

/**
 * One CholeskyQR pass: G = XᵀX, RᵀR = G + s·I (one workgroup), out = X·R⁻¹, refill deflated columns.
 */
function cholQrPass(
  enc: StepEncoder,
  ws: OrthWorkspace,
  X: GpuTensor,
  out: GpuTensor,
  rows: number,
  shiftRel: number,
  deflTol: number,
): void {
  const { l } = ws;
  if (ws.used >= ws.passes) throw new Error(`orthonormalize: workspace holds ${ws.passes} passes`);
  const flagBase = ws.used * (l + 1);
  const pass = ws.used++;
  const splits = Math.min(GRAM_MAX_SPLITS, Math.ceil(rows / 256));
  narrowProduct(enc, {
    a: X,
    b: X,
    c: ws.G,
    M: l,
    N: l,
    K: rows,
    transA: true,
    splits,
    partial: ws.partial,
    label: `cholqr Gram (${rows}×${l})`,
  });
  enc.dispatch({
    kernel: { shader: 'rsvd', entry: 'rsvd_cholesky' },
    bindings: { 1: ws.G, 2: ws.R, 3: ws.Rinv, 4: ws.info },
    params: new Params().u32(l, flagBase).f32(shiftRel, deflTol).build(),
    workgroups: [1],
    label: `cholqr cholesky l=${l}`,
  });
  narrowProduct(enc, { a: X, b: ws.Rinv, c: out, M: rows, N: l, K: l, label: `cholqr Y·R⁻¹ (${rows}×${l})` });
  enc.dispatch({
    kernel: { shader: 'rsvd', entry: 'rsvd_refill' },
    bindings: { 1: ws.info, 2: out },
    params: new Params()
      .u32(rows, l, flagBase, ws.seed >>> 0, purposeTag(RSVD_REFILL_PURPOSE), pass)
      .f32(1 / Math.sqrt(rows))
      .u32(0)
      .build(),
    workgroups: elementGrid(rows * l),
    label: 'cholqr refill',
  });
}

/**
 * Record the orthonormalization of X (rows, l) into enc: a shifted CholeskyQR pass (shift
 * s = 4·(√rows + l + 1)·u·trace(XᵀX), Fukaya et al. 2020 §3 scaled to typical rather than worst-case
 * rounding), then CholeskyQR2 (two plain passes, Yamamoto et al. 2015). The result is written to
 * `scratch` or back to X: the returned tensor holds Q. Uses 3 passes of the workspace.
 */
export function orthonormalize(
  enc: StepEncoder,
  ws: OrthWorkspace,
  X: GpuTensor,
  scratch: GpuTensor,
  rows: number,
): GpuTensor {
  const l = ws.l;
  const shiftRel = 4 * (Math.sqrt(rows) + l + 1) * U32_EPS;
  cholQrPass(enc, ws, X, scratch, rows, shiftRel, 0);
  cholQrPass(enc, ws, scratch, X, rows, 0, DEFLATION_TOL);
  cholQrPass(enc, ws, X, scratch, rows, 0, DEFLATION_TOL);
  return scratch;
}

// ---- randomized SVD -------------------------------------------------------------------------------

export interface RsvdOptions {
  k: number;
  /** p: extra sketch columns (HMT §4.2). Default 10. */
  oversample?: number;
  /** q: power iterations (HMT §4.5). Default 2. */
  powerIters?: number;
  seed?: number;
}

export type RsvdInput = RsvdOptions & ({ matrix: GpuTensor; M: number; N: number } | { operator: LinearOperator });

export interface RsvdRange {
  M: number;
  N: number;
  k: number;
  /** sketch width k + p (capped at min(M, N)) */
  l: number;
  Q: Float32Array; // (M, l) orthonormal range basis
  Bt: Float32Array; // (N, l) = Aᵀ·Q
  /** Columns deflated and refilled over all orthonormalization passes (0 for a full-rank sketch). */
  deflated: number;
  /** Wall-clock of the GPU part including readback. */
  gpuMs: number;
}

/**
 * The GPU part of a top-k randomized SVD (HMT Alg. 4.4, then Alg. 5.1 step 1) by randomized subspace
 * iteration. One submit; the readback is Q (M, l) and Bᵀ (N, l).
 */
export async function rsvdRange(gpu: Gpu, input: RsvdInput): Promise<RsvdRange> {
  const op = 'operator' in input ? input.operator : matrixOperator(input.matrix, input.M, input.N);
  const { M, N } = op;
  const r = Math.min(M, N);
  if (!(input.k >= 1) || r < 1)
    throw new Error(`rsvd: need k ≥ 1 and a non-empty matrix, got k=${input.k} for (${M}, ${N})`);
  const k = Math.min(Math.floor(input.k), r);
  const l = Math.min(k + Math.max(0, Math.floor(input.oversample ?? 10)), r);
  const q = Math.max(0, Math.floor(input.powerIters ?? 2));
  const seed = input.seed ?? 0;
  const t0 = performance.now();

  let Y = gpu.tensor([M, l], 'rsvd:Y', 'analysis'); // (M, l)
  let Yt = gpu.tensor([M, l], 'rsvd:Y2', 'analysis');
  let Z = gpu.tensor([N, l], 'rsvd:Z', 'analysis'); // (N, l): Ω, then Aᵀ·Q, finally Bᵀ
  let Zt = gpu.tensor([N, l], 'rsvd:Z2', 'analysis');
  const orths = 1 + 2 * q;
  const ws = orthWorkspace(gpu, l, orths * 3, seed);
  try {
    const enc = gpu.encoder('rsvd');
    gaussianSketchGpu(enc, Z, seed, N, l); // Ω (N, l)
    op.apply(enc, Z, Y, l); // Y = A·Ω
    let res = orthonormalize(enc, ws, Y, Yt, M);
    if (res !== Y) [Y, Yt] = [Yt, Y];
    for (let it = 0; it < q; it++) {
      op.applyT(enc, Y, Z, l); // Z = Aᵀ·Q
      res = orthonormalize(enc, ws, Z, Zt, N);
      if (res !== Z) [Z, Zt] = [Zt, Z];
      op.apply(enc, Z, Y, l); // Y = A·Z
      res = orthonormalize(enc, ws, Y, Yt, M);
      if (res !== Y) [Y, Yt] = [Yt, Y];
    }
    op.applyT(enc, Y, Z, l); // Bᵀ = Aᵀ·Q (N, l)
    enc.submit();
    const [Q, Bt, info] = await Promise.all([gpu.read(Y), gpu.read(Z), gpu.readInt(ws.info)]);
    let deflated = 0;
    for (let p = 0; p < ws.used; p++) deflated += info[p * (l + 1)];
    return { M, N, k, l, Q, Bt, deflated, gpuMs: performance.now() - t0 };
  } finally {
    for (const t of [Y, Yt, Z, Zt]) gpu.release(t);
    releaseOrthWorkspace(gpu, ws);
  }
}
