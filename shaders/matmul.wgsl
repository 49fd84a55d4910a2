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
//                    The readable baseline the others are tested against.
//   matmul_tiled   — 64×64 C tile per workgroup of 16×16 invocations, 4×4 outputs each, K in slices of 16
//                    staged in workgroup memory. Grid (ceil(N/64), ceil(M/64), batch). Invocation (tx,ty)
//                    owns rows ty+16u and columns tx+16v (u,v < 4), so neighbouring invocations touch
//                    neighbouring addresses: coalesced on GPUs, vectorised SIMD lanes on llvmpipe.
//   matmul_skinny  — for a narrow C (N ≤ 64, the shape of low-rank adapters): 64 rows per workgroup of 64
//                    invocations, each invocation computes one row × SK_NT columns; the (K-slice × SK_NT)
//                    block of B is shared by all 64 rows. Grid (ceil(M/64), ceil(N/SK_NT), batch).
//                    A narrow-M product is mapped here by the host as Cᵀ = Bᵀ·Aᵀ (strides swapped).

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

const TM = 64u;
const TN = 64u;
const TK = 16u;

var<workgroup> As: array<f32, 1024>; // [k][m], TK × TM
var<workgroup> Bs: array<f32, 1024>; // [k][n], TK × TN

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
  let z = wg.z;
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  let aBase = P.aOff + z * P.aBatch;
  let bBase = P.bOff + z * P.bBatch;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < P.K; k0 += TK) {
    // Stage A (TM × TK) and B (TK × TN): 1024 values each, 4 per invocation, zero-padded at edges.
    for (var s = 0u; s < 4u; s++) {
      let e = li + s * 256u;
      let am = e / TK;
      let ak = e % TK;
      let gm = row0 + am;
      let gk = k0 + ak;
      var av = 0.0;
      if (gm < P.M && gk < P.K) { av = a[aBase + gm * P.aRow + gk * P.aCol]; }
      As[ak * TM + am] = av;
      let bk = e / TN;
      let bn = e % TN;
      let gk2 = k0 + bk;
      let gn = col0 + bn;
      var bv = 0.0;
      if (gk2 < P.K && gn < P.N) { bv = b[bBase + gk2 * P.bRow + gn * P.bCol]; }
      Bs[bk * TN + bn] = bv;
    }
    workgroupBarrier();
    let kMax = min(TK, P.K - k0);
    for (var k = 0u; k < kMax; k++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var u = 0u; u < 4u; u++) {
        av[u] = As[k * TM + lid.y + 16u * u];
        bv[u] = Bs[k * TN + lid.x + 16u * u];
      }
      for (var u = 0u; u < 4u; u++) {
        for (var v = 0u; v < 4u; v++) {
          acc[u][v] = fma(av[u], bv[v], acc[u][v]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var u = 0u; u < 4u; u++) {
    let i = row0 + lid.y + 16u * u;
    if (i >= P.M) { continue; }
    for (var v = 0u; v < 4u; v++) {
      let j = col0 + lid.x + 16u * v;
      if (j < P.N) { store(z, i, j, acc[u][v]); }
    }
  }
}

override SK_NT: u32 = 16u;   // output columns per workgroup: 4, 8, 16, 32 or 64
const SK_ROWS = 64u;
const SK_TK = 32u;

var<workgroup> Xs: array<f32, 2048>; // [k][row], SK_TK × SK_ROWS
var<workgroup> Ys: array<f32, 2048>; // [k][col], SK_TK × 64

@compute @workgroup_size(64, 1, 1)
fn matmul_skinny(@builtin(workgroup_id) wg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let z = wg.z;
  let row0 = wg.x * SK_ROWS;
  let col0 = wg.y * SK_NT;
  let aBase = P.aOff + z * P.aBatch;
  let bBase = P.bOff + z * P.bBatch;
  let i = row0 + li;
  var acc: array<f32, 64>;
  for (var k0 = 0u; k0 < P.K; k0 += SK_TK) {
    // A slice: SK_ROWS × SK_TK = 2048 values, 32 per invocation.
    for (var s = 0u; s < SK_TK; s++) {
      let e = li + s * 64u;
      let r = e / SK_TK;
      let kk = e % SK_TK;
      let gi = row0 + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gi < P.M && gk < P.K) { v = a[aBase + gi * P.aRow + gk * P.aCol]; }
      Xs[kk * SK_ROWS + r] = v;
    }
    // B slice: SK_TK × SK_NT values.
    for (var e = li; e < SK_TK * SK_NT; e += 64u) {
      let kk = e / SK_NT;
      let cc = e % SK_NT;
      let gk = k0 + kk;
      let gj = col0 + cc;
      var v = 0.0;
      if (gk < P.K && gj < P.N) { v = b[bBase + gk * P.bRow + gj * P.bCol]; }
      Ys[kk * 64u + cc] = v;
    }
    workgroupBarrier();
    let kMax = min(SK_TK, P.K - k0);
    for (var kk = 0u; kk < kMax; kk++) {
      let x = Xs[kk * SK_ROWS + li];
      for (var cc = 0u; cc < SK_NT; cc++) {
        acc[cc] = fma(x, Ys[kk * 64u + cc], acc[cc]);
      }
    }
    workgroupBarrier();
  }
  if (i < P.M) {
    for (var cc = 0u; cc < SK_NT; cc++) {
      let j = col0 + cc;
      if (j < P.N) { store(z, i, j, acc[cc]); }
    }
  }
}
