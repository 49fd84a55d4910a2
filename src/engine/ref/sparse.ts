/** CPU twin of shaders/sparse.wgsl: gather and scatter-axpy by an index list (float32 rounding as the GPU's fma). */

export function gather(src: ArrayLike<number>, idx: ArrayLike<number>, n = idx.length): Float32Array {
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) out[j] = src[idx[j]];
  return out;
}

/** dst[idx[j]] += alpha·src[j] in place; indices distinct. */
export function scatterAxpy(
  src: ArrayLike<number>,
  idx: ArrayLike<number>,
  dst: Float32Array,
  alpha: number,
  n = idx.length,
): Float32Array {
  for (let j = 0; j < n; j++) dst[idx[j]] = Math.fround(Math.fround(alpha) * src[j] + dst[idx[j]]);
  return dst;
}
