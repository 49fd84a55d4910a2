// DoRA family (Liu et al. 2024, arXiv:2402.09353; PEFT dora.py): the magnitude/direction kernels around
// the fused low-rank layer. In our (in, out) layout, with V = W + s·Aᵀ·Bᵀ (PEFT's W + s·B·A transposed):
//   norm[o] = ‖V[:, o]‖  (PEFT's row norm of the (out, in) weight), DETACHED: a constant in the backward
//   mns[o]  = m[o] / norm[o]
//   y = mns ⊙ z + b,   z = x·W + s·(x·Aᵀ)·Bᵀ   (z from shaders/lowrank.wgsl, kept for the backward)
//   dz = mns ⊙ dy,     dm[o] += Σ_n dy[n,o]·z[n,o] / norm[o]
// The norm is never formed from ΔW: with G = A·W (r, out) and M = A·Aᵀ (r, r) (two small products on
// the low-rank GEMM core),
//   norm[o]² = wsq[o] + 2s·Σ_k B[o,k]·G[k,o] + s²·Σ_{k,l} B[o,k]·M[k,l]·B[o,l],   wsq[o] = ‖W[:, o]‖²
// A column whose norm is 0 is all zeros, so its z is 0 whatever mns is: mns and 1/norm are taken as 0
// there (PEFT would produce NaN).
//
// Uniform P { N, inDim, outDim, r, s, flags } at binding(0); flags bit 0 = add bias (dora_scale),
// bit 1 = hold the norm (dora_norm: read o1 instead of recomputing it; a test hook for finite differences).
// Storage roles: binding(1..5) i1..i5 read, binding(6) o1 read_write, binding(7) o2 read_write.
// Entry points (bindings used):
//   dora_norm   i1 = wsq (out), i2 = G (r, out), i3 = M (r, r), i4 = B (out, r), i5 = m (out)
//               → o1 = norm (out), o2 = mns (out)                          one invocation per column o
//   dora_scale  i1 = z (N, out), i2 = mns (out), i3 = bias (out) → o1 = y (N, out)   one per element
//   dora_grad   i1 = dy (N, out), i2 = z (N, out), i3 = mns (out), i4 = norm (out)
//               → o1 = dz (N, out) (overwritten), o2 = dm (out) (+=)       one invocation per column o,
//               rows summed in order n = 0, 1, … (no atomics: bit-identical run to run)
// Dispatch geometry: workgroup 64 (norm, grad) or 256 (scale); the flat workgroup index wg.x + wg.y·nwg.x
// covers ceil(count / size) workgroups folded into 2D (≤ 65535 per dimension).

struct Params {
  N: u32,
  inDim: u32,
  outDim: u32,
  r: u32,
  s: f32,
  flags: u32,
  _pad0: u32,
  _pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> i1: array<f32>;
@group(0) @binding(2) var<storage, read> i2: array<f32>;
@group(0) @binding(3) var<storage, read> i3: array<f32>;
@group(0) @binding(4) var<storage, read> i4: array<f32>;
@group(0) @binding(5) var<storage, read> i5: array<f32>;
@group(0) @binding(6) var<storage, read_write> o1: array<f32>;
@group(0) @binding(7) var<storage, read_write> o2: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, lid: u32, size: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * size + lid;
}

@compute @workgroup_size(64)
fn dora_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let o = flat(wg, nwg, lid, 64u);
  if (o >= P.outDim) { return; }
  if ((P.flags & 2u) != 0u) {
    // Norm held from an earlier forward: only the scale follows m.
    let held = o1[o];
    o2[o] = select(i5[o] / held, 0.0, held == 0.0);
    return;
  }
  let r = P.r;
  var t1 = 0.0; // Σ_k B[o,k]·G[k,o]
  var t2 = 0.0; // Σ_k B[o,k]·(M·B[o,:])_k
  for (var k = 0u; k < r; k++) {
    let bk = i4[o * r + k];
    t1 = fma(bk, i2[k * P.outDim + o], t1);
    var mb = 0.0;
    for (var l = 0u; l < r; l++) { mb = fma(i3[k * r + l], i4[o * r + l], mb); }
    t2 = fma(bk, mb, t2);
  }
  let sq = max(i1[o] + 2.0 * P.s * t1 + P.s * P.s * t2, 0.0);
  let norm = sqrt(sq);
  o1[o] = norm;
  o2[o] = select(i5[o] / norm, 0.0, norm == 0.0);
}

@compute @workgroup_size(256)
fn dora_scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let e = flat(wg, nwg, lid, 256u);
  if (e >= P.N * P.outDim) { return; }
  let o = e % P.outDim;
  var v = i2[o] * i1[e];
  if ((P.flags & 1u) != 0u) { v += i3[o]; }
  o1[e] = v;
}

@compute @workgroup_size(64)
fn dora_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let o = flat(wg, nwg, lid, 64u);
  if (o >= P.outDim) { return; }
  let mns = i3[o];
  var acc = 0.0;
  for (var n = 0u; n < P.N; n++) {
    let e = n * P.outDim + o;
    let g = i1[e];
    o1[e] = mns * g;
    acc = fma(g, i2[e], acc);
  }
  let norm = i4[o];
  o2[o] += select(acc / norm, 0.0, norm == 0.0);
}
