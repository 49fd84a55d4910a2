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
// Every product is one "job" of the one register-blocked GEMM core (gemm-core.wgsl, #included; matmul.wgsl's
// matmul_regs is the same core's one-segment case):
//   C[i][j] (=|+=) Σ_{k<K1} α1·A1[i][k]·B1[k][j] + Σ_{k<K2} α2·A2[i][k]·B2[k][j]
// with every operand addressed through element strides (transposes are strides, as in matmul.wgsl):
//   A1[i][k] = a1[a1Off + i*a1Row + k*a1Col]   B1[k][j] = b1[b1Off + k*b1Row + j*b1Col]   (same for A2/B2)
//   C[i][j]  = c[cOff + i*cRow + j]
// Two independent jobs with the same output width can share one dispatch (dh beside dB: both r wide;
// dx beside dA: both `in` wide): workgroup rows [0, J0.rowBlocks) run job 0, the rest run job 1.
//
// Core (gemm-core.wgsl has the details): a workgroup owns R consecutive output rows × (WG·CN) columns,
// each invocation CN columns at stride WG of all R rows in registers; A is read at workgroup-uniform
// addresses, B along the lanes; no workgroup memory, no barriers. The core reads its operands through
// gemm_a/gemm_b (which buffer: a literal selector per call, folded after inlining) and writes through
// gemm_put, so no storage pointer is passed to a function and no WGSL language extension is needed.
// R, CN and WG are chosen by the host per adapter class (src/gpu/kernels/lowrank.ts, `lowrankTiling`).
// Rows ≥ M and columns ≥ N are clamped for loads and skipped for stores, so any shape works.
//
// Bindings (group 0): binding(0) P uniform {J0, J1}; storage (the core's entry points name all seven
// through gemm_a/gemm_b/gemm_put; the host binds placeholders for the unused ones; lowrank_gemm4 uses 1-6):
//   1 a1 read   2 b1 read   3 a2 read   4 b2 read   5 aux read   6 c read_write   7 c2 read_write
// Entry points (J0 → c, J1 → c2):
//   lowrank_gemm     J0 only: A1=a1, B1=b1, A2=a2, B2=b2, + bias aux[j] when flags&2
//                    (h = x·Aᵀ; y = x·W + s·h·Bᵀ + b; any strided C = α·A·B)
//   lowrank_gemm4    lowrank_gemm with 4 adjacent columns per invocation, B1 and C as vec4 (bottom of file);
//                    the host picks it when the first B operand is row-contiguous and 4-aligned (y = x·W + …)
//   lowrank_bwd_h    J0: A1=a1 (dy), B1=b1 (B)  → c (dh)                                 (K2 = 0)
//                    J1: A1=a1 (dyᵀ), B1=b2 (h) → c2 (dB)
//   lowrank_bwd_x    J0: A1=a1 (dy), B1=b1 (Wᵀ), A2=a2 (dh), B2=b2 (A) → c (dx)
//                    J1: A1=a2 (dhᵀ), B1=aux (x) → c2 (dA)
// flags: bit 0 = accumulate (C += …, else C = …), bit 1 = add bias (lowrank_gemm only).
// Dispatch geometry: workgroup (WG, 1, 1); grid (max over jobs of ceil(N/(WG·CN)), J0.rowBlocks + J1.rowBlocks),
// rowBlocks = ceil(M/R). Workgroups past a job's columns return at once.

// #include "gemm-core"

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

// The core's operands and epilogue. A: 0 = a1, 1 = a2. B: 0 = b1, 1 = b2, 2 = aux. C: 0 = job 0 → c,
// 1 = job 1 → c2 (flags bit 0: accumulate). Every entry point binds all of them (the host passes
// placeholders for the ones it does not use).
fn gemm_a(src: u32, i: u32) -> f32 {
  if (src == 0u) { return a1[i]; }
  return a2[i];
}
fn gemm_b(src: u32, i: u32) -> f32 {
  if (src == 0u) { return b1[i]; }
  if (src == 1u) { return b2[i]; }
  return aux[i];
}
fn gemm_put(dst: u32, i: u32, j: u32, v: f32) {
  if (dst == 0u) {
    let idx = P.J0.cOff + i * P.J0.cRow + j;
    if ((P.J0.flags & 1u) != 0u) { c[idx] += v; } else { c[idx] = v; }
  } else {
    let idx = P.J1.cOff + i * P.J1.cRow + j;
    if ((P.J1.flags & 1u) != 0u) { c2[idx] += v; } else { c2[idx] = v; }
  }
}

// Segment 1 / segment 2 of a job: A1·B1 and A2·B2 with the job's strides, from the operands named.
fn seg1(acc: ptr<function, Acc>, J: Job, aSrc: u32, bSrc: u32, row0: u32, col0: u32, lane: u32) {
  gemm_segment(acc, aSrc, bSrc, J.K1, J.a1Off, J.a1Row, J.a1Col, J.b1Off, J.b1Row, J.b1Col, J.alpha1,
               J.M, J.N, row0, col0, lane);
}
fn seg2(acc: ptr<function, Acc>, J: Job, aSrc: u32, bSrc: u32, row0: u32, col0: u32, lane: u32) {
  gemm_segment(acc, aSrc, bSrc, J.K2, J.a2Off, J.a2Row, J.a2Col, J.b2Off, J.b2Row, J.b2Col, J.alpha2,
               J.M, J.N, row0, col0, lane);
}

@compute @workgroup_size(WG, 1, 1)
fn lowrank_gemm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let J = P.J0;
  let row0 = wg.y * R;
  let col0 = wg.x * WG * CN;
  if (col0 >= J.N || row0 >= J.M) { return; }
  var acc: Acc;
  seg1(&acc, J, 0u, 0u, row0, col0, lane);
  seg2(&acc, J, 1u, 1u, row0, col0, lane);
  if ((J.flags & 2u) != 0u) {
    for (var v = 0u; v < CN; v++) {
      let bj = aux[min(col0 + lane + WG * v, J.N - 1u)];
      for (var u = 0u; u < R; u++) { acc[v][u] += bj; }
    }
  }
  gemm_store(&acc, 0u, J.M, J.N, row0, col0, lane);
}

@compute @workgroup_size(WG, 1, 1)
fn lowrank_bwd_h(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let col0 = wg.x * WG * CN;
  var acc: Acc;
  if (wg.y < P.J0.rowBlocks) {
    let J = P.J0;
    let row0 = wg.y * R;
    if (col0 >= J.N) { return; }
    seg1(&acc, J, 0u, 0u, row0, col0, lane);
    gemm_store(&acc, 0u, J.M, J.N, row0, col0, lane);
  } else {
    let J = P.J1;
    let row0 = (wg.y - P.J0.rowBlocks) * R;
    if (col0 >= J.N) { return; }
    seg1(&acc, J, 0u, 1u, row0, col0, lane);
    gemm_store(&acc, 1u, J.M, J.N, row0, col0, lane);
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
    seg1(&acc, J, 0u, 0u, row0, col0, lane);
    seg2(&acc, J, 1u, 1u, row0, col0, lane);
    gemm_store(&acc, 0u, J.M, J.N, row0, col0, lane);
  } else {
    let J = P.J1;
    let row0 = (wg.y - P.J0.rowBlocks) * R;
    if (col0 >= J.N) { return; }
    seg1(&acc, J, 1u, 2u, row0, col0, lane);
    gemm_store(&acc, 1u, J.M, J.N, row0, col0, lane);
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
