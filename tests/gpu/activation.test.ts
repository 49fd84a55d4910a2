import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import { geluErfForward, geluErfBackward, swigluForward, swigluBackward } from '../../src/gpu/kernels/activation';
import * as R from '../../src/engine/ref/activation';

/** Normal samples plus the awkward points: 0, tiny, the tails (erfc underflow, exp overflow in σ). */
function inputs(n: number, seed: number, std = 2): Float32Array {
  const x = randn(n, seed, std, 'x');
  const special = [0, 1e-4, -1e-4, 3, -3, 6, -6, 10, -10, 30, -30, 100, -100];
  for (let i = 0; i < Math.min(n, special.length); i++) x[(i * 7) % n] = special[i];
  return x;
}

async function gelu(gpu: Gpu, x: Float32Array, dout: Float32Array) {
  const n = x.length;
  const tx = gpu.upload(x, [n], 'x'),
    tdo = gpu.upload(dout, [n], 'dout');
  const out = gpu.tensor([n], 'out'),
    dx = gpu.tensor([n], 'dx');
  await record(gpu, (enc) => {
    geluErfForward(enc, { x: tx, out, n });
    geluErfBackward(enc, { x: tx, dout: tdo, dx, n });
  });
  const r = { out: await gpu.read(out), dx: await gpu.read(dx) };
  release(gpu, tx, tdo, out, dx);
  return r;
}

async function swiglu(gpu: Gpu, g: Float32Array, u: Float32Array, dout: Float32Array) {
  const n = g.length;
  const tg = gpu.upload(g, [n], 'gate'),
    tu = gpu.upload(u, [n], 'up'),
    tdo = gpu.upload(dout, [n], 'dout');
  const out = gpu.tensor([n], 'out'),
    dgate = gpu.tensor([n], 'dgate'),
    dup = gpu.tensor([n], 'dup');
  await record(gpu, (enc) => {
    swigluForward(enc, { gate: tg, up: tu, out, n });
    swigluBackward(enc, { gate: tg, up: tu, dout: tdo, dgate, dup, n });
  });
  const r = { out: await gpu.read(out), dgate: await gpu.read(dgate), dup: await gpu.read(dup) };
  release(gpu, tg, tu, tdo, out, dgate, dup);
  return r;
}

describe('erfc approximation (Numerical Recipes erfcc) against tabulated values', () => {
  // erf/erfc to 16 digits (Abramowitz & Stegun table 7.1; erfc(3), erfc(5) from mpmath).
  const table: [number, number][] = [
    [0.1, 1 - 0.1124629160182849],
    [0.5, 1 - 0.5204998778130465],
    [1, 1 - 0.8427007929497149],
    [2, 1 - 0.9953222650189527],
    [3, 2.209049699858544e-5],
    [5, 1.537459794428035e-12],
    [-1, 1 + 0.8427007929497149],
  ];
  for (const [z, want] of table) {
    it(`erfc(${z}) to 1.2e-7 relative`, () => {
      expect(Math.abs(R.erfc(z) - want) / want).toBeLessThan(1.2e-7);
    });
  }
});

describe('exact GELU kernel vs CPU reference', () => {
  for (const n of [1, 7, 33, 1000, 70000]) {
    it(`forward + backward n=${n}`, async () => {
      const gpu = await testGpu();
      const x = inputs(n, n);
      const dout = randn(n, n + 1, 1, 'dout');
      const g = await gelu(gpu, x, dout);
      expectClose(g.out, R.geluErfForward(x), { atol: 1e-6, rtol: 1e-5, label: `gelu n=${n}` });
      expectClose(g.dx, R.geluErfBackward(x, dout), { atol: 1e-6, rtol: 1e-5, label: `gelu' n=${n}` });
    });
  }

  it('differs from the tanh form (gelu_new) where the two disagree', () => {
    // gelu(−3) = −3·Φ(−3) = −0.0040497 (Φ(−3) = 0.0013498980316301); the tanh form gives −0.0036374.
    expect(R.geluErfForward([-3])[0]).toBeCloseTo(-3 * 0.0013498980316300946, 9);
  });
});

describe('activations by hand', () => {
  it('silu(1)·2 and gelu(1) on the GPU', async () => {
    const gpu = await testGpu();
    const one = Float32Array.from([1]);
    const r = await swiglu(gpu, one, Float32Array.from([2]), one);
    expect(r.out[0]).toBeCloseTo(2 / (1 + Math.exp(-1)), 6); // 1.4621172
    expect((await gelu(gpu, one, one)).out[0]).toBeCloseTo(0.8413447460685429, 6); // Φ(1)
  });
});

describe('SwiGLU kernel vs CPU reference', () => {
  for (const n of [1, 7, 33, 1000, 70000]) {
    it(`forward + backward n=${n}`, async () => {
      const gpu = await testGpu();
      const g = inputs(n, n + 2, 3);
      const u = randn(n, n + 3, 1, 'up');
      const dout = randn(n, n + 4, 1, 'dout');
      const r = await swiglu(gpu, g, u, dout);
      const b = R.swigluBackward(g, u, dout);
      expectClose(r.out, R.swigluForward(g, u), { atol: 1e-6, rtol: 1e-5, label: `swiglu n=${n}` });
      expectClose(r.dgate, b.dgate, { atol: 1e-6, rtol: 1e-5, label: `dgate n=${n}` });
      expectClose(r.dup, b.dup, { atol: 1e-6, rtol: 1e-5, label: `dup n=${n}` });
    });
  }
});

describe('activation backwards vs finite differences', () => {
  const n = 13;
  const x = randn(n, 5, 2, 'x');
  const w = randn(n, 6, 1, 'w');
  const tol = { atol: 1e-5, rtol: 1e-4 };

  it('exact GELU', async () => {
    const fd = numericGrad((v) => dot(w, R.geluErfForwardF64(v)), x, 1e-4);
    expectClose(R.geluErfBackward(x, w), fd, { ...tol, label: 'ref vs FD' });
    const gpu = await testGpu();
    expectClose((await gelu(gpu, x, w)).dx, fd, { ...tol, label: 'GPU vs FD' });
  });

  it('SwiGLU', async () => {
    const u = randn(n, 7, 1, 'up');
    const fg = numericGrad((v) => dot(w, R.swigluForwardF64(v, u)), x, 1e-4);
    const fu = numericGrad((v) => dot(w, R.swigluForwardF64(x, v)), u, 1e-4);
    const b = R.swigluBackward(x, u, w);
    expectClose(b.dgate, fg, { ...tol, label: 'ref dgate vs FD' });
    expectClose(b.dup, fu, { ...tol, label: 'ref dup vs FD' });
    const gpu = await testGpu();
    const r = await swiglu(gpu, x, u, w);
    expectClose(r.dgate, fg, { ...tol, label: 'GPU dgate vs FD' });
    expectClose(r.dup, fu, { ...tol, label: 'GPU dup vs FD' });
  });
});
