// Randomized SVD family (Halko, Martinsson & Tropp 2011, "Finding structure with randomness", SIAM
// Review 53(2): §4.3 Alg. 4.3/4.4 range finder with power iterations, §5.1 Alg. 5.1 direct SVD).
// Host side: src/gpu/kernels/rsvd.ts. CPU oracle: src/engine/ref/rsvd.ts.
//
// The big products (Y = A·X, Z = Aᵀ·Y, Gram matrices, Q = Y·R⁻¹) run through shaders/matmul.wgsl.
// This file holds the pieces matmul cannot do:
//
//   rsvd_sketch     — Gaussian sketch Ω (rows, cols), row-major: Ω[i][j] = normal number i·cols + j of
//                     the Philox stream (seed, purposeTag("rsvd.sketch")), identical to
//                     `new Rng(seed, "rsvd.sketch").fillNormal(...)` (HMT §4.1 step 1; §4.6 on the
//                     Gaussian choice). Bindings: 0 uniform SketchParams, 1 `sk_out` (rows·cols) rw.
//                     Grid: one invocation per block of 4 values, workgroup (64,1,1), grid
//                     (min(ceil(blocks/64), 65535), ceil(ceil(blocks/64)/65535)).
//
//   rsvd_cholesky   — ONE workgroup (64,1,1), grid (1,1,1). Cholesky G + s·I = RᵀR of the small (l, l)
//                     Gram matrix of a tall block, then R⁻¹ by column back-substitution. Part of
//                     CholeskyQR2 (Yamamoto, Nakatsukasa, Yanagisawa & Fukaya 2015) with the shifted
//                     first pass of shifted CholeskyQR3 (Fukaya, Kannan, Nakatsukasa, Yamamoto &
//                     Yanagisawa 2020, SIAM J. Sci. Comput. 42(1), §3): s = shiftRel · trace(G).
//                     Pivots d_j ≤ deflTol·(G_jj + s), ≤ 0 or NaN mark column j as deflated (it lies in
//                     the span of the earlier columns to working precision): R's row j becomes e_j and
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
  deflTol: f32,    // deflate when pivot ≤ deflTol · (G_jj + s)
};

const CH_WG: u32 = 64u;
const CH_MAXL: u32 = 1024u;

@group(0) @binding(0) var<uniform> CH: CholParams;
@group(0) @binding(1) var<storage, read> ch_G: array<f32>;
@group(0) @binding(2) var<storage, read_write> ch_R: array<f32>;
@group(0) @binding(3) var<storage, read_write> ch_Rinv: array<f32>;
@group(0) @binding(4) var<storage, read_write> ch_info: array<u32>;

var<workgroup> ch_diag: array<f32, 1024>;   // G_jj + s, the scale of each column's pivot test
var<workgroup> ch_shift: f32;
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
    for (var j = 0u; j < l; j++) { tr += ch_G[j * l + j]; }
    var s = CH.shiftRel * tr;
    // A zero (or non-finite) block: any positive shift keeps the factorization finite; every column
    // will then deflate and be refilled.
    if (!(tr > 0.0) || !(s >= 0.0)) { s = 1.0; }
    ch_shift = s;
    ch_info[CH.flagBase] = 0u;
  }
  storageBarrier();
  workgroupBarrier();
  let s = ch_shift;
  for (var j = t; j < l; j += CH_WG) {
    let d = ch_R[j * l + j] + s;
    ch_R[j * l + j] = d;
    ch_diag[j] = d;
  }
  storageBarrier();
  workgroupBarrier();

  // Right-looking Cholesky: row j of R, then the rank-1 update of the trailing upper triangle.
  for (var j = 0u; j < l; j++) {
    if (t == 0u) {
      let d = ch_R[j * l + j];
      var defl = 0u;
      if (!(d > CH.deflTol * ch_diag[j]) || !(d > 0.0)) { defl = 1u; }
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
