/**
 * attention_decode (generation with a KV cache) against its CPU twin on awkward shapes, and the twin
 * against full causal attention: decoding rows pos0.. from a cache equals the last rows of attention
 * over the whole prefix.
 */
import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, release } from '../helpers/gpu';
import { attentionDecode } from '../../src/gpu/kernels/attention';
import { attentionDecodeRef, attentionForwardRef } from '../../src/engine/ref/attention';

interface Shape {
  Tq: number;
  pos0: number;
  S: number;
  C: number;
  NH: number;
}
const SHAPES: Shape[] = [
  { Tq: 1, pos0: 0, S: 1, C: 7, NH: 1 },
  { Tq: 7, pos0: 0, S: 7, C: 12, NH: 3 },
  { Tq: 1, pos0: 32, S: 33, C: 64, NH: 4 },
  { Tq: 7, pos0: 70, S: 127, C: 33, NH: 3 },
  { Tq: 1, pos0: 126, S: 127, C: 130, NH: 1 }, // HS = 130 > 64 lanes: each lane owns several channels
];

/** Keys and values of all S rows (the cache), with NaN beyond the filled rows: they must never be read. */
function cache(S: number, filled: number, C: number, seed: number): Float32Array {
  const c = randn(S * C, seed);
  c.fill(NaN, filled * C);
  return c;
}

describe('attention_decode', () => {
  it.each(SHAPES)('matches the CPU twin: Tq $Tq pos0 $pos0 S $S C $C NH $NH', async (d) => {
    const gpu = await testGpu();
    const qkv = randn(d.Tq * 3 * d.C, 1);
    const kc = cache(d.S, d.pos0 + d.Tq, d.C, 2);
    const vc = cache(d.S, d.pos0 + d.Tq, d.C, 3);
    const ref = attentionDecodeRef(qkv, kc, vc, d);
    const t = {
      qkv: gpu.upload(qkv, [d.Tq, 3 * d.C], 'qkv'),
      kc: gpu.upload(kc, [d.S, d.C], 'kc'),
      vc: gpu.upload(vc, [d.S, d.C], 'vc'),
      out: gpu.upload(new Float32Array(d.Tq * d.C).fill(NaN), [d.Tq, d.C], 'out'),
      att: gpu.tensor([d.Tq, d.NH, d.S], 'att'),
    };
    const enc = gpu.encoder('attn-decode-test');
    attentionDecode(enc, { ...t, ...d });
    enc.submit();
    expectClose(await gpu.read(t.out), ref, { atol: 1e-5, rtol: 1e-4, label: 'decode out' });
    release(gpu, ...Object.values(t));
  });

  it('the twin equals full causal attention over the prefix', () => {
    const T = 9,
      C = 12,
      NH = 3,
      pos0 = 6;
    const qkv = randn(T * 3 * C, 4);
    const full = attentionForwardRef(qkv, { B: 1, T, C, NH }).out;
    const kc = new Float32Array(T * C),
      vc = new Float32Array(T * C);
    for (let s = 0; s < T; s++)
      for (let c = 0; c < C; c++) {
        kc[s * C + c] = qkv[s * 3 * C + C + c];
        vc[s * C + c] = qkv[s * 3 * C + 2 * C + c];
      }
    const out = attentionDecodeRef(qkv.slice(pos0 * 3 * C), kc, vc, { Tq: T - pos0, pos0, S: T, C, NH });
    expectClose(out, full.slice(pos0 * C), { atol: 1e-6, rtol: 1e-5, label: 'decode vs full' });
  });

  it('rejects rows beyond the cache with a clear message', async () => {
    const gpu = await testGpu();
    const x = gpu.tensor([3 * 8], 'x');
    const enc = gpu.encoder('attn-decode-bad');
    expect(() =>
      attentionDecode(enc, { qkv: x, kc: x, vc: x, out: x, att: x, Tq: 1, pos0: 4, S: 4, C: 8, NH: 2 }),
    ).toThrow(/do not fit a cache of 4/);
    release(gpu, x);
  });
});
