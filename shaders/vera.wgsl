// VeRA family (Kopiczko et al. 2024, arXiv:2310.11454): the small kernels around VeRA's scaled shared
// projections. With the frozen shared B (maxOut, r) sliced to a layer's first `outDim` rows and the
// trainable vectors λ_b (outDim) and λ_d (r), the layer's update is ΔW = Λ_b·B·Λ_d·A; the adapter
// (src/engine/adapters/vera-adapter.ts) folds both diagonals into one effective up-projection
//   Beff (outDim, r) = diag(λ_b)·B·diag(λ_d)
// and runs the LoRA branch h = x·Aᵀ, y += h·Beffᵀ with matmuls. Given G = ∂L/∂Beff = dyᵀ·h (outDim, r):
//   ∂L/∂λ_b[o] = Σ_k G[o,k]·B[o,k]·λ_d[k]        ∂L/∂λ_d[k] = Σ_o G[o,k]·B[o,k]·λ_b[o]
//
// Uniform P { outDim, r } at binding(0). Storage roles (each entry point binds only what it reads):
//   binding(1) bm  read        B, row-major (≥ outDim, r): row o at o·r
//   binding(2) lb  read        λ_b (outDim)
//   binding(3) ld  read        λ_d (r)
//   binding(4) g   read        G (outDim, r)
//   binding(5) o   read_write  output
// Entry points:
//   vera_scale_b  o = Beff (outDim, r), overwritten        bm, lb, ld, o
//   vera_grad_b   o = dλ_b (outDim), o[o] += Σ_k …          g, bm, ld, o
//   vera_grad_d   o = dλ_d (r),      o[k] += Σ_o …          g, bm, lb, o
// Dispatch geometry:
//   vera_scale_b: workgroup 64, one element each; ceil(outDim·r / 64) workgroups folded into a 2D grid
//     (flat index wg.x + wg.y·nwg.x, ≤ 65535 per dimension).
//   vera_grad_b:  workgroup 64, one output row o each (a sequential sum over k < r); ceil(outDim/64)
//     workgroups, folded the same way.
//   vera_grad_d:  one workgroup of 64 lanes per k (grid folded the same way); lane t sums rows
//     o = t, t+64, … in order, then a fixed-shape tree adds the 64 partials. No atomics: the result is
//     bit-identical run to run.

struct Params {
  outDim: u32,
  r: u32,
  _pad0: u32,
  _pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> bm: array<f32>;
@group(0) @binding(2) var<storage, read> lb: array<f32>;
@group(0) @binding(3) var<storage, read> ld: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;

const WG = 64u;

fn flatGroup(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wg.x + wg.y * nwg.x;
}

@compute @workgroup_size(64, 1, 1)
fn vera_scale_b(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = flatGroup(wg, nwg) * WG + lid;
  if (e >= P.outDim * P.r) { return; }
  let row = e / P.r;
  let k = e % P.r;
  o[e] = lb[row] * bm[e] * ld[k];
}

@compute @workgroup_size(64, 1, 1)
fn vera_grad_b(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = flatGroup(wg, nwg) * WG + lid;
  if (row >= P.outDim) { return; }
  var acc = 0.0;
  let base = row * P.r;
  for (var k = 0u; k < P.r; k++) {
    acc += g[base + k] * bm[base + k] * ld[k];
  }
  o[row] += acc;
}

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn vera_grad_d(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = flatGroup(wg, nwg); // uniform across the workgroup
  var acc = 0.0;
  if (k < P.r) {
    for (var row = lid; row < P.outDim; row += WG) {
      let e = row * P.r + k;
      acc += g[e] * bm[e] * lb[row];
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && k < P.r) { o[k] += partial[0]; }
}
