// LayerNorm family (Ba et al. 2016), GPT-2 placement: out = (x − mean)·rstd·gamma + beta per row,
// biased variance, rstd = 1/√(var + eps). The forward saves mean and rstd for the backward.
//
// binding(0) P: { N, C, eps, _pad }
// Entry points (bindings each uses):
//   layernorm_forward       1 x (N,C) read, 2 gamma (C) read, 3 beta (C) read,
//                           4 out (N,C) read_write, 5 mean (N) read_write, 6 rstd (N) read_write
//   layernorm_backward_dx   1 x, 2 gamma, 7 dout (N,C) read, 8 meanIn (N) read, 9 rstdIn (N) read,
//                           10 dx (N,C) read_write                      dx += (accumulates)
//   layernorm_backward_params  1 x, 7 dout, 8 meanIn, 9 rstdIn,
//                           11 dgamma (C) read_write, 12 dbeta (C) read_write   dgamma, dbeta += (accumulate)
// Dispatch geometry:
//   forward, backward_dx: one workgroup of 256 per row; the row is the flat workgroup index
//     wg.x + wg.y·nwg.x (rows folded into a 2D grid, ≤ 65535 per dimension). Invocation i handles
//     columns i, i+256, … in order; row sums are a fixed-shape tree in workgroup memory. Mean first,
//     then Σ(x − mean)² (two passes: no cancellation of E[x²] − E[x]²).
//   backward_params: workgroup (16, 16) = 16 columns × 16 row lanes, grid (ceil(C/16)); lane y sums rows
//     y, y+16, … in order, lane 0 adds the 16 partials in order. Fixed assignment of work everywhere:
//     results are bit-identical run to run, no atomics.

struct Params {
  N: u32,
  C: u32,
  eps: f32,
  _pad: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read> meanIn: array<f32>;
@group(0) @binding(9) var<storage, read> rstdIn: array<f32>;
@group(0) @binding(10) var<storage, read_write> dx: array<f32>;
@group(0) @binding(11) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(12) var<storage, read_write> dbeta: array<f32>;

const WG = 256u;
var<workgroup> red: array<vec2<f32>, 256>;

// Sum of v over the workgroup (both components), fixed tree. Must be called in uniform control flow.
fn workgroupSum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // everyone has read red[0] before the next call overwrites it
  return total;
}

@compute @workgroup_size(256)
fn layernorm_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= P.N) { return; }
  let C = P.C;
  let base = row * C;
  var s = 0.0;
  for (var c = lid; c < C; c += WG) { s += x[base + c]; }
  let m = workgroupSum2(vec2<f32>(s, 0.0), lid).x / f32(C);
  var q = 0.0;
  for (var c = lid; c < C; c += WG) {
    let d = x[base + c] - m;
    q += d * d;
  }
  let r = inverseSqrt(workgroupSum2(vec2<f32>(q, 0.0), lid).x / f32(C) + P.eps);
  for (var c = lid; c < C; c += WG) {
    out[base + c] = (x[base + c] - m) * r * gamma[c] + beta[c];
  }
  if (lid == 0u) {
    mean[row] = m;
    rstd[row] = r;
  }
}

@compute @workgroup_size(256)
fn layernorm_backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= P.N) { return; }
  let C = P.C;
  let base = row * C;
  let m = meanIn[row];
  let r = rstdIn[row];
  // Σ dnorm and Σ dnorm·xhat with dnorm = gamma·dout, xhat = (x − mean)·rstd.
  var acc = vec2<f32>(0.0, 0.0);
  for (var c = lid; c < C; c += WG) {
    let xhat = (x[base + c] - m) * r;
    let dnorm = gamma[c] * dout[base + c];
    acc += vec2<f32>(dnorm, dnorm * xhat);
  }
  let sums = workgroupSum2(acc, lid) / f32(C);
  for (var c = lid; c < C; c += WG) {
    let xhat = (x[base + c] - m) * r;
    let dnorm = gamma[c] * dout[base + c];
    dx[base + c] = dx[base + c] + r * (dnorm - sums.x - xhat * sums.y);
  }
}

const BP_COLS = 16u;
const BP_LANES = 16u;
var<workgroup> partial: array<vec2<f32>, 256>; // [lane][col], BP_LANES × BP_COLS: (dgamma, dbeta)

@compute @workgroup_size(16, 16)
fn layernorm_backward_params(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wg.x * BP_COLS + lid.x;
  var acc = vec2<f32>(0.0, 0.0);
  if (c < P.C) {
    for (var n = lid.y; n < P.N; n += BP_LANES) {
      let i = n * P.C + c;
      let g = dout[i];
      acc += vec2<f32>(g * (x[i] - meanIn[n]) * rstdIn[n], g);
    }
  }
  partial[lid.y * BP_COLS + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && c < P.C) {
    var sum = vec2<f32>(0.0, 0.0);
    for (var l = 0u; l < BP_LANES; l++) {
      sum += partial[l * BP_COLS + lid.x];
    }
    dgamma[c] = dgamma[c] + sum.x;
    dbeta[c] = dbeta[c] + sum.y;
  }
}
