// Reduce family: deterministic sums for the loss, the gradient norm and diagnostics. No atomics: the
// work assignment depends only on n, and every partial is combined by a fixed binary tree, so the same
// input gives bit-identical output on every run.
//
// Entry points:
//   reduce_chunks    — workgroup g (= wg.y·nwg.x + wg.x) reduces x[off + g·chunk .. off + min((g+1)·chunk, n)):
//                      invocation lid takes elements lid, lid+256, … of the chunk in order, then a fixed tree
//                      over 256 lanes; writes out[outIndex + g]. Workgroup 256; grid = number of chunks.
//                      One chunk (n small) writes the final value; otherwise the host runs it twice: chunks
//                      into a scratch of ≤ 1024 partials, then one workgroup over the partials (OP sum or max).
//                      override OP: 0 Σ x, 1 Σ x², 2 max |x| (identity 0).
//   global_norm_clip — one workgroup of 256: norm = √Σ partials[0..count) (fixed order + tree),
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

@compute @workgroup_size(256, 1, 1)
fn reduce_chunks(@builtin(workgroup_id) wg: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let g = wg.y * nwg.x + wg.x;
  let start = g * P.chunk;
  let end = min(start + P.chunk, P.n);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) { acc = combine(acc, load(P.off + i)); }
  red[lid] = acc;
  workgroupBarrier();
  if (lid == 0u) {
    var r = red[0];
    for (var k = 1u; k < WG; k++) { r = combine(r, red[k]); }
    out[P.outIndex + g] = r;
  }
}

@compute @workgroup_size(256, 1, 1)
fn global_norm_clip(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < P.n; i += WG) { acc += x[i]; }
  red[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red[lid] = red[lid] + red[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let norm = sqrt(red[0]);
    var scale = 1.0;
    if (P.maxNorm > 0.0) { scale = min(1.0, P.maxNorm / (norm + 1e-6)); }
    out[0] = norm;
    out[1] = scale;
  }
}
