// Attention family: causal multi-head self-attention, GPT-2 layout (llm.c attention_forward/backward).
//
//   qkv  // (B, T, 3C): q = [:, :, 0:C], k = [:, :, C:2C], v = [:, :, 2C:3C]; head h owns channels h*HS..(h+1)*HS
//   att  // (B, NH, T, T): softmax over s ≤ t of q[t]·k[s]/√HS, max-subtracted; exactly 0 for s > t
//   out  // (B, T, C):  out[b,t,h*HS+d] = Σ_s att[b,h,t,s]·v[b,s,h*HS+d]
//
// Two paths, selected by the host (src/gpu/kernels/attention.ts):
//   unfused — the readable one: the q·kᵀ, att·v (and backward) products are shaders/matmul.wgsl on strided
//             views; this file adds only the row softmax and its backward, both in place:
//     attention_softmax_forward   — att (B,NH,T,T) holds scaled scores on entry, probabilities on exit.
//     attention_softmax_backward  — d (B,NH,T,T) holds datt on entry, dpreatt = att⊙(datt − Σ att·datt) on exit.
//       workgroup 64 = one row (b,h,t); grid (T, NH, B). Strided assignment s ≡ lid (mod 64) and a fixed
//       binary tree in workgroup memory: deterministic. Each invocation rewrites only its own s, so the
//       in-place update needs no barrier between the reads and the writes of one element.
//   fused — one dispatch forward, two backward, no matmul and no work on the masked half:
//     attention_forward_fused     — workgroup 64 = 64 consecutive query rows t of one (b,h); grid
//                                   (ceil(T/64), NH, B). Invocation t: scores s ≤ t into att (pass 1, max),
//                                   exp and Σ and Σ e·v (pass 2), normalise att and out (pass 3).
//     attention_backward_rows     — same geometry, invocation t: datt[t,s] = dout[t]·v[s],
//                                   D = Σ_s att·datt, dpre[t,s] = att·(datt − D) into the scratch d,
//                                   dq[t] = scale·Σ_s dpre[t,s]·k[s]. Writes 0 to d for s > t.
//     attention_backward_cols     — same geometry over key rows s: dk[s] = scale·Σ_{t≥s} dpre[t,s]·q[t],
//                                   dv[s] = Σ_{t≥s} att[t,s]·dout[t]. Runs after _rows (dispatch order).
//   decode (generation with a KV cache; src/engine/model/kvcache.ts keeps the cache):
//     attention_decode            — Tq new query rows at absolute positions pos0..pos0+Tq−1 attend to the
//                                   cached keys/values s ≤ pos0+t (the new rows are appended to the cache
//                                   before this dispatch). workgroup 64 = one (t, h); grid (Tq, NH). Lanes
//                                   stride over s for the scores (into att, row stride S) with tree max/sum,
//                                   then over the head's HS channels for Σ_s p_s·v[s]. Cost O(pos·C) per
//                                   token instead of re-running the whole prefix.
//   Every output element is written by one invocation with a fixed loop order: deterministic, no atomics.
//   The fused kernels keep HS-long rows in private arrays: HS ≤ MAX_HS (the host falls back otherwise).
//   Tried and dropped on llvmpipe (no gain or slower, measured side by side): loops to the workgroup's
//   last row with masking (uniform k/v addresses), and HS as a pipeline-override constant (one more
//   pipeline per head size, ~1 s compile each on CPU drivers). Worth re-trying on real GPUs.
//
// Bindings (group 0; each entry point statically uses only the ones listed for it):
//   0 uniform P
//   1 qkv   read        (B,T,3C)          fused fwd, rows, cols
//   2 out   read_write  (B,T,C)           fused fwd
//   3 att   read_write  (B,NH,T,T)        softmax fwd, fused fwd
//   4 dout  read        (B,T,C)           rows, cols
//   5 attr  read        (B,NH,T,T)        softmax bwd, rows, cols   (att, read-only view)
//   6 d     read_write  (B,NH,T,T)        softmax bwd (datt→dpreatt), rows (writes dpreatt), cols (reads it)
//   7 dqkv  read_write  (B,T,3C)          rows (dq), cols (dk, dv)
//   8 kc    read        (S,C)             decode: cached keys, row s = position s
//   9 vc    read        (S,C)             decode: cached values
//   decode reuses 1 qkv (Tq,3C, only q read), 2 out (Tq,C) and 3 att (Tq,NH,S) as scratch for the scores.

struct Params {
  B: u32, T: u32, C: u32, NH: u32,
  HS: u32, pos0: u32, S: u32, _pad2: u32, // pos0, S: decode only (first new position, cache rows)
  scale: f32, _pad3: u32, _pad4: u32, _pad5: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> att: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> attr: array<f32>;
@group(0) @binding(6) var<storage, read_write> d: array<f32>;
@group(0) @binding(7) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(8) var<storage, read> kc: array<f32>;
@group(0) @binding(9) var<storage, read> vc: array<f32>;

const WG = 64u;
const NEG_BIG = -3.0e38; // below any finite score; WGSL has no infinity literal
const MAX_HS = 128u;

var<workgroup> red: array<f32, 64>;

// Fixed-order tree over red[0..64): sum.
fn tree_sum(lid: u32) -> f32 {
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red[lid] = red[lid] + red[lid + stride]; }
    workgroupBarrier();
  }
  return red[0];
}

fn tree_max(lid: u32) -> f32 {
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
    workgroupBarrier();
  }
  return red[0];
}

// ---- unfused: softmax over one row, in place ---------------------------------------------------

@compute @workgroup_size(64, 1, 1)
fn attention_softmax_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let b = wg.z;
  let T = P.T;
  let base = ((b * P.NH + h) * T + t) * T;
  var m = NEG_BIG;
  for (var s = lid; s <= t; s += WG) { m = max(m, att[base + s]); }
  red[lid] = m;
  workgroupBarrier();
  let mx = tree_max(lid);
  workgroupBarrier(); // everyone has read red[0] before it is reused
  var sum = 0.0;
  for (var s = lid; s <= t; s += WG) {
    let e = exp(att[base + s] - mx);
    att[base + s] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();
  let inv = 1.0 / tree_sum(lid);
  for (var s = lid; s < T; s += WG) {
    if (s <= t) { att[base + s] = att[base + s] * inv; } else { att[base + s] = 0.0; }
  }
}

@compute @workgroup_size(64, 1, 1)
fn attention_softmax_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let b = wg.z;
  let T = P.T;
  let base = ((b * P.NH + h) * T + t) * T;
  var acc = 0.0;
  for (var s = lid; s <= t; s += WG) { acc += attr[base + s] * d[base + s]; }
  red[lid] = acc;
  workgroupBarrier();
  let inner = tree_sum(lid);
  for (var s = lid; s < T; s += WG) {
    if (s <= t) { d[base + s] = attr[base + s] * (d[base + s] - inner); } else { d[base + s] = 0.0; }
  }
}

// ---- fused -------------------------------------------------------------------------------------

@compute @workgroup_size(64, 1, 1)
fn attention_forward_fused(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x * WG + lid;
  let h = wg.y;
  let b = wg.z;
  let T = P.T;
  let C = P.C;
  let HS = P.HS;
  if (t >= T) { return; }
  let C3 = 3u * C;
  let bq = b * T * C3 + h * HS;  // q[b, 0, h]; k at +C, v at +2C, row stride 3C
  let a = ((b * P.NH + h) * T + t) * T;
  var q: array<f32, MAX_HS>;
  var acc: array<f32, MAX_HS>;
  for (var i = 0u; i < HS; i++) {
    q[i] = qkv[bq + t * C3 + i];
    acc[i] = 0.0;
  }
  // pass 1: scaled scores and their max
  var mx = NEG_BIG;
  for (var s = 0u; s <= t; s++) {
    let k = bq + s * C3 + C;
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(q[i], qkv[k + i], dot); }
    let sc = dot * P.scale;
    att[a + s] = sc;
    mx = max(mx, sc);
  }
  // pass 2: unnormalised probabilities, their sum and Σ e·v
  var sum = 0.0;
  for (var s = 0u; s <= t; s++) {
    let e = exp(att[a + s] - mx);
    att[a + s] = e;
    sum += e;
    let v = bq + s * C3 + 2u * C;
    for (var i = 0u; i < HS; i++) { acc[i] = fma(e, qkv[v + i], acc[i]); }
  }
  // pass 3: normalise
  let inv = 1.0 / sum;
  for (var s = 0u; s < T; s++) {
    if (s <= t) { att[a + s] = att[a + s] * inv; } else { att[a + s] = 0.0; }
  }
  let o = b * T * C + t * C + h * HS;
  for (var i = 0u; i < HS; i++) { out[o + i] = acc[i] * inv; }
}

@compute @workgroup_size(64, 1, 1)
fn attention_backward_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x * WG + lid;
  let h = wg.y;
  let b = wg.z;
  let T = P.T;
  let C = P.C;
  let HS = P.HS;
  if (t >= T) { return; }
  let C3 = 3u * C;
  let bq = b * T * C3 + h * HS;
  let a = ((b * P.NH + h) * T + t) * T;
  let o = b * T * C + t * C + h * HS;
  var g: array<f32, MAX_HS>; // dout[t]
  var dq: array<f32, MAX_HS>;
  for (var i = 0u; i < HS; i++) {
    g[i] = dout[o + i];
    dq[i] = 0.0;
  }
  // datt[t,s] = dout[t]·v[s] and D = Σ_s att[t,s]·datt[t,s]
  var inner = 0.0;
  for (var s = 0u; s <= t; s++) {
    let v = bq + s * C3 + 2u * C;
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(g[i], qkv[v + i], dot); }
    d[a + s] = dot;
    inner = fma(attr[a + s], dot, inner);
  }
  // dpre[t,s] = att·(datt − D);  dq[t] = scale·Σ_s dpre[t,s]·k[s]
  for (var s = 0u; s <= t; s++) {
    let dp = attr[a + s] * (d[a + s] - inner);
    d[a + s] = dp;
    let k = bq + s * C3 + C;
    for (var i = 0u; i < HS; i++) { dq[i] = fma(dp, qkv[k + i], dq[i]); }
  }
  for (var s = t + 1u; s < T; s++) { d[a + s] = 0.0; }
  let dst = b * T * C3 + t * C3 + h * HS;
  for (var i = 0u; i < HS; i++) { dqkv[dst + i] = dq[i] * P.scale; }
}

@compute @workgroup_size(64, 1, 1)
fn attention_backward_cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.x * WG + lid;
  let h = wg.y;
  let b = wg.z;
  let T = P.T;
  let C = P.C;
  let HS = P.HS;
  if (s >= T) { return; }
  let C3 = 3u * C;
  let bq = b * T * C3 + h * HS;
  let a0 = (b * P.NH + h) * T * T;
  var dk: array<f32, MAX_HS>;
  var dv: array<f32, MAX_HS>;
  for (var i = 0u; i < HS; i++) {
    dk[i] = 0.0;
    dv[i] = 0.0;
  }
  for (var t = s; t < T; t++) {
    let dp = d[a0 + t * T + s];
    let p = attr[a0 + t * T + s];
    let q = bq + t * C3;
    let o = b * T * C + t * C + h * HS;
    for (var i = 0u; i < HS; i++) {
      dk[i] = fma(dp, qkv[q + i], dk[i]);
      dv[i] = fma(p, dout[o + i], dv[i]);
    }
  }
  let dst = b * T * C3 + s * C3 + h * HS;
  for (var i = 0u; i < HS; i++) {
    dqkv[dst + C + i] = dk[i] * P.scale;
    dqkv[dst + 2u * C + i] = dv[i];
  }
}

// ---- decode with a KV cache --------------------------------------------------------------------

@compute @workgroup_size(64, 1, 1)
fn attention_decode(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let C = P.C;
  let HS = P.HS;
  let p = P.pos0 + t; // this query's absolute position: it sees cache rows 0..p
  let q = t * 3u * C + h * HS;
  let a = (t * P.NH + h) * P.S;
  var m = NEG_BIG;
  for (var s = lid; s <= p; s += WG) {
    let k = s * C + h * HS;
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(qkv[q + i], kc[k + i], dot); }
    let sc = dot * P.scale;
    att[a + s] = sc;
    m = max(m, sc);
  }
  red[lid] = m;
  workgroupBarrier();
  let mx = tree_max(lid);
  workgroupBarrier(); // everyone has read red[0] before it is reused
  var sum = 0.0;
  for (var s = lid; s <= p; s += WG) {
    let e = exp(att[a + s] - mx);
    att[a + s] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();
  let inv = 1.0 / tree_sum(lid);
  storageBarrier(); // every lane's att writes are visible before any lane reads the whole row
  for (var i = lid; i < HS; i += WG) {
    var acc = 0.0;
    for (var s = 0u; s <= p; s++) { acc = fma(att[a + s], vc[s * C + h * HS + i], acc); }
    out[t * C + h * HS + i] = acc * inv;
  }
}
