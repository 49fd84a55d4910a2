import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { matmul, type MatmulVariant } from '../../src/gpu/kernels/matmul';
import { matmulRef } from '../../src/engine/ref/matmul';

interface Case {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number;
}

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
  for (const variant of ['naive', 'regs', 'vec4', 'auto'] as const) {
    for (const base of awkward) {
      for (const [transA, transB] of [
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ]) {
        const c = { ...base, transA, transB };
        it(`${variant} ${c.M}x${c.K}x${c.N} tA=${transA} tB=${transB}`, async () => {
          const { out, ref } = await runCase(c, variant);
          expectClose(out, ref, { atol: 1e-4, rtol: 1e-4, label: `${variant} ${JSON.stringify(c)}` });
        });
      }
    }
  }

  // Shapes that take each vec4 path (and its K%4 tail, narrow-C transpose, M-contiguous A) or fall back.
  const vec4Cases: Case[] = [
    { M: 64, N: 64, K: 64 }, // vec4n, A K-contiguous
    { M: 37, N: 20, K: 22 }, // unaligned rows of A (K = 22): regs fallback
    { M: 36, N: 44, K: 13, transA: true }, // vec4n, A M-contiguous, K tail
    { M: 33, N: 40, K: 24, transB: true }, // vec4k (A·Bᵀ)
    { M: 40, N: 36, K: 18, transA: true, transB: true }, // Aᵀ·Bᵀ with unaligned K: regs fallback
    { M: 40, N: 36, K: 20, transA: true, transB: true }, // Aᵀ·Bᵀ
    { M: 130, N: 4, K: 36 }, // narrow C: Cᵀ = Bᵀ·Aᵀ through vec4k, B M'-contiguous
    { M: 130, N: 8, K: 36, transB: true }, // narrow C, both K-contiguous
    { M: 3, N: 96, K: 40 }, // short C: 4-row workgroups
    { M: 97, N: 7, K: 31 }, // unaligned everywhere: regs fallback
    { M: 50, N: 6, K: 9, transA: true }, // regs fallback through Cᵀ
  ];
  for (const c of vec4Cases) {
    it(`vec4 paths ${c.M}x${c.K}x${c.N} tA=${!!c.transA} tB=${!!c.transB} (beta 0 and 1, batched)`, async () => {
      for (const variant of ['vec4', 'regs'] as const) {
        const r0 = await runCase(c, variant);
        expectClose(r0.out, r0.ref, { atol: 1e-4, rtol: 1e-4, label: `${variant} ${JSON.stringify(c)}` });
        const r1 = await runCase({ ...c, batch: 3 }, variant, { alpha: 0.5, beta: 1 });
        expectClose(r1.out, r1.ref, {
          atol: 1e-4,
          rtol: 1e-4,
          label: `${variant} batched beta=1 ${JSON.stringify(c)}`,
        });
      }
    });
  }

  it('vec4 alignment fallbacks: odd offsets and leading dimensions give the same result as naive', async () => {
    const gpu = await testGpu();
    const M = 24,
      N = 20;
    const big = randn(4096, 11);
    const t = gpu.upload(big, [4096], 'big');
    for (const K of [16, 14]) {
      const layouts = [
        { lda: 16, ldb: N, aOffset: 0, bOffset: 0 }, // padded rows: vec4 paths with a K%4 tail when K = 14
        { lda: K, ldb: N, aOffset: 0, bOffset: 0 }, // aligned: vec4n
        { lda: K, ldb: N, aOffset: 1, bOffset: 0 }, // A misaligned
        { lda: K, ldb: N, aOffset: 0, bOffset: 2 }, // B misaligned
        { lda: K + 1, ldb: N, aOffset: 0, bOffset: 0 }, // A row stride not a multiple of 4
        { lda: K, ldb: N + 3, aOffset: 4, bOffset: 8 }, // B row stride not a multiple of 4
      ];
      for (const lay of layouts) {
        for (const [transA, transB] of [
          [false, false],
          [true, false],
          [false, true],
        ]) {
          const ldbE = transB ? 16 : N;
          const args = {
            a: t,
            b: t,
            M,
            N,
            K,
            transA,
            transB,
            lda: transA ? M : lay.lda,
            ldb: transB ? ldbE : lay.ldb,
            aOffset: lay.aOffset,
            bOffset: 1500 + lay.bOffset,
            cOffset: 0,
            ldc: N + 1,
          };
          const outs: Float32Array[] = [];
          for (const variant of ['naive', 'vec4', 'regs'] as const) {
            const c = gpu.upload(new Float32Array(M * (N + 1)).fill(NaN), [M * (N + 1)], 'C');
            const enc = gpu.encoder('align');
            matmul(enc, { ...args, c, variant });
            enc.submit();
            const got = await gpu.read(c);
            gpu.release(c);
            // Only the M×N view is written; the padding column must stay untouched (NaN).
            const view = new Float32Array(M * N);
            for (let i = 0; i < M; i++) {
              for (let j = 0; j < N; j++) view[i * N + j] = got[i * (N + 1) + j];
              expect(Number.isNaN(got[i * (N + 1) + N])).toBe(true);
            }
            outs.push(view);
          }
          expectClose(outs[1], outs[0], {
            atol: 1e-4,
            rtol: 1e-4,
            label: `vec4 ${JSON.stringify(lay)} tA=${transA} tB=${transB}`,
          });
          expectClose(outs[2], outs[0], {
            atol: 1e-4,
            rtol: 1e-4,
            label: `regs K=${K} ${JSON.stringify(lay)} tA=${transA} tB=${transB}`,
          });
        }
      }
    }
    gpu.release(t);
  });

  it('beta = 0 never reads C: NaN in C does not leak (every variant)', async () => {
    const gpu = await testGpu();
    for (const c of [
      { M: 37, N: 20, K: 22 },
      { M: 130, N: 4, K: 36 },
      { M: 33, N: 40, K: 24, transB: true },
    ]) {
      const a = randn(c.M * c.K, 3),
        b = randn(c.K * c.N, 4);
      const ta = gpu.upload(a, [c.M * c.K], 'A'),
        tb = gpu.upload(b, [c.K * c.N], 'B');
      for (const variant of ['naive', 'regs', 'vec4', 'auto'] as const) {
        const tc = gpu.upload(new Float32Array(c.M * c.N).fill(NaN), [c.M * c.N], 'C');
        const enc = gpu.encoder('nan');
        matmul(enc, { a: ta, b: tb, c: tc, ...c, variant });
        enc.submit();
        const out = await gpu.read(tc);
        gpu.release(tc);
        expectClose(out, matmulRef(a, b, c), {
          atol: 1e-4,
          rtol: 1e-4,
          label: `nan-free ${variant} ${JSON.stringify(c)}`,
        });
      }
      gpu.release(ta);
      gpu.release(tb);
    }
  });

  it('batched (attention-head shape) with alpha scale', async () => {
    for (const variant of ['naive', 'regs', 'vec4'] as const) {
      const { out, ref } = await runCase({ M: 17, N: 17, K: 8, transB: true, batch: 6 }, variant, { alpha: 0.35 });
      expectClose(out, ref, { atol: 1e-4, rtol: 1e-4, label: `batched ${variant}` });
    }
  });

  it('accumulate (beta = 1) adds to C instead of overwriting', async () => {
    for (const variant of ['naive', 'regs', 'vec4'] as const) {
      const { out, ref } = await runCase({ M: 40, N: 12, K: 30 }, variant, { alpha: 2, beta: 1 });
      expectClose(out, ref, { atol: 1e-4, rtol: 1e-4, label: `accumulate ${variant}` });
    }
  });

  it('strided views: a column block of a wider matrix (one head of a fused qkv buffer)', async () => {
    const gpu = await testGpu();
    const T = 9,
      C = 12,
      HS = 4; // qkv is (T, 3C); take q of head 1 and k of head 1
    const qkv = randn(T * 3 * C, 5);
    const t = gpu.upload(qkv, [T, 3 * C], 'qkv');
    const out = gpu.tensor([T, T], 'att');
    const enc = gpu.encoder('strided');
    matmul(enc, {
      a: t,
      b: t,
      c: out,
      M: T,
      N: T,
      K: HS,
      transB: true,
      lda: 3 * C,
      ldb: 3 * C,
      aOffset: HS,
      bOffset: C + HS,
    });
    enc.submit();
    const got = await gpu.read(out);
    const q = new Float32Array(T * HS),
      k = new Float32Array(T * HS);
    for (let i = 0; i < T; i++)
      for (let d = 0; d < HS; d++) {
        q[i * HS + d] = qkv[i * 3 * C + HS + d];
        k[i * HS + d] = qkv[i * 3 * C + C + HS + d];
      }
    expectClose(got, matmulRef(q, k, { M: T, N: T, K: HS, transB: true }), { label: 'strided head view' });
  });

  // The shared register-blocked core (shaders/gemm-core.wgsl) as matmul's one-segment case: batch × strided
  // views × batch strides with gaps × beta = 1, M and N not multiples of any tile (R = 8 rows, WG·CN columns).
  it('batched strided views with beta = 1 on awkward shapes (every variant; padding untouched)', async () => {
    const gpu = await testGpu();
    const batch = 3,
      M = 13,
      N = 37,
      K = 11,
      alpha = 0.75;
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const lda = (transA ? M : K) + 3,
        ldb = (transB ? K : N) + 2,
        ldc = N + 5;
      const aOffset = 5,
        bOffset = 7,
        cOffset = 3;
      const aBatchStride = (transA ? K : M) * lda + 9,
        bBatchStride = (transB ? N : K) * ldb + 1,
        cBatchStride = M * ldc + 2;
      const a = randn(aOffset + batch * aBatchStride, 21),
        b = randn(bOffset + batch * bBatchStride, 22),
        c0 = randn(cOffset + batch * cBatchStride, 23);
      // Dense (batch, M, K), (batch, K, N), (batch, M, N) copies of the views for the CPU reference.
      const A = new Float32Array(batch * M * K),
        B = new Float32Array(batch * K * N),
        C = new Float32Array(batch * M * N);
      const cIdx = (z: number, i: number, j: number) => cOffset + z * cBatchStride + i * ldc + j;
      for (let z = 0; z < batch; z++) {
        for (let i = 0; i < M; i++)
          for (let k = 0; k < K; k++)
            A[(z * M + i) * K + k] = a[aOffset + z * aBatchStride + (transA ? k * lda + i : i * lda + k)];
        for (let k = 0; k < K; k++)
          for (let j = 0; j < N; j++)
            B[(z * K + k) * N + j] = b[bOffset + z * bBatchStride + (transB ? j * ldb + k : k * ldb + j)];
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[(z * M + i) * N + j] = c0[cIdx(z, i, j)];
      }
      const ref = matmulRef(A, B, { M, N, K, batch, alpha, beta: 1 }, C);
      const want = c0.slice();
      for (let z = 0; z < batch; z++)
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want[cIdx(z, i, j)] = ref[(z * M + i) * N + j];
      const ta = gpu.upload(a, [a.length], 'A'),
        tb = gpu.upload(b, [b.length], 'B');
      for (const variant of ['naive', 'regs', 'vec4', 'auto'] as const) {
        const tc = gpu.upload(c0, [c0.length], 'C');
        const enc = gpu.encoder('strided-batched');
        matmul(enc, {
          a: ta,
          b: tb,
          c: tc,
          M,
          N,
          K,
          transA,
          transB,
          batch,
          alpha,
          beta: 1,
          lda,
          ldb,
          ldc,
          aOffset,
          bOffset,
          cOffset,
          aBatchStride,
          bBatchStride,
          cBatchStride,
          variant,
        });
        enc.submit();
        const got = await gpu.read(tc);
        gpu.release(tc);
        expectClose(got, want, { atol: 1e-4, rtol: 1e-4, label: `${variant} tA=${transA} tB=${transB}` });
      }
      gpu.release(ta);
      gpu.release(tb);
    }
  });

  it('a wrong kernel would fail: parity check rejects a perturbed result', async () => {
    const { out, ref } = await runCase({ M: 7, N: 5, K: 3 }, 'vec4');
    out[3] += 1e-2;
    const { compareArrays } = await import('../../src/engine/ref/compare');
    const rep = compareArrays(out, ref, { atol: 1e-4, rtol: 1e-4 });
    expect(rep.ok).toBe(false);
    expect(rep.first[0].index).toBe(3);
  });
});
