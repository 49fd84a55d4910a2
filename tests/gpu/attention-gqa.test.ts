import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release, bitsEqual } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu, GpuTensor } from '../../src/gpu/device';
import { gqaForward, gqaBackward, gqaDecode, type GqaDims } from '../../src/gpu/kernels/attention-gqa';
import * as R from '../../src/engine/ref/attention-gqa';
import { attentionForwardRef, attentionBackwardRef } from '../../src/engine/ref/attention';

/** A tensor full of NaN: whatever a kernel fails to overwrite shows up in the comparison. */
function garbage(gpu: Gpu, n: number, label: string): GpuTensor {
  return gpu.upload(new Float32Array(n).fill(NaN), [n], label);
}

const tag = (d: GqaDims) =>
  `B${d.B} T${d.T} NH${d.NH} NKV${d.NKV} HS${d.HS}${d.window ? ` window ${d.window}` : ''}${d.scale !== undefined ? ` scale ${d.scale}` : ''}`;

interface Run {
  out: Float32Array;
  att: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Separate q, k, v tensors: forward then backward, everything read back. */
async function runSeparate(
  gpu: Gpu,
  d: GqaDims,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dout: Float32Array,
): Promise<Run> {
  const { B, T, NH, HS } = d;
  const tq = gpu.upload(q, [q.length], 'q'),
    tk = gpu.upload(k, [k.length], 'k'),
    tv = gpu.upload(v, [v.length], 'v'),
    tdo = gpu.upload(dout, [dout.length], 'dout');
  const out = garbage(gpu, B * T * NH * HS, 'out'),
    att = garbage(gpu, B * NH * T * T, 'att');
  const dq = garbage(gpu, q.length, 'dq'),
    dk = garbage(gpu, k.length, 'dk'),
    dv = garbage(gpu, v.length, 'dv'),
    datt = garbage(gpu, B * NH * T * T, 'datt');
  await record(gpu, (enc) => {
    gqaForward(enc, { q: tq, k: tk, v: tv, out, att, ...d });
    gqaBackward(enc, { dout: tdo, q: tq, k: tk, v: tv, att, dq, dk, dv, datt, ...d });
  });
  const r = {
    out: await gpu.read(out),
    att: await gpu.read(att),
    dq: await gpu.read(dq),
    dk: await gpu.read(dk),
    dv: await gpu.read(dv),
  };
  release(gpu, tq, tk, tv, tdo, out, att, dq, dk, dv, datt);
  return r;
}

function inputs(d: GqaDims, seed: number) {
  const n = d.B * d.T;
  return {
    q: randn(n * d.NH * d.HS, seed, 1, 'q'),
    k: randn(n * d.NKV * d.HS, seed + 1, 1, 'k'),
    v: randn(n * d.NKV * d.HS, seed + 2, 1, 'v'),
    dout: randn(n * d.NH * d.HS, seed + 3, 1, 'dout'),
  };
}

const SHAPES: GqaDims[] = [
  { B: 1, T: 1, NH: 1, NKV: 1, HS: 8 },
  { B: 2, T: 7, NH: 4, NKV: 4, HS: 12 },
  { B: 1, T: 33, NH: 4, NKV: 2, HS: 16 },
  { B: 2, T: 7, NH: 6, NKV: 1, HS: 8 }, // multi-query
  { B: 1, T: 70, NH: 3, NKV: 1, HS: 8 }, // T > one workgroup of rows
  { B: 1, T: 33, NH: 2, NKV: 1, HS: 64, window: 5 },
  { B: 2, T: 9, NH: 2, NKV: 2, HS: 8, window: 1 }, // each query sees only itself
  { B: 1, T: 70, NH: 2, NKV: 2, HS: 8, window: 64, scale: 1 }, // GPT-Neo: no scaling, local band
  { B: 1, T: 5, NH: 4, NKV: 2, HS: 128, scale: 0.3 }, // Qwen3 head size
];

describe('attention-gqa vs CPU reference (separate q, k, v)', () => {
  for (const d of SHAPES) {
    it(tag(d), async () => {
      const gpu = await testGpu();
      const { q, k, v, dout } = inputs(d, d.B * 1000 + d.T * 10 + d.HS);
      const g = await runSeparate(gpu, d, q, k, v, dout);
      const f = R.gqaForward(q, k, v, d);
      expectClose(g.att, f.att, { atol: 1e-6, rtol: 1e-4, label: `att ${tag(d)}` });
      expectClose(g.out, f.out, { atol: 1e-5, rtol: 1e-4, label: `out ${tag(d)}` });
      const b = R.gqaBackward(dout, q, k, v, g.att, d);
      expectClose(g.dq, b.dq, { atol: 1e-5, rtol: 1e-4, label: `dq ${tag(d)}` });
      expectClose(g.dk, b.dk, { atol: 1e-5, rtol: 1e-4, label: `dk ${tag(d)}` });
      expectClose(g.dv, b.dv, { atol: 1e-5, rtol: 1e-4, label: `dv ${tag(d)}` });
    });
  }
});

describe('attention-gqa on fused buffers', () => {
  it('GPT-2 (B,T,3C) views match the GPT-2 attention reference', async () => {
    const gpu = await testGpu();
    const B = 2,
      T = 9,
      NH = 3,
      HS = 8,
      C = NH * HS;
    const qkv = randn(B * T * 3 * C, 5, 1, 'qkv');
    const dout = randn(B * T * C, 6, 1, 'dout');
    const views = {
      qView: { off: 0, row: 3 * C, head: HS },
      kView: { off: C, row: 3 * C, head: HS },
      vView: { off: 2 * C, row: 3 * C, head: HS },
    };
    const d: GqaDims = { B, T, NH, NKV: NH, HS, ...views };
    const tqkv = gpu.upload(qkv, [B * T, 3 * C], 'qkv'),
      tdo = gpu.upload(dout, [B * T, C], 'dout');
    const out = garbage(gpu, B * T * C, 'out'),
      att = garbage(gpu, B * NH * T * T, 'att'),
      dqkv = garbage(gpu, B * T * 3 * C, 'dqkv');
    await record(gpu, (enc) => {
      gqaForward(enc, { q: tqkv, k: tqkv, v: tqkv, out, att, ...d });
      gqaBackward(enc, { dout: tdo, q: tqkv, k: tqkv, v: tqkv, att, dq: dqkv, dk: dqkv, dv: dqkv, ...d });
    });
    const ref = attentionForwardRef(qkv, { B, T, C, NH });
    expectClose(await gpu.read(out), ref.out, { atol: 1e-5, rtol: 1e-4, label: 'out vs GPT-2 ref' });
    const gatt = await gpu.read(att);
    expectClose(gatt, ref.att, { atol: 1e-6, rtol: 1e-4, label: 'att vs GPT-2 ref' });
    const dref = attentionBackwardRef(dout, qkv, gatt, { B, T, C, NH });
    expectClose(await gpu.read(dqkv), dref, { atol: 1e-5, rtol: 1e-4, label: 'dqkv vs GPT-2 ref' });
    release(gpu, tqkv, tdo, out, att, dqkv);
  });

  it('GPT-NeoX per-head (N, NH, 3·HS) views, one dqkv buffer', async () => {
    const gpu = await testGpu();
    const B = 1,
      T = 11,
      NH = 2,
      HS = 16,
      C3 = 3 * NH * HS;
    const qkv = randn(B * T * C3, 7, 1, 'qkv');
    const dout = randn(B * T * NH * HS, 8, 1, 'dout');
    const d: GqaDims = {
      B,
      T,
      NH,
      NKV: NH,
      HS,
      qView: { off: 0, row: C3, head: 3 * HS },
      kView: { off: HS, row: C3, head: 3 * HS },
      vView: { off: 2 * HS, row: C3, head: 3 * HS },
    };
    const tqkv = gpu.upload(qkv, [qkv.length], 'qkv'),
      tdo = gpu.upload(dout, [dout.length], 'dout');
    const out = garbage(gpu, B * T * NH * HS, 'out'),
      att = garbage(gpu, B * NH * T * T, 'att'),
      dqkv = garbage(gpu, qkv.length, 'dqkv');
    await record(gpu, (enc) => {
      gqaForward(enc, { q: tqkv, k: tqkv, v: tqkv, out, att, ...d });
      gqaBackward(enc, { dout: tdo, q: tqkv, k: tqkv, v: tqkv, att, dq: dqkv, dk: dqkv, dv: dqkv, ...d });
    });
    const f = R.gqaForward(qkv, qkv, qkv, d);
    expectClose(await gpu.read(out), f.out, { atol: 1e-5, rtol: 1e-4, label: 'neox out' });
    const gatt = await gpu.read(att);
    const b = R.gqaBackward(dout, qkv, qkv, qkv, gatt, d);
    const sum = b.dq.map((x, i) => x + b.dk[i] + b.dv[i]); // disjoint views: the sum is the fused gradient
    expectClose(await gpu.read(dqkv), sum, { atol: 1e-5, rtol: 1e-4, label: 'neox dqkv' });
    release(gpu, tqkv, tdo, out, att, dqkv);
  });
});

describe('attention-gqa backward vs finite differences', () => {
  const d: GqaDims = { B: 1, T: 6, NH: 4, NKV: 2, HS: 3, window: 3, scale: 0.7 };
  const { q, k, v } = inputs(d, 31);
  const w = randn(d.B * d.T * d.NH * d.HS, 35, 1, 'w');
  const fq = numericGrad((x) => dot(w, R.gqaForwardF64(x, k, v, d).out), q, 1e-4);
  const fk = numericGrad((x) => dot(w, R.gqaForwardF64(q, x, v, d).out), k, 1e-4);
  const fv = numericGrad((x) => dot(w, R.gqaForwardF64(q, k, x, d).out), v, 1e-4);
  const tol = { atol: 1e-4, rtol: 1e-3 };

  it('reference backward (GQA, window, scale) matches central differences', () => {
    const f = R.gqaForwardF64(q, k, v, d);
    const b = R.gqaBackward(w, q, k, v, f.att, d);
    expectClose(b.dq, fq, { ...tol, label: 'ref dq vs FD' });
    expectClose(b.dk, fk, { ...tol, label: 'ref dk vs FD' });
    expectClose(b.dv, fv, { ...tol, label: 'ref dv vs FD' });
  });

  it('GPU backward matches central differences', async () => {
    const gpu = await testGpu();
    const g = await runSeparate(gpu, d, q, k, v, w);
    expectClose(g.dq, fq, { ...tol, label: 'GPU dq vs FD' });
    expectClose(g.dk, fk, { ...tol, label: 'GPU dk vs FD' });
    expectClose(g.dv, fv, { ...tol, label: 'GPU dv vs FD' });
  });
});

describe('attention-gqa determinism and input checks', () => {
  it('two runs are bit-identical', async () => {
    const gpu = await testGpu();
    const d: GqaDims = { B: 2, T: 40, NH: 4, NKV: 2, HS: 16, window: 9 };
    const { q, k, v, dout } = inputs(d, 77);
    const a = await runSeparate(gpu, d, q, k, v, dout);
    const b = await runSeparate(gpu, d, q, k, v, dout);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) expect(bitsEqual(a[key], b[key]), key).toBe(true);
  });

  it('bad shapes give one clear line', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor([4096], 'x');
    const call = (d: GqaDims) => record(gpu, (enc) => gqaForward(enc, { q: t, k: t, v: t, out: t, att: t, ...d }));
    await expect(call({ B: 1, T: 2, NH: 3, NKV: 2, HS: 8 })).rejects.toThrow(
      'attention-gqa: NH=3 query heads are not a multiple of NKV=2 kv heads',
    );
    await expect(call({ B: 1, T: 2, NH: 1, NKV: 1, HS: 256 })).rejects.toThrow(
      'attention-gqa: head size 256 is above the supported 128',
    );
    await expect(call({ B: 1, T: 64, NH: 2, NKV: 2, HS: 64 })).rejects.toThrow(/q \(x\) has 4096 elements, needs 8192/);
    release(gpu, t);
  });
});

describe('attention-gqa decode with a KV cache', () => {
  const cases: {
    L: number;
    Tq: number;
    S: number;
    NH: number;
    NKV: number;
    HS: number;
    window?: number;
    scale?: number;
  }[] = [
    { L: 1, Tq: 1, S: 1, NH: 2, NKV: 1, HS: 8 },
    { L: 9, Tq: 1, S: 16, NH: 4, NKV: 2, HS: 16 },
    { L: 70, Tq: 3, S: 80, NH: 3, NKV: 1, HS: 8 }, // more keys than lanes
    { L: 33, Tq: 5, S: 40, NH: 2, NKV: 2, HS: 64, window: 7, scale: 1 }, // GPT-Neo local layer
    // awkward: head size not a multiple of 4, three query heads per kv head, cache lengths 1 and 17
    { L: 1, Tq: 1, S: 3, NH: 6, NKV: 2, HS: 7 },
    { L: 17, Tq: 1, S: 17, NH: 6, NKV: 2, HS: 7 },
    { L: 17, Tq: 4, S: 21, NH: 3, NKV: 1, HS: 5 },
  ];
  for (const c of cases) {
    it(`rows ${c.L - c.Tq}..${c.L - 1} of ${c.L} (cache ${c.S}) NH${c.NH} NKV${c.NKV} HS${c.HS}${c.window ? ` window ${c.window}` : ''}`, async () => {
      const gpu = await testGpu();
      const { L, Tq, S, NH, NKV, HS } = c;
      const d: GqaDims = { B: 1, T: L, NH, NKV, HS, window: c.window, scale: c.scale };
      const { q, k, v } = inputs(d, L * 7 + Tq);
      const kc = new Float32Array(S * NKV * HS),
        vc = new Float32Array(S * NKV * HS);
      kc.set(k);
      vc.set(v);
      const pos0 = L - Tq;
      const qNew = q.subarray(pos0 * NH * HS);
      const tq = gpu.upload(qNew, [Tq, NH * HS], 'q'),
        tk = gpu.upload(kc, [S, NKV * HS], 'kc'),
        tv = gpu.upload(vc, [S, NKV * HS], 'vc'),
        out = garbage(gpu, Tq * NH * HS, 'out'),
        att = garbage(gpu, Tq * NH * S, 'att');
      await record(gpu, (enc) =>
        gqaDecode(enc, { q: tq, kc: tk, vc: tv, out, att, Tq, pos0, S, NH, NKV, HS, window: c.window, scale: c.scale }),
      );
      const got = await gpu.read(out);
      const dec = R.gqaDecodeRef(qNew, kc, vc, { Tq, pos0, NH, NKV, HS, window: c.window, scale: c.scale });
      expectClose(got, dec, { atol: 1e-5, rtol: 1e-4, label: 'decode vs its twin' });
      // The cached rows reproduce the full forward's last Tq rows.
      const full = R.gqaForward(q, k, v, d).out.subarray(pos0 * NH * HS);
      expectClose(got, full, { atol: 1e-5, rtol: 1e-4, label: 'decode vs full forward' });
      release(gpu, tq, tk, tv, out, att);
    });
  }
});

describe('attention-gqa decode on fused views (GPT-NeoX caches whole query_key_value rows)', () => {
  // Rows (t, NH, 3·HS) per head [q | k | v]: the new rows are the query view, the cache holds whole rows
  // and is bound as both kc and vc with the k and v views — what model/decoder-decode.ts does for Pythia.
  for (const c of [
    { L: 1, Tq: 1, S: 1, NH: 3, HS: 7 },
    { L: 17, Tq: 1, S: 20, NH: 3, HS: 7 },
    { L: 17, Tq: 6, S: 17, NH: 2, HS: 10 },
  ]) {
    it(`rows ${c.L - c.Tq}..${c.L - 1} of ${c.L} (cache ${c.S}) NH${c.NH} HS${c.HS}`, async () => {
      const gpu = await testGpu();
      const { L, Tq, S, NH, HS } = c;
      const row = 3 * NH * HS;
      const qkv = randn(L * row, L * 13 + Tq, 1, 'qkv');
      const cache = new Float32Array(S * row);
      cache.set(qkv);
      const pos0 = L - Tq;
      const fresh = qkv.subarray(pos0 * row);
      const view = (off: number) => ({ off, row, head: 3 * HS });
      const tq = gpu.upload(fresh, [Tq, row], 'qkv new'),
        tc = gpu.upload(cache, [S, row], 'qkv cache'),
        out = garbage(gpu, Tq * NH * HS, 'out'),
        att = garbage(gpu, Tq * NH * S, 'att');
      await record(gpu, (enc) =>
        gqaDecode(enc, {
          q: tq,
          kc: tc,
          vc: tc,
          out,
          att,
          Tq,
          pos0,
          S,
          NH,
          NKV: NH,
          HS,
          qView: view(0),
          kcView: view(HS),
          vcView: view(2 * HS),
        }),
      );
      const got = await gpu.read(out);
      const d = { Tq, pos0, NH, NKV: NH, HS, qView: view(0), kcView: view(HS), vcView: view(2 * HS) };
      expectClose(got, R.gqaDecodeRef(fresh, cache, cache, d), { atol: 1e-5, rtol: 1e-4, label: 'decode vs its twin' });
      // the full forward over the same fused rows (GPT-NeoX views), last Tq rows
      const full = R.gqaForward(qkv, qkv, qkv, {
        B: 1,
        T: L,
        NH,
        NKV: NH,
        HS,
        qView: view(0),
        kView: view(HS),
        vView: view(2 * HS),
      }).out.subarray(pos0 * NH * HS);
      expectClose(got, full, { atol: 1e-5, rtol: 1e-4, label: 'decode vs full forward' });
      release(gpu, tq, tc, out, att);
    });
  }
});
