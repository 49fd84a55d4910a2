/**
 * Philox4x32-10 known-answer vectors from Random123 (Salmon et al., SC'11; kat_vectors in the Random123
 * distribution). Every random draw in Rankscope (weights, data order, adapter bases, rSVD sketches) comes
 * from this function, and the GPU's random.wgsl is checked word for word against it in tests/gpu/rsvd.test.ts,
 * so these vectors pin both.
 */
import { describe, expect, it } from 'vitest';
import { philox4x32, Rng } from '../../src/engine/rng';
import { purposeTag } from '../../src/gpu/purposes';

const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10 known answers', () => {
  it('matches Random123 for zero, all-ones and π-digit inputs', () => {
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const ones = 0xffffffff;
    expect(hex(philox4x32(ones, ones, ones, ones, ones, ones))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });

  it('purpose tags are FNV-1a and a stream is a pure function of (seed, purpose)', () => {
    expect(purposeTag('')).toBe(0x811c9dc5);
    expect(purposeTag('a')).toBe(0xe40c292c);
    const a = new Rng(7, 'init:wte.weight').fillNormal(new Float32Array(5));
    const b = new Rng(7, 'init:wte.weight').fillNormal(new Float32Array(5));
    const c = new Rng(7, 'init:wpe.weight').fillNormal(new Float32Array(5));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});
