import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import {
  sumInto,
  sumSquaresInto,
  maxAbsInto,
  globalNormClip,
  reducePlan,
  MAX_CHUNKS,
} from '../../src/gpu/kernels/reduce';
import { sumRef, sumSquaresRef, maxAbsRef, globalNormClipRef } from '../../src/engine/ref/reduce';

const SIZES = [1, 7, 1000, 300000];

/** Runs the three reductions of x into slots 1, 2, 3 of a 5-slot output (0 and 4 must stay untouched). */
async function reduceAll(gpu: Gpu, x: Float32Array, n = x.length, offset = 0) {
  const tx = gpu.upload(x, [x.length], 'x');
  const out = gpu.upload(new Float32Array(5).fill(-7), [5], 'out');
  const enc = gpu.encoder('reduce-test');
  sumInto(enc, { x: tx, n, offset, out, slot: 1 });
  sumSquaresInto(enc, { x: tx, n, offset, partials: out, slot: 2 });
  maxAbsInto(enc, { x: tx, n, offset, out, slot: 3 });
  enc.submit();
  const got = await gpu.read(out);
  gpu.release(tx);
  gpu.release(out);
  return got;
}

describe('reductions vs CPU reference', () => {
  for (const n of SIZES) {
    it(`n = ${n} (${reducePlan(n).chunks} chunk${reducePlan(n).chunks > 1 ? 's, two levels' : ''}), bit-identical across runs`, async () => {
      const gpu = await testGpu();
      const x = randn(n, n, 1, 'reduce');
      for (let i = 0; i < n; i += 97) x[i] += 0.5; // a nonzero mean so Σ x is not pure cancellation
      const got = await reduceAll(gpu, x);
      let absSum = 0;
      for (let i = 0; i < n; i++) absSum += Math.abs(x[i]);
      expect(got[0]).toBe(-7);
      expect(got[4]).toBe(-7);
      expectClose([got[1]], [sumRef(x)], { atol: 1e-6 * absSum, rtol: 0, label: `sum n=${n}` });
      expectClose([got[2]], [sumSquaresRef(x)], { atol: 0, rtol: 1e-5, label: `sumSquares n=${n}` });
      expect(got[3]).toBe(maxAbsRef(x)); // max is exact
      const again = await reduceAll(gpu, x);
      expect(new Uint32Array(again.buffer)).toEqual(new Uint32Array(got.buffer));
    });
  }

  it('n = 0 gives 0; offset and n select a window', async () => {
    const gpu = await testGpu();
    const x = randn(2000, 3, 1, 'win');
    const empty = await reduceAll(gpu, x, 0);
    expect(Array.from(empty.subarray(1, 4))).toEqual([0, 0, 0]);
    const win = x.subarray(333, 333 + 1001);
    const got = await reduceAll(gpu, x, 1001, 333);
    expectClose([got[1], got[2], got[3]], [sumRef(win), sumSquaresRef(win), maxAbsRef(win)], {
      atol: 1e-4,
      rtol: 1e-5,
      label: 'window',
    });
  });

  it('plan: ≤ MAX_CHUNKS chunks of whole workgroups covering n exactly once (40M elements)', () => {
    for (const n of [1, 65536, 65537, 300000, 1 << 24, 40_000_000]) {
      const p = reducePlan(n);
      expect(p.chunks).toBeLessThanOrEqual(MAX_CHUNKS);
      expect(p.chunks * p.chunk).toBeGreaterThanOrEqual(n);
      expect((p.chunks - 1) * p.chunk).toBeLessThan(n);
      if (p.chunks > 1) expect(p.chunk % 256).toBe(0);
    }
  });
});

describe('global norm clip', () => {
  async function clipOf(gpu: Gpu, partials: Float32Array, maxNorm: number) {
    const tp = gpu.upload(partials, [partials.length], 'partials');
    const clip = gpu.tensor([2], 'clip');
    const enc = gpu.encoder('clip');
    globalNormClip(enc, { partials: tp, count: partials.length, maxNorm, clip });
    enc.submit();
    const got = await gpu.read(clip);
    gpu.release(tp);
    gpu.release(clip);
    return got;
  }

  it('scale = maxNorm/(norm + 1e-6) when norm > maxNorm', async () => {
    const gpu = await testGpu();
    const partials = Float32Array.of(9, 16, 0, 75); // Σ = 100, norm = 10
    const got = await clipOf(gpu, partials, 2.5);
    expectClose(got, [10, 2.5 / (10 + 1e-6)], { atol: 0, rtol: 1e-6, label: 'clipping' });
    expectClose(got, globalNormClipRef(partials, 2.5), { atol: 0, rtol: 1e-6, label: 'clipping vs ref' });
  });

  it('scale = 1 when norm ≤ maxNorm, and when maxNorm ≤ 0 (clipping off)', async () => {
    const gpu = await testGpu();
    const partials = Float32Array.of(0.25, 0.5, 0.25); // norm 1
    expect(Array.from(await clipOf(gpu, partials, 1.5))).toEqual([1, 1]);
    expect(Array.from(await clipOf(gpu, partials, 0))).toEqual([1, 1]);
    const big = Float32Array.of(1e6);
    expect(Array.from(await clipOf(gpu, big, -1))).toEqual([1000, 1]);
  });

  it('many partials (600 tensors) vs CPU', async () => {
    const gpu = await testGpu();
    const partials = randn(600, 9, 1, 'p').map((x) => x * x);
    expectClose(await clipOf(gpu, partials, 5), globalNormClipRef(partials, 5), {
      atol: 0,
      rtol: 1e-5,
      label: '600 partials',
    });
  });

  it('rejects aliasing and out-of-range slots', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor([4], 't');
    const enc = gpu.encoder('bad');
    expect(() => sumSquaresInto(enc, { x: t, partials: t, slot: 0 })).toThrow(/different buffers/);
    const out = gpu.tensor([2], 'out');
    expect(() => sumInto(enc, { x: t, out, slot: 2 })).toThrow(/slot/);
    expect(() => globalNormClip(enc, { partials: t, count: 5, maxNorm: 1, clip: out })).toThrow(/count/);
    enc.submit();
    gpu.release(t);
    gpu.release(out);
  });
});
