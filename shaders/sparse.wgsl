// Sparse family: gather and scatter-axpy by an index list, for optimizers that keep state only for a
// chosen subset of a matrix's entries (LIFT's principal weights, src/engine/adapters/methods/lift.ts).
//
// One uniform block, binding(0) P: { n, _pad0, _pad1, s } (host: src/gpu/kernels/sparse.ts).
//   binding(1) src  read        f32
//   binding(2) idx  read        u32 (n entries; DISTINCT indices for scatter_axpy)
//   binding(3) dst  read_write  f32
// Entry points:
//   gather        dst[j] = src[idx[j]]                 j < n
//   scatter_axpy  dst[idx[j]] += s·src[j]              j < n   (indices distinct: no two invocations
//                                                               write the same element, so no atomics and
//                                                               the result is deterministic)
// Dispatch geometry: workgroup 256, one j per invocation, flat index wg.x + wg.y·nwg.x over a 2D grid
// of ceil(n/256) workgroups (≤ 65535 per dimension), as the elementwise family.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  s: f32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const WG = 256u;

fn flatIndex(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(256)
fn gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let j = flatIndex(wg, nwg, lid);
  if (j >= P.n) { return; }
  dst[j] = src[idx[j]];
}

@compute @workgroup_size(256)
fn scatter_axpy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let j = flatIndex(wg, nwg, lid);
  if (j >= P.n) { return; }
  let k = idx[j];
  dst[k] = fma(P.s, src[j], dst[k]);
}
