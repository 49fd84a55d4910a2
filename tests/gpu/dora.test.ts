import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu, GpuTensor } from '../../src/gpu/device';
import type { Linear } from '../../src/engine/model/linear';
import { DoraAdapter } from '../../src/engine/adapters/dora-adapter';
import * as R from '../../src/engine/ref/dora';

interface Case {
  N: number;
  inDim: number;
  outDim: number;
  r: number;
}

function data(c: Case, seed: number) {
  const { N, inDim, outDim, r } = c;
  return {
    x: randn(N * inDim, seed, 1, 'x'),
    W: randn(inDim * outDim, seed + 1, 0.3, 'W'),
    bias: randn(outDim, seed + 2, 1, 'bias'),
    A: randn(r * inDim, seed + 3, 0.5, 'A'),
    B: randn(outDim * r, seed + 4, 0.5, 'B'),
    m: randn(outDim, seed + 5, 0.5, 'm').map((v) => 1 + v),
    dy: randn(N * outDim, seed + 6, 1, 'dy'),
    scaling: 0.7,
  };
}

/** One DoRA layer on the GPU with the given A, B, m: forward, then backward; grads start at zero. */
async function runLayer(gpu: Gpu, c: Case, d: ReturnType<typeof data>, fused = true) {
  const { N, inDim, outDim, r } = c;
  const weight = gpu.upload(d.W, [inDim, outDim], 'W'),
    bias = gpu.upload(d.bias, [outDim], 'b');
  const layer: Linear = { name: 'test', inDim, outDim, weight, bias, dWeight: null, dBias: null, adapter: null };
  const ad = await DoraAdapter.create(gpu, layer, { rank: r, scaling: d.scaling, A: d.A, B: d.B });
  const mInit = await gpu.read(ad.m);
  ad.core.fused = fused;
  gpu.write(ad.m, d.m);
  const x = gpu.upload(d.x, [N, inDim], 'x'),
    dy = gpu.upload(d.dy, [N, outDim], 'dy');
  const y = gpu.tensor([N, outDim], 'y'),
    dx = gpu.tensor([N, inDim], 'dx');
  const enc = gpu.encoder('dora-test');
  ad.zeroGrads(enc);
  ad.forward(enc, layer, x, y, N);
  ad.backward(enc, layer, x, dy, dx, N);
  enc.submit();
  const out = {
    mInit,
    y: await gpu.read(y),
    norm: await gpu.read(ad.norm),
    mns: await gpu.read(ad.mns),
    dx: await gpu.read(dx),
    dA: await gpu.read(ad.core.dA!),
    dB: await gpu.read(ad.core.dB!),
    dm: await gpu.read(ad.dm),
    merged: await ad.mergedWeight(),
  };
  ad.dispose();
  for (const t of [weight, bias, x, dy, y, dx] as GpuTensor[]) gpu.release(t);
  return out;
}

const tol = { atol: 2e-4, rtol: 2e-4 };

describe('DoRA layer (dora.wgsl + fused low-rank) vs CPU reference', () => {
  const cases: Case[] = [
    { N: 7, inDim: 33, outDim: 13, r: 4 },
    { N: 33, inDim: 7, outDim: 130, r: 1 },
    { N: 1, inDim: 130, outDim: 33, r: 8 },
    { N: 20, inDim: 16, outDim: 48, r: 16 },
  ];
  for (const c of cases) {
    it(`forward, norm, backward ${JSON.stringify(c)} (fused and unfused low-rank core)`, async () => {
      const gpu = await testGpu();
      const d = data(c, c.N * 31 + c.inDim + c.r);
      const args = { ...c, scaling: d.scaling, x: d.x, W: d.W, bias: d.bias, A: d.A, B: d.B, m: d.m };
      const f = R.doraForward(args);
      const b = R.doraBackward({
        ...c,
        scaling: d.scaling,
        x: d.x,
        W: d.W,
        A: d.A,
        B: d.B,
        z: f.z,
        h: f.h,
        norm: f.norm,
        mns: f.mns,
        dy: d.dy,
      });
      for (const fused of [true, false]) {
        const g = await runLayer(gpu, c, d, fused);
        const L = `${JSON.stringify(c)} fused=${fused}`;
        // m at init is the norm of W + s·B·A with the initial (here non-zero) B: PEFT's init rule.
        expectClose(g.mInit, R.doraColumnNorms(d.W, d.A, d.B, c.inDim, c.outDim, c.r, d.scaling), {
          ...tol,
          label: `${L} m init`,
        });
        expectClose(g.norm, f.norm, { ...tol, label: `${L} norm` });
        expectClose(g.mns, f.mns, { ...tol, label: `${L} m/norm` });
        expectClose(g.y, f.y, { ...tol, label: `${L} y` });
        expectClose(g.dx, b.dx, { ...tol, label: `${L} dx` });
        expectClose(g.dA, b.dA, { ...tol, label: `${L} dA` });
        expectClose(g.dB, b.dB, { ...tol, label: `${L} dB` });
        expectClose(g.dm, b.dm, { ...tol, label: `${L} dm` });
        expectClose(g.merged, R.doraMergeRef(d.W, deltaOf(d, c), d.m, c.inDim, c.outDim), {
          ...tol,
          label: `${L} merged W'`,
        });
      }
    });
  }

  it('B = 0 at init: m = column norms of W, so y = x·W + b (function unchanged)', async () => {
    const gpu = await testGpu();
    const c = { N: 5, inDim: 12, outDim: 9, r: 3 };
    const d = data(c, 3);
    const B0 = new Float32Array(c.outDim * c.r);
    const weight = gpu.upload(d.W, [c.inDim, c.outDim], 'W'),
      bias = gpu.upload(d.bias, [c.outDim], 'b');
    const layer: Linear = {
      name: 't',
      inDim: c.inDim,
      outDim: c.outDim,
      weight,
      bias,
      dWeight: null,
      dBias: null,
      adapter: null,
    };
    const ad = await DoraAdapter.create(gpu, layer, { rank: c.r, scaling: 2, A: d.A, B: B0 });
    const x = gpu.upload(d.x, [c.N, c.inDim], 'x'),
      y = gpu.tensor([c.N, c.outDim], 'y');
    const enc = gpu.encoder('dora-init');
    ad.forward(enc, layer, x, y, c.N);
    enc.submit();
    const plain = new Float32Array(c.N * c.outDim);
    for (let n = 0; n < c.N; n++)
      for (let o = 0; o < c.outDim; o++) {
        let s = d.bias[o];
        for (let i = 0; i < c.inDim; i++) s += d.x[n * c.inDim + i] * d.W[i * c.outDim + o];
        plain[n * c.outDim + o] = s;
      }
    expectClose(await gpu.read(y), plain, { atol: 1e-5, rtol: 1e-5, label: 'DoRA at init = base layer' });
    const norms = new Float32Array(c.outDim);
    for (let o = 0; o < c.outDim; o++) {
      let s = 0;
      for (let i = 0; i < c.inDim; i++) s += d.W[i * c.outDim + o] ** 2;
      norms[o] = Math.sqrt(s);
    }
    expectClose(await gpu.read(ad.m), norms, { atol: 1e-6, rtol: 1e-5, label: 'm = ‖W[:, o]‖' });
    expectClose(await gpu.read(ad.mns), new Float32Array(c.outDim).fill(1), {
      atol: 1e-6,
      rtol: 0,
      label: 'm/‖W‖ = 1',
    });
    ad.dispose();
    for (const t of [weight, bias, x, y]) gpu.release(t);
  });

  it('a zero column of W + ΔW gives scale 0, not NaN', async () => {
    const gpu = await testGpu();
    const c = { N: 3, inDim: 4, outDim: 3, r: 1 };
    const d = data(c, 9);
    for (let i = 0; i < c.inDim; i++) d.W[i * c.outDim + 1] = 0;
    const B = new Float32Array(c.outDim * c.r);
    const g = await runLayer(gpu, c, { ...d, B }, true);
    expect(g.norm[1]).toBe(0);
    expect(g.mns[1]).toBe(0);
    for (const v of [...g.y, ...g.dx, ...g.dm, ...g.dA, ...g.dB]) expect(Number.isFinite(v)).toBe(true);
  });
});

function deltaOf(d: ReturnType<typeof data>, c: Case): Float32Array {
  const out = new Float32Array(c.inDim * c.outDim);
  for (let i = 0; i < c.inDim; i++)
    for (let o = 0; o < c.outDim; o++) {
      let s = 0;
      for (let k = 0; k < c.r; k++) s += d.A[k * c.inDim + i] * d.B[o * c.r + k];
      out[i * c.outDim + o] = d.scaling * s;
    }
  return out;
}

describe('DoRA backward vs finite differences (norm held constant: the detach)', () => {
  const c = { N: 4, inDim: 5, outDim: 6, r: 2 };
  const d = data(c, 21);
  const norm = R.doraColumnNorms(d.W, d.A, d.B, c.inDim, c.outDim, c.r, d.scaling);
  const base: R.DoraRefArgs = {
    ...c,
    scaling: d.scaling,
    x: d.x,
    W: d.W,
    bias: d.bias,
    A: d.A,
    B: d.B,
    m: d.m,
    fixedNorm: norm,
  };
  const f = (o: Partial<R.DoraRefArgs>) => dot(d.dy, R.doraForwardF64({ ...base, ...o }).y);
  const fx = numericGrad((v) => f({ x: v }), d.x);
  const fA = numericGrad((v) => f({ A: v }), d.A);
  const fB = numericGrad((v) => f({ B: v }), d.B);
  const fm = numericGrad((v) => f({ m: v }), d.m);
  const t = { atol: 1e-4, rtol: 1e-3 };

  it('reference backward matches central differences', () => {
    const fw = R.doraForward(base);
    const b = R.doraBackward({
      ...c,
      scaling: d.scaling,
      x: d.x,
      W: d.W,
      A: d.A,
      B: d.B,
      z: fw.z,
      h: fw.h,
      norm: fw.norm,
      mns: fw.mns,
      dy: d.dy,
    });
    expectClose(b.dx, fx, { ...t, label: 'ref dx' });
    expectClose(b.dA, fA, { ...t, label: 'ref dA' });
    expectClose(b.dB, fB, { ...t, label: 'ref dB' });
    expectClose(b.dm, fm, { ...t, label: 'ref dm' });
  });

  it('GPU backward matches central differences', async () => {
    const gpu = await testGpu();
    const g = await runLayer(gpu, c, d);
    expectClose(g.dx, fx, { ...t, label: 'GPU dx' });
    expectClose(g.dA, fA, { ...t, label: 'GPU dA' });
    expectClose(g.dB, fB, { ...t, label: 'GPU dB' });
    expectClose(g.dm, fm, { ...t, label: 'GPU dm' });
  });

  it('the detach matters: with the norm live, FD of B differs from the detached gradient', () => {
    const live = numericGrad((v) => dot(d.dy, R.doraForwardF64({ ...base, fixedNorm: undefined, B: v }).y), d.B);
    expect(live.some((v, i) => Math.abs(v - fB[i]) > 1e-3)).toBe(true);
  });
});
