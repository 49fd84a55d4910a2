// Cross-entropy family: softmax over the vocabulary fused with the negative log-likelihood of the
// target and its gradient (llm.c's fused classifier), plus plain row softmax for sampling.
//   losses[n]    = mask[n]·(logsumexp(logits[n,:]) − logits[n, target[n]])      (max-subtracted)
//   dlogits[n,v] = gradScale·mask[n]·(softmax(logits[n,:])[v] − [v = target[n]])  (overwrite)
// A row with mask 0 or a target outside [0, V) (e.g. ignore_index −100) gets loss 0 and an all-zero
// gradient row, whatever its logits hold (no NaN·0 leaks).
//
// binding(0) P: { N, V, gradScale, invTemp }
// Entry points (bindings each uses):
//   crossentropy_forward           1 logits (N,V) read, 2 targets (N) i32 read, 3 mask (N) read,
//                                  4 losses (N) read_write
//   crossentropy_forward_backward  1, 2, 3, 4 as above, 5 dlogits (N,V) read_write
//   softmax_rows                   1 logits (N,V) read, 6 probs (N,V) read_write   probs = softmax(logits·invTemp)
// Dispatch geometry: one workgroup of 256 per row; the row is the flat workgroup index wg.x + wg.y·nwg.x
// (2D-folded, ≤ 65535 per dimension). Invocation i visits columns i, i+256, … in order (three passes:
// max, Σexp, write); the row max and sum are fixed-shape trees in workgroup memory: bit-identical run
// to run. dlogits may alias nothing else bound.

struct Params {
  N: u32,
  V: u32,
  gradScale: f32,
  invTemp: f32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(6) var<storage, read_write> probs: array<f32>;

const WG = 256u;
var<workgroup> red: array<f32, 256>;

// Workgroup max / sum of v, fixed tree. Call in uniform control flow.
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

// Lowest finite f32 as the max's identity (−inf cannot be a WGSL constant); llm.c uses −FLT_MAX too.
const LOWEST = -3.4028234663852886e38;

// (max, Σ exp(scale·l − max)) of row `base`, all invocations get the same values.
fn rowStats(base: u32, scale: f32, lid: u32) -> vec2<f32> {
  var m = LOWEST;
  for (var v = lid; v < P.V; v += WG) { m = max(m, scale * logits[base + v]); }
  let rowMax = workgroupMax(m, lid);
  var s = 0.0;
  for (var v = lid; v < P.V; v += WG) { s += exp(scale * logits[base + v] - rowMax); }
  return vec2<f32>(rowMax, workgroupSum(s, lid));
}

fn rowActive(row: u32) -> bool {
  let tgt = targets[row];
  return mask[row] != 0.0 && tgt >= 0 && u32(tgt) < P.V;
}

@compute @workgroup_size(256)
fn crossentropy_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= P.N) { return; }
  if (!rowActive(row)) {
    if (lid == 0u) { losses[row] = 0.0; }
    return;
  }
  let base = row * P.V;
  let st = rowStats(base, 1.0, lid);
  if (lid == 0u) {
    losses[row] = mask[row] * (log(st.y) + st.x - logits[base + u32(targets[row])]);
  }
}

@compute @workgroup_size(256)
fn crossentropy_forward_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                 @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= P.N) { return; }
  let base = row * P.V;
  if (!rowActive(row)) {
    for (var v = lid; v < P.V; v += WG) { dlogits[base + v] = 0.0; }
    if (lid == 0u) { losses[row] = 0.0; }
    return;
  }
  let tgt = u32(targets[row]);
  let st = rowStats(base, 1.0, lid);
  if (lid == 0u) {
    losses[row] = mask[row] * (log(st.y) + st.x - logits[base + tgt]);
  }
  let k = P.gradScale * mask[row];
  let invSum = 1.0 / st.y;
  for (var v = lid; v < P.V; v += WG) {
    let p = exp(logits[base + v] - st.x) * invSum;
    dlogits[base + v] = k * (p - select(0.0, 1.0, v == tgt));
  }
}

@compute @workgroup_size(256)
fn softmax_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= P.N) { return; }
  let base = row * P.V;
  let st = rowStats(base, P.invTemp, lid);
  let invSum = 1.0 / st.y;
  for (var v = lid; v < P.V; v += WG) {
    probs[base + v] = exp(P.invTemp * logits[base + v] - st.x) * invSum;
  }
}
