import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release, bitsEqual } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import {
  buildEmbeddingIndex,
  embeddingBackward,
  embeddingForward,
  embeddingIndexWords,
  releaseEmbeddingIndex,
  updateEmbeddingIndex,
} from '../../src/gpu/kernels/embedding';
import * as R from '../../src/engine/ref/embedding';
import { Rng } from '../../src/engine/rng';

/** Ids from a small range so tokens repeat (several positions per group), as real text does. */
function tokensFor(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed, 'tokens');
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = rng.int(Math.min(V, 1 + Math.ceil(n / 3)));
  if (n > 2) t[n - 1] = V - 1; // the last row of wte
  return t;
}

describe('embedding index (CPU side)', () => {
  it('groups positions by ascending id, positions ascending within a group', () => {
    const toks = [5, 2, 5, 0, 2, 5];
    const { words, unique } = embeddingIndexWords(toks, 8);
    expect(unique).toBe(3);
    const cap = 8;
    expect([...words.subarray(0, unique)]).toEqual([0, 2, 5]);
    expect([...words.subarray(cap, cap + unique + 1)]).toEqual([0, 1, 3, 6]);
    expect([...words.subarray(2 * cap + 1, 2 * cap + 1 + toks.length)]).toEqual([3, 1, 4, 0, 2, 5]);
  });

  it('rejects bad ids and overflow with clear messages', async () => {
    const gpu = await testGpu();
    expect(() => embeddingIndexWords([1, -1], 2)).toThrow(/token id -1 at position 1/);
    expect(() => embeddingIndexWords([1, 9], 2, 9)).toThrow(/token id 9 .*\[0, 9\)/);
    expect(() => embeddingIndexWords([1, 2, 3], 2)).toThrow(/exceed its capacity 2/);
    const idx = buildEmbeddingIndex(gpu, Int32Array.of(1, 2), { capacity: 4 });
    expect(() => updateEmbeddingIndex(gpu, idx, new Int32Array(5))).toThrow(/capacity 4/);
    releaseEmbeddingIndex(gpu, idx);
  });
});

describe('embedding kernels vs CPU reference', () => {
  const cases = [
    { B: 1, T: 1, C: 7, V: 7 },
    { B: 1, T: 7, C: 33, V: 50 },
    { B: 3, T: 11, C: 128, V: 40 }, // N = 33
    { B: 2, T: 5, C: 300, V: 9 }, // C > workgroup width of the dwte kernel
  ];
  for (const { B, T, C, V } of cases) {
    it(`forward + accumulating backward B=${B} T=${T} C=${C} V=${V}`, async () => {
      const gpu = await testGpu();
      const N = B * T,
        Tmax = T + 3; // wpe holds more positions than this batch uses
      const tokens = tokensFor(N, V, N + C);
      const wte = randn(V * C, 1, 1, 'wte'),
        wpe = randn(Tmax * C, 2, 1, 'wpe');
      const dout = randn(N * C, 3, 1, 'dout');
      const dwte0 = randn(V * C, 4, 1, 'dwte0'),
        dwpe0 = randn(Tmax * C, 5, 1, 'dwpe0');
      const tt = gpu.upload(tokens, [N], 'tokens');
      const twte = gpu.upload(wte, [V, C], 'wte'),
        twpe = gpu.upload(wpe, [Tmax, C], 'wpe');
      const out = gpu.upload(new Float32Array(N * C).fill(NaN), [N, C], 'out');
      const tdo = gpu.upload(dout, [N, C], 'dout');
      const dwte = gpu.upload(dwte0, [V, C], 'dwte'),
        dwpe = gpu.upload(dwpe0, [Tmax, C], 'dwpe');
      const index = buildEmbeddingIndex(gpu, tokens, { V });
      await record(gpu, (enc) => {
        embeddingForward(enc, { tokens: tt, wte: twte, wpe: twpe, out, B, T, C });
        embeddingBackward(enc, { index, dout: tdo, dwte, dwpe, B, T, C });
      });
      expectClose(await gpu.read(out), R.embeddingForward({ tokens, wte, wpe, B, T, C }), {
        atol: 1e-6,
        rtol: 1e-6,
        label: 'embedding out',
      });
      const ref = R.embeddingBackward({ tokens, dout, dwte: dwte0, dwpe: dwpe0, B, T, C });
      expectClose(await gpu.read(dwte), ref.dwte, { atol: 1e-5, rtol: 1e-5, label: 'dwte +=' });
      expectClose(await gpu.read(dwpe), ref.dwpe, { atol: 1e-5, rtol: 1e-5, label: 'dwpe +=' });
      releaseEmbeddingIndex(gpu, index);
      release(gpu, tt, twte, twpe, out, tdo, dwte, dwpe);
    });
  }

  it('updateEmbeddingIndex reuses one index across steps with different batches', async () => {
    const gpu = await testGpu();
    const B = 2,
      T = 9,
      C = 33,
      V = 20,
      N = B * T;
    const index = buildEmbeddingIndex(gpu, new Int32Array(N), { capacity: N }); // all id 0 at first
    const dwte = gpu.zeros([V, C], 'dwte'),
      dwpe = gpu.zeros([T, C], 'dwpe');
    let refWte: Float32Array = new Float32Array(V * C),
      refWpe: Float32Array = new Float32Array(T * C);
    for (let step = 0; step < 3; step++) {
      const tokens = tokensFor(N, V, 100 + step);
      const dout = randn(N * C, 200 + step, 1, 'dout');
      const tdo = gpu.upload(dout, [N, C], 'dout');
      updateEmbeddingIndex(gpu, index, tokens, { V });
      await record(gpu, (enc) => embeddingBackward(enc, { index, dout: tdo, dwte, dwpe, B, T, C }));
      ({ dwte: refWte, dwpe: refWpe } = R.embeddingBackward({ tokens, dout, dwte: refWte, dwpe: refWpe, B, T, C }));
      gpu.release(tdo);
    }
    expectClose(await gpu.read(dwte), refWte, { atol: 1e-5, rtol: 1e-5, label: 'dwte after 3 steps' });
    expectClose(await gpu.read(dwpe), refWpe, { atol: 1e-5, rtol: 1e-5, label: 'dwpe after 3 steps' });
    // A shorter batch in the same index (capacity is an upper bound).
    updateEmbeddingIndex(gpu, index, Int32Array.of(3, 3, 1));
    expect(index.n).toBe(3);
    expect(index.unique).toBe(2);
    expect(() => embeddingBackward(gpu.encoder('x'), { index, dout: dwte, dwte, dwpe, B, T, C })).toThrow(
      /holds 3 positions, B·T = 18/,
    );
    releaseEmbeddingIndex(gpu, index);
    release(gpu, dwte, dwpe);
  });

  it('an id outside [0, V) gives a NaN row in the forward (and in the reference)', async () => {
    const gpu = await testGpu();
    const B = 1,
      T = 3,
      C = 7,
      V = 5;
    const tokens = Int32Array.of(1, 5, -2);
    const wte = randn(V * C, 1),
      wpe = randn(T * C, 2);
    const tt = gpu.upload(tokens, [3], 'tokens'),
      twte = gpu.upload(wte, [V, C], 'wte'),
      twpe = gpu.upload(wpe, [T, C], 'wpe');
    const out = gpu.tensor([T, C], 'out');
    await record(gpu, (enc) => embeddingForward(enc, { tokens: tt, wte: twte, wpe: twpe, out, B, T, C }));
    const got = await gpu.read(out);
    const ref = R.embeddingForward({ tokens, wte, wpe, B, T, C });
    expect(got.slice(C).every(Number.isNaN)).toBe(true);
    expect(ref.slice(C).every(Number.isNaN)).toBe(true);
    expectClose(got.subarray(0, C), ref.subarray(0, C), { atol: 1e-6, rtol: 1e-6, label: 'valid row' });
    release(gpu, tt, twte, twpe, out);
  });
});

describe('embedding backward vs finite differences and determinism', () => {
  const B = 2,
    T = 3,
    C = 5,
    V = 4,
    N = B * T;
  const tokens = Int32Array.of(1, 3, 1, 0, 1, 3); // repeats; id 2 unused (its gradient stays 0)
  const wte = randn(V * C, 11),
    wpe = randn(T * C, 12);
  const w = randn(N * C, 13); // dout: f = Σ w ⊙ embedding(tokens)
  const fdWte = numericGrad((v) => dot(w, R.embeddingForwardF64({ tokens, wte: v, wpe, B, T, C })), wte, 1e-3);
  const fdWpe = numericGrad((v) => dot(w, R.embeddingForwardF64({ tokens, wte, wpe: v, B, T, C })), wpe, 1e-3);
  const tol = { atol: 1e-5, rtol: 1e-4 };

  it('reference backward matches central differences', () => {
    const r = R.embeddingBackward({
      tokens,
      dout: w,
      dwte: new Float32Array(V * C),
      dwpe: new Float32Array(T * C),
      B,
      T,
      C,
    });
    expectClose(r.dwte, fdWte, { ...tol, label: 'ref dwte vs FD' });
    expectClose(r.dwpe, fdWpe, { ...tol, label: 'ref dwpe vs FD' });
  });

  it('GPU backward matches central differences', async () => {
    const gpu = await testGpu();
    const tdo = gpu.upload(w, [N, C], 'dout'),
      dwte = gpu.zeros([V, C], 'dwte'),
      dwpe = gpu.zeros([T, C], 'dwpe');
    const index = buildEmbeddingIndex(gpu, tokens);
    await record(gpu, (enc) => embeddingBackward(enc, { index, dout: tdo, dwte, dwpe, B, T, C }));
    expectClose(await gpu.read(dwte), fdWte, { ...tol, label: 'GPU dwte vs FD' });
    expectClose(await gpu.read(dwpe), fdWpe, { ...tol, label: 'GPU dwpe vs FD' });
    releaseEmbeddingIndex(gpu, index);
    release(gpu, tdo, dwte, dwpe);
  });

  it('two backward runs are bit-identical (a hot token with hundreds of positions)', async () => {
    const gpu = await testGpu();
    const B = 4,
      T = 128,
      C = 64,
      V = 16,
      N = B * T;
    const tokens = tokensFor(N, V, 5);
    for (let i = 0; i < N; i += 2) tokens[i] = 7; // half the batch is one id
    const dout = randn(N * C, 6, 5, 'dout');
    const tdo = gpu.upload(dout, [N, C], 'dout');
    const index = buildEmbeddingIndex(gpu, tokens);
    const runs: { dwte: Float32Array; dwpe: Float32Array }[] = [];
    for (let r = 0; r < 2; r++) {
      const dwte = gpu.zeros([V, C], 'dwte'),
        dwpe = gpu.zeros([T, C], 'dwpe');
      await record(gpu, (enc) => embeddingBackward(enc, { index, dout: tdo, dwte, dwpe, B, T, C }));
      runs.push({ dwte: await gpu.read(dwte), dwpe: await gpu.read(dwpe) });
      release(gpu, dwte, dwpe);
    }
    expect(bitsEqual(runs[0].dwte, runs[1].dwte), 'dwte bit-identical').toBe(true);
    expect(bitsEqual(runs[0].dwpe, runs[1].dwpe), 'dwpe bit-identical').toBe(true);
    const ref = R.embeddingBackward({
      tokens,
      dout,
      dwte: new Float32Array(V * C),
      dwpe: new Float32Array(T * C),
      B,
      T,
      C,
    });
    expectClose(runs[0].dwte, ref.dwte, { atol: 1e-3, rtol: 1e-5, label: 'dwte, hot token' });
    releaseEmbeddingIndex(gpu, index);
    gpu.release(tdo);
  });
});
