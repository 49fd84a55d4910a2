import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release, bitsEqual } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import { rmsnormForward, rmsnormBackward } from '../../src/gpu/kernels/rmsnorm';
import * as R from '../../src/engine/ref/rmsnorm';

/** Rows with varied scale and a non-zero mean, as residual streams have. */
function inputs(N: number, C: number, seed: number) {
  const x = randn(N * C, seed, 1, 'x');
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) x[n * C + c] = x[n * C + c] * (0.5 + (n % 4)) + (n % 3) - 1;
  const w = randn(C, seed + 1, 0.3, 'w').map((g) => 1 + g);
  return { x, w };
}

interface GpuRun {
  out: Float32Array;
  rstd: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

async function runGpu(
  gpu: Gpu,
  N: number,
  C: number,
  x: Float32Array,
  w: Float32Array,
  dout: Float32Array,
  init: { dx: Float32Array; dw: Float32Array },
  accumulateDx: boolean,
  eps?: number,
): Promise<GpuRun> {
  const tx = gpu.upload(x, [N, C], 'x'),
    tw = gpu.upload(w, [C], 'w'),
    tdo = gpu.upload(dout, [N, C], 'dout');
  const out = gpu.upload(new Float32Array(N * C).fill(NaN), [N, C], 'out');
  const rstd = gpu.tensor([N], 'rstd');
  const dx = gpu.upload(init.dx, [N, C], 'dx'),
    dw = gpu.upload(init.dw, [C], 'dw');
  await record(gpu, (enc) => {
    rmsnormForward(enc, { x: tx, w: tw, out, rstd, N, C, eps });
    rmsnormBackward(enc, { dout: tdo, x: tx, w: tw, rstd, dx, dw, N, C, accumulateDx });
  });
  const r = { out: await gpu.read(out), rstd: await gpu.read(rstd), dx: await gpu.read(dx), dw: await gpu.read(dw) };
  release(gpu, tx, tw, tdo, out, rstd, dx, dw);
  return r;
}

describe('rmsnorm kernels vs CPU reference', () => {
  const shapes: [number, number][] = [];
  for (const N of [1, 7, 33]) for (const C of [7, 33, 128]) shapes.push([N, C]);
  shapes.push([5, 769], [130, 3]); // C > 256 (several columns per invocation); N > row lanes

  for (const [N, C] of shapes) {
    for (const accumulateDx of [false, true]) {
      it(`forward + backward N=${N} C=${C} dx ${accumulateDx ? '+=' : '='}`, async () => {
        const gpu = await testGpu();
        const { x, w } = inputs(N, C, N * 100 + C);
        const dout = randn(N * C, N + 7 * C, 1, 'dout');
        const init = { dx: randn(N * C, 1, 1, 'dx0'), dw: randn(C, 2, 1, 'dw0') };
        const g = await runGpu(gpu, N, C, x, w, dout, init, accumulateDx, 1e-5);
        const f = R.rmsnormForward({ x, w, N, C, eps: 1e-5 });
        expectClose(g.out, f.out, { atol: 1e-5, rtol: 1e-4, label: `out ${N}x${C}` });
        expectClose(g.rstd, f.rstd, { atol: 1e-6, rtol: 1e-5, label: `rstd ${N}x${C}` });
        const b = R.rmsnormBackward({
          dout,
          x,
          w,
          rstd: g.rstd,
          N,
          C,
          dx: accumulateDx ? init.dx : undefined,
          dw: init.dw,
        });
        expectClose(g.dx, b.dx, { atol: 1e-5, rtol: 1e-4, label: `dx ${N}x${C}` });
        expectClose(g.dw, b.dw, { atol: 1e-5, rtol: 1e-4, label: `dw += ${N}x${C}` });
      });
    }
  }

  it('Qwen3 per-head q norm: (N, NH·HS) read as N·NH rows of HS', async () => {
    const gpu = await testGpu();
    const N = 5,
      NH = 3,
      HS = 16;
    const { x, w } = inputs(N * NH, HS, 77);
    const dout = randn(N * NH * HS, 78, 1, 'dout');
    const zeros = { dx: new Float32Array(N * NH * HS), dw: new Float32Array(HS) };
    const g = await runGpu(gpu, N * NH, HS, x, w, dout, zeros, false);
    // Per head by hand: head h of token n is x[n, h·HS : (h+1)·HS].
    for (let n = 0; n < N; n++)
      for (let h = 0; h < NH; h++) {
        const row = x.subarray((n * NH + h) * HS, (n * NH + h + 1) * HS);
        const f = R.rmsnormForward({ x: row, w, N: 1, C: HS });
        expectClose(g.out.subarray((n * NH + h) * HS, (n * NH + h + 1) * HS), f.out, { label: `head ${h} token ${n}` });
      }
  });
});

describe('rmsnorm backward vs finite differences', () => {
  const N = 3,
    C = 7;
  const { x, w } = inputs(N, C, 42);
  const wt = randn(N * C, 43, 1, 'wt'); // dout: f = Σ wt ⊙ rmsnorm(x)
  const fx = numericGrad((v) => dot(wt, R.rmsnormForwardF64({ x: v, w, N, C }).out), x, 1e-3);
  const fw = numericGrad((v) => dot(wt, R.rmsnormForwardF64({ x, w: v, N, C }).out), w, 1e-3);
  const tol = { atol: 1e-4, rtol: 1e-3 };

  it('reference backward matches central differences', () => {
    const f = R.rmsnormForwardF64({ x, w, N, C });
    const b = R.rmsnormBackward({ dout: wt, x, w, rstd: f.rstd, N, C });
    expectClose(b.dx, fx, { ...tol, label: 'ref dx vs FD' });
    expectClose(b.dw, fw, { ...tol, label: 'ref dw vs FD' });
  });

  it('GPU backward matches central differences', async () => {
    const gpu = await testGpu();
    const zeros = { dx: new Float32Array(N * C).fill(NaN), dw: new Float32Array(C) }; // dx overwritten
    const g = await runGpu(gpu, N, C, x, w, wt, zeros, false);
    expectClose(g.dx, fx, { ...tol, label: 'GPU dx vs FD' });
    expectClose(g.dw, fw, { ...tol, label: 'GPU dw vs FD' });
  });
});

describe('rmsnorm determinism', () => {
  it('two backward runs are bit-identical', async () => {
    const gpu = await testGpu();
    const N = 257,
      C = 128;
    const { x, w } = inputs(N, C, 7);
    const dout = randn(N * C, 8, 3, 'dout');
    const zeros = { dx: new Float32Array(N * C), dw: new Float32Array(C) };
    const a = await runGpu(gpu, N, C, x, w, dout, zeros, false);
    const b = await runGpu(gpu, N, C, x, w, dout, zeros, false);
    expect(bitsEqual(a.dx, b.dx), 'dx').toBe(true);
    expect(bitsEqual(a.dw, b.dw), 'dw').toBe(true);
  });
});
