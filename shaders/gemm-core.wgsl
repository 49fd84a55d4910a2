// The one register-blocked GEMM core, #included by matmul.wgsl (one segment, batch folded into the
// offsets: matmul_regs) and lowrank.wgsl (one or two segments per output tile: the fused LoRA layer).
//
//   C[i][j] (=|+=) Σ_{k<K1} α1·A1[i][k]·B1[k][j] + Σ_{k<K2} α2·A2[i][k]·B2[k][j] + …
//
// every operand addressed through element strides (transposes and views are strides):
//   A[i][k] = A_src[aOff + i*aRow + k*aCol]      B[k][j] = B_src[bOff + k*bRow + j*bCol]
//
// Tiling: a workgroup owns R consecutive output rows × (WG·CN) columns; invocation `lane` owns columns
// col0 + lane + WG·v (v < CN) of every one of the R rows, in registers (Acc). The A operand is read at
// a row index that is uniform across the workgroup (one broadcast load feeds WG·CN FMAs; on CPU drivers
// one scalar load), the B operand along the lanes (neighbouring lanes, neighbouring columns). No
// workgroup memory and no barriers: on CPU drivers (llvmpipe runs a workgroup as SIMD lanes and
// barriers as coroutine switches) this is what wins; on GPUs the reuse of B across the R rows comes
// from registers and of A from broadcast, and there is no shared-memory occupancy limit. Rows ≥ M and
// columns ≥ N are clamped for loads and skipped by gemm_store, so any shape works.
//
// The includer provides the operands, because WGSL cannot pass storage pointers to a function without
// the `unrestricted_pointer_parameters` extension and has no templates:
//   fn gemm_a(src: u32, i: u32) -> f32          element i of A operand number `src`
//   fn gemm_b(src: u32, i: u32) -> f32          element i of B operand number `src`
//   fn gemm_put(dst: u32, i: u32, j: u32, v: f32)  the epilogue: write (or accumulate) C[i][j] of output `dst`
// `src`/`dst` are literals at every call site, so after inlining the selection folds away (a module
// with one A and one B operand ignores them; matmul passes its batch index as `dst`).
//
// Override constants R, CN, WG are chosen by the host per shape and adapter class
// (src/gpu/kernels/matmul.ts, src/gpu/kernels/lowrank.ts `lowrankTiling`); RMAX/CMAX bound the
// register arrays. The vec4 kernels of both families (matmul_vec4n/_c4/_vec4k, lowrank_gemm4) are
// specialisations of this same tiling with 16-byte loads along the lanes; they share R and WG.

const RMAX = 8u;
const CMAX = 8u;
override R: u32 = 8u; // output rows per workgroup (≤ RMAX)
override CN: u32 = 1u; // columns per invocation, at stride WG (≤ CMAX)
override WG: u32 = 64u; // invocations per workgroup, along the columns

alias Acc = array<array<f32, RMAX>, CMAX>; // [column v][row u]: a narrow CN touches a compact prefix

// acc[v][u] += Σ_{k<K} α·A[row0+u][k]·B[k][col0+lane+WG·v], rows and columns clamped into range. Addresses
// are computed in the loop rather than kept in per-invocation arrays: with the arrays, matmul_regs measured
// 1.5–1.7× slower relative to vec4 on wide C (bench matmul 1024×768×64, llvmpipe) — likely because the A
// address read back from an array is no longer seen as workgroup-uniform there (a per-lane load).
fn gemm_segment(acc: ptr<function, Acc>, aSrc: u32, bSrc: u32,
                K: u32, aOff: u32, aRow: u32, aCol: u32, bOff: u32, bRow: u32, bCol: u32, alpha: f32,
                M: u32, N: u32, row0: u32, col0: u32, lane: u32) {
  for (var k = 0u; k < K; k++) {
    var bv: array<f32, CMAX>;
    let kb = bOff + k * bRow;
    for (var v = 0u; v < CN; v++) { bv[v] = gemm_b(bSrc, kb + min(col0 + lane + WG * v, N - 1u) * bCol); }
    let ka = aOff + k * aCol;
    for (var u = 0u; u < R; u++) {
      // A's address is workgroup-uniform (uniforms, workgroup id, loop counters only): one scalar load.
      let av = alpha * gemm_a(aSrc, ka + min(row0 + u, M - 1u) * aRow);
      for (var v = 0u; v < CN; v++) { (*acc)[v][u] = fma(av, bv[v], (*acc)[v][u]); }
    }
  }
}

// The epilogue: hands every in-range element of the tile to gemm_put(dst, i, j, value).
fn gemm_store(acc: ptr<function, Acc>, dst: u32, M: u32, N: u32, row0: u32, col0: u32, lane: u32) {
  for (var u = 0u; u < R; u++) {
    let i = row0 + u;
    if (i >= M) { break; }
    for (var v = 0u; v < CN; v++) {
      let j = col0 + lane + WG * v;
      if (j < N) { gemm_put(dst, i, j, (*acc)[v][u]); }
    }
  }
}
