import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu, GpuTensor } from '../../src/gpu/device';
import { lowrankBackward, lowrankForward, type TilingClass } from '../../src/gpu/kernels/lowrank';
import * as R from '../../src/engine/ref/lowrank';

interface Case {
  N: number;
  inDim: number;
  outDim: number;
  r: number;
}

function data(c: Case, seed: number, withBias = true) {
  const { N, inDim, outDim, r } = c;
  return {
    x: randn(N * inDim, seed, 1, 'x'),
    W: randn(inDim * outDim, seed + 1, 0.3, 'W'),
    bias: withBias ? randn(outDim, seed + 2, 1, 'bias') : null,
    A: randn(r * inDim, seed + 3, 0.5, 'A'),
    B: randn(outDim * r, seed + 4, 0.5, 'B'),
    dy: randn(N * outDim, seed + 5, 1, 'dy'),
    scaling: 0.75,
  };
}

interface GpuOut {
  y: Float32Array;
  h: Float32Array;
  dx: Float32Array;
  dA: Float32Array;
  dB: Float32Array;
}

/** Forward and backward on the GPU; dA/dB start from `init` values (they accumulate), y/dx are overwritten. */
async function runGpu(
  gpu: Gpu,
  c: Case,
  d: ReturnType<typeof data>,
  o: { tiling?: TilingClass; init?: { dA: Float32Array; dB: Float32Array } } = {},
): Promise<GpuOut> {
  const { N, inDim, outDim, r } = c;
  const t: GpuTensor[] = [];
  const up = (v: Float32Array, shape: number[], label: string) => {
    const x = gpu.upload(v, shape, label);
    t.push(x);
    return x;
  };
  const x = up(d.x, [N, inDim], 'x'),
    W = up(d.W, [inDim, outDim], 'W'),
    A = up(d.A, [r, inDim], 'A'),
    B = up(d.B, [outDim, r], 'B');
  const bias = d.bias ? up(d.bias, [outDim], 'bias') : null;
  const dy = up(d.dy, [N, outDim], 'dy');
  const y = up(new Float32Array(N * outDim).fill(NaN), [N, outDim], 'y'); // overwritten: NaN must not leak
  const h = up(new Float32Array(N * r).fill(NaN), [N, r], 'h');
  const dh = up(new Float32Array(N * r).fill(NaN), [N, r], 'dh');
  const dx = up(new Float32Array(N * inDim).fill(NaN), [N, inDim], 'dx');
  const dA = up(o.init?.dA ?? new Float32Array(r * inDim), [r, inDim], 'dA');
  const dB = up(o.init?.dB ?? new Float32Array(outDim * r), [outDim, r], 'dB');
  const enc = gpu.encoder('lowrank-test');
  const dims = { N, inDim, outDim, r, scaling: d.scaling, tiling: o.tiling };
  lowrankForward(enc, { ...dims, x, W, bias, A, B, h, y });
  lowrankBackward(enc, { ...dims, x, W, A, B, h, dh, dy, dx, dA, dB });
  enc.submit();
  const out = {
    y: await gpu.read(y),
    h: await gpu.read(h),
    dx: await gpu.read(dx),
    dA: await gpu.read(dA),
    dB: await gpu.read(dB),
  };
  for (const x of t) gpu.release(x);
  return out;
}

function check(
  g: GpuOut,
  c: Case,
  d: ReturnType<typeof data>,
  label: string,
  init?: { dA: Float32Array; dB: Float32Array },
) {
  const f = R.lowrankForward({ ...c, scaling: d.scaling, x: d.x, W: d.W, bias: d.bias, A: d.A, B: d.B });
  const b = R.lowrankBackward({ ...c, scaling: d.scaling, x: d.x, W: d.W, A: d.A, B: d.B, h: f.h, dy: d.dy });
  const tol = { atol: 1e-4, rtol: 1e-4 };
  expectClose(g.h, f.h, { ...tol, label: `${label} h` });
  expectClose(g.y, f.y, { ...tol, label: `${label} y` });
  expectClose(g.dx, b.dx, { ...tol, label: `${label} dx` });
  expectClose(g.dA, init ? b.dA.map((v, i) => v + init.dA[i]) : b.dA, { ...tol, label: `${label} dA` });
  expectClose(g.dB, init ? b.dB.map((v, i) => v + init.dB[i]) : b.dB, { ...tol, label: `${label} dB` });
}

const DIMS = [1, 7, 33, 130];
const RANKS = [1, 4, 8, 64];

describe('fused low-rank kernels vs CPU reference', () => {
  // Every N × r, with (in, out) running over all 16 pairs across the r loop (each pair meets each N).
  for (const r of RANKS) {
    it(`forward + backward, r=${r}, N ∈ {1,7,33,130}, in/out ∈ {1,7,33,130}`, async () => {
      const gpu = await testGpu();
      for (const [ni, N] of DIMS.entries()) {
        for (const [ii, inDim] of DIMS.entries()) {
          const outDim = DIMS[(ii + ni + RANKS.indexOf(r)) % DIMS.length];
          const c = { N, inDim, outDim, r };
          const d = data(c, N * 1000 + inDim * 10 + outDim + r);
          check(await runGpu(gpu, c, d), c, d, JSON.stringify(c));
        }
      }
    });
  }

  it('vec4 output path (out % 4 == 0: 4 adjacent columns per invocation) on awkward N, in and ranks, both tilings', async () => {
    const gpu = await testGpu();
    for (const tiling of ['cpu', 'gpu'] as const) {
      for (const [N, inDim, outDim, r] of [
        [1, 7, 4, 1],
        [7, 33, 36, 8],
        [33, 130, 132, 64],
        [130, 1, 8, 4],
        [130, 33, 260, 8],
      ]) {
        const c = { N, inDim, outDim, r };
        const d = data(c, N + inDim + outDim + r + 17);
        check(await runGpu(gpu, c, d, { tiling }), c, d, `vec4 ${tiling} ${JSON.stringify(c)}`);
      }
    }
  });

  it('GPU tiling (64 lanes, CN = 2) on awkward shapes, accumulating dA/dB', async () => {
    const gpu = await testGpu();
    for (const c of [
      { N: 33, inDim: 130, outDim: 7, r: 8 },
      { N: 130, inDim: 33, outDim: 130, r: 64 },
      { N: 7, inDim: 1, outDim: 33, r: 4 },
      { N: 1, inDim: 130, outDim: 130, r: 1 },
    ]) {
      const d = data(c, c.N + c.inDim + c.outDim + c.r);
      const init = { dA: randn(c.r * c.inDim, 5, 1, 'dA0'), dB: randn(c.outDim * c.r, 6, 1, 'dB0') };
      check(await runGpu(gpu, c, d, { tiling: 'gpu', init }), c, d, `gpu-tiling ${JSON.stringify(c)}`, init);
    }
  });

  it('no bias; low-rank term only (W = null) accumulating into y and dx', async () => {
    const gpu = await testGpu();
    const c = { N: 33, inDim: 7, outDim: 132, r: 4 }; // out % 4 == 0: the vec4 path accumulates too
    const d = data(c, 77, false);
    check(await runGpu(gpu, c, d), c, d, 'no bias');
    // W = null, accumulate: y = y0 + s·h·Bᵀ, dx = dx0 + dh·A
    const { N, inDim, outDim, r } = c;
    const y0 = randn(N * outDim, 1, 1, 'y0'),
      dx0 = randn(N * inDim, 2, 1, 'dx0');
    const x = gpu.upload(d.x, [N, inDim], 'x'),
      A = gpu.upload(d.A, [r, inDim], 'A'),
      B = gpu.upload(d.B, [outDim, r], 'B');
    const dy = gpu.upload(d.dy, [N, outDim], 'dy'),
      y = gpu.upload(y0, [N, outDim], 'y'),
      dx = gpu.upload(dx0, [N, inDim], 'dx');
    const h = gpu.tensor([N, r], 'h'),
      dh = gpu.tensor([N, r], 'dh');
    const enc = gpu.encoder('lowrank-noW');
    const dims = { N, inDim, outDim, r, scaling: d.scaling };
    lowrankForward(enc, { ...dims, x, A, B, h, y, W: null, accumulate: true });
    lowrankBackward(enc, { ...dims, x, A, B, h, dh, dy, dx, dA: null, dB: null, W: null, accumulateDx: true });
    enc.submit();
    const f = R.lowrankForward({ ...dims, x: d.x, W: null, bias: null, A: d.A, B: d.B });
    const b = R.lowrankBackward({ ...dims, x: d.x, W: null, A: d.A, B: d.B, h: f.h, dy: d.dy });
    expectClose(
      await gpu.read(y),
      f.y.map((v, i) => v + y0[i]),
      { atol: 1e-4, rtol: 1e-4, label: 'y += low-rank' },
    );
    expectClose(
      await gpu.read(dx),
      b.dx.map((v, i) => v + dx0[i]),
      { atol: 1e-4, rtol: 1e-4, label: 'dx += dh·A' },
    );
    for (const t of [x, A, B, dy, y, dx, h, dh]) gpu.release(t);
  });

  it('nested prefix: active rank r < stored rank ldr (DyLoRA) uses only A[:r], B[:, :r]', async () => {
    const gpu = await testGpu();
    const N = 9,
      inDim = 20,
      outDim = 13,
      ldr = 8,
      r = 3,
      s = 1.5;
    const x = randn(N * inDim, 1),
      W = randn(inDim * outDim, 2, 0.3),
      A = randn(ldr * inDim, 3),
      B = randn(outDim * ldr, 4),
      dyv = randn(N * outDim, 5);
    const tx = gpu.upload(x, [N, inDim], 'x'),
      tW = gpu.upload(W, [inDim, outDim], 'W'),
      tA = gpu.upload(A, [ldr, inDim], 'A'),
      tB = gpu.upload(B, [outDim, ldr], 'B');
    const tdy = gpu.upload(dyv, [N, outDim], 'dy'),
      y = gpu.tensor([N, outDim], 'y'),
      h = gpu.tensor([N, ldr], 'h'),
      dh = gpu.tensor([N, ldr], 'dh');
    const dx = gpu.tensor([N, inDim], 'dx'),
      dA = gpu.zeros([ldr, inDim], 'dA'),
      dB = gpu.zeros([outDim, ldr], 'dB');
    const enc = gpu.encoder('prefix');
    const dims = { N, inDim, outDim, r, ldr, scaling: s };
    lowrankForward(enc, { ...dims, x: tx, W: tW, A: tA, B: tB, h, y });
    lowrankBackward(enc, { ...dims, x: tx, W: tW, A: tA, B: tB, h, dh, dy: tdy, dx, dA, dB });
    enc.submit();
    const Ar = A.slice(0, r * inDim),
      Br = new Float32Array(outDim * r);
    for (let o = 0; o < outDim; o++) for (let k = 0; k < r; k++) Br[o * r + k] = B[o * ldr + k];
    const f = R.lowrankForward({ N, inDim, outDim, r, scaling: s, x, W, bias: null, A: Ar, B: Br });
    const b = R.lowrankBackward({ N, inDim, outDim, r, scaling: s, x, W, A: Ar, B: Br, h: f.h, dy: dyv });
    expectClose(await gpu.read(y), f.y, { atol: 1e-4, rtol: 1e-4, label: 'prefix y' });
    expectClose(await gpu.read(dx), b.dx, { atol: 1e-4, rtol: 1e-4, label: 'prefix dx' });
    const gA = await gpu.read(dA),
      gB = await gpu.read(dB);
    expectClose(gA.slice(0, r * inDim), b.dA, { atol: 1e-4, rtol: 1e-4, label: 'prefix dA' });
    expect(gA.slice(r * inDim).every((v) => v === 0)).toBe(true); // components ≥ r get no gradient
    for (let o = 0; o < outDim; o++)
      for (let k = 0; k < ldr; k++) {
        if (k < r)
          expect(Math.abs(gB[o * ldr + k] - b.dB[o * r + k])).toBeLessThan(1e-4 + 1e-4 * Math.abs(b.dB[o * r + k]));
        else expect(gB[o * ldr + k]).toBe(0);
      }
    for (const t of [tx, tW, tA, tB, tdy, y, h, dh, dx, dA, dB]) gpu.release(t);
  });

  it('bit-identical run to run (no atomics)', async () => {
    const gpu = await testGpu();
    const c = { N: 130, inDim: 33, outDim: 130, r: 8 };
    const d = data(c, 5);
    const a = await runGpu(gpu, c, d),
      b = await runGpu(gpu, c, d);
    for (const k of ['y', 'dx', 'dA', 'dB'] as const)
      expect(Buffer.from(a[k].buffer).equals(Buffer.from(b[k].buffer)), k).toBe(true);
  });
});

describe('low-rank backward vs finite differences', () => {
  const c = { N: 5, inDim: 6, outDim: 7, r: 3 };
  const d = data(c, 11);
  const fwd = (o: Partial<{ x: ArrayLike<number>; A: ArrayLike<number>; B: ArrayLike<number> }>) =>
    dot(
      d.dy,
      R.lowrankForwardF64({
        ...c,
        scaling: d.scaling,
        x: o.x ?? d.x,
        W: d.W,
        bias: d.bias,
        A: o.A ?? d.A,
        B: o.B ?? d.B,
      }).y,
    );
  const fx = numericGrad((v) => fwd({ x: v }), d.x);
  const fA = numericGrad((v) => fwd({ A: v }), d.A);
  const fB = numericGrad((v) => fwd({ B: v }), d.B);
  const tol = { atol: 1e-4, rtol: 1e-3 };

  it('reference backward matches central differences', () => {
    const f = R.lowrankForwardF64({ ...c, scaling: d.scaling, x: d.x, W: d.W, bias: d.bias, A: d.A, B: d.B });
    const b = R.lowrankBackward({ ...c, scaling: d.scaling, x: d.x, W: d.W, A: d.A, B: d.B, h: f.h, dy: d.dy });
    expectClose(b.dx, fx, { ...tol, label: 'ref dx vs FD' });
    expectClose(b.dA, fA, { ...tol, label: 'ref dA vs FD' });
    expectClose(b.dB, fB, { ...tol, label: 'ref dB vs FD' });
  });

  it('GPU backward matches central differences (both tilings)', async () => {
    const gpu = await testGpu();
    for (const tiling of ['cpu', 'gpu'] as const) {
      const g = await runGpu(gpu, c, d, { tiling });
      expectClose(g.dx, fx, { ...tol, label: `GPU dx vs FD (${tiling})` });
      expectClose(g.dA, fA, { ...tol, label: `GPU dA vs FD (${tiling})` });
      expectClose(g.dB, fB, { ...tol, label: `GPU dB vs FD (${tiling})` });
    }
  });

  it('a wrong scale would fail: the FD check rejects dB computed with s = 1', () => {
    const f = R.lowrankForwardF64({ ...c, scaling: d.scaling, x: d.x, W: d.W, bias: d.bias, A: d.A, B: d.B });
    const b = R.lowrankBackward({ ...c, scaling: 1, x: d.x, W: d.W, A: d.A, B: d.B, h: f.h, dy: d.dy });
    const bad = b.dB.some((v, i) => Math.abs(v - fB[i]) > tol.atol + tol.rtol * Math.abs(fB[i]));
    expect(bad).toBe(true);
  });
});
