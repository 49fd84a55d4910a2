// Matrix multiply family: C = alpha * op(A) * op(B) + beta * C, batched.
//
// Every operand is addressed through element strides, so transposes (A·B, A·Bᵀ, Aᵀ·B), strided views
// (one attention head inside a (B,T,3C) buffer) and batch offsets are all the same kernel:
//   A[i][k] = a[aOff + z*aBatch + i*aRow + k*aCol]      (M, K)
//   B[k][j] = b[bOff + z*bBatch + k*bRow + j*bCol]      (K, N)
//   C[i][j] = c[cOff + z*cBatch + i*cRow + j*cCol]      (M, N)
// beta is 0 (overwrite; C is never read, so garbage or NaN in C cannot leak) or 1 (accumulate).
//
// Entry points (all: @group(0) @binding(0) uniform P, binding(1) a read, binding(2) b read,
// binding(3) c read_write):
//   matmul_naive   — one invocation per C element; workgroup (8,8); grid (ceil(N/8), ceil(M/8), batch).
//                    The readable oracle the register-blocked kernels below are tested against.
// (The 64×64 workgroup-memory `tiled` kernel and the narrow-C `skinny` kernel were retired: on llvmpipe
// the register-blocked kernels beat them on every benchmarked shape, `bench matmul --variants`, README.)
//   matmul_regs    — the one register-blocked core (gemm-core.wgsl, shared with lowrank.wgsl) as its
//                    one-segment case: any strides, no workgroup memory, R rows of C per workgroup (the
//                    same rows for every invocation, so A is read with workgroup-uniform addresses: a
//                    broadcast on GPUs, one scalar load on CPU drivers) and CN = 2 columns per invocation
//                    (lane and lane+WG: neighbouring invocations read neighbouring B/C addresses); the batch
//                    index is folded into the A/B offsets. Grid (ceil(N/(2·WG)), ceil(M/R), batch). The
//                    fallback when the vec4 paths' alignment rules fail.
// The vec4 kernels below are specialisations of the same tiling (R uniform rows of A in registers, the
// columns along the lanes, no barrier) that load B (and store C) 16 bytes at a time; they are kept because
// `bench matmul --variants regs,vec4` shows them faster on square and wide-C shapes (README, "Matmul").
//   matmul_vec4n   — like matmul_regs but each invocation owns 4 adjacent columns read as one vec4 of B
//                    (B row-contiguous: bCol = 1, bRow/bOff/bBatch multiples of 4); A is read as vec4
//                    along K (A_MROWS = false: aCol = 1) or along M (A_MROWS = true: aRow = 1, 4 rows per
//                    load); K%4 tails are handled with scalar reads. Grid (ceil(ceil(N/4)/WG),
//                    ceil(M/R), batch). The main path for A·B, Aᵀ·B and wide-C adapter shapes.
//   matmul_vec4n_c4 — matmul_vec4n writing C as vec4 (cCol = 1, N and C strides/offset multiples of 4).
//   matmul_vec4k   — one column per invocation, B read as vec4 along K (bRow = 1: the A·Bᵀ layout), A as
//                    in matmul_vec4n. Grid (ceil(N/WG), ceil(M/R), batch). Also serves a narrow C
//                    (N ≤ 8) through Cᵀ = Bᵀ·Aᵀ, where each invocation walks one row of A.
//
// Why register blocking without workgroup memory (measured on Mesa llvmpipe, which runs 8 invocations
// in the lanes of one 256-bit register): loads whose address differs per invocation cost a per-lane
// loop there (one vec4 load ≈ the price of one scalar load), loads with a workgroup-uniform address
// are one scalar load, and workgroupBarrier() switches coroutines. So each B value fetched per lane is
// reused against R uniform A values held in registers, with no barrier. On GPUs the same shape is
// the "register-blocked, vec4" family (TabGPT, tfjs vec4): B/C accesses stay coalesced (adjacent
// invocations, adjacent 16-byte words), A reads are broadcasts served from cache, and there is no
// shared-memory occupancy limit; WG = 64 keeps two warps / one wavefront per workgroup on wide
// shapes (the host lowers it to 8–32 only when C has fewer columns than that).

struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  aRow: u32, aCol: u32, bRow: u32, bCol: u32,
  cRow: u32, cCol: u32, aBatch: u32, bBatch: u32,
  cBatch: u32, aOff: u32, bOff: u32, cOff: u32,
  alpha: f32, beta: f32, _pad0: u32, _pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn store(z: u32, i: u32, j: u32, v: f32) {
  let idx = P.cOff + z * P.cBatch + i * P.cRow + j * P.cCol;
  if (P.beta != 0.0) {
    c[idx] = P.alpha * v + P.beta * c[idx];
  } else {
    c[idx] = P.alpha * v;
  }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let i = gid.y;
  let z = gid.z;
  if (i >= P.M || j >= P.N) { return; }
  let aBase = P.aOff + z * P.aBatch + i * P.aRow;
  let bBase = P.bOff + z * P.bBatch + j * P.bCol;
  var acc = 0.0;
  for (var k = 0u; k < P.K; k++) {
    acc += a[aBase + k * P.aCol] * b[bBase + k * P.bRow];
  }
  store(z, i, j, acc);
}

// ---------------------------------------------------------------------------------------------------
// Register-blocked family (matmul_regs, matmul_vec4n, matmul_vec4k). See the header for the layout.

// #include "gemm-core"
// R (rows of C per workgroup: 4 or 8 here) and WG (invocations per workgroup, along the columns of C)
// are the core's override constants; every kernel below uses them the same way.
override A_MROWS: bool = false; // vec4 kernels: A is M-contiguous (aRow = 1) instead of K-contiguous

@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;

// One element of A through the vec4 view (tails and scalar fallbacks); i is an element index.
fn a4_at(i: u32) -> f32 {
  return a4[i >> 2u][i & 3u];
}

// Coefficients A[row0+u][k..k+3] for u < 8 as vec4s over k, read through the vec4 view of A.
// K-contiguous A: one vec4 per row. M-contiguous A: one vec4 per 4 rows and k, transposed in registers.
// Rows past M are clamped (K-contiguous) or read neighbouring memory (M-contiguous); they are never stored.
struct ACoef { r: array<vec4<f32>, 8> }

fn a_coef(aBase: u32, row0: u32, k: u32) -> ACoef {
  var o: ACoef;
  if (A_MROWS) {
    for (var g = 0u; g < R / 4u; g++) {
      let base = (aBase + k * P.aCol + row0) / 4u + g;
      let step = P.aCol / 4u;
      let m0 = a4[base];
      let m1 = a4[base + step];
      let m2 = a4[base + 2u * step];
      let m3 = a4[base + 3u * step];
      o.r[4u * g] = vec4<f32>(m0.x, m1.x, m2.x, m3.x);
      o.r[4u * g + 1u] = vec4<f32>(m0.y, m1.y, m2.y, m3.y);
      o.r[4u * g + 2u] = vec4<f32>(m0.z, m1.z, m2.z, m3.z);
      o.r[4u * g + 3u] = vec4<f32>(m0.w, m1.w, m2.w, m3.w);
    }
  } else {
    for (var u = 0u; u < R; u++) {
      o.r[u] = a4[(aBase + min(row0 + u, P.M - 1u) * P.aRow + k) / 4u];
    }
  }
  return o;
}

// A[row][k] for a single k (K tails), same layouts as a_coef.
fn a_one(aBase: u32, row: u32, k: u32) -> f32 {
  if (A_MROWS) { return a4_at(aBase + k * P.aCol + row); }
  return a4_at(aBase + min(row, P.M - 1u) * P.aRow + k);
}

// Accumulators of matmul_vec4n / matmul_vec4n_c4: R rows × this invocation's 4 columns.
fn vec4n_acc(z: u32, row0: u32, q: u32, nq: u32) -> array<vec4<f32>, 8> {
  let aBase = P.aOff + z * P.aBatch;
  let bRow4 = P.bRow / 4u;
  var bp = (P.bOff + z * P.bBatch) / 4u + min(q, nq - 1u);
  var acc: array<vec4<f32>, 8>;
  let K4 = P.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    let av = a_coef(aBase, row0, k4 * 4u);
    // k-major: one vec4 of B (this invocation's 4 columns of row k) against every row's coefficient.
    let b0 = b4[bp];
    let b1 = b4[bp + bRow4];
    let b2 = b4[bp + 2u * bRow4];
    let b3 = b4[bp + 3u * bRow4];
    bp += 4u * bRow4;
    for (var u = 0u; u < R; u++) {
      acc[u] = fma(vec4<f32>(av.r[u].x), b0, acc[u]);
      acc[u] = fma(vec4<f32>(av.r[u].y), b1, acc[u]);
      acc[u] = fma(vec4<f32>(av.r[u].z), b2, acc[u]);
      acc[u] = fma(vec4<f32>(av.r[u].w), b3, acc[u]);
    }
  }
  for (var k = K4 * 4u; k < P.K; k++) {
    let bv = b4[bp];
    bp += bRow4;
    for (var u = 0u; u < R; u++) {
      acc[u] = fma(vec4<f32>(a_one(aBase, row0 + u, k)), bv, acc[u]);
    }
  }
  return acc;
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_vec4n(@builtin(workgroup_id) wg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wg.z;
  let row0 = wg.y * R;
  let nq = (P.N + 3u) / 4u;
  let q = wg.x * WG + lid.x;
  let acc = vec4n_acc(z, row0, q, nq);
  if (q >= nq) { return; }
  let j = q * 4u;
  for (var u = 0u; u < R; u++) {
    let i = row0 + u;
    if (i >= P.M) { break; }
    store(z, i, j, acc[u].x);
    if (j + 1u < P.N) { store(z, i, j + 1u, acc[u].y); }
    if (j + 2u < P.N) { store(z, i, j + 2u, acc[u].z); }
    if (j + 3u < P.N) { store(z, i, j + 3u, acc[u].w); }
  }
}

// matmul_vec4n with C written as vec4 (cCol = 1; N, cRow, cOff, cBatch multiples of 4): one 16-byte
// store per row instead of four scalar ones, which matters when K is small and writing C dominates.
@group(0) @binding(3) var<storage, read_write> c4: array<vec4<f32>>;

@compute @workgroup_size(WG, 1, 1)
fn matmul_vec4n_c4(@builtin(workgroup_id) wg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wg.z;
  let row0 = wg.y * R;
  let nq = P.N / 4u;
  let q = wg.x * WG + lid.x;
  let acc = vec4n_acc(z, row0, q, nq);
  if (q >= nq) { return; }
  let cBase = (P.cOff + z * P.cBatch) / 4u + q;
  let cRow4 = P.cRow / 4u;
  for (var u = 0u; u < R; u++) {
    let i = row0 + u;
    if (i >= P.M) { break; }
    let idx = cBase + i * cRow4;
    if (P.beta != 0.0) {
      c4[idx] = P.alpha * acc[u] + P.beta * c4[idx];
    } else {
      c4[idx] = P.alpha * acc[u];
    }
  }
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_vec4k(@builtin(workgroup_id) wg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wg.z;
  let row0 = wg.y * R;
  let j = wg.x * WG + lid.x;
  let aBase = P.aOff + z * P.aBatch;
  let bCol = P.bOff + z * P.bBatch + min(j, P.N - 1u) * P.bCol; // element index of B[0][j]; K runs along memory
  var acc: array<f32, 8>;
  let K4 = P.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    let av = a_coef(aBase, row0, k4 * 4u);
    let bv = b4[bCol / 4u + k4];
    for (var u = 0u; u < R; u++) {
      acc[u] = fma(av.r[u].w, bv.w, fma(av.r[u].z, bv.z, fma(av.r[u].y, bv.y, fma(av.r[u].x, bv.x, acc[u]))));
    }
  }
  for (var k = K4 * 4u; k < P.K; k++) {
    let bv = b4[(bCol + k) >> 2u][(bCol + k) & 3u];
    for (var u = 0u; u < R; u++) {
      acc[u] = fma(a_one(aBase, row0 + u, k), bv, acc[u]);
    }
  }
  if (j >= P.N) { return; }
  for (var u = 0u; u < R; u++) {
    let i = row0 + u;
    if (i >= P.M) { break; }
    store(z, i, j, acc[u]);
  }
}

// matmul_regs: the shared core (gemm-core.wgsl) as its one-segment case, CN = 2 columns per invocation,
// the batch index folded into the A/B offsets and handed to the epilogue as `dst`.
fn gemm_a(src: u32, i: u32) -> f32 { return a[i]; }
fn gemm_b(src: u32, i: u32) -> f32 { return b[i]; }
fn gemm_put(z: u32, i: u32, j: u32, v: f32) { store(z, i, j, v); }

@compute @workgroup_size(WG, 1, 1)
fn matmul_regs(@builtin(workgroup_id) wg: vec3<u32>,
               @builtin(local_invocation_index) lane: u32) {
  let z = wg.z;
  let row0 = wg.y * R;
  let col0 = wg.x * WG * CN;
  var acc: Acc;
  gemm_segment(&acc, 0u, 0u, P.K, P.aOff + z * P.aBatch, P.aRow, P.aCol, P.bOff + z * P.bBatch, P.bRow, P.bCol, 1.0,
               P.M, P.N, row0, col0, lane);
  gemm_store(&acc, z, P.M, P.N, row0, col0, lane);
}
