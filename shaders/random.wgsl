// Random family: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11, "Parallel random numbers: as easy
// as 1, 2, 3", §4.2) bit for bit as src/engine/rng.ts, so a stream drawn on the GPU equals the CPU
// stream with the same (seed, purpose):
//
//   block i of stream (seed, purpose) = philox4x32(ctr = (lo32(i), hi32(i), 0, 0),
//                                                 key = (seed, purposeTag(purpose)))   // Rng.block(i)
//   word w of the stream               = block(w / 4)[w % 4]                           // Rng.nextU32()
//   uniform                            = ((word >> 8) + 0.5) / 2^24  in (0, 1)          // u32ToUnit
//   normals 4i..4i+3                    = Box–Muller on (word 4i, 4i+1) then (4i+2, 4i+3): cos first,
//                                        then sin, exactly the order of Rng.normal()
//
// The helpers (philox4x32, rnd_unit, rnd_box_muller) are shared through `// #include "random"`
// (see src/gpu/shaders.ts); rsvd.wgsl draws its Gaussian sketch with them.
//
// Precision of the normals. WGSL's built-in log/sin/cos only promise an absolute error of 2^-21 and
// 2^-11 on the ranges used here, and Box–Muller amplifies the log error near u1 = 1 (d√(-2 ln u) blows
// up). So the transcendental parts are computed from the exact integer form of the uniforms instead:
//   - u = (2x+1)/2^25 with x = word >> 8, so ln u = (e - 25)·ln 2 + log1p(z) with z = n/2^e - 1 formed
//     exactly in integers and log1p by the Cephes logf polynomial on [√½ - 1, √2 - 1];
//   - 2π·u2 is reduced to an octant exactly in integers (quadrant = top 2 bits of the 25-bit numerator),
//     then sin/cos by the Cephes sinf/cosf polynomials on [0, π/4].
// Result: the normals agree with the float64 CPU stream to a few float32 ulps (tests: ≤ 1e-6 absolute).
//
// Entry points (@group(0): binding 0 uniform RandomParams, binding 1 `rnd_out` read_write):
//   random_u32      — `rnd_out_u32` (the same binding 1 as array<u32>): word w of the stream, w < count.
//   random_uniform  — rnd_out[w] = a + b · uniform(w).  (a = 0, b = 1 gives Rng.uniform() bit for bit.)
//   random_normal   — rnd_out[w] = a + b · normal(w).   (a = mean, b = std, like Rng.fillNormal.)
// Stream position: words are counted from block (ctrLo, ctrHi) = Rng's counterStart, so
// `new Rng(seed, purpose, c0)` and ctr = c0 agree (64-bit carry handled).
// Dispatch geometry: one invocation per block of 4 words; workgroup (64,1,1); grid
// flatGrid(ceil(blocks/64)) (src/gpu/grid.ts: ≤ 65535 per dimension, 2D-folded); the flat block index is
// gid.x + gid.y · (num_workgroups.x · 64).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// 32×32 → 64-bit product as (hi, lo), from 16-bit halves (WGSL has no 64-bit integers).
fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
  let aH = a >> 16u;
  let aL = a & 0xFFFFu;
  let bH = b >> 16u;
  let bL = b & 0xFFFFu;
  let ll = aL * bL;
  let lh = aL * bH;
  let hl = aH * bL;
  let hh = aH * bH;
  let mid = (ll >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  let lo = (mid << 16u) | (ll & 0xFFFFu);
  let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, lo);
}

// Philox4x32 with 10 rounds (the "-10" of Philox4x32-10).
fn philox4x32(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var x = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = philox_mulhilo(PHILOX_M0, x.x);
    let p1 = philox_mulhilo(PHILOX_M1, x.z);
    x = vec4<u32>(p1.x ^ x.y ^ k.x, p1.y, p0.x ^ x.w ^ k.y, p0.y);
    k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
  }
  return x;
}

// Block `i` (64-bit: lo, hi) of the stream with key (k0, k1): exactly Rng.block(i).
fn philox_block(lo: u32, hi: u32, k0: u32, k1: u32) -> vec4<u32> {
  return philox4x32(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(k0, k1));
}

// u32 → (0, 1): 24 high bits plus half a step. The sum is formed in f32 and rounds once, to the same
// float32 as Math.fround(u32ToUnit(w)).
fn rnd_unit(w: u32) -> f32 {
  return (f32(w >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// ln(1 + z) for z in [√½ - 1, √2 - 1] plus fe·ln 2 (Cephes logf, split ln 2 = 0.693359375 - 2.12194440e-4).
fn rnd_log1p_plus(z: f32, fe: f32) -> f32 {
  let zz = z * z;
  var y = 7.0376836292e-2;
  y = y * z - 1.1514610310e-1;
  y = y * z + 1.1676998740e-1;
  y = y * z - 1.2420140846e-1;
  y = y * z + 1.4249322787e-1;
  y = y * z - 1.6668057665e-1;
  y = y * z + 2.0000714765e-1;
  y = y * z - 2.4999993993e-1;
  y = y * z + 3.3333331174e-1;
  y = y * z * zz;
  y = y + fe * -2.12194440e-4;
  y = y - 0.5 * zz;
  var r = z + y;
  r = r + fe * 0.693359375;
  return r;
}

// -2·ln(u) for u = rnd_unit(w), computed from the exact 25-bit numerator n = 2·(w >> 8) + 1.
fn rnd_neg2log(w: u32) -> f32 {
  let n = ((w >> 8u) << 1u) | 1u;            // u = n / 2^25, n odd, 1 ≤ n < 2^25
  let e = firstLeadingBit(n);                // n in [2^e, 2^(e+1))
  let nn = n << (31u - e);                   // n normalised to [2^31, 2^32)
  var ee = e;
  if (nn >= 0xB504F334u) { ee = e + 1u; }    // mantissa ≥ √2: use the next exponent, mantissa in [√½, 1)
  let num = i32(n) - i32(1u << ee);          // |num| < 2^24: exact in f32
  let z = ldexp(f32(num), -i32(ee));         // n / 2^ee - 1, exact
  let lg = rnd_log1p_plus(z, f32(i32(ee) - 25));
  return -2.0 * lg;
}

// sin and cos of x in [0, π/4] (Cephes sinf/cosf polynomials).
fn rnd_sincos_oct(x: f32) -> vec2<f32> {
  let z = x * x;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * x + x;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  return vec2<f32>(s, c);
}

// (cos, sin)(2π·u) for u = rnd_unit(w), reduced exactly in integers.
fn rnd_cossin_turn(w: u32) -> vec2<f32> {
  let n = ((w >> 8u) << 1u) | 1u;            // angle = 2π · n / 2^25
  let quadrant = n >> 23u;                   // 0..3
  let r = n & 0x7FFFFFu;                     // angle within quadrant = r · (π/2) / 2^23
  let PI_OVER_2_23 = 1.8725351414659817e-7;  // (π/2) / 2^23
  var s: f32;
  var c: f32;
  if (r <= 0x400000u) {
    let sc = rnd_sincos_oct(f32(r) * PI_OVER_2_23);
    s = sc.x;
    c = sc.y;
  } else {
    let sc = rnd_sincos_oct(f32(0x800000u - r) * PI_OVER_2_23); // π/2 - angle
    s = sc.y;
    c = sc.x;
  }
  switch (quadrant) {
    case 0u: { return vec2<f32>(c, s); }
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

// Box–Muller on a pair of words: (rad·cos, rad·sin), the order Rng.normal() returns them.
fn rnd_box_muller(w1: u32, w2: u32) -> vec2<f32> {
  let rad = sqrt(rnd_neg2log(w1));
  return rad * rnd_cossin_turn(w2);
}

// The four normals of one block.
fn rnd_normal4(b: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(rnd_box_muller(b.x, b.y), rnd_box_muller(b.z, b.w));
}

// 64-bit counter base + 32-bit offset, with carry.
fn rnd_ctr_add(lo: u32, hi: u32, off: u32) -> vec2<u32> {
  let s = lo + off;
  var h = hi;
  if (s < lo) { h = h + 1u; }
  return vec2<u32>(s, h);
}

struct RandomParams {
  count: u32,   // words (values) to write
  k0: u32,      // seed
  k1: u32,      // purposeTag(purpose)
  ctrLo: u32,   // first block, low word (Rng counterStart)
  ctrHi: u32,   // first block, high word
  outOffset: u32,
  a: f32,       // value = a + b·x
  b: f32,
};

@group(0) @binding(0) var<uniform> rnd_P: RandomParams;
@group(0) @binding(1) var<storage, read_write> rnd_out: array<f32>;
// The same binding seen as words, for random_u32 only (NaN bit patterns must not pass through f32).
@group(0) @binding(1) var<storage, read_write> rnd_out_u32: array<u32>;

fn rnd_block_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64, 1, 1)
fn random_u32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let bi = rnd_block_index(gid, nwg);
  if (bi * 4u >= rnd_P.count) { return; }
  let c = rnd_ctr_add(rnd_P.ctrLo, rnd_P.ctrHi, bi);
  let w = philox_block(c.x, c.y, rnd_P.k0, rnd_P.k1);
  for (var t = 0u; t < 4u; t++) {
    let idx = bi * 4u + t;
    if (idx < rnd_P.count) { rnd_out_u32[rnd_P.outOffset + idx] = w[t]; }
  }
}

@compute @workgroup_size(64, 1, 1)
fn random_uniform(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let bi = rnd_block_index(gid, nwg);
  if (bi * 4u >= rnd_P.count) { return; }
  let c = rnd_ctr_add(rnd_P.ctrLo, rnd_P.ctrHi, bi);
  let w = philox_block(c.x, c.y, rnd_P.k0, rnd_P.k1);
  for (var t = 0u; t < 4u; t++) {
    let idx = bi * 4u + t;
    if (idx < rnd_P.count) { rnd_out[rnd_P.outOffset + idx] = rnd_P.a + rnd_P.b * rnd_unit(w[t]); }
  }
}

@compute @workgroup_size(64, 1, 1)
fn random_normal(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let bi = rnd_block_index(gid, nwg);
  if (bi * 4u >= rnd_P.count) { return; }
  let c = rnd_ctr_add(rnd_P.ctrLo, rnd_P.ctrHi, bi);
  let v = rnd_normal4(philox_block(c.x, c.y, rnd_P.k0, rnd_P.k1));
  for (var t = 0u; t < 4u; t++) {
    let idx = bi * 4u + t;
    if (idx < rnd_P.count) { rnd_out[rnd_P.outOffset + idx] = rnd_P.a + rnd_P.b * v[t]; }
  }
}
