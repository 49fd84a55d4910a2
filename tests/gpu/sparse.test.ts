/** shaders/sparse.wgsl against its CPU twin (src/engine/ref/sparse.ts) on awkward sizes. */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { gather, scatterAxpy } from '../../src/gpu/kernels/sparse';
import * as ref from '../../src/engine/ref/sparse';
import { Rng } from '../../src/engine/rng';

/** n distinct indices below size, in a seeded random order. */
function distinct(n: number, size: number, seed: number): Uint32Array {
  const all = Uint32Array.from({ length: size }, (_, i) => i);
  const rng = new Rng(seed, 'sparse-test');
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, n);
}

describe('sparse kernels', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });
  for (const [n, size] of [
    [1, 1],
    [7, 33],
    [33, 127],
    [513, 70001],
  ])
    it(`gather and scatter-axpy, n = ${n} of ${size}`, async () => {
      const src = randn(size, n, 1),
        dst0 = randn(size, n + 1, 1),
        vals = randn(n, n + 2, 1);
      const idx = distinct(n, size, n);
      const tSrc = gpu.upload(src, [size], 'src'),
        tIdx = gpu.upload(idx, [n], 'idx'),
        tOut = gpu.zeros([n], 'out'),
        tVals = gpu.upload(vals, [n], 'vals'),
        tDst = gpu.upload(dst0, [size], 'dst');
      const enc = gpu.encoder('sparse-test');
      gather(enc, { src: tSrc, idx: tIdx, out: tOut, n });
      scatterAxpy(enc, { src: tVals, idx: tIdx, dst: tDst, n, alpha: -0.37 });
      enc.submit();
      const got = await gpu.read(tOut);
      expect(Array.from(got)).toEqual(Array.from(ref.gather(src, idx)));
      expectClose(await gpu.read(tDst), ref.scatterAxpy(vals, idx, dst0.slice(), -0.37), { atol: 1e-7, rtol: 1e-6 });
      for (const t of [tSrc, tIdx, tOut, tVals, tDst]) gpu.release(t);
    });
});
