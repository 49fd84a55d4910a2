// AdamW family: one optimizer step over a flat tensor, PyTorch torch.optim.AdamW semantics
// (decoupled weight decay, Loshchilov & Hutter 2019, Alg. 2; bias correction, Kingma & Ba 2015 §2):
//
//   g = grad·clip[1]                       (global-norm clip scale from shaders/reduce.wgsl)
//   m = β1·m + (1−β1)·g                    v = β2·v + (1−β2)·g²
//   param −= lr·lrScale·( (m/bc1)/(√(v/bc2) + eps) + weightDecay·param )
//
// Scalars that change every step (lr, β1, β2, eps, bc1 = 1−β1^t, bc2 = 1−β2^t) come from a small storage
// buffer the host writes once per step (src/gpu/kernels/adamw.ts writeStepScalars); the per-tensor
// uniform holds only (n, weightDecay, lrScale), so it is identical every step and stays cached.
//
// Entry point:
//   adamw_step — one invocation per element; workgroup 256; grid (gx, gy) = flatGrid(ceil(n/256), the
//                device's per-dimension limit) (src/gpu/grid.ts) and element index (wg.y·gx + wg.x)·256 + lid,
//                so tensors past 16.7M elements fit.
// Bindings (group 0):
//   0 uniform P { n, weightDecay, lrScale }
//   1 param  read_write  (n)
//   2 grad   read        (n)
//   3 m      read_write  (n)   first moment
//   4 v      read_write  (n)   second moment
//   5 clip   read        (2)   [globalNorm, clipScale]
//   6 step   read        (8)   [lr, beta1, beta2, eps, bc1, bc2, 1−beta1, 1−beta2]
//
// Non-finite guard: when the global norm clip[0] is NaN or ±Inf (some gradient anywhere in the step
// is non-finite), every invocation returns WITHOUT touching param, m or v, so the trainer can report
// NonFiniteError with the parameters and moments of the last good step intact. The test is on the bit
// pattern (exponent all ones) because WGSL lets compilers assume floats are finite and fold isNan-style
// comparisons away. (Without it the clip scale min(1, maxNorm/Inf) = 0 would still move every param by
// its momentum, and a NaN norm would write NaN everywhere.)
//
// 1−β is passed from the host (computed in float64, like PyTorch's Python-side `1 - beta2`): in float32,
// 1 − f32(0.999) is off by 1.3e-5 relative, which would bias v by that much.

struct Params {
  n: u32,
  weightDecay: f32,
  lrScale: f32,
  _pad: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> clip: array<f32>;
@group(0) @binding(6) var<storage, read> step: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn adamw_step(@builtin(workgroup_id) wg: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid;
  if (i >= P.n) { return; }
  if ((bitcast<u32>(clip[0]) & 0x7f800000u) == 0x7f800000u) { return; } // non-finite global norm: skip (see header)
  let lr = step[0] * P.lrScale;
  let beta1 = step[1];
  let beta2 = step[2];
  let eps = step[3];
  let bc1 = step[4];
  let bc2 = step[5];
  let omb1 = step[6];
  let omb2 = step[7];
  let g = grad[i] * clip[1];
  let mi = beta1 * m[i] + omb1 * g;
  let vi = beta2 * v[i] + omb2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let p = param[i];
  param[i] = p - lr * ((mi / bc1) / (sqrt(vi / bc2) + eps) + P.weightDecay * p);
}
