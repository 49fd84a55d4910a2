// Randomized SVD family (Halko, Martinsson & Tropp 2011, "Finding structure with randomness", SIAM
// Review 53(2): §4.3 Alg. 4.3/4.4 range finder with power iterations, §5.1 Alg. 5.1 direct SVD).
// Host side: src/gpu/kernels/rsvd.ts. CPU oracle: src/engine/ref/rsvd.ts.
//
// The products of the range finder (Y = A·X, Z = Aᵀ·Y, Gram matrices, Q = Y·R⁻¹) are all "tall times
// narrow" (l = k + p ≤ 64 columns): rsvd_tsmm below does them (blocks wider than 64 columns go through
// shaders/matmul.wgsl). The other entry points are the pieces a matmul cannot do:
//
//   rsvd_sketch     — Gaussian sketch Ω (rows, cols), row-major: Ω[i][j] = normal number i·cols + j of
//                     the Philox stream (seed, purposeTag("rsvd.sketch")), identical to
//                     `new Rng(seed, "rsvd.sketch").fillNormal(...)` (HMT §4.1 step 1; §4.6 on the
//                     Gaussian choice). Bindings: 0 uniform SketchParams, 1 `sk_out` (rows·cols) rw.
//                     Grid: one invocation per block of 4 values, workgroup (64,1,1), grid
//                     flatGrid(ceil(blocks/64)) (src/gpu/grid.ts: ≤ 65535 per dimension, 2D-folded).
//
//   rsvd_cholesky   — ONE workgroup (64,1,1), grid (1,1,1). Cholesky G + s·I = RᵀR of the small (l, l)
//                     Gram matrix of a tall block, then R⁻¹ by column back-substitution. Part of
//                     CholeskyQR2 (Yamamoto, Nakatsukasa, Yanagisawa & Fukaya 2015) with the shifted
//                     first pass of shifted CholeskyQR3 (Fukaya, Kannan, Nakatsukasa, Yamamoto &
//                     Yanagisawa 2020, SIAM J. Sci. Comput. 42(1), §3): s = shiftRel · trace(G).
//                     Pivots d_j ≤ deflTol·max_i(G_ii + s), ≤ 0 or NaN mark column j as deflated (what
//                     is left of it after projecting out the earlier columns is below the block's
//                     working precision; a zero or non-finite block deflates entirely): R's row j becomes e_j and
//                     R⁻¹'s row and column j become 0, so Q = Y·R⁻¹ has a zero column j, which
//                     rsvd_refill replaces by a fresh random vector for the next pass to orthonormalize.
//                     Bindings: 0 uniform CholParams, 1 `ch_G` (l·l) read, 2 `ch_R` (l·l) rw (also the
//                     working copy), 3 `ch_Rinv` (l·l) rw, 4 `ch_info` (u32) rw: at flagBase the number
//                     of deflated columns, at flagBase+1+j the flag of column j.
//
//   rsvd_refill     — Q[i][j] = scale · normal for every deflated column j (flags from rsvd_cholesky);
//                     the normal is the first of Philox block (i·l + j, ctrHi) of stream
//                     (seed, purposeTag("rsvd.refill")). Bindings: 0 uniform RefillParams, 1 `rf_info`
//                     read, 2 `rf_Q` (M·l) rw. Grid: one invocation per element, workgroup (64,1,1), 2-D
//                     grid as above.
//
// float32 only (WGSL has no f64): orthogonality is kept by re-orthonormalizing (CholeskyQR2 after the
// shifted pass, at every power-iteration step) and reported as ‖QᵀQ − I‖_F by the host.

// #include "random"

struct SketchParams {
  count: u32,   // rows · cols
  k0: u32,      // seed
  k1: u32,      // purposeTag("rsvd.sketch")
  ctrLo: u32,
  ctrHi: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
};

@group(0) @binding(0) var<uniform> SK: SketchParams;
@group(0) @binding(1) var<storage, read_write> sk_out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn rsvd_sketch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let bi = gid.x + gid.y * nwg.x * 64u;
  if (bi * 4u >= SK.count) { return; }
  let c = rnd_ctr_add(SK.ctrLo, SK.ctrHi, bi);
  let v = rnd_normal4(philox_block(c.x, c.y, SK.k0, SK.k1));
  for (var t = 0u; t < 4u; t++) {
    let idx = bi * 4u + t;
    if (idx < SK.count) { sk_out[idx] = v[t]; }
  }
}

// ---- Cholesky of the small Gram matrix, in one workgroup -------------------------------------------

struct CholParams {
  l: u32,
  flagBase: u32,
  shiftRel: f32,   // s = shiftRel · trace(G)
  deflTol: f32,    // deflate when pivot ≤ deflTol · max_i (G_ii + s)
};

const CH_WG: u32 = 64u;
const CH_MAXL: u32 = 1024u;

@group(0) @binding(0) var<uniform> CH: CholParams;
@group(0) @binding(1) var<storage, read> ch_G: array<f32>;
@group(0) @binding(2) var<storage, read_write> ch_R: array<f32>;
@group(0) @binding(3) var<storage, read_write> ch_Rinv: array<f32>;
@group(0) @binding(4) var<storage, read_write> ch_info: array<u32>;

var<workgroup> ch_shift: f32;
var<workgroup> ch_scale: f32;   // max_j (G_jj + s): pivots are judged against the block's largest column
var<workgroup> ch_all: u32;     // 1 when the block is zero or not finite: every column deflates
var<workgroup> ch_pivot: f32;
var<workgroup> ch_defl: u32;

@compute @workgroup_size(64, 1, 1)
fn rsvd_cholesky(@builtin(local_invocation_index) t: u32) {
  let l = CH.l;
  // Working copy: upper triangle of G into R (the lower triangle is zeroed at the end).
  for (var e = t; e < l * l; e += CH_WG) {
    ch_R[e] = ch_G[e];
  }
  if (t == 0u) {
    var tr = 0.0;
    var mx = 0.0;
    for (var j = 0u; j < l; j++) {
      tr += ch_G[j * l + j];
      mx = max(mx, ch_G[j * l + j]);
    }
    var s = CH.shiftRel * tr;
    var all = 0u;
    // A zero (or non-finite) block: keep the factorization finite (unit shift) and deflate every
    // column, so the block is replaced by fresh random vectors.
    if (!(tr > 0.0) || !(s >= 0.0) || !(tr < 3.0e38)) {
      s = 1.0;
      all = 1u;
    }
    ch_shift = s;
    ch_scale = mx + s;
    ch_all = all;
    ch_info[CH.flagBase] = 0u;
  }
  storageBarrier();
  workgroupBarrier();
  let s = ch_shift;
  for (var j = t; j < l; j += CH_WG) {
    ch_R[j * l + j] = ch_R[j * l + j] + s;
  }
  storageBarrier();
  workgroupBarrier();

  // Right-looking Cholesky: row j of R, then the rank-1 update of the trailing upper triangle.
  for (var j = 0u; j < l; j++) {
    if (t == 0u) {
      let d = ch_R[j * l + j];
      var defl = 0u;
      if (ch_all != 0u || !(d > CH.deflTol * ch_scale) || !(d > 0.0)) { defl = 1u; }
      ch_defl = defl;
      var p = 1.0;
      if (defl == 0u) { p = sqrt(d); }
      ch_pivot = p;
      ch_R[j * l + j] = p;
      ch_info[CH.flagBase + 1u + j] = defl;
      ch_info[CH.flagBase] = ch_info[CH.flagBase] + defl;
    }
    storageBarrier();
    workgroupBarrier();
    let p = ch_pivot;
    let defl = ch_defl;
    for (var c = j + 1u + t; c < l; c += CH_WG) {
      var v = 0.0;
      if (defl == 0u) { v = ch_R[j * l + c] / p; }
      ch_R[j * l + c] = v;
    }
    storageBarrier();
    workgroupBarrier();
    // W[a][b] -= R[j][a]·R[j][b] for j < a ≤ b < l; rows a are dealt round-robin to the invocations.
    for (var a = j + 1u + t; a < l; a += CH_WG) {
      let ra = ch_R[j * l + a];
      if (ra != 0.0) {
        for (var b = a; b < l; b++) {
          ch_R[a * l + b] = ch_R[a * l + b] - ra * ch_R[j * l + b];
        }
      }
    }
    storageBarrier();
    workgroupBarrier();
  }

  // Zero the strict lower triangle; R⁻¹ column by column (each invocation owns whole columns):
  // R⁻¹[i][c] = (δ_ic − Σ_{i<u≤c} R[i][u]·R⁻¹[u][c]) / R[i][i], i = c … 0.
  for (var e = t; e < l * l; e += CH_WG) {
    let i = e / l;
    let c = e % l;
    if (i > c) {
      ch_R[e] = 0.0;
      ch_Rinv[e] = 0.0;
    }
  }
  storageBarrier();
  workgroupBarrier();
  for (var c = t; c < l; c += CH_WG) {
    let deflC = ch_info[CH.flagBase + 1u + c];
    for (var ii = 0u; ii <= c; ii++) {
      let i = c - ii;
      var acc = 0.0;
      if (i == c) { acc = 1.0; }
      for (var u = i + 1u; u <= c; u++) {
        acc -= ch_R[i * l + u] * ch_Rinv[u * l + c];
      }
      var x = acc / ch_R[i * l + i];
      // A deflated column contributes nothing and receives nothing (rsvd_refill fills it).
      if (deflC != 0u || ch_info[CH.flagBase + 1u + i] != 0u) { x = 0.0; }
      ch_Rinv[i * l + c] = x;
    }
  }
}

// ---- refill deflated columns -------------------------------------------------------------------

struct RefillParams {
  M: u32,
  l: u32,
  flagBase: u32,
  k0: u32,       // seed
  k1: u32,       // purposeTag("rsvd.refill")
  ctrHi: u32,    // distinct per orthonormalization pass
  scale: f32,    // 1/√M: unit-norm columns on average
  _p: u32,
};

@group(0) @binding(0) var<uniform> RF: RefillParams;
@group(0) @binding(1) var<storage, read> rf_info: array<u32>;
@group(0) @binding(2) var<storage, read_write> rf_Q: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn rsvd_refill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= RF.M * RF.l) { return; }
  let j = e % RF.l;
  if (rf_info[RF.flagBase + 1u + j] == 0u) { return; }
  let w = philox_block(e, RF.ctrHi, RF.k0, RF.k1);
  rf_Q[e] = RF.scale * rnd_box_muller(w.x, w.y).x;
}

// ---- tall-skinny products --------------------------------------------------------------------------
//
//   rsvd_tsmm — C (M, n) = op(A) (M, K) · B (K, n) for a narrow C (n ≤ 64), the shape of every product
//               in the range finder: A·X, Aᵀ·Y, the Gram XᵀX (split over K) and X·R⁻¹. Strided operands
//               like matmul.wgsl (A[i][k] = a[aOff + i·aRow + k·aCol], B[k][j] = b[bOff + k·bRow + j·bCol]).
//               Tile: 64 rows × 8·TS_NV columns (TS_NV = ceil(n/8), so l = 42 computes 48 columns, not
//               64), K in slices of 32 through workgroup memory. Invocation (cx = li % 8, ry = li / 8)
//               owns rows ry + 8u (u < 8) and columns cx + 8v (v < TS_NV): eight consecutive invocations
//               share their rows (broadcast loads of A) and read consecutive columns of B (one vector
//               load), 8 + TS_NV loads per 8·TS_NV FMAs.
//               Split-K: workgroup y covers k in [y·kChunk, (y+1)·kChunk) and writes its partial product
//               at cOff + y·cSplit; rsvd_sum_partials adds the partials in a fixed order (no atomics).
//               Bindings: 0 uniform TsParams, 1 `ts_a` read, 2 `ts_b` read, 3 `ts_c` rw.
//               Grid: (ceil(M/64), splits, 1), workgroup (64,1,1).
//   rsvd_sum_partials — out[e] = Σ_{z < splits} part[z·size + e], e < size. Bindings: 0 uniform
//               SumParams, 1 `sp_part` read, 2 `sp_out` rw. Grid: ceil(size/64), workgroup (64,1,1).

struct TsParams {
  M: u32, N: u32, K: u32, kChunk: u32,
  aRow: u32, aCol: u32, bRow: u32, bCol: u32,
  ldc: u32, cSplit: u32, aOff: u32, bOff: u32,
  cOff: u32, _p0: u32, _p1: u32, _p2: u32,
};

override TS_NV: u32 = 8u;   // column groups of 8 (1..8): tile width 8·TS_NV
const TS_TM: u32 = 64u;
const TS_TK: u32 = 32u;

@group(0) @binding(0) var<uniform> TS: TsParams;
@group(0) @binding(1) var<storage, read> ts_a: array<f32>;
@group(0) @binding(2) var<storage, read> ts_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> ts_c: array<f32>;

var<workgroup> tsA: array<f32, 2048>; // [k][row], TS_TK × TS_TM
var<workgroup> tsB: array<f32, 2048>; // [k][col], TS_TK × 64

@compute @workgroup_size(64, 1, 1)
fn rsvd_tsmm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let cx = li % 8u;
  let ry = li / 8u;
  let row0 = wg.x * TS_TM;
  let kBeg = wg.y * TS.kChunk;
  let kEnd = min(TS.K, kBeg + TS.kChunk);
  let NP = 8u * TS_NV;
  var acc: array<array<f32, 8>, 8>;
  for (var k0 = kBeg; k0 < kEnd; k0 += TS_TK) {
    // Stage A (64 rows × 16 k). Walk memory-contiguously: along rows when A's rows are adjacent
    // (aRow == 1, e.g. Aᵀ), else along k.
    if (TS.aRow == 1u) {
      for (var s = 0u; s < TS_TK; s++) {
        let e = li + s * 64u;
        let r = e % TS_TM;
        let kk = e / TS_TM;
        let gi = row0 + r;
        let gk = k0 + kk;
        var v = 0.0;
        if (gi < TS.M && gk < kEnd) { v = ts_a[TS.aOff + gi * TS.aRow + gk * TS.aCol]; }
        tsA[kk * TS_TM + r] = v;
      }
    } else {
      for (var s = 0u; s < TS_TK; s++) {
        let e = li + s * 64u;
        let kk = e % TS_TK;
        let r = e / TS_TK;
        let gi = row0 + r;
        let gk = k0 + kk;
        var v = 0.0;
        if (gi < TS.M && gk < kEnd) { v = ts_a[TS.aOff + gi * TS.aRow + gk * TS.aCol]; }
        tsA[kk * TS_TM + r] = v;
      }
    }
    // Stage B (16 k × NP columns), column-fast.
    for (var e = li; e < TS_TK * NP; e += 64u) {
      let kk = e / NP;
      let j = e % NP;
      let gk = k0 + kk;
      var v = 0.0;
      if (gk < kEnd && j < TS.N) { v = ts_b[TS.bOff + gk * TS.bRow + j * TS.bCol]; }
      tsB[kk * 64u + j] = v;
    }
    workgroupBarrier();
    let kMax = min(TS_TK, kEnd - k0);
    for (var kk = 0u; kk < kMax; kk++) {
      var av: array<f32, 8>;
      for (var u = 0u; u < 8u; u++) { av[u] = tsA[kk * TS_TM + ry + 8u * u]; }
      for (var v = 0u; v < TS_NV; v++) {
        let bv = tsB[kk * 64u + cx + 8u * v];
        for (var u = 0u; u < 8u; u++) { acc[u][v] = fma(av[u], bv, acc[u][v]); }
      }
    }
    workgroupBarrier();
  }
  let cBase = TS.cOff + wg.y * TS.cSplit;
  for (var u = 0u; u < 8u; u++) {
    let i = row0 + ry + 8u * u;
    if (i >= TS.M) { continue; }
    for (var v = 0u; v < TS_NV; v++) {
      let j = cx + 8u * v;
      if (j < TS.N) { ts_c[cBase + i * TS.ldc + j] = acc[u][v]; }
    }
  }
}

struct SumParams {
  size: u32,
  splits: u32,
  _p0: u32,
  _p1: u32,
};

@group(0) @binding(0) var<uniform> SP: SumParams;
@group(0) @binding(1) var<storage, read> sp_part: array<f32>;
@group(0) @binding(2) var<storage, read_write> sp_out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn rsvd_sum_partials(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;
  if (e >= SP.size) { return; }
  var s = 0.0;
  for (var z = 0u; z < SP.splits; z++) { s += sp_part[z * SP.size + e]; }
  sp_out[e] = s;
}
