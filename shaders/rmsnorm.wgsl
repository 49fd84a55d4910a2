// RMSNorm family (Zhang & Sennrich 2019), as transformers' LlamaRMSNorm / Qwen3RMSNorm compute it in f32:
//   out = x · rstd · w,   rstd = 1/√(mean_c(x²) + eps)        (no mean subtraction, no bias)
// The forward saves rstd per row for the backward. With xhat = x·rstd and dnorm = w·dout:
//   dx = rstd·(dnorm − xhat·mean_c(dnorm·xhat))       (overwrite, or += when P.accumulate = 1)
//   dw += Σ_rows dout·xhat                            (accumulates)
// Serves Qwen3's per-head q/k norm as rows = N·NH of width HS (a contiguous (N, NH·HS) tensor is exactly
// (N·NH, HS) row-major, so no stride is needed).
//
// binding(0) P: { N, C, eps, accumulate }
// Entry points (bindings each uses):
//   rmsnorm_forward       1 x (N,C) read, 2 w (C) read, 3 out (N,C) read_write, 4 rstd (N) read_write
//   rmsnorm_backward_dx   1 x, 2 w, 5 dout (N,C) read, 6 rstdIn (N) read, 7 dx (N,C) read_write
//   rmsnorm_backward_w    1 x, 5 dout, 6 rstdIn, 8 dw (C) read_write               dw +=
// Dispatch geometry (the layernorm family's):
//   forward, backward_dx: one workgroup of 256 per row, row = wg.x + wg.y·nwg.x (2D-folded grid);
//     invocation i handles columns i, i+256, … in order; row sums are a fixed tree in workgroup memory.
//   backward_w: workgroup (16, 16) = 16 columns × 16 row lanes, grid ceil(C/16); lane y sums rows y, y+16, …
//     in order, lane 0 adds the 16 partials in order. Fixed work assignment: bit-identical run to run.

struct Params {
  N: u32,
  C: u32,
  eps: f32,
  accumulate: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> rstdIn: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> dw: array<f32>;

const WG = 256u;
var<workgroup> red: array<f32, 256>;

// Sum of v over the workgroup, fixed tree. Must be called in uniform control flow.
fn workgroupSum(v: f32, lid: u32) -> f32 {
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
fn rmsnorm_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= P.N) { return; }
  let C = P.C;
  let base = row * C;
  var q = 0.0;
  for (var c = lid; c < C; c += WG) {
    let v = x[base + c];
    q = fma(v, v, q);
  }
  let r = inverseSqrt(workgroupSum(q, lid) / f32(C) + P.eps);
  for (var c = lid; c < C; c += WG) {
    // HF order: (x·rstd) first, then ·weight.
    out[base + c] = w[c] * (x[base + c] * r);
  }
  if (lid == 0u) { rstd[row] = r; }
}

@compute @workgroup_size(256)
fn rmsnorm_backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= P.N) { return; }
  let C = P.C;
  let base = row * C;
  let r = rstdIn[row];
  var acc = 0.0;
  for (var c = lid; c < C; c += WG) {
    acc = fma(w[c] * dout[base + c], x[base + c] * r, acc);
  }
  let m = workgroupSum(acc, lid) / f32(C);
  for (var c = lid; c < C; c += WG) {
    let xhat = x[base + c] * r;
    let g = r * (w[c] * dout[base + c] - xhat * m);
    if (P.accumulate != 0u) { dx[base + c] = dx[base + c] + g; } else { dx[base + c] = g; }
  }
}

const BP_COLS = 16u;
const BP_LANES = 16u;
var<workgroup> partial: array<f32, 256>; // [lane][col], BP_LANES × BP_COLS

@compute @workgroup_size(16, 16)
fn rmsnorm_backward_w(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wg.x * BP_COLS + lid.x;
  var acc = 0.0;
  if (c < P.C) {
    for (var n = lid.y; n < P.N; n += BP_LANES) {
      let i = n * P.C + c;
      acc = fma(dout[i], x[i] * rstdIn[n], acc);
    }
  }
  partial[lid.y * BP_COLS + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && c < P.C) {
    var sum = 0.0;
    for (var l = 0u; l < BP_LANES; l++) {
      sum += partial[l * BP_COLS + lid.x];
    }
    dw[c] = dw[c] + sum;
  }
}
