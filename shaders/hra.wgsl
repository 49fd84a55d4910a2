// HRA — Householder reflection adaptation (Yuan et al. 2024, arXiv:2405.17484; PEFT hra/layer.py):
// the column normalisation of the reflection vectors, û_k = u_k / ‖u_k‖, and its backward. Everything
// else in HRA (applying the r reflections to the activations, their gradients) is rank-1 matmuls
// (src/engine/adapters/methods/hra.ts); only the per-column norm needs a kernel of its own.
//
// U is stored as PEFT's hra_u, (inDim, r) row-major; Û is written TRANSPOSED, (r, inDim), so each
// reflection vector is one contiguous row for the matmuls. A zero column gives û = 0 (H = I) and a zero
// gradient (PEFT would produce NaN).
//
// Uniform P { inDim, r, _pad0, _pad1 } at binding(0) (host: src/gpu/kernels/hra.ts).
// Storage roles: binding(1..3) i1..i3 read, binding(4) o1 read_write, binding(5) o2 read_write.
// Entry points (bindings used):
//   hra_normalize  i1 = U (inDim, r) → o1 = Ût (r, inDim), o2 = norm (r)          one invocation per k
//   hra_norm_back  i1 = dÛt (r, inDim), i2 = Ût (r, inDim), i3 = norm (r)
//                  → o1 = dU (inDim, r) +=  (dû − û·(ûᵀdû)) / ‖u‖               one invocation per k
// Sums run in order i = 0, 1, … (no atomics: bit-identical run to run).
// Dispatch geometry: workgroup 64, flat index wg.x + wg.y·nwg.x over ceil(r / 64) workgroups.

struct Params {
  inDim: u32,
  r: u32,
  _pad0: u32,
  _pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> i1: array<f32>;
@group(0) @binding(2) var<storage, read> i2: array<f32>;
@group(0) @binding(3) var<storage, read> i3: array<f32>;
@group(0) @binding(4) var<storage, read_write> o1: array<f32>;
@group(0) @binding(5) var<storage, read_write> o2: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 64u + lid;
}

@compute @workgroup_size(64)
fn hra_normalize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let k = flat(wg, nwg, lid);
  if (k >= P.r) { return; }
  var ss = 0.0;
  for (var i = 0u; i < P.inDim; i++) {
    let u = i1[i * P.r + k];
    ss = fma(u, u, ss);
  }
  let norm = sqrt(ss);
  let inv = select(1.0 / norm, 0.0, norm == 0.0);
  for (var i = 0u; i < P.inDim; i++) { o1[k * P.inDim + i] = i1[i * P.r + k] * inv; }
  o2[k] = norm;
}

@compute @workgroup_size(64)
fn hra_norm_back(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let k = flat(wg, nwg, lid);
  if (k >= P.r) { return; }
  let norm = i3[k];
  if (norm == 0.0) { return; }
  let row = k * P.inDim;
  var c = 0.0; // ûᵀ·dû
  for (var i = 0u; i < P.inDim; i++) { c = fma(i2[row + i], i1[row + i], c); }
  let inv = 1.0 / norm;
  for (var i = 0u; i < P.inDim; i++) {
    o1[i * P.r + k] = o1[i * P.r + k] + (i1[row + i] - i2[row + i] * c) * inv;
  }
}
