// Rotary position embedding family (Su et al. 2021, RoFormer), transformers' convention
// (`apply_rotary_pos_emb` with `rotate_half`): within the first rotDim dims of a head, dim i pairs with
// i + rotDim/2 (halves, NOT interleaved pairs), and for i < half, with θ = inv_freq[i]·pos:
//   y[i]        = x[i]·cos θ − x[i+half]·sin θ
//   y[i+half]   = x[i+half]·cos θ + x[i]·sin θ
// Dims ≥ rotDim pass through untouched (GPT-NeoX `rotary_pct` / partial_rotary_factor). The backward is
// the rotation by −θ (sign = −1): the transpose of an orthogonal rotation.
//
// In place, on a strided view, so it serves q and k of separate projections and of a fused buffer alike:
//   element (row n, head h, dim i) lives at off + n·rowStride + h·headStride + i,   n = b·T + t,  pos = pos0 + t
// cos/sin come from a table (pos, half) built on the host (see the host file for why).
//
// binding(0) P: { rows, T, nHeads, half, rowStride, headStride, off, pos0, sign, _pad… }
//   1 x   read_write  the tensor holding the heads, rotated in place
//   2 cs  read        (P, 2, half): cs[(p·2 + 0)·half + i] = cos, cs[(p·2 + 1)·half + i] = sin
// Dispatch: workgroup 256, one invocation per (row, head, pair i), flat index folded into a 2D grid.
// Each invocation reads and writes only its own pair: no races, deterministic.

struct Params {
  rows: u32,
  T: u32,
  nHeads: u32,
  half: u32,
  rowStride: u32,
  headStride: u32,
  off: u32,
  pos0: u32,
  sign: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cs: array<f32>;

const WG = 256u;

@compute @workgroup_size(256)
fn rope_apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let idx = (wg.x + wg.y * nwg.x) * WG + lid;
  let perRow = P.nHeads * P.half;
  if (idx >= P.rows * perRow) { return; }
  let n = idx / perRow;
  let r = idx - n * perRow;
  let h = r / P.half;
  let i = r - h * P.half;
  let pos = P.pos0 + n % P.T;
  let c = cs[(pos * 2u) * P.half + i];
  let s = P.sign * cs[(pos * 2u + 1u) * P.half + i];
  let a = P.off + n * P.rowStride + h * P.headStride + i;
  let x1 = x[a];
  let x2 = x[a + P.half];
  // HF computes q·cos + rotate_half(q)·sin: a product each, then the sum.
  x[a] = x1 * c + (-x2) * s;
  x[a + P.half] = x2 * c + x1 * s;
}
