import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release, bitsEqual } from '../helpers/gpu';
import { numericGrad } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import { crossEntropyForward, crossEntropyForwardBackward, softmaxRows } from '../../src/gpu/kernels/crossentropy';
import * as R from '../../src/engine/ref/crossentropy';
import { Rng } from '../../src/engine/rng';

/** Targets in [0, V) with the last id present, a masked row, a fractional weight and an ignore_index row. */
function batch(N: number, V: number, seed: number) {
  const rng = new Rng(seed, 'ce');
  const logits = randn(N * V, seed, 3, 'logits');
  const targets = new Int32Array(N);
  const mask = new Float32Array(N).fill(1);
  for (let n = 0; n < N; n++) targets[n] = rng.int(V);
  targets[N - 1] = V - 1;
  if (N > 2) {
    mask[1] = 0; // padding
    mask[2] = 0.5; // weighted
  }
  if (N > 4) targets[4] = -100; // PyTorch ignore_index: contributes nothing even with mask 1
  let count = 0;
  for (let n = 0; n < N; n++) if (targets[n] >= 0) count += mask[n];
  return { logits, targets, mask, gradScale: 1 / Math.max(count, 1) };
}

interface CeRun {
  losses: Float32Array;
  dlogits: Float32Array;
  evalLosses: Float32Array;
}

async function runGpu(gpu: Gpu, N: number, V: number, b: ReturnType<typeof batch>): Promise<CeRun> {
  const tl = gpu.upload(b.logits, [N, V], 'logits'),
    tt = gpu.upload(b.targets, [N], 'targets'),
    tm = gpu.upload(b.mask, [N], 'mask');
  const losses = gpu.upload(new Float32Array(N).fill(NaN), [N], 'losses');
  const evalLosses = gpu.upload(new Float32Array(N).fill(NaN), [N], 'eval-losses');
  const dlogits = gpu.upload(new Float32Array(N * V).fill(NaN), [N, V], 'dlogits'); // overwritten everywhere
  await record(gpu, (enc) => {
    crossEntropyForwardBackward(enc, {
      logits: tl,
      targets: tt,
      mask: tm,
      losses,
      dlogits,
      N,
      V,
      gradScale: b.gradScale,
    });
    crossEntropyForward(enc, { logits: tl, targets: tt, mask: tm, losses: evalLosses, N, V });
  });
  const r = {
    losses: await gpu.read(losses),
    dlogits: await gpu.read(dlogits),
    evalLosses: await gpu.read(evalLosses),
  };
  release(gpu, tl, tt, tm, losses, evalLosses, dlogits);
  return r;
}

describe('cross-entropy kernels vs CPU reference', () => {
  const shapes: [number, number][] = [];
  for (const N of [1, 7, 33]) for (const V of [7, 256, 1000]) shapes.push([N, V]);
  shapes.push([3, 50257]); // GPT-2 vocabulary

  for (const [N, V] of shapes) {
    it(`forward/backward and forward-only N=${N} V=${V}`, async () => {
      const gpu = await testGpu();
      const b = batch(N, V, N * 1000 + V);
      const g = await runGpu(gpu, N, V, b);
      const ref = R.crossEntropyForwardBackward({ ...b, N, V });
      expectClose(g.losses, ref.losses, { atol: 1e-5, rtol: 1e-5, label: `losses ${N}x${V}` });
      expectClose(g.evalLosses, ref.losses, { atol: 1e-5, rtol: 1e-5, label: `eval losses ${N}x${V}` });
      expectClose(g.dlogits, ref.dlogits, { atol: 1e-7, rtol: 1e-4, label: `dlogits ${N}x${V}` });
    });
  }

  it('huge logits stay finite (max subtraction); masked rows ignore NaN logits', async () => {
    const gpu = await testGpu();
    const N = 4,
      V = 300;
    const b = batch(N, V, 17);
    for (let v = 0; v < V; v++) {
      b.logits[v] += 1e4; // row 0: large offset
      b.logits[V + v] = NaN; // row 1 has mask 0
    }
    b.logits[2 * V + 5] = 80; // row 2: one dominant logit (exp(80) overflows f32 without the max)
    const g = await runGpu(gpu, N, V, b);
    const ref = R.crossEntropyForwardBackward({ ...b, N, V });
    expect(g.losses.every(Number.isFinite) && g.dlogits.every(Number.isFinite), 'all finite').toBe(true);
    expectClose(g.losses, ref.losses, { atol: 2e-3, rtol: 1e-5, label: 'losses, large logits' }); // f32 spacing at 1e4 is 1e-3
    expectClose(g.dlogits, ref.dlogits, { atol: 1e-6, rtol: 1e-3, label: 'dlogits, large logits' });
    expect(g.losses[1]).toBe(0);
    expect(g.dlogits.subarray(V, 2 * V).every((x) => x === 0)).toBe(true);
  });

  // Rows beyond 65535 workgroups use the same flatGrid fold as layernorm, whose test covers it
  // (65537 rows here would cost ~10 s on the CPU driver).

  it('softmaxRows with temperature', async () => {
    const gpu = await testGpu();
    for (const [N, V, temperature] of [
      [1, 7, 1],
      [5, 1000, 0.7],
      [2, 50257, 1.3],
    ] as const) {
      const logits = randn(N * V, V, 4, 'logits');
      const tl = gpu.upload(logits, [N, V], 'logits'),
        probs = gpu.tensor([N, V], 'probs');
      await record(gpu, (enc) => softmaxRows(enc, { logits: tl, probs, N, V, temperature }));
      const got = await gpu.read(probs);
      expectClose(got, R.softmaxRows({ logits, N, V, temperature }), {
        atol: 1e-7,
        rtol: 1e-4,
        label: `softmax ${N}x${V} T=${temperature}`,
      });
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let v = 0; v < V; v++) s += got[n * V + v];
        expect(Math.abs(s - 1)).toBeLessThan(1e-4);
      }
      release(gpu, tl, probs);
    }
    expect(() =>
      softmaxRows(gpu.encoder('bad'), {
        logits: gpu.tensor([1], 'l'),
        probs: gpu.tensor([1], 'p'),
        N: 1,
        V: 1,
        temperature: 0,
      }),
    ).toThrow(/temperature/);
  });
});

describe('cross-entropy gradient vs finite differences and determinism', () => {
  const N = 5,
    V = 7;
  const b = batch(N, V, 99);
  // f = gradScale·Σ_n losses[n]: its gradient is exactly dlogits.
  const f = (l: Float64Array | Float32Array) => {
    const losses = R.crossEntropyForwardF64({ ...b, logits: l, N, V });
    let s = 0;
    for (const x of losses) s += x;
    return b.gradScale * s;
  };
  const fd = numericGrad(f, b.logits, 1e-3);
  const tol = { atol: 1e-6, rtol: 1e-4 };

  it('reference dlogits match central differences', () => {
    expectClose(R.crossEntropyForwardBackward({ ...b, N, V }).dlogits, fd, { ...tol, label: 'ref dlogits vs FD' });
  });

  it('GPU dlogits match central differences', async () => {
    const gpu = await testGpu();
    const g = await runGpu(gpu, N, V, b);
    expectClose(g.dlogits, fd, { ...tol, label: 'GPU dlogits vs FD' });
  });

  it('two runs are bit-identical', async () => {
    const gpu = await testGpu();
    const bb = batch(9, 5000, 1);
    const r1 = await runGpu(gpu, 9, 5000, bb);
    const r2 = await runGpu(gpu, 9, 5000, bb);
    expect(bitsEqual(r1.losses, r2.losses) && bitsEqual(r1.dlogits, r2.dlogits)).toBe(true);
  });
});
