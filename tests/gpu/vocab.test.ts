import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release, bitsEqual } from '../helpers/gpu';
import { numericGrad } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import { buildEmbeddingIndex, releaseEmbeddingIndex } from '../../src/gpu/kernels/embedding';
import {
  VocabTable,
  embedTokens,
  embedTokensBackward,
  headLoss,
  logitsLast,
  shardRows,
  headChunkRows,
} from '../../src/engine/model/vocab';
import * as R from '../../src/engine/ref/vocab';
import * as E from '../../src/engine/ref/embedding';
import { matmul } from '../../src/gpu/kernels/matmul';
import { crossEntropyForwardBackward } from '../../src/gpu/kernels/crossentropy';

const V = 37,
  C = 12,
  N = 23;

/** Targets with an ignored row (−100) and masked rows; ids use every shard. */
function batch(seed: number) {
  const x = randn(N * C, seed, 1, 'x');
  const W = randn(V * C, seed + 1, 0.5, 'W');
  const targets = Int32Array.from({ length: N }, (_, n) => (n * 11 + seed) % V);
  targets[3] = -100;
  const mask = Float32Array.from({ length: N }, (_, n) => (n % 5 === 4 ? 0 : 1));
  mask[7] = 0.5; // fractional weights are honoured too
  return { x, W, targets, mask };
}

interface HeadRun {
  losses: Float32Array;
  dx: Float32Array;
  dW: Float32Array;
}

async function runHead(
  gpu: Gpu,
  b: ReturnType<typeof batch>,
  opts: { maxShardRows?: number; chunkRows?: number; gradScale: number; dW0: Float32Array },
): Promise<HeadRun> {
  const W = new VocabTable(gpu, V, C, 'W', 'weights', { maxShardRows: opts.maxShardRows });
  W.upload(b.W);
  const dW = W.like('dW', 'gradients');
  dW.upload(opts.dW0);
  const x = gpu.upload(b.x, [N, C], 'x'),
    targets = gpu.upload(b.targets, [N], 'targets'),
    mask = gpu.upload(b.mask, [N], 'mask');
  const losses = gpu.upload(new Float32Array(N).fill(NaN), [N], 'losses'),
    dx = gpu.upload(new Float32Array(N * C).fill(NaN), [N, C], 'dx');
  await record(gpu, (enc) =>
    headLoss(enc, { x, W, targets, mask, losses, N, gradScale: opts.gradScale, dx, dW, chunkRows: opts.chunkRows }),
  );
  const r = { losses: await gpu.read(losses), dx: await gpu.read(dx), dW: await dW.read() };
  release(gpu, x, targets, mask, losses, dx);
  W.release();
  dW.release();
  return r;
}

describe('vocabulary sharding arithmetic', () => {
  it('shard rows: multiple of 4, within the binding limit, ≤ padded V', () => {
    expect(shardRows(50257, 768, 128 * 2 ** 20)).toBe(43688); // GPT-2 on llvmpipe: 2 shards
    expect(Math.ceil(50257 / shardRows(50257, 768, 128 * 2 ** 20))).toBe(2);
    expect(shardRows(37, 12, 2 ** 30, 10)).toBe(8);
    expect(shardRows(37, 12, 2 ** 30)).toBe(40);
    expect(() => shardRows(10, 1000, 8000)).toThrow(/does not fit/);
  });

  it('a table splits into shards that cover V once', async () => {
    const gpu = await testGpu();
    const W = new VocabTable(gpu, V, C, 'W', 'weights', { maxShardRows: 8 });
    expect(W.shards.map((s) => [s.v0, s.rows])).toEqual([
      [0, 8],
      [8, 8],
      [16, 8],
      [24, 8],
      [32, 5],
    ]);
    const data = randn(V * C, 1, 1, 'W');
    W.upload(data);
    expect(bitsEqual(await W.read(), data)).toBe(true);
    W.release();
    expect(headChunkRows(gpu, 50257, 4096, 8 * 2 ** 20)).toBe(41); // 8 MiB of logits per chunk
  });
});

describe('sharded embedding vs CPU reference', () => {
  for (const maxShardRows of [8, 4096]) {
    it(`lookup and scatter-add backward, shard rows ≤ ${maxShardRows}`, async () => {
      const gpu = await testGpu();
      const W0 = randn(V * C, 3, 1, 'W');
      const tokens = Int32Array.from({ length: N }, (_, n) => (n * n * 7 + 3) % V);
      tokens[5] = tokens[9]; // repeated ids sum in the backward
      const dout = randn(N * C, 4, 1, 'dout');
      const dW0 = randn(V * C, 5, 1, 'dW0');
      const table = new VocabTable(gpu, V, C, 'W', 'weights', { maxShardRows });
      table.upload(W0);
      const dtable = table.like('dW', 'gradients');
      dtable.upload(dW0);
      const tt = gpu.upload(tokens, [N], 'tokens'),
        td = gpu.upload(dout, [N, C], 'dout'),
        out = gpu.upload(new Float32Array(N * C).fill(NaN), [N, C], 'out');
      const index = buildEmbeddingIndex(gpu, tokens, { V });
      await record(gpu, (enc) => {
        embedTokens(enc, { table, tokens: tt, out, N });
        embedTokensBackward(enc, { dtable, index, dout: td, N });
      });
      expectClose(await gpu.read(out), R.embedRef(W0, tokens, V, C), { atol: 0, rtol: 0, label: 'embed' });
      expectClose(await dtable.read(), R.embedBackwardRef(dW0, tokens, dout, C), {
        atol: 1e-6,
        rtol: 1e-6,
        label: 'dW +=',
      });
      releaseEmbeddingIndex(gpu, index);
      release(gpu, tt, td, out);
      table.release();
      dtable.release();
    });
  }

  it('with learned positions (GPT-2 layout) it matches the GPT-2 embedding reference', async () => {
    const gpu = await testGpu();
    const B = 3,
      T = 5,
      n = B * T,
      Tmax = 7;
    const wte = randn(V * C, 13, 1, 'wte'),
      wpe = randn(Tmax * C, 14, 1, 'wpe');
    const tokens = Int32Array.from({ length: n }, (_, i) => (i * 13 + 2) % V);
    tokens[4] = tokens[11];
    const dout = randn(n * C, 15, 1, 'dout');
    const dwte0 = randn(V * C, 16, 1, 'dwte0'),
      dwpe0 = randn(Tmax * C, 17, 1, 'dwpe0');
    const table = new VocabTable(gpu, V, C, 'wte', 'weights', { maxShardRows: 8 });
    table.upload(wte);
    const dtable = table.like('dwte', 'gradients');
    dtable.upload(dwte0);
    const twpe = gpu.upload(wpe, [Tmax, C], 'wpe'),
      tdwpe = gpu.upload(dwpe0, [Tmax, C], 'dwpe'),
      tt = gpu.upload(tokens, [n], 'tokens'),
      td = gpu.upload(dout, [n, C], 'dout'),
      out = gpu.upload(new Float32Array(n * C).fill(NaN), [n, C], 'out');
    const index = buildEmbeddingIndex(gpu, tokens, { V });
    await record(gpu, (enc) => {
      embedTokens(enc, { table, tokens: tt, out, N: n, positions: { wpe: twpe, T } });
      embedTokensBackward(enc, { dtable, index, dout: td, N: n, positions: { dwpe: tdwpe, B, T, C } });
    });
    const f = E.embeddingForward({ tokens, wte, wpe, B, T, C });
    expectClose(await gpu.read(out), f, { atol: 1e-7, rtol: 1e-7, label: 'wte + wpe' });
    const b = E.embeddingBackward({ tokens, dout, dwte: dwte0, dwpe: dwpe0, B, T, C });
    expectClose(await dtable.read(), b.dwte, { atol: 1e-6, rtol: 1e-6, label: 'dwte +=' });
    expectClose(await gpu.read(tdwpe), b.dwpe, { atol: 1e-6, rtol: 1e-6, label: 'dwpe +=' });
    releaseEmbeddingIndex(gpu, index);
    release(gpu, twpe, tdwpe, tt, td, out);
    table.release();
    dtable.release();
  });

  it('an id outside [0, V) gives a NaN row', async () => {
    const gpu = await testGpu();
    const table = new VocabTable(gpu, V, C, 'W', 'weights', { maxShardRows: 8 });
    table.upload(randn(V * C, 3, 1, 'W'));
    const tt = gpu.upload(Int32Array.from([1, V, 36]), [3], 'tokens'),
      out = gpu.zeros([3, C], 'out');
    await record(gpu, (enc) => embedTokens(enc, { table, tokens: tt, out, N: 3 }));
    const o = await gpu.read(out);
    expect(Number.isNaN(o[C])).toBe(true);
    expect(Number.isFinite(o[0]) && Number.isFinite(o[2 * C])).toBe(true);
    release(gpu, tt, out);
    table.release();
  });
});

describe('sharded LM head + chunked cross-entropy vs the unsharded reference', () => {
  const cases: [string, { maxShardRows?: number; chunkRows?: number }][] = [
    ['one shard, one chunk', {}],
    ['shards of 8 rows, chunks of 5 rows', { maxShardRows: 8, chunkRows: 5 }],
    ['shards of 4 rows, chunks of 7 rows', { maxShardRows: 4, chunkRows: 7 }],
    ['shards of 12 rows, one chunk of all rows', { maxShardRows: 12, chunkRows: N }],
  ];
  for (const [name, opts] of cases) {
    it(name, async () => {
      const gpu = await testGpu();
      const b = batch(17);
      const gradScale = 1 / 17.5;
      const dW0 = randn(V * C, 9, 1, 'dW0');
      const g = await runHead(gpu, b, { ...opts, gradScale, dW0 });
      const r = R.headLossRef({ ...b, N, V, C, gradScale, dW0 });
      expectClose(g.losses, r.losses, { atol: 1e-5, rtol: 1e-5, label: `losses ${name}` });
      expectClose(g.dx, r.dx, { atol: 1e-6, rtol: 1e-4, label: `dx ${name}` });
      expectClose(g.dW, r.dW, { atol: 1e-6, rtol: 1e-4, label: `dW += ${name}` });
      expect(g.losses[3]).toBe(0); // ignore_index
      expect(g.losses[4]).toBe(0); // mask 0
    });
  }

  it('matches the unsharded GPU path (full logits, crossentropy.wgsl) of the GPT-2 model', async () => {
    const gpu = await testGpu();
    const b = batch(29);
    const gradScale = 0.05;
    const zeros = new Float32Array(V * C);
    const g = await runHead(gpu, b, { maxShardRows: 8, chunkRows: 5, gradScale, dW0: zeros });
    const x = gpu.upload(b.x, [N, C], 'x'),
      W = gpu.upload(b.W, [V, C], 'W'),
      targets = gpu.upload(b.targets, [N], 't'),
      mask = gpu.upload(b.mask, [N], 'm'),
      logits = gpu.tensor([N, V], 'logits'),
      dlogits = gpu.tensor([N, V], 'dlogits'),
      losses = gpu.tensor([N], 'losses'),
      dx = gpu.tensor([N, C], 'dx'),
      dW = gpu.zeros([V, C], 'dW');
    await record(gpu, (enc) => {
      matmul(enc, { a: x, b: W, c: logits, M: N, N: V, K: C, transB: true });
      crossEntropyForwardBackward(enc, { logits, targets, mask, losses, dlogits, N, V, gradScale });
      matmul(enc, { a: dlogits, b: W, c: dx, M: N, K: V, N: C });
      matmul(enc, { a: dlogits, b: x, c: dW, M: V, K: N, N: C, transA: true, beta: 1 });
    });
    expectClose(g.losses, await gpu.read(losses), { atol: 1e-6, rtol: 1e-6, label: 'losses vs unsharded' });
    expectClose(g.dx, await gpu.read(dx), { atol: 1e-7, rtol: 1e-5, label: 'dx vs unsharded' });
    expectClose(g.dW, await gpu.read(dW), { atol: 1e-7, rtol: 1e-5, label: 'dW vs unsharded' });
    release(gpu, x, W, targets, mask, logits, dlogits, losses, dx, dW);
  });

  it('evaluation only (no dx): losses', async () => {
    const gpu = await testGpu();
    const b = batch(5);
    const W = new VocabTable(gpu, V, C, 'W', 'weights', { maxShardRows: 8 });
    W.upload(b.W);
    const x = gpu.upload(b.x, [N, C], 'x'),
      targets = gpu.upload(b.targets, [N], 't'),
      mask = gpu.upload(b.mask, [N], 'm'),
      losses = gpu.tensor([N], 'losses');
    await record(gpu, (enc) => headLoss(enc, { x, W, targets, mask, losses, N, chunkRows: 6 }));
    expectClose(await gpu.read(losses), R.headLossRef({ ...b, N, V, C }).losses, { atol: 1e-5, rtol: 1e-5 });
    release(gpu, x, targets, mask, losses);
    W.release();
  });

  it('two runs are bit-identical', async () => {
    const gpu = await testGpu();
    const b = batch(23);
    const o = { maxShardRows: 8, chunkRows: 5, gradScale: 0.1, dW0: new Float32Array(V * C) };
    const r1 = await runHead(gpu, b, o),
      r2 = await runHead(gpu, b, o);
    for (const k of ['losses', 'dx', 'dW'] as const) expect(bitsEqual(r1[k], r2[k]), k).toBe(true);
  });

  it('logitsLast: the last position of each sequence', async () => {
    const gpu = await testGpu();
    const B = 3,
      T = 4;
    const xs = randn(B * T * C, 31, 1, 'x'),
      Ws = randn(V * C, 32, 1, 'W');
    const W = new VocabTable(gpu, V, C, 'W', 'weights', { maxShardRows: 8 });
    W.upload(Ws);
    const x = gpu.upload(xs, [B * T, C], 'x'),
      out = gpu.upload(new Float32Array(B * V).fill(NaN), [B, V], 'out');
    await record(gpu, (enc) => logitsLast(enc, { x, W, B, T, out }));
    expectClose(await gpu.read(out), R.logitsRowsRef(xs, Ws, [3, 7, 11], V, C), { atol: 1e-5, rtol: 1e-5 });
    release(gpu, x, out);
    W.release();
  });
});

describe('head backward vs finite differences', () => {
  it('reference dx and dW are the gradient of Σ losses·gradScale', () => {
    const n = 4,
      v = 5,
      c = 3;
    const x = randn(n * c, 41, 1, 'x'),
      W = randn(v * c, 42, 1, 'W');
    const targets = [1, 4, -100, 0],
      mask = [1, 0.5, 1, 1];
    const gradScale = 0.25;
    const f = (xx: ArrayLike<number>, ww: ArrayLike<number>) =>
      R.headLossF64({ x: xx, W: ww, targets, mask, N: n, V: v, C: c }).losses.reduce((s, l) => s + l, 0) * gradScale;
    const r = R.headLossRef({ x, W, targets, mask, N: n, V: v, C: c, gradScale });
    const tol = { atol: 1e-5, rtol: 1e-4 };
    expectClose(
      r.dx,
      numericGrad((u) => f(u, W), x, 1e-4),
      { ...tol, label: 'dx vs FD' },
    );
    expectClose(
      r.dW,
      numericGrad((u) => f(x, u), W, 1e-4),
      { ...tol, label: 'dW vs FD' },
    );
  });
});
