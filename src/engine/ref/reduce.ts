/**
 * CPU reference for the reduce family: sums, sums of squares, max-abs and the global-norm clip
 * scale, in float64. The oracle for shaders/reduce.wgsl; shares no code with it.
 */

export function sumRef(x: ArrayLike<number>, n = x.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  return s;
}

export function sumSquaresRef(x: ArrayLike<number>, n = x.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

export function maxAbsRef(x: ArrayLike<number>, n = x.length): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/**
 * [global norm, clip scale] from per-tensor sums of squares: norm = √Σ partials,
 * scale = min(1, maxNorm/(norm + 1e-6)) (PyTorch `clip_grad_norm_`), or 1 when maxNorm ≤ 0 (no clipping).
 */
export function globalNormClipRef(partials: ArrayLike<number>, maxNorm: number, count = partials.length): Float32Array {
  const norm = Math.sqrt(sumRef(partials, count));
  const scale = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  return Float32Array.of(norm, scale);
}
