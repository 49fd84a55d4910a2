/**
 * CPU reference for the rope family (shaders/rope.wgsl): plain loops in float64, out of place.
 * The oracle for the GPU kernel; it computes its own cos/sin from inv_freq (no shared table code).
 *
 * transformers' apply_rotary_pos_emb with rotate_half, on the first rotDim dims of each head, for i < half:
 *   y[i] = x[i]·cos θ − x[i+half]·sin θ,   y[i+half] = x[i+half]·cos θ + x[i]·sin θ,   θ = f32(inv_freq[i]·pos)
 * inverse: the same with −θ (the backward). Layout as the host's: off + n·rowStride + h·headStride + i.
 */

export interface RopeRefArgs {
  x: ArrayLike<number>;
  invFreq: ArrayLike<number>; // rotDim/2 entries
  rows: number; // B·T
  T: number;
  nHeads: number;
  HS: number;
  rowStride?: number;
  headStride?: number;
  offset?: number;
  pos0?: number;
  inverse?: boolean;
}

/** A rotated copy of x (float64); elements outside the rotated dims are copied unchanged. */
export function ropeApplyF64(a: RopeRefArgs): Float64Array {
  const half = a.invFreq.length;
  const rowStride = a.rowStride ?? a.nHeads * a.HS;
  const headStride = a.headStride ?? a.HS;
  const off = a.offset ?? 0;
  const sign = a.inverse ? -1 : 1;
  const y = Float64Array.from(a.x);
  for (let n = 0; n < a.rows; n++) {
    const pos = (a.pos0 ?? 0) + (n % a.T);
    for (let h = 0; h < a.nHeads; h++)
      for (let i = 0; i < half; i++) {
        const th = Math.fround(a.invFreq[i] * pos);
        const c = Math.cos(th),
          s = sign * Math.sin(th);
        const j = off + n * rowStride + h * headStride + i;
        const x1 = a.x[j],
          x2 = a.x[j + half];
        y[j] = x1 * c - x2 * s;
        y[j + half] = x2 * c + x1 * s;
      }
  }
  return y;
}

export function ropeApply(a: RopeRefArgs): Float32Array {
  return Float32Array.from(ropeApplyF64(a));
}
