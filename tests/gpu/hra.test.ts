/**
 * HRA's kernel (shaders/hra.wgsl: column normalisation and its backward) against its CPU twin
 * (src/engine/ref/hra.ts) on awkward shapes, the twin's backward against finite differences, and the
 * whole HRA layer (src/engine/adapters/methods/hra.ts: reflections as rank-1 matmuls + the kernel)
 * against y = x·H_{r−1}⋯H_0·W + b with every backward checked by finite differences.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { numericGrad, dot, type Vec } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import type { Linear } from '../../src/engine/model/linear';
import { hraNormalize, hraNormalizeBackward } from '../../src/gpu/kernels/hra';
import * as R from '../../src/engine/ref/hra';
import { HraAdapter, hraInit } from '../../src/engine/adapters/methods/hra';

/** Σ c ⊙ normalize(U) in float64. */
function normLoss(U: Vec, c: ArrayLike<number>, inDim: number, r: number): number {
  let s = 0;
  for (let k = 0; k < r; k++) {
    let ss = 0;
    for (let i = 0; i < inDim; i++) ss += U[i * r + k] ** 2;
    const n = Math.sqrt(ss);
    for (let i = 0; i < inDim; i++) s += c[k * inDim + i] * (n === 0 ? 0 : U[i * r + k] / n);
  }
  return s;
}

describe('hra kernels', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  for (const [inDim, r] of [
    [1, 1],
    [33, 3],
    [257, 8],
    [16, 70],
  ])
    it(`normalize and its backward, in = ${inDim}, r = ${r} (one zero column)`, async () => {
      const U = randn(inDim * r, inDim + r, 1, 'U');
      if (r > 1) for (let i = 0; i < inDim; i++) U[i * r + 1] = 0;
      const dUt = randn(r * inDim, inDim + r + 1, 1, 'dUt');
      const dU0 = randn(inDim * r, inDim + r + 2, 1, 'dU0');
      const tU = gpu.upload(U, [inDim, r], 'U'),
        tUt = gpu.zeros([r, inDim], 'Ut'),
        tn = gpu.zeros([r], 'norm'),
        tdUt = gpu.upload(dUt, [r, inDim], 'dUt'),
        tdU = gpu.upload(dU0, [inDim, r], 'dU');
      const enc = gpu.encoder('hra-test');
      hraNormalize(enc, { U: tU, Ut: tUt, norm: tn, inDim, r });
      hraNormalizeBackward(enc, { dUt: tdUt, Ut: tUt, norm: tn, dU: tdU, inDim, r });
      enc.submit();
      const ref = R.hraNormalize(U, inDim, r);
      expectClose(await gpu.read(tUt), ref.Ut, { atol: 1e-6, rtol: 1e-5 });
      expectClose(await gpu.read(tn), ref.norm, { atol: 1e-6, rtol: 1e-5 });
      const refdU = R.hraNormalizeBackward(dUt, ref.Ut, ref.norm, dU0.slice(), inDim, r);
      expectClose(await gpu.read(tdU), refdU, { atol: 1e-5, rtol: 1e-4 });
      // the twin's backward is the gradient of Σ dÛ ⊙ normalize(U) (where U has no zero column: there
      // the normalisation is not differentiable and the kernel returns 0 by definition)
      if (inDim * r <= 300) {
        const V = randn(inDim * r, inDim + r + 3, 1, 'V');
        const refV = R.hraNormalize(V, inDim, r);
        const fd = numericGrad((u) => normLoss(u, dUt, inDim, r), V, 1e-4);
        const an = R.hraNormalizeBackward(dUt, refV.Ut, refV.norm, new Float32Array(inDim * r), inDim, r);
        expectClose(an, fd, { atol: 1e-3, rtol: 1e-3 });
      }
      for (const t of [tU, tUt, tn, tdUt, tdU]) gpu.release(t);
    });

  for (const [N, inDim, outDim, r] of [
    [3, 5, 7, 2],
    [9, 12, 5, 6],
    [17, 33, 20, 4],
  ])
    it(`HRA layer N=${N} in=${inDim} out=${outDim} r=${r}: forward, dx and dU vs the definition and finite differences`, async () => {
      const x = randn(N * inDim, 1, 1, 'x'),
        W = randn(inDim * outDim, 2, 0.4, 'W'),
        b = randn(outDim, 3, 1, 'b'),
        U = randn(inDim * r, 4, 1, 'U'),
        dy = randn(N * outDim, 5, 1, 'dy');
      const weight = gpu.upload(W, [inDim, outDim], 'W'),
        bias = gpu.upload(b, [outDim], 'b');
      const layer: Linear = { name: 'l', inDim, outDim, weight, bias, dWeight: null, dBias: null, adapter: null };
      const ad = new HraAdapter(gpu, layer, r, U);
      const tx = gpu.upload(x, [N, inDim], 'x'),
        ty = gpu.zeros([N, outDim], 'y'),
        tdy = gpu.upload(dy, [N, outDim], 'dy'),
        tdx = gpu.zeros([N, inDim], 'dx');
      const enc = gpu.encoder('hra-layer');
      ad.zeroGrads(enc);
      ad.forward(enc, layer, tx, ty, N);
      ad.backward(enc, layer, tx, tdy, tdx, N);
      enc.submit();
      const Wm = R.hraMergeF64(W, U, inDim, outDim, r);
      const fwd = (xv: ArrayLike<number>, Wv: ArrayLike<number>) => {
        const y = new Float64Array(N * outDim);
        for (let n = 0; n < N; n++)
          for (let o = 0; o < outDim; o++) {
            let s = b[o];
            for (let i = 0; i < inDim; i++) s += xv[n * inDim + i] * Wv[i * outDim + o];
            y[n * outDim + o] = s;
          }
        return y;
      };
      expectClose(await gpu.read(ty), fwd(x, Wm), { atol: 1e-4, rtol: 1e-4 });
      const fdx = numericGrad((xv) => dot(dy, fwd(xv, Wm)), x, 1e-3);
      expectClose(await gpu.read(tdx), fdx, { atol: 1e-3, rtol: 1e-3 });
      const fdU = numericGrad((uv) => dot(dy, fwd(x, R.hraMergeF64(W, uv, inDim, outDim, r))), U, 1e-4);
      expectClose(await gpu.read(ad.dU), fdU, { atol: 2e-3, rtol: 2e-3 });
      // without dx (first layer of a chain): the same dU
      const dU1 = await gpu.read(ad.dU);
      const enc2 = gpu.encoder('hra-layer no dx');
      ad.zeroGrads(enc2);
      ad.forward(enc2, layer, tx, ty, N);
      ad.backward(enc2, layer, tx, tdy, null, N);
      enc2.submit();
      expectClose(await gpu.read(ad.dU), dU1, { atol: 1e-6, rtol: 1e-6 });
      ad.dispose();
      for (const t of [weight, bias, tx, ty, tdy, tdx]) gpu.release(t);
    });

  it('PEFT init: paired columns make H = I, so the layer is unchanged', () => {
    const U = hraInit(7, 'h.0.attn.c_attn', 10, 6);
    const W = randn(10 * 4, 8, 1, 'W');
    const Wm = R.hraMerge(W, U, 10, 4, 6);
    for (let i = 0; i < W.length; i++) expect(Math.abs(Wm[i] - W[i])).toBeLessThan(1e-6);
    expect(() => hraInit(7, 'x', 10, 3)).toThrow(/even rank/);
  });
});
