/**
 * The vera kernel family (shaders/vera.wgsl) against its CPU reference (src/engine/ref/vera.ts), and
 * the whole VeRA branch (src/engine/adapters/vera-adapter.ts) on the GPU against the float64 reference,
 * whose backward is itself checked against central finite differences. Awkward shapes (1, 7, 33, 127).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import { veraGradB, veraGradD, veraScaleB } from '../../src/gpu/kernels/vera';
import * as ref from '../../src/engine/ref/vera';
import { VeraAdapter } from '../../src/engine/adapters/vera-adapter';
import type { Linear } from '../../src/engine/model/linear';

describe('vera kernels: GPU vs CPU reference', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  for (const [outDim, r, extraRows] of [
    [1, 1, 0],
    [7, 3, 2],
    [33, 7, 0],
    [127, 33, 5],
    [130, 64, 1],
  ] as const) {
    it(`scale_b, grad_b, grad_d at out=${outDim}, r=${r}`, async () => {
      const B = randn((outDim + extraRows) * r, 1, 1, 'vera-B'),
        lb = randn(outDim, 2),
        ld = randn(r, 3);
      const G = randn(outDim * r, 4),
        dlb0 = randn(outDim, 5),
        dld0 = randn(r, 6);
      const t = (x: Float32Array, label: string) => gpu.upload(x, [x.length], label);
      const [tB, tlb, tld, tG, tdlb, tdld] = [
        t(B, 'B'),
        t(lb, 'lb'),
        t(ld, 'ld'),
        t(G, 'G'),
        t(dlb0, 'dlb'),
        t(dld0, 'dld'),
      ];
      const beff = gpu.tensor([outDim, r], 'beff');
      const enc = gpu.encoder('vera parity');
      veraScaleB(enc, { B: tB, lb: tlb, ld: tld, beff, outDim, r });
      veraGradB(enc, { G: tG, B: tB, ld: tld, dlb: tdlb, outDim, r });
      veraGradD(enc, { G: tG, B: tB, lb: tlb, dld: tdld, outDim, r });
      enc.submit();
      expectClose(await gpu.read(beff), ref.veraScaleB(B, lb, ld, outDim, r), { label: 'Beff' });
      expectClose(await gpu.read(tdlb), ref.veraGradB(G, B, ld, dlb0, outDim, r), { atol: 1e-4, label: 'dλ_b' });
      expectClose(await gpu.read(tdld), ref.veraGradD(G, B, lb, dld0, outDim, r), { atol: 1e-4, label: 'dλ_d' });
      // Deterministic: the same reduction twice gives the same bits.
      const again = gpu.upload(dld0, [r], 'dld2');
      const e2 = gpu.encoder('vera again');
      veraGradD(e2, { G: tG, B: tB, lb: tlb, dld: again, outDim, r });
      e2.submit();
      expect(Array.from(await gpu.read(again))).toEqual(Array.from(await gpu.read(tdld)));
      for (const x of [tB, tlb, tld, tG, tdlb, tdld, beff, again]) gpu.release(x);
    });
  }
});

describe('VeRA branch: GPU adapter vs float64 reference vs finite differences', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('forward, dλ_b, dλ_d and dx on a 7→33 layer sliced from 9×40 shared projections (N = 5, r = 6)', async () => {
    const N = 5,
      inDim = 7,
      outDim = 33,
      r = 6,
      maxIn = 9,
      maxOut = 40;
    const A = randn(r * maxIn, 11, 0.5),
      B = randn(maxOut * r, 12, 0.5);
    const W = randn(inDim * outDim, 13, 0.3),
      bias = randn(outDim, 14, 0.1);
    const lb = randn(outDim, 15, 0.7),
      ld = randn(r, 16, 0.7);
    const x = randn(N * inDim, 17),
      dy = randn(N * outDim, 18);
    const layer: Linear = {
      name: 'test.lin',
      inDim,
      outDim,
      weight: gpu.upload(W, [inDim, outDim], 'W'),
      bias: gpu.upload(bias, [outDim], 'b'),
      dWeight: null,
      dBias: null,
      adapter: null,
    };
    const shared = {
      r,
      maxIn,
      maxOut,
      A: gpu.upload(A, [r, maxIn], 'vera_A'),
      B: gpu.upload(B, [maxOut, r], 'vera_B'),
    };
    const ad = new VeraAdapter(gpu, layer, shared, { lambdaD: ld, lambdaB: lb });
    const tx = gpu.upload(x, [N, inDim], 'x'),
      tdy = gpu.upload(dy, [N, outDim], 'dy');
    const ty = gpu.tensor([N, outDim], 'y'),
      tdx = gpu.tensor([N, inDim], 'dx');
    const enc = gpu.encoder('vera branch');
    ad.zeroGrads(enc);
    ad.forward(enc, layer, tx, ty, N);
    ad.backward(enc, layer, tx, tdy, tdx, N);
    enc.submit();

    const branch: ref.VeraBranch = { N, inDim, outDim, r, lda: maxIn, A, B, lb, ld };
    const u = ref.veraBranchForwardF64(branch, x);
    const yRef = new Float64Array(N * outDim);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < outDim; o++) {
        let acc = bias[o] + u[n * outDim + o];
        for (let i = 0; i < inDim; i++) acc += x[n * inDim + i] * W[i * outDim + o];
        yRef[n * outDim + o] = acc;
      }
    expectClose(await gpu.read(ty), yRef, { atol: 1e-4, label: 'y' });

    const g = ref.veraBranchBackwardF64(branch, x, dy);
    expectClose(await gpu.read(ad.dLambdaB), g.dlb, { atol: 1e-4, label: 'dλ_b' });
    expectClose(await gpu.read(ad.dLambdaD), g.dld, { atol: 1e-4, label: 'dλ_d' });
    const dxRef = Float64Array.from(g.dx);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < inDim; i++)
        for (let o = 0; o < outDim; o++) dxRef[n * inDim + i] += dy[n * outDim + o] * W[i * outDim + o];
    expectClose(await gpu.read(tdx), dxRef, { atol: 1e-4, label: 'dx' });

    // The reference backward against finite differences of the reference forward.
    const fdLb = numericGrad((v) => dot(dy, ref.veraBranchForwardF64({ ...branch, lb: v }, x)), lb);
    const fdLd = numericGrad((v) => dot(dy, ref.veraBranchForwardF64({ ...branch, ld: v }, x)), ld);
    const fdX = numericGrad((v) => dot(dy, ref.veraBranchForwardF64(branch, v)), x);
    expectClose(g.dlb, fdLb, { atol: 1e-6, rtol: 1e-5, label: 'ref dλ_b vs FD' });
    expectClose(g.dld, fdLd, { atol: 1e-6, rtol: 1e-5, label: 'ref dλ_d vs FD' });
    expectClose(g.dx, fdX, { atol: 1e-6, rtol: 1e-5, label: 'ref dx vs FD' });

    // ΔW (in, out) from delta() equals the reference branch applied to the identity.
    const eye = new Float32Array(inDim * inDim);
    for (let i = 0; i < inDim; i++) eye[i * inDim + i] = 1;
    expectClose(await ad.delta(), ref.veraBranchForwardF64({ ...branch, N: inDim }, eye), { atol: 1e-5, label: 'ΔW' });
    ad.dispose();
    for (const t of [tx, tdy, ty, tdx, shared.A, shared.B, layer.weight, layer.bias!]) gpu.release(t);
  });
});
