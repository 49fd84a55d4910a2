// Vocabulary family: the pieces of a vocabulary-sharded embedding / output head and a chunked
// cross-entropy (src/engine/model/vocab.ts orchestrates them with shaders/matmul.wgsl). A (V, C) table
// lives in row shards — shard s holds rows v0 .. v0+rows−1 in its own buffer, each within the adapter's
// storage-binding limit (GPT-2's 50 257 × 768 table is 147 MiB; llvmpipe binds at most 128 MiB) — and
// the (N, V) logits exist only a chunk of rows at a time.
//
// binding(0) P: { N, C, V, v0, rows, U, cap, ld, r0, gradScale, backward, nanBits, T, B, _pad, _pad }
// Entry points (bindings each uses):
//   vocab_gather     1 tokens (N) i32, 2 shard (rows, C) read, 3 out (N, C) read_write
//                    out[n,:] = shard[tokens[n] − v0, :] for the tokens this shard holds; other rows untouched.
//                    A token outside [0, V) gets a NaN row (from the v0 = 0 dispatch), as embedding.wgsl does.
//   vocab_gather_pos the same plus learned positions (GPT-2, GPT-Neo), 11 wpe (Tmax, C) read:
//                    out[n,:] = shard[tokens[n] − v0, :] + wpe[n mod T, :]
//   vocab_positions_backward  5 dout (N, C), 12 dwpe (Tmax, C) read_write: dwpe[t,:] += Σ_b dout[b·T + t, :]
//                    (b in order; one invocation per (t, c))
//   vocab_scatter    4 index (3·cap+1) u32 (embedding.ts's CSR), 5 dout (N, C) read, 6 dshard (rows, C) read_write
//                    dshard[tok − v0, :] += Σ_{n: tokens[n] = tok} dout[n, :] for the tokens this shard holds,
//                    positions summed in index order (no atomics).
//   vocab_ce         7 logits (R, ld) read_write, 8 targets (N) i32, 9 mask (N), 10 losses (N) read_write
//                    Chunk rows r = 0 … R−1 (R = P.N here) are the global rows r0 + r:
//                    losses[r0+r] = mask·(logsumexp(logits[r, 0:V]) − logits[r, target]); with backward = 1 the
//                    row is overwritten IN PLACE by dlogits = gradScale·mask·(softmax − onehot(target)).
//                    Rows with mask 0 or a target outside [0, V) get loss 0 and a zero gradient row.
// Dispatch geometry:
//   vocab_gather: workgroup 256, one invocation per element of out (flat, 2D-folded grid).
//   vocab_scatter: one workgroup of 128 per unique token (flat, 2D-folded); invocation i owns columns i, i+128, …
//   vocab_ce: one workgroup of 256 per chunk row (flat, 2D-folded); columns i, i+256, … in order, fixed trees.
// Every output element has one writer and a fixed summation order: bit-identical run to run.

struct Params {
  N: u32,
  C: u32,
  V: u32,
  v0: u32,
  rows: u32,
  U: u32,
  cap: u32,
  ld: u32,
  r0: u32,
  gradScale: f32,
  backward: u32,
  nanBits: u32, // 0x7fc00000 from the host: a NaN cannot be a WGSL constant
  T: u32,
  B: u32,
  _pad0: u32,
  _pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> tokens: array<i32>;
@group(0) @binding(2) var<storage, read> shard: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> index: array<u32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> dshard: array<f32>;
@group(0) @binding(7) var<storage, read_write> logits: array<f32>;
@group(0) @binding(8) var<storage, read> targets: array<i32>;
@group(0) @binding(9) var<storage, read> mask: array<f32>;
@group(0) @binding(10) var<storage, read_write> losses: array<f32>;
@group(0) @binding(11) var<storage, read> wpe: array<f32>;
@group(0) @binding(12) var<storage, read_write> dwpe: array<f32>;

const WG = 256u;
const WG_SCATTER = 128u;

@compute @workgroup_size(256)
fn vocab_gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG + lid;
  if (i >= P.N * P.C) { return; }
  let n = i / P.C;
  let c = i - n * P.C;
  let tok = tokens[n];
  if (tok < 0 || u32(tok) >= P.V) {
    if (P.v0 == 0u) { out[i] = bitcast<f32>(P.nanBits); }
    return;
  }
  let t = u32(tok);
  if (t < P.v0 || t >= P.v0 + P.rows) { return; }
  out[i] = shard[(t - P.v0) * P.C + c];
}

@compute @workgroup_size(256)
fn vocab_gather_pos(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG + lid;
  if (i >= P.N * P.C) { return; }
  let n = i / P.C;
  let c = i - n * P.C;
  let tok = tokens[n];
  if (tok < 0 || u32(tok) >= P.V) {
    if (P.v0 == 0u) { out[i] = bitcast<f32>(P.nanBits); }
    return;
  }
  let t = u32(tok);
  if (t < P.v0 || t >= P.v0 + P.rows) { return; }
  out[i] = shard[(t - P.v0) * P.C + c] + wpe[(n % P.T) * P.C + c];
}

@compute @workgroup_size(256)
fn vocab_positions_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
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

@compute @workgroup_size(128)
fn vocab_scatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let u = wg.x + wg.y * nwg.x;
  if (u >= P.U) { return; }
  let tok = index[u];
  if (tok < P.v0 || tok >= P.v0 + P.rows) { return; }
  let begin = index[P.cap + u];
  let end = index[P.cap + u + 1u];
  let posBase = 2u * P.cap + 1u;
  for (var c = lid; c < P.C; c += WG_SCATTER) {
    var acc = 0.0;
    for (var p = begin; p < end; p++) {
      acc += dout[index[posBase + p] * P.C + c];
    }
    let o = (tok - P.v0) * P.C + c;
    dshard[o] = dshard[o] + acc;
  }
}

var<workgroup> red: array<f32, 256>;

// Workgroup max / sum, fixed trees. Call in uniform control flow.
fn workgroupMax(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn workgroupSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

const LOWEST = -3.4028234663852886e38;

@compute @workgroup_size(256)
fn vocab_ce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= P.N) { return; }
  let g = P.r0 + r;
  let base = r * P.ld;
  let tgt = targets[g];
  let m = mask[g];
  if (m == 0.0 || tgt < 0 || u32(tgt) >= P.V) {
    if (P.backward != 0u) {
      for (var v = lid; v < P.V; v += WG) { logits[base + v] = 0.0; }
    }
    if (lid == 0u) { losses[g] = 0.0; }
    return;
  }
  let t = u32(tgt);
  let lt = logits[base + t]; // read by all before the barriers below; the in-place writes come after
  var mx = LOWEST;
  for (var v = lid; v < P.V; v += WG) { mx = max(mx, logits[base + v]); }
  let rowMax = workgroupMax(mx, lid);
  var s = 0.0;
  for (var v = lid; v < P.V; v += WG) { s += exp(logits[base + v] - rowMax); }
  let sum = workgroupSum(s, lid);
  if (lid == 0u) { losses[g] = m * (log(sum) + rowMax - lt); }
  if (P.backward != 0u) {
    let k = P.gradScale * m;
    let invSum = 1.0 / sum;
    for (var v = lid; v < P.V; v += WG) {
      let p = exp(logits[base + v] - rowMax) * invSum;
      logits[base + v] = k * (p - select(0.0, 1.0, v == t));
    }
  }
}
