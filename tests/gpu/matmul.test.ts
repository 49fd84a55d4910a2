import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { matmul, type MatmulVariant } from '../../src/gpu/kernels/matmul';
import { matmulRef } from '../../src/engine/ref/matmul';

interface Case { M: number; N: number; K: number; transA?: boolean; transB?: boolean; batch?: number }

async function runCase(c: Case, variant: MatmulVariant, opts: { alpha?: number; beta?: 0 | 1 } = {}) {
  const gpu = await testGpu();
  const batch = c.batch ?? 1;
  const a = randn(batch * c.M * c.K, c.M * 7 + c.K, 1, 'A');
  const b = randn(batch * c.K * c.N, c.N * 13 + c.K, 1, 'B');
  const c0 = randn(batch * c.M * c.N, 99, 1, 'C');
  const ta = gpu.upload(a, [batch * c.M * c.K], 'A');
  const tb = gpu.upload(b, [batch * c.K * c.N], 'B');
  const tc = gpu.upload(c0, [batch * c.M * c.N], 'C');
  const enc = gpu.encoder('matmul-test');
  matmul(enc, { a: ta, b: tb, c: tc, ...c, variant, ...opts });
  enc.submit();
  const out = await gpu.read(tc);
  const ref = matmulRef(a, b, { ...c, ...opts }, c0);
  for (const t of [ta, tb, tc]) gpu.release(t);
  return { out, ref };
}

const awkward: Case[] = [
  { M: 1, N: 1, K: 1 },
  { M: 7, N: 33, K: 127 },
  { M: 33, N: 7, K: 5 },
  { M: 127, N: 129, K: 65 },
  { M: 513, N: 65, K: 33 },
  { M: 65, N: 513, K: 7 },
  { M: 70, N: 100, K: 513 },
];

describe('matmul kernels vs CPU reference', () => {
  for (const variant of ['naive', 'tiled', 'auto'] as const) {
    for (const base of awkward) {
      for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
        const c = { ...base, transA, transB };
        it(`${variant} ${c.M}x${c.K}x${c.N} tA=${transA} tB=${transB}`, async () => {
          const { out, ref } = await runCase(c, variant);
          expectClose(out, ref, { atol: 1e-4, rtol: 1e-4, label: `${variant} ${JSON.stringify(c)}` });
        });
      }
    }
  }

  for (const N of [1, 4, 8, 16, 33, 64]) {
    it(`skinny N=${N} (x·Aᵀ shape) and its transpose-mapped narrow M`, async () => {
      const r1 = await runCase({ M: 257, N, K: 96, transB: true }, 'skinny');
      expectClose(r1.out, r1.ref, { atol: 1e-4, rtol: 1e-4, label: `skinny N=${N}` });
      const r2 = await runCase({ M: N, N: 200, K: 130, transA: true }, 'skinny');
      expectClose(r2.out, r2.ref, { atol: 1e-4, rtol: 1e-4, label: `skinny M=${N}` });
    });
  }

  it('batched (attention-head shape) with alpha scale', async () => {
    for (const variant of ['tiled', 'skinny', 'naive'] as const) {
      const { out, ref } = await runCase({ M: 17, N: 17, K: 8, transB: true, batch: 6 }, variant, { alpha: 0.35 });
      expectClose(out, ref, { atol: 1e-4, rtol: 1e-4, label: `batched ${variant}` });
    }
  });

  it('accumulate (beta = 1) adds to C instead of overwriting', async () => {
    for (const variant of ['tiled', 'skinny', 'naive'] as const) {
      const { out, ref } = await runCase({ M: 40, N: 12, K: 30 }, variant, { alpha: 2, beta: 1 });
      expectClose(out, ref, { atol: 1e-4, rtol: 1e-4, label: `accumulate ${variant}` });
    }
  });

  it('strided views: a column block of a wider matrix (one head of a fused qkv buffer)', async () => {
    const gpu = await testGpu();
    const T = 9, C = 12, HS = 4; // qkv is (T, 3C); take q of head 1 and k of head 1
    const qkv = randn(T * 3 * C, 5);
    const t = gpu.upload(qkv, [T, 3 * C], 'qkv');
    const out = gpu.tensor([T, T], 'att');
    const enc = gpu.encoder('strided');
    matmul(enc, { a: t, b: t, c: out, M: T, N: T, K: HS, transB: true, lda: 3 * C, ldb: 3 * C, aOffset: HS, bOffset: C + HS });
    enc.submit();
    const got = await gpu.read(out);
    const q = new Float32Array(T * HS), k = new Float32Array(T * HS);
    for (let i = 0; i < T; i++) for (let d = 0; d < HS; d++) {
      q[i * HS + d] = qkv[i * 3 * C + HS + d];
      k[i * HS + d] = qkv[i * 3 * C + C + HS + d];
    }
    expectClose(got, matmulRef(q, k, { M: T, N: T, K: HS, transB: true }), { label: 'strided head view' });
  });

  it('a wrong kernel would fail: parity check rejects a perturbed result', async () => {
    const { out, ref } = await runCase({ M: 7, N: 5, K: 3 }, 'tiled');
    out[3] += 1e-2;
    const { compareArrays } = await import('../../src/engine/ref/compare');
    const rep = compareArrays(out, ref, { atol: 1e-4, rtol: 1e-4 });
    expect(rep.ok).toBe(false);
    expect(rep.first[0].index).toBe(3);
  });
});
