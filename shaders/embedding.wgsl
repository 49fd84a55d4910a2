// Embedding family: token + position embeddings (GPT-2) and their deterministic backward.
//   out[n,:] = wte[tokens[n],:] + wpe[n mod T,:]        n = b·T + t,  N = B·T
//   dwte[v,:] += Σ_{n: tokens[n]=v} dout[n,:]           (CSR index built on the CPU, no atomics)
//   dwpe[t,:] += Σ_b dout[b·T+t,:]
//
// binding(0) P: { N, T, C, V, U, cap, B, nanBits }   (V = rows of wte; U = unique tokens; cap = index capacity)
// Entry points (bindings each uses):
//   embedding_forward       1 tokens (N) i32 read, 2 wte (V,C) read, 3 wpe (Tmax,C) read, 4 out (N,C) read_write
//   embedding_backward_wte  5 index (3·cap+1) u32 read, 6 dout (N,C) read, 7 dwte (V,C) read_write
//   embedding_backward_wpe  6 dout (N,C) read, 8 dwpe (Tmax,C) read_write
// Index layout (src/gpu/kernels/embedding.ts builds it): index[0 .. cap) = the U unique token ids,
// ascending; index[cap .. 2cap] = offsets (U+1 used); index[2cap+1 .. 3cap+1) = positions n grouped by
// token, ascending within a group. Group u owns positions[offsets[u] .. offsets[u+1]).
// Dispatch geometry:
//   embedding_forward: one invocation per output element, workgroup 256, flat workgroup index
//     wg.x + wg.y·nwg.x over ceil(N·C/256) workgroups (2D-folded, ≤ 65535 per dimension).
//   embedding_backward_wte: one workgroup of 128 per unique token (flat index, 2D-folded); invocation i
//     owns columns i, i+128, … and sums that token's positions in index order, then adds once into dwte.
//   embedding_backward_wpe: one invocation per (t, c), T·C elements, flat as in the forward; sums b in order.
// Every output element is produced by one invocation in a fixed order: bit-identical run to run.
//
// A token id outside [0, V) writes NaN into its output row, so a bad id surfaces as a NaN loss instead
// of silently reading a clamped row. buildEmbeddingIndex rejects such ids on the CPU (given V); the dwte
// kernel skips ids ≥ V rather than write outside dwte.

struct Params {
  N: u32,
  T: u32,
  C: u32,
  V: u32,
  U: u32,
  cap: u32,
  B: u32,
  nanBits: u32, // 0x7fc00000 from the host: a NaN cannot be a WGSL constant (const-eval rejects it)
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> tokens: array<i32>;
@group(0) @binding(2) var<storage, read> wte: array<f32>;
@group(0) @binding(3) var<storage, read> wpe: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> index: array<u32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read_write> dwte: array<f32>;
@group(0) @binding(8) var<storage, read_write> dwpe: array<f32>;

const WG = 256u;
const WG_WTE = 128u;

@compute @workgroup_size(256)
fn embedding_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG + lid;
  if (i >= P.N * P.C) { return; }
  let n = i / P.C;
  let c = i % P.C;
  let t = n % P.T;
  let tok = tokens[n];
  if (tok < 0 || u32(tok) >= P.V) {
    out[i] = bitcast<f32>(P.nanBits); // NaN: see the header
    return;
  }
  out[i] = wte[u32(tok) * P.C + c] + wpe[t * P.C + c];
}

@compute @workgroup_size(128)
fn embedding_backward_wte(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let u = wg.x + wg.y * nwg.x;
  if (u >= P.U) { return; }
  let tok = index[u];
  if (tok >= P.V) { return; } // dwte has V rows; ids ≥ V are rejected on the CPU when V is given
  let begin = index[P.cap + u];
  let end = index[P.cap + u + 1u];
  let posBase = 2u * P.cap + 1u;
  for (var c = lid; c < P.C; c += WG_WTE) {
    var acc = 0.0;
    for (var p = begin; p < end; p++) {
      acc += dout[index[posBase + p] * P.C + c];
    }
    let o = tok * P.C + c;
    dwte[o] = dwte[o] + acc;
  }
}

@compute @workgroup_size(256)
fn embedding_backward_wpe(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG + lid; // t·C + c
  if (i >= P.T * P.C) { return; }
  let stride = P.T * P.C;
  var acc = 0.0;
  for (var b = 0u; b < P.B; b++) {
    acc += dout[b * stride + i];
  }
  dwpe[i] = dwpe[i] + acc;
}
