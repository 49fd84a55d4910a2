/**
 * RNG purpose tags: the leaf both layers import. Every random stream in Rankscope is keyed by (seed,
 * purpose); the Philox key's second word is the purpose's tag, so the CPU stream (src/engine/rng.ts,
 * `Rng`) and the GPU fills (shaders/random.wgsl, shaders/rsvd.wgsl via src/gpu/kernels/rsvd.ts) draw
 * the same numbers for the same names. It lives in src/gpu, the bottom layer, because the GPU host code
 * needs it and src/gpu imports nothing above itself; it imports nothing.
 */

/** Stable 32-bit tag for a purpose string (FNV-1a), so streams are named, not numbered by hand. */
export function purposeTag(purpose: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < purpose.length; i++) {
    h ^= purpose.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The Gaussian sketch Ω of the randomized SVD; the GPU (rsvd_sketch) and the CPU oracle draw the same Ω. */
export const RSVD_SKETCH_PURPOSE = 'rsvd.sketch';
/** Fresh columns that replace deflated ones in the CholeskyQR passes of the randomized SVD. */
export const RSVD_REFILL_PURPOSE = 'rsvd.refill';
