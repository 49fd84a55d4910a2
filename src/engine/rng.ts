/**
 * Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11 "Parallel random numbers: as easy
 * as 1, 2, 3"). Every random draw in Rankscope is a pure function of (seed, purpose, counter): weight
 * initialisation, data order, adapter bases, randomized-SVD sketches. That is what makes a run link
 * reproduce bit-identical numbers, and it lets the GPU (shaders/random.wgsl) draw the same stream.
 *
 * Not cryptographic. The purpose tag (src/gpu/purposes.ts, shared with the GPU fills) keeps streams for different uses
 * independent under one seed.
 */

import { purposeTag } from '../gpu/purposes';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

function mulhilo(a: number, b: number): [number, number] {
  // 32x32 -> 64-bit product split into (hi, lo) using 16-bit halves: exact in float64.
  const aH = a >>> 16,
    aL = a & 0xffff,
    bH = b >>> 16,
    bL = b & 0xffff;
  const ll = aL * bL,
    lh = aL * bH,
    hl = aH * bL,
    hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const lo = ((mid & 0xffff) << 16) | (ll & 0xffff);
  const hi = hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16);
  return [hi >>> 0, lo >>> 0];
}

/** One Philox4x32-10 block: 4 counter words, 2 key words -> 4 random u32 words. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): Uint32Array {
  let x0 = c0 >>> 0,
    x1 = c1 >>> 0,
    x2 = c2 >>> 0,
    x3 = c3 >>> 0;
  let key0 = k0 >>> 0,
    key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(M0, x0);
    const [hi1, lo1] = mulhilo(M1, x2);
    const n0 = (hi1 ^ x1 ^ key0) >>> 0;
    const n1 = lo1;
    const n2 = (hi0 ^ x3 ^ key1) >>> 0;
    const n3 = lo0;
    x0 = n0;
    x1 = n1;
    x2 = n2;
    x3 = n3;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  return Uint32Array.of(x0, x1, x2, x3);
}

/** u32 -> uniform float in (0, 1): 24 high bits, offset by half a step so 0 and 1 never occur. */
export function u32ToUnit(u: number): number {
  return ((u >>> 8) + 0.5) / 16777216;
}

/**
 * A stream of random numbers for one (seed, purpose). Draws are indexed by a counter, so
 * `at(i)` is random access and two streams with the same key agree forever.
 */
export class Rng {
  readonly k0: number;
  readonly k1: number;
  private counter = 0;
  private buf: Uint32Array = new Uint32Array(4);
  private bufPos = 4;

  constructor(seed: number, purpose: string, counterStart = 0) {
    this.k0 = seed >>> 0;
    this.k1 = purposeTag(purpose);
    this.counter = counterStart;
  }

  /** The i-th block of 4 words of this stream. */
  block(i: number): Uint32Array {
    return philox4x32(i >>> 0, Math.floor(i / 4294967296) >>> 0, 0, 0, this.k0, this.k1);
  }

  nextU32(): number {
    if (this.bufPos === 4) {
      this.buf = this.block(this.counter++);
      this.bufPos = 0;
    }
    return this.buf[this.bufPos++];
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return u32ToUnit(this.nextU32());
  }

  /** Integer in [0, n). Slightly biased for huge n; fine for n < 2^24. */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal by Box–Muller (both outputs used in order). */
  private spare: number | null = null;
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u1 = this.uniform(),
      u2 = this.uniform();
    const rad = Math.sqrt(-2 * Math.log(u1));
    this.spare = rad * Math.sin(2 * Math.PI * u2);
    return rad * Math.cos(2 * Math.PI * u2);
  }

  fillNormal(out: Float32Array, std = 1, mean = 0): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  /** Fisher–Yates permutation of [0, n). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
