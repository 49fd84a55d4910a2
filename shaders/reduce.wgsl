// Reduce family: deterministic sums for the loss, the gradient norm and diagnostics. No atomics: the
// work assignment depends only on n, and partials are combined in a fixed order (wg_combine: 16 lanes
// each fold 16 partials in index order, then lane 0 folds those 16), so the same input gives
// bit-identical output on every run. Two barriers instead of a log2(256) = 8-level tree: on CPU drivers
// (llvmpipe) every barrier costs ~10 µs per workgroup, which made the tree 4–6× slower end to end.
//
// Entry points:
//   reduce_chunks    — workgroup g (= wg.y·nwg.x + wg.x) reduces x[off + g·chunk .. off + min((g+1)·chunk, n)):
//                      invocation lid takes elements lid, lid+256, … of the chunk in order, then wg_combine
//                      over the 256 lanes; writes out[outIndex + g]. Workgroup 256; grid = number of chunks.
//                      One chunk (n small) writes the final value; otherwise the host runs it twice: chunks
//                      into a scratch of ≤ 1024 partials, then one workgroup over the partials (OP sum or max).
//                      override OP: 0 Σ x, 1 Σ x², 2 max |x| (identity 0).
//   global_norm_clip — one workgroup of 256: norm = √Σ partials[0..count) (strided + wg_combine),
//                      clip = [norm, maxNorm > 0 ? min(1, maxNorm/(norm + 1e-6)) : 1]. Grid (1).
// Bindings (group 0):
//   0 uniform P { n, chunk, outIndex, off, maxNorm }
//   1 x    read        reduce_chunks: input (≥ off + n);  global_norm_clip: partials (≥ n = count)
//   2 out  read_write  reduce_chunks: (≥ outIndex + #chunks);  global_norm_clip: clip (2)

struct Params {
  n: u32, chunk: u32, outIndex: u32, off: u32,
  maxNorm: f32, _pad0: u32, _pad1: u32, _pad2: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override OP: u32 = 0u;
const WG = 256u;

var<workgroup> red: array<f32, 256>;
var<workgroup> red16: array<f32, 16>;

fn load(i: u32) -> f32 {
  let v = x[i];
  if (OP == 1u) { return v * v; }
  if (OP == 2u) { return abs(v); }
  return v;
}

fn combine(a: f32, b: f32) -> f32 {
  if (OP == 2u) { return max(a, b); }
  return a + b;
}

// Folds one value per invocation in a fixed order; every invocation returns the same result.
// add = true forces a sum (global_norm_clip), otherwise OP decides.
fn wg_combine(lid: u32, x: f32, add: bool) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  if (lid < 16u) {
    var r = red[lid * 16u];
    for (var k = 1u; k < 16u; k++) {
      let y = red[lid * 16u + k];
      r = select(combine(r, y), r + y, add);
    }
    red16[lid] = r;
  }
  workgroupBarrier();
  var r = red16[0];
  for (var k = 1u; k < 16u; k++) { r = select(combine(r, red16[k]), r + red16[k], add); }
  return r;
}

@compute @workgroup_size(256, 1, 1)
fn reduce_chunks(@builtin(workgroup_id) wg: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let g = wg.y * nwg.x + wg.x;
  let start = g * P.chunk;
  let end = min(start + P.chunk, P.n);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) { acc = combine(acc, load(P.off + i)); }
  let r = wg_combine(lid, acc, false);
  if (lid == 0u) { out[P.outIndex + g] = r; }
}

@compute @workgroup_size(256, 1, 1)
fn global_norm_clip(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < P.n; i += WG) { acc += x[i]; }
  let total = wg_combine(lid, acc, true);
  if (lid == 0u) {
    let norm = sqrt(total);
    var scale = 1.0;
    if (P.maxNorm > 0.0) { scale = min(1.0, P.maxNorm / (norm + 1e-6)); }
    out[0] = norm;
    out[1] = scale;
  }
}
