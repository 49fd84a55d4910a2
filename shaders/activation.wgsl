// Activation family for the Hugging Face decoder MLPs, beside elementwise.wgsl's tanh GELU ("gelu_new"):
//   exact GELU (erf form; transformers' hidden_act "gelu", GPT-NeoX/Pythia):
//     gelu(x) = x·Φ(x) = ½·x·erfc(−x/√2),      gelu'(x) = Φ(x) + x·φ(x),  φ(x) = e^(−x²/2)/√(2π)
//   SwiGLU (Shazeer 2020; Llama/Qwen MLP `down_proj(act_fn(gate_proj(x)) * up_proj(x))`, act_fn = silu):
//     h = silu(g)·u,  silu(g) = g·σ(g);   dg = dh·u·σ(g)·(1 + g·(1 − σ(g))),   du = dh·silu(g)
// erfc: the Chebyshev fit of Numerical Recipes (2nd ed., §6.2, `erfcc`), fractional error < 1.2e-7 for
// every z, good in the far tail too (so gelu of large negative x keeps its relative accuracy).
//
// binding(0) P: { n, _pad… }
// Entry points (bindings each uses; every tensor has n elements, outputs overwritten):
//   gelu_erf_forward    1 a = x, 3 o = out
//   gelu_erf_backward   1 a = x, 2 b = dout, 3 o = dx
//   swiglu_forward      1 a = gate, 2 b = up, 3 o = h
//   swiglu_backward     1 a = gate, 2 b = up, 4 c = dh, 3 o = dgate, 5 o2 = dup
// Dispatch: workgroup 256, one element per invocation, flat index folded into a 2D grid.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
@group(0) @binding(4) var<storage, read> c: array<f32>;
@group(0) @binding(5) var<storage, read_write> o2: array<f32>;

const WG = 256u;
const INV_SQRT2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;

fn flatIndex(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * WG + lid;
}

// erfc(z), Numerical Recipes' erfcc; the exponent is clamped (erfc(z) underflows to 0 for z ≳ 10 anyway).
fn erfc_(z: f32) -> f32 {
  let az = abs(z);
  let t = 1.0 / (1.0 + 0.5 * az);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let r = t * exp(max(-az * az + p, -100.0));
  return select(2.0 - r, r, z >= 0.0);
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

@compute @workgroup_size(256)
fn gelu_erf_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  let x = a[i];
  o[i] = 0.5 * x * erfc_(-x * INV_SQRT2);
}

@compute @workgroup_size(256)
fn gelu_erf_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  let x = a[i];
  let cdf = 0.5 * erfc_(-x * INV_SQRT2);
  let pdf = INV_SQRT_2PI * exp(max(-0.5 * x * x, -100.0));
  o[i] = b[i] * (cdf + x * pdf);
}

@compute @workgroup_size(256)
fn swiglu_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  let g = a[i];
  o[i] = g * sigmoid(g) * b[i];
}

@compute @workgroup_size(256)
fn swiglu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wg, nwg, lid);
  if (i >= P.n) { return; }
  let g = a[i];
  let s = sigmoid(g);
  let dh = c[i];
  o[i] = dh * b[i] * s * (1.0 + g * (1.0 - s));
  o2[i] = dh * g * s;
}
