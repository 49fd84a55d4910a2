import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release, bitsEqual } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import { layernormForward, layernormBackward } from '../../src/gpu/kernels/layernorm';
import * as R from '../../src/engine/ref/layernorm';

/** Rows with a non-zero mean and varied scale, as residual streams have. */
function inputs(N: number, C: number, seed: number) {
  const x = randn(N * C, seed, 1, 'x');
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) x[n * C + c] = x[n * C + c] * (0.5 + (n % 4)) + (n % 3) - 1;
  const gamma = randn(C, seed + 1, 0.3, 'gamma').map((g) => 1 + g);
  const beta = randn(C, seed + 2, 0.3, 'beta');
  return { x, gamma, beta };
}

interface GpuRun {
  out: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/** Forward, then backward accumulating onto the given initial gradients. */
async function runGpu(
  gpu: Gpu,
  N: number,
  C: number,
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  dout: Float32Array,
  init: { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array },
): Promise<GpuRun> {
  const tx = gpu.upload(x, [N, C], 'x'),
    tg = gpu.upload(gamma, [C], 'gamma'),
    tb = gpu.upload(beta, [C], 'beta');
  const tdo = gpu.upload(dout, [N, C], 'dout');
  const out = gpu.upload(new Float32Array(N * C).fill(NaN), [N, C], 'out'); // overwritten
  const mean = gpu.tensor([N], 'mean'),
    rstd = gpu.tensor([N], 'rstd');
  const dx = gpu.upload(init.dx, [N, C], 'dx'),
    dg = gpu.upload(init.dgamma, [C], 'dgamma'),
    db = gpu.upload(init.dbeta, [C], 'dbeta');
  await record(gpu, (enc) => {
    layernormForward(enc, { x: tx, gamma: tg, beta: tb, out, mean, rstd, N, C });
    layernormBackward(enc, { dout: tdo, x: tx, gamma: tg, mean, rstd, dx, dgamma: dg, dbeta: db, N, C });
  });
  const r = {
    out: await gpu.read(out),
    mean: await gpu.read(mean),
    rstd: await gpu.read(rstd),
    dx: await gpu.read(dx),
    dgamma: await gpu.read(dg),
    dbeta: await gpu.read(db),
  };
  release(gpu, tx, tg, tb, tdo, out, mean, rstd, dx, dg, db);
  return r;
}

describe('layernorm kernels vs CPU reference', () => {
  const shapes: [number, number][] = [];
  for (const N of [1, 7, 33]) for (const C of [7, 33, 128]) shapes.push([N, C]);
  shapes.push([5, 769], [130, 3]); // C > 256 (several columns per invocation); N > row lanes

  for (const [N, C] of shapes) {
    it(`forward + accumulating backward N=${N} C=${C}`, async () => {
      const gpu = await testGpu();
      const { x, gamma, beta } = inputs(N, C, N * 100 + C);
      const dout = randn(N * C, N + 7 * C, 1, 'dout');
      const init = { dx: randn(N * C, 1, 1, 'dx0'), dgamma: randn(C, 2, 1, 'dg0'), dbeta: randn(C, 3, 1, 'db0') };
      const g = await runGpu(gpu, N, C, x, gamma, beta, dout, init);
      const f = R.layernormForward({ x, gamma, beta, N, C });
      expectClose(g.out, f.out, { atol: 1e-5, rtol: 1e-4, label: `out ${N}x${C}` });
      expectClose(g.mean, f.mean, { atol: 1e-6, rtol: 1e-5, label: `mean ${N}x${C}` });
      expectClose(g.rstd, f.rstd, { atol: 1e-6, rtol: 1e-5, label: `rstd ${N}x${C}` });
      // The backward reference uses the GPU's saved statistics, as the GPU backward does.
      const b = R.layernormBackward({ dout, x, gamma, mean: g.mean, rstd: g.rstd, N, C, ...init });
      expectClose(g.dx, b.dx, { atol: 1e-5, rtol: 1e-4, label: `dx += ${N}x${C}` });
      expectClose(g.dgamma, b.dgamma, { atol: 1e-5, rtol: 1e-4, label: `dgamma += ${N}x${C}` });
      expectClose(g.dbeta, b.dbeta, { atol: 1e-5, rtol: 1e-4, label: `dbeta += ${N}x${C}` });
    });
  }

  it('rows beyond 65535 workgroups (2D-folded grid)', async () => {
    const gpu = await testGpu();
    const N = 65537,
      C = 3;
    const { x, gamma, beta } = inputs(N, C, 9);
    const tx = gpu.upload(x, [N, C], 'x'),
      tg = gpu.upload(gamma, [C], 'gamma'),
      tb = gpu.upload(beta, [C], 'beta');
    const out = gpu.tensor([N, C], 'out'),
      mean = gpu.tensor([N], 'mean'),
      rstd = gpu.tensor([N], 'rstd');
    await record(gpu, (enc) => layernormForward(enc, { x: tx, gamma: tg, beta: tb, out, mean, rstd, N, C }));
    const f = R.layernormForward({ x, gamma, beta, N, C });
    expectClose(await gpu.read(out), f.out, { atol: 1e-5, rtol: 1e-4, label: 'out, 65537 rows' });
    expectClose(await gpu.read(rstd), f.rstd, { atol: 1e-5, rtol: 1e-4, label: 'rstd, 65537 rows' });
    release(gpu, tx, tg, tb, out, mean, rstd);
  });
});

describe('layernorm backward vs finite differences', () => {
  const N = 3,
    C = 7;
  const { x, gamma, beta } = inputs(N, C, 42);
  const w = randn(N * C, 43, 1, 'w'); // dout: f = Σ w ⊙ layernorm(x)
  const fx = numericGrad((v) => dot(w, R.layernormForwardF64({ x: v, gamma, beta, N, C }).out), x, 1e-3);
  const fg = numericGrad((v) => dot(w, R.layernormForwardF64({ x, gamma: v, beta, N, C }).out), gamma, 1e-3);
  const fb = numericGrad((v) => dot(w, R.layernormForwardF64({ x, gamma, beta: v, N, C }).out), beta, 1e-3);
  const tol = { atol: 1e-4, rtol: 1e-3 };

  it('reference backward matches central differences', () => {
    const f = R.layernormForwardF64({ x, gamma, beta, N, C });
    const b = R.layernormBackward({ dout: w, x, gamma, mean: f.mean, rstd: f.rstd, N, C });
    expectClose(b.dx, fx, { ...tol, label: 'ref dx vs FD' });
    expectClose(b.dgamma, fg, { ...tol, label: 'ref dgamma vs FD' });
    expectClose(b.dbeta, fb, { ...tol, label: 'ref dbeta vs FD' });
  });

  it('GPU backward matches central differences', async () => {
    const gpu = await testGpu();
    const zeros = { dx: new Float32Array(N * C), dgamma: new Float32Array(C), dbeta: new Float32Array(C) };
    const g = await runGpu(gpu, N, C, x, gamma, beta, w, zeros);
    expectClose(g.dx, fx, { ...tol, label: 'GPU dx vs FD' });
    expectClose(g.dgamma, fg, { ...tol, label: 'GPU dgamma vs FD' });
    expectClose(g.dbeta, fb, { ...tol, label: 'GPU dbeta vs FD' });
  });
});

describe('layernorm determinism', () => {
  it('two backward runs are bit-identical', async () => {
    const gpu = await testGpu();
    const N = 257,
      C = 128;
    const { x, gamma, beta } = inputs(N, C, 7);
    const dout = randn(N * C, 8, 3, 'dout');
    const zeros = { dx: new Float32Array(N * C), dgamma: new Float32Array(C), dbeta: new Float32Array(C) };
    const a = await runGpu(gpu, N, C, x, gamma, beta, dout, zeros);
    const b = await runGpu(gpu, N, C, x, gamma, beta, dout, zeros);
    expect(bitsEqual(a.dx, b.dx), 'dx').toBe(true);
    expect(bitsEqual(a.dgamma, b.dgamma), 'dgamma').toBe(true);
    expect(bitsEqual(a.dbeta, b.dbeta), 'dbeta').toBe(true);
  });
});
