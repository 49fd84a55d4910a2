// Elementwise family: GELU (tanh form, GPT-2's "gelu_new") forward/backward, add, axpy, scale, fill,
// bias add and the bias gradient (a deterministic column reduction).
//
// One uniform block for every entry point, binding(0) P: { n, rows, cols, s } (see the host,
// src/gpu/kernels/elementwise.ts). Three storage roles keep the bindings identical across entry points:
//   binding(1) a  read        binding(2) b  read        binding(3) o  read_write
// Entry points (bindings each uses; shapes with n elements unless said):
//   gelu_forward   a = x, o = out                        o = gelu(a)
//   gelu_backward  a = x, b = dout, o = dx               o = b·gelu'(a)          (overwrite)
//   add            a, b, o                              o = a + b
//   axpy           a = x, o = y                         o += s·a
//   scale          o = x                                o *= s
//   fill           o = x                                o = s
//   copy           a = src, o = dst                     o = a
//   add_bias       b = bias (cols), o = x (rows, cols)   o[r,c] += b[c]          (n = rows·cols)
//   bias_backward  a = dout (rows, cols), o = dbias (cols)   o[c] += Σ_r a[r,c]
// Dispatch geometry:
//   elementwise kernels: workgroup 256, one element per invocation; the flat workgroup index
//     wg.x + wg.y·nwg.x covers ceil(n/256) workgroups folded into 2D (≤ 65535 per dimension).
//   bias_backward: workgroup (16, 16) = 16 columns × 16 row lanes, grid (ceil(cols/16)). Lane y sums
//     rows y, y+16, y+32, … in order, then lane 0 adds the 16 partials in order: a fixed assignment of
//     work, so the result is bit-identical run to run (no atomics).

struct Params {
  n: u32,      // elements
  rows: u32,   // N of the bias kernels
  cols: u32,   // C of the bias kernels
  s: f32,      // alpha (axpy), factor (scale), value (fill)
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;

const WG = 256u;
const GELU_K = 0.7978845608028654; // √(2/π)
const GELU_A = 0.044715;

fn flatIndex(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * WG + lid;
}

// tanh's argument is clamped: some tanh implementations compute (e^{2u} − 1)/(e^{2u} + 1) and return
// NaN once e^{2u} overflows (u ≳ 44); tanh(±15) already rounds to ±1 in f32.
fn geluTanh(x: f32) -> f32 {
  return tanh(clamp(GELU_K * (x + GELU_A * x * x * x), -15.0, 15.0));
}

@compute @workgroup_size(256)
fn gelu_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  let x = a[i];
  o[i] = 0.5 * x * (1.0 + geluTanh(x));
}

@compute @workgroup_size(256)
fn gelu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  let x = a[i];
  let th = geluTanh(x);
  let grad = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * GELU_K * (1.0 + 3.0 * GELU_A * x * x);
  o[i] = b[i] * grad;
}

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  o[i] = a[i] + b[i];
}

@compute @workgroup_size(256)
fn axpy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  o[i] = fma(P.s, a[i], o[i]);
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  o[i] = P.s * o[i];
}

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  o[i] = P.s;
}

@compute @workgroup_size(256)
fn copy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  o[i] = a[i];
}

@compute @workgroup_size(256)
fn add_bias(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  o[i] = o[i] + b[i % P.cols];
}

const BB_COLS = 16u;
const BB_LANES = 16u;
var<workgroup> partial: array<f32, 256>; // [lane][col], BB_LANES × BB_COLS

@compute @workgroup_size(16, 16)
fn bias_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wg.x * BB_COLS + lid.x;
  var acc = 0.0;
  if (c < P.cols) {
    for (var r = lid.y; r < P.rows; r += BB_LANES) {
      acc += a[r * P.cols + c];
    }
  }
  partial[lid.y * BB_COLS + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && c < P.cols) {
    var sum = 0.0;
    for (var l = 0u; l < BB_LANES; l++) {
      sum += partial[l * BB_COLS + lid.x];
    }
    o[c] = o[c] + sum;
  }
}
