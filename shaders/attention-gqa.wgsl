// General causal self-attention for the Hugging Face decoder families (the GPT-2 fused path stays in
// attention.wgsl): multi-head or grouped-query (Ainslie et al. 2023: NH query heads share NKV key/value
// heads, query head h reads kv head h / (NH/NKV), as transformers' `repeat_kv`), any scale (GPT-Neo uses
// 1, the rest 1/√HS), an optional causal sliding window (GPT-Neo's local layers: key s is visible from
// query t iff t − window < s ≤ t; window = 0 means global), HS independent of the model width (Qwen3).
//
// q, k, v are strided views, so separate projections and fused buffers need no copies. Element
// (b, t, head, i) of view X lives at X.off + (b·T + t)·X.row + head·X.head + i:
//   separate q (N, NH·HS), k, v (N, NKV·HS):   off 0, row = heads·HS, head = HS
//   GPT-2 fused (N, 3C):                        q off 0, k off C, v off 2C; row 3C, head HS
//   GPT-NeoX fused per head (N, NH, 3·HS):      q off 0, k off HS, v off 2HS; row 3C, head 3HS
// dq, dk, dv use the views of q, k, v (they may be one buffer bound three times: each element has one writer).
//   out, dout   (B, T, NH·HS) contiguous
//   att         (B, NH, T, T) softmax probabilities, exactly 0 outside the visible band; saved for backward
//   d           (B, NH, T, T) scratch: dpreatt (the softmax backward, before the scale)
//
// Entry points, workgroup 64, every output element written by one invocation in a fixed loop order:
// deterministic, no atomics (the GQA sum over the query heads of a group is a loop, not an atomic add).
//   gqa_forward          grid (ceil(T/64), NH, B); invocation = query row t of head h: scores into att,
//                        max, exp/Σ/Σe·v, normalise.                  bindings 1 q, 2 k, 3 v, 4 out, 5 att
//   gqa_backward_rows    same grid: datt = dout·v, D = Σ att·datt, dpre = att·(datt − D) into d, dq = scale·Σ dpre·k.
//                        bindings 2 k, 3 v, 6 dout, 7 attr, 8 d, 9 dq
//   gqa_backward_cols    grid (ceil(T/64), NKV, B); invocation = key row s of kv head g: for each query head of
//                        the group in order, for t in s … : dk += scale·dpre·q, dv += att·dout. Runs after _rows.
//                        bindings 1 q, 6 dout, 7 attr, 8 d, 10 dk, 11 dv
//   gqa_backward_cols_shared  the same with dk and dv in one buffer (binding 10 only): WebGPU forbids binding
//                        one buffer to two writable bindings of a dispatch, so a fused dkv takes this entry.
//   gqa_decode           generation with a KV cache: Tq new query rows (P.T = Tq; q view as above) at absolute
//                        positions pos0 … pos0+Tq−1 attend to cache rows kc, vc, row s = position s, visible iff
//                        p − window < s ≤ p. The cache rows are views too (the k/v view fields, with b = 0, t = s):
//                        (S, NKV·HS) for separate projections, or whole fused rows (S, NH, 3·HS) for GPT-NeoX,
//                        kc = vc bound twice read-only. One workgroup of 64 per (t, h), grid (Tq, NH); keys
//                        strided over the lanes, fixed trees for max and sum. bindings 1 q, 4 out (Tq, NH·HS),
//                        5 att (Tq, NH, S) scratch, 12 kc, 13 vc
// HS-long rows live in private arrays: HS ≤ MAX_HS (the host says so otherwise).

struct Params {
  B: u32, T: u32, NH: u32, NKV: u32,
  HS: u32, window: u32, pos0: u32, S: u32,
  qOff: u32, qRow: u32, qHead: u32, _pad2: u32,
  kOff: u32, kRow: u32, kHead: u32, _pad3: u32,
  vOff: u32, vRow: u32, vHead: u32, _pad4: u32,
  scale: f32, _pad5: u32, _pad6: u32, _pad7: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> att: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read> attr: array<f32>;
@group(0) @binding(8) var<storage, read_write> d: array<f32>;
@group(0) @binding(9) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read_write> dk: array<f32>;
@group(0) @binding(11) var<storage, read_write> dv: array<f32>;
@group(0) @binding(12) var<storage, read> kc: array<f32>;
@group(0) @binding(13) var<storage, read> vc: array<f32>;

const WG = 64u;
const NEG_BIG = -3.0e38; // below any finite score; WGSL has no infinity literal
const MAX_HS = 128u;

// First visible key of query row t.
fn firstKey(t: u32) -> u32 {
  if (P.window == 0u || t < P.window) { return 0u; }
  return t - P.window + 1u;
}

fn qAt(b: u32, t: u32, h: u32) -> u32 { return P.qOff + (b * P.T + t) * P.qRow + h * P.qHead; }
fn kAt(b: u32, t: u32, g: u32) -> u32 { return P.kOff + (b * P.T + t) * P.kRow + g * P.kHead; }
fn vAt(b: u32, t: u32, g: u32) -> u32 { return P.vOff + (b * P.T + t) * P.vRow + g * P.vHead; }
fn oAt(b: u32, t: u32, h: u32) -> u32 { return ((b * P.T + t) * P.NH + h) * P.HS; }

@compute @workgroup_size(64, 1, 1)
fn gqa_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x * WG + lid;
  let h = wg.y;
  let b = wg.z;
  let T = P.T;
  let HS = P.HS;
  if (t >= T) { return; }
  let g = h / (P.NH / P.NKV);
  let a = ((b * P.NH + h) * T + t) * T;
  let s0 = firstKey(t);
  var qr: array<f32, MAX_HS>;
  var acc: array<f32, MAX_HS>;
  let qi = qAt(b, t, h);
  for (var i = 0u; i < HS; i++) {
    qr[i] = q[qi + i];
    acc[i] = 0.0;
  }
  // pass 1: scaled scores and their max
  var mx = NEG_BIG;
  for (var s = s0; s <= t; s++) {
    let ki = kAt(b, s, g);
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(qr[i], k[ki + i], dot); }
    let sc = dot * P.scale;
    att[a + s] = sc;
    mx = max(mx, sc);
  }
  // pass 2: unnormalised probabilities, their sum and Σ e·v
  var sum = 0.0;
  for (var s = s0; s <= t; s++) {
    let e = exp(att[a + s] - mx);
    att[a + s] = e;
    sum += e;
    let vi = vAt(b, s, g);
    for (var i = 0u; i < HS; i++) { acc[i] = fma(e, v[vi + i], acc[i]); }
  }
  // pass 3: normalise; zeros outside the visible band
  let inv = 1.0 / sum;
  for (var s = 0u; s < T; s++) {
    if (s >= s0 && s <= t) { att[a + s] = att[a + s] * inv; } else { att[a + s] = 0.0; }
  }
  let o = oAt(b, t, h);
  for (var i = 0u; i < HS; i++) { out[o + i] = acc[i] * inv; }
}

@compute @workgroup_size(64, 1, 1)
fn gqa_backward_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x * WG + lid;
  let h = wg.y;
  let b = wg.z;
  let T = P.T;
  let HS = P.HS;
  if (t >= T) { return; }
  let g = h / (P.NH / P.NKV);
  let a = ((b * P.NH + h) * T + t) * T;
  let s0 = firstKey(t);
  let o = oAt(b, t, h);
  var gr: array<f32, MAX_HS>; // dout[t]
  var acc: array<f32, MAX_HS>; // dq[t]
  for (var i = 0u; i < HS; i++) {
    gr[i] = dout[o + i];
    acc[i] = 0.0;
  }
  // datt[t,s] = dout[t]·v[s] and D = Σ_s att[t,s]·datt[t,s]
  var inner = 0.0;
  for (var s = s0; s <= t; s++) {
    let vi = vAt(b, s, g);
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(gr[i], v[vi + i], dot); }
    d[a + s] = dot;
    inner = fma(attr[a + s], dot, inner);
  }
  // dpre[t,s] = att·(datt − D);  dq[t] = scale·Σ_s dpre[t,s]·k[s]
  for (var s = s0; s <= t; s++) {
    let dp = attr[a + s] * (d[a + s] - inner);
    d[a + s] = dp;
    let ki = kAt(b, s, g);
    for (var i = 0u; i < HS; i++) { acc[i] = fma(dp, k[ki + i], acc[i]); }
  }
  for (var s = 0u; s < s0; s++) { d[a + s] = 0.0; }
  for (var s = t + 1u; s < T; s++) { d[a + s] = 0.0; }
  let qi = qAt(b, t, h);
  for (var i = 0u; i < HS; i++) { dq[qi + i] = acc[i] * P.scale; }
}

// Per-invocation accumulators of the column pass (private: one copy per invocation).
var<private> ak: array<f32, MAX_HS>;
var<private> av: array<f32, MAX_HS>;

// dk, dv of key row s, kv head g, into ak (without the scale) and av. Returns false when s ≥ T.
fn colsAccumulate(s: u32, g: u32, b: u32) -> bool {
  let T = P.T;
  let HS = P.HS;
  if (s >= T) { return false; }
  let G = P.NH / P.NKV;
  // Last query row that sees key s.
  var tEnd = T - 1u;
  if (P.window != 0u) { tEnd = min(T - 1u, s + P.window - 1u); }
  for (var i = 0u; i < HS; i++) {
    ak[i] = 0.0;
    av[i] = 0.0;
  }
  for (var h = g * G; h < (g + 1u) * G; h++) {
    let a0 = (b * P.NH + h) * T * T;
    for (var t = s; t <= tEnd; t++) {
      let dp = d[a0 + t * T + s];
      let p = attr[a0 + t * T + s];
      let qi = qAt(b, t, h);
      let o = oAt(b, t, h);
      for (var i = 0u; i < HS; i++) {
        ak[i] = fma(dp, q[qi + i], ak[i]);
        av[i] = fma(p, dout[o + i], av[i]);
      }
    }
  }
  return true;
}

// dk and dv in two buffers (bindings 10, 11).
@compute @workgroup_size(64, 1, 1)
fn gqa_backward_cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.x * WG + lid;
  if (!colsAccumulate(s, wg.y, wg.z)) { return; }
  let ki = kAt(wg.z, s, wg.y);
  let vi = vAt(wg.z, s, wg.y);
  for (var i = 0u; i < P.HS; i++) {
    dk[ki + i] = ak[i] * P.scale;
    dv[vi + i] = av[i];
  }
}

// dk and dv in one buffer (binding 10 only; WebGPU forbids binding one buffer twice as writable).
@compute @workgroup_size(64, 1, 1)
fn gqa_backward_cols_shared(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.x * WG + lid;
  if (!colsAccumulate(s, wg.y, wg.z)) { return; }
  let ki = kAt(wg.z, s, wg.y);
  let vi = vAt(wg.z, s, wg.y);
  for (var i = 0u; i < P.HS; i++) {
    dk[ki + i] = ak[i] * P.scale;
    dk[vi + i] = av[i];
  }
}

// ---- decode with a KV cache ----------------------------------------------------------------------

var<workgroup> red: array<f32, 64>;

fn treeMax(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // everyone has read red[0] before it is reused
  return r;
}

fn treeSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red[lid] = red[lid] + red[lid + stride]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64, 1, 1)
fn gqa_decode(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let HS = P.HS;
  let g = h / (P.NH / P.NKV);
  let p = P.pos0 + t; // this query's absolute position
  var s0 = 0u;
  if (P.window != 0u && p >= P.window) { s0 = p - P.window + 1u; }
  let qi = qAt(0u, t, h);
  let a = (t * P.NH + h) * P.S;
  var m = NEG_BIG;
  for (var s = s0 + lid; s <= p; s += WG) {
    let ki = P.kOff + s * P.kRow + g * P.kHead;
    var dot = 0.0;
    for (var i = 0u; i < HS; i++) { dot = fma(q[qi + i], kc[ki + i], dot); }
    let sc = dot * P.scale;
    att[a + s] = sc;
    m = max(m, sc);
  }
  let mx = treeMax(m, lid);
  var sum = 0.0;
  for (var s = s0 + lid; s <= p; s += WG) {
    let e = exp(att[a + s] - mx);
    att[a + s] = e;
    sum += e;
  }
  let inv = 1.0 / treeSum(sum, lid);
  storageBarrier(); // every lane's att writes are visible before any lane reads the whole row
  for (var i = lid; i < HS; i += WG) {
    var acc = 0.0;
    for (var s = s0; s <= p; s++) { acc = fma(att[a + s], vc[P.vOff + s * P.vRow + g * P.vHead + i], acc); }
    out[oAt(0u, t, h) + i] = acc * inv;
  }
}
