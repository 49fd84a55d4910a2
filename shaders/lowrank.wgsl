// Low-rank family: the LoRA-adapted linear layer, fused (Hu et al. 2021; PEFT's lora_A (r, in), lora_B (out, r)).
//   forward   h (N, r)  = x·Aᵀ                                        (saved for the backward)
//             y (N, out) = x·W + s·h·Bᵀ (+ bias)                       W (in, out), HF Conv1D layout
//   backward  dh (N, r)  = s·dy·B          dB (out, r) += s·dyᵀ·h
//             dx (N, in) = dy·Wᵀ + dh·A     dA (r, in)  += dhᵀ·x
// ΔW = s·B·A is never formed: the low-rank term is a second, short K segment (K = r) of the same output
// tile as the base product, and the bias is added in the epilogue, so y (and dx) is written exactly once.
// Four dispatches per layer and step (two forward, two backward) where the unfused sequence of matmuls
// has nine (base, bias, h, up; dx, dB, dh, dA, dx += dh·A).
//
// Every product is one "job" of the same register-blocked core:
//   C[i][j] (=|+=) Σ_{k<K1} α1·A1[i][k]·B1[k][j] + Σ_{k<K2} α2·A2[i][k]·B2[k][j]
// with every operand addressed through element strides (transposes are strides, as in matmul.wgsl):
//   A1[i][k] = a1[a1Off + i*a1Row + k*a1Col]   B1[k][j] = b1[b1Off + k*b1Row + j*b1Col]   (same for A2/B2)
//   C[i][j]  = c[cOff + i*cRow + j]
// Two independent jobs with the same output width can share one dispatch (dh beside dB: both r wide;
// dx beside dA: both `in` wide): workgroup rows [0, J0.rowBlocks) run job 0, the rest run job 1.
//
// Needs the WGSL language extension `unrestricted_pointer_parameters` (storage pointers passed to
// `segment`/`store`); the host checks it (lowrankFusedSupported) and adapters fall back to matmuls.
//
// Core: a workgroup owns R consecutive output rows × (WG·CN) columns; invocation `lane` owns columns
// col0 + lane + WG·v (v < CN) of every one of the R rows, in registers. The A operand is read at a row
// index that is uniform across the workgroup (one broadcast load feeds WG·CN FMAs), the B operand along
// the lanes (contiguous for row-major B). No workgroup memory and no barriers: on CPU drivers (llvmpipe
// vectorises a workgroup across SIMD lanes and runs barriers as coroutines) this register blocking is
// ~3-4× faster than the shared-memory tiles of matmul_tiled; on GPUs the reuse of B across the R rows
// comes from registers and of A from broadcast. R, CN and WG are override constants chosen by the host
// per adapter class (src/gpu/kernels/lowrank.ts, `lowrankTiling`); RMAX/CMAX bound the register arrays.
// Rows ≥ M and columns ≥ N are clamped for loads and skipped for stores, so any shape works.
//
// Bindings (group 0): binding(0) P uniform {J0, J1}; storage, each entry point uses a subset:
//   1 a1 read   2 b1 read   3 a2 read   4 b2 read   5 aux read   6 c read_write   7 c2 read_write
// Entry points (J0 → c, J1 → c2):
//   lowrank_gemm     J0 only (bindings 1-6): A1=a1, B1=b1, A2=a2, B2=b2, + bias aux[j] when flags&2
//                    (h = x·Aᵀ; y = x·W + s·h·Bᵀ + b; any strided C = α·A·B)
//   lowrank_gemm4    lowrank_gemm with 4 adjacent columns per invocation, B1 and C as vec4 (bottom of file);
//                    the host picks it when the first B operand is row-contiguous and 4-aligned (y = x·W + …)
//   lowrank_bwd_h    (bindings 1, 2, 4, 6, 7)
//                    J0: A1=a1 (dy), B1=b1 (B)  → c (dh)                                 (K2 = 0)
//                    J1: A1=a1 (dyᵀ), B1=b2 (h) → c2 (dB)
//   lowrank_bwd_x    (bindings 1-7)
//                    J0: A1=a1 (dy), B1=b1 (Wᵀ), A2=a2 (dh), B2=b2 (A) → c (dx)
//                    J1: A1=a2 (dhᵀ), B1=aux (x) → c2 (dA)
// flags: bit 0 = accumulate (C += …, else C = …), bit 1 = add bias (lowrank_gemm only).
// Dispatch geometry: workgroup (WG, 1, 1); grid (max over jobs of ceil(N/(WG·CN)), J0.rowBlocks + J1.rowBlocks),
// rowBlocks = ceil(M/R). Workgroups past a job's columns return at once.

const RMAX = 8u;
const CMAX = 8u;
override R: u32 = 8u;   // output rows per workgroup (≤ RMAX)
override CN: u32 = 1u;  // columns per invocation, at stride WG (≤ CMAX)
override WG: u32 = 64u; // invocations per workgroup, along the columns

struct Job {
  M: u32, N: u32, K1: u32, K2: u32,
  a1Off: u32, a1Row: u32, a1Col: u32, b1Off: u32,
  b1Row: u32, b1Col: u32, a2Off: u32, a2Row: u32,
  a2Col: u32, b2Off: u32, b2Row: u32, b2Col: u32,
  cOff: u32, cRow: u32, rowBlocks: u32, flags: u32,
  alpha1: f32, alpha2: f32, _pad0: u32, _pad1: u32,
};

struct Params { J0: Job, J1: Job };

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a1: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read> a2: array<f32>;
@group(0) @binding(4) var<storage, read> b2: array<f32>;
@group(0) @binding(5) var<storage, read> aux: array<f32>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<storage, read_write> c2: array<f32>;

alias Acc = array<array<f32, CMAX>, RMAX>;

// acc[u][v] += Σ_{k<K} α·A[row0+u][k]·B[k][col0+lane+WG·v], rows and columns clamped into range.
fn segment(acc: ptr<function, Acc>, A: ptr<storage, array<f32>, read>, B: ptr<storage, array<f32>, read>,
           K: u32, aOff: u32, aRow: u32, aCol: u32, bOff: u32, bRow: u32, bCol: u32, alpha: f32,
           M: u32, N: u32, row0: u32, col0: u32, lane: u32) {
  var ar: array<u32, RMAX>;
  for (var u = 0u; u < R; u++) { ar[u] = aOff + min(row0 + u, M - 1u) * aRow; }
  var bc: array<u32, CMAX>;
  for (var v = 0u; v < CN; v++) { bc[v] = bOff + min(col0 + lane + WG * v, N - 1u) * bCol; }
  for (var k = 0u; k < K; k++) {
    var bv: array<f32, CMAX>;
    let kb = k * bRow;
    for (var v = 0u; v < CN; v++) { bv[v] = (*B)[bc[v] + kb]; }
    let ka = k * aCol;
    for (var u = 0u; u < R; u++) {
      let av = alpha * (*A)[ar[u] + ka];
      for (var v = 0u; v < CN; v++) { (*acc)[u][v] = fma(av, bv[v], (*acc)[u][v]); }
    }
  }
}

fn store(J: Job, C: ptr<storage, array<f32>, read_write>, acc: ptr<function, Acc>, row0: u32, col0: u32, lane: u32) {
  for (var u = 0u; u < R; u++) {
    let i = row0 + u;
    if (i >= J.M) { break; }
    for (var v = 0u; v < CN; v++) {
      let j = col0 + lane + WG * v;
      if (j < J.N) {
        let idx = J.cOff + i * J.cRow + j;
        if ((J.flags & 1u) != 0u) { (*C)[idx] += (*acc)[u][v]; } else { (*C)[idx] = (*acc)[u][v]; }
      }
    }
  }
}

@compute @workgroup_size(WG, 1, 1)
fn lowrank_gemm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let J = P.J0;
  let row0 = wg.y * R;
  let col0 = wg.x * WG * CN;
  if (col0 >= J.N || row0 >= J.M) { return; }
  var acc: Acc;
  segment(&acc, &a1, &b1, J.K1, J.a1Off, J.a1Row, J.a1Col, J.b1Off, J.b1Row, J.b1Col, J.alpha1, J.M, J.N, row0, col0, lane);
  segment(&acc, &a2, &b2, J.K2, J.a2Off, J.a2Row, J.a2Col, J.b2Off, J.b2Row, J.b2Col, J.alpha2, J.M, J.N, row0, col0, lane);
  if ((J.flags & 2u) != 0u) {
    for (var v = 0u; v < CN; v++) {
      let bj = aux[min(col0 + lane + WG * v, J.N - 1u)];
      for (var u = 0u; u < R; u++) { acc[u][v] += bj; }
    }
  }
  store(J, &c, &acc, row0, col0, lane);
}

@compute @workgroup_size(WG, 1, 1)
fn lowrank_bwd_h(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let col0 = wg.x * WG * CN;
  var acc: Acc;
  if (wg.y < P.J0.rowBlocks) {
    let J = P.J0;
    let row0 = wg.y * R;
    if (col0 >= J.N) { return; }
    segment(&acc, &a1, &b1, J.K1, J.a1Off, J.a1Row, J.a1Col, J.b1Off, J.b1Row, J.b1Col, J.alpha1, J.M, J.N, row0, col0, lane);
    store(J, &c, &acc, row0, col0, lane);
  } else {
    let J = P.J1;
    let row0 = (wg.y - P.J0.rowBlocks) * R;
    if (col0 >= J.N) { return; }
    segment(&acc, &a1, &b2, J.K1, J.a1Off, J.a1Row, J.a1Col, J.b1Off, J.b1Row, J.b1Col, J.alpha1, J.M, J.N, row0, col0, lane);
    store(J, &c2, &acc, row0, col0, lane);
  }
}

@compute @workgroup_size(WG, 1, 1)
fn lowrank_bwd_x(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let col0 = wg.x * WG * CN;
  var acc: Acc;
  if (wg.y < P.J0.rowBlocks) {
    let J = P.J0;
    let row0 = wg.y * R;
    if (col0 >= J.N) { return; }
    segment(&acc, &a1, &b1, J.K1, J.a1Off, J.a1Row, J.a1Col, J.b1Off, J.b1Row, J.b1Col, J.alpha1, J.M, J.N, row0, col0, lane);
    segment(&acc, &a2, &b2, J.K2, J.a2Off, J.a2Row, J.a2Col, J.b2Off, J.b2Row, J.b2Col, J.alpha2, J.M, J.N, row0, col0, lane);
    store(J, &c, &acc, row0, col0, lane);
  } else {
    let J = P.J1;
    let row0 = (wg.y - P.J0.rowBlocks) * R;
    if (col0 >= J.N) { return; }
    segment(&acc, &a2, &aux, J.K1, J.a1Off, J.a1Row, J.a1Col, J.b1Off, J.b1Row, J.b1Col, J.alpha1, J.M, J.N, row0, col0, lane);
    store(J, &c2, &acc, row0, col0, lane);
  }
}

// ---------------------------------------------------------------------------------------------------
// lowrank_gemm4: lowrank_gemm for a row-contiguous first B operand (b1Col = 1; N, b1Row, b1Off, cRow,
// cOff multiples of 4), which is y = x·W + s·h·Bᵀ + b. Each invocation owns G groups of 4 ADJACENT
// columns, col0 + 4·(lane + WG·g) + e, reads B1 as one vec4 per group and k (a per-lane load is the
// expensive kind on CPU drivers, and on GPUs a 16-byte coalesced access), and writes C as vec4. The
// second segment (Bᵀ: strided) stays scalar. Bindings: 1 a1, 2 b1v (vec4 view of b1), 3 a2, 4 b2,
// 5 aux (bias), 6 cv (vec4 view of c). Grid (ceil(N/(4·WG·G)), ceil(M/R)).

const GMAX = 2u;
override G: u32 = 2u; // column quads per invocation (≤ GMAX)

@group(0) @binding(2) var<storage, read> b1v: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> cv: array<vec4<f32>>;

alias Acc4 = array<array<vec4<f32>, GMAX>, RMAX>;

@compute @workgroup_size(WG, 1, 1)
fn lowrank_gemm4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let J = P.J0;
  let row0 = wg.y * R;
  let nq = J.N / 4u;
  let q0 = wg.x * WG * G;
  if (q0 >= nq || row0 >= J.M) { return; }
  var acc: Acc4;
  var ar: array<u32, RMAX>;
  // Segment 1: B1 row-contiguous, one vec4 per column quad.
  for (var u = 0u; u < R; u++) { ar[u] = J.a1Off + min(row0 + u, J.M - 1u) * J.a1Row; }
  var bq: array<u32, GMAX>;
  for (var g = 0u; g < G; g++) { bq[g] = J.b1Off / 4u + min(q0 + lane + WG * g, nq - 1u); }
  let bRow4 = J.b1Row / 4u;
  for (var k = 0u; k < J.K1; k++) {
    var bv: array<vec4<f32>, GMAX>;
    for (var g = 0u; g < G; g++) { bv[g] = b1v[bq[g] + k * bRow4]; }
    let ka = k * J.a1Col;
    for (var u = 0u; u < R; u++) {
      let av = vec4<f32>(J.alpha1 * a1[ar[u] + ka]);
      for (var g = 0u; g < G; g++) { acc[u][g] = fma(av, bv[g], acc[u][g]); }
    }
  }
  // Segment 2: B2 through element strides, four scalar loads per quad.
  for (var u = 0u; u < R; u++) { ar[u] = J.a2Off + min(row0 + u, J.M - 1u) * J.a2Row; }
  var bc: array<vec4<u32>, GMAX>;
  for (var g = 0u; g < G; g++) {
    let j = min(q0 + lane + WG * g, nq - 1u) * 4u;
    bc[g] = J.b2Off + vec4<u32>(j, j + 1u, j + 2u, j + 3u) * J.b2Col;
  }
  for (var k = 0u; k < J.K2; k++) {
    var bv: array<vec4<f32>, GMAX>;
    let kb = k * J.b2Row;
    for (var g = 0u; g < G; g++) { bv[g] = vec4<f32>(b2[bc[g].x + kb], b2[bc[g].y + kb], b2[bc[g].z + kb], b2[bc[g].w + kb]); }
    let ka = k * J.a2Col;
    for (var u = 0u; u < R; u++) {
      let av = vec4<f32>(J.alpha2 * a2[ar[u] + ka]);
      for (var g = 0u; g < G; g++) { acc[u][g] = fma(av, bv[g], acc[u][g]); }
    }
  }
  for (var g = 0u; g < G; g++) {
    let q = q0 + lane + WG * g;
    if (q >= nq) { continue; }
    var bias = vec4<f32>(0.0);
    if ((J.flags & 2u) != 0u) { bias = vec4<f32>(aux[4u * q], aux[4u * q + 1u], aux[4u * q + 2u], aux[4u * q + 3u]); }
    for (var u = 0u; u < R; u++) {
      let i = row0 + u;
      if (i >= J.M) { break; }
      let idx = (J.cOff + i * J.cRow) / 4u + q;
      if ((J.flags & 1u) != 0u) { cv[idx] += acc[u][g] + bias; } else { cv[idx] = acc[u][g] + bias; }
    }
  }
}
