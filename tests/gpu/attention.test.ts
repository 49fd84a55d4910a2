import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn } from '../helpers/gpu';
import { centralDiff, dot64 } from '../helpers/fd-attn';
import type { Gpu, GpuTensor } from '../../src/gpu/device';
import { attentionForward, attentionBackward, attentionScratchSizes } from '../../src/gpu/kernels/attention';
import {
  attentionForwardRef,
  attentionBackwardRef,
  attentionForwardRef64,
  attentionBackwardRef64,
  type AttentionDims,
} from '../../src/engine/ref/attention';

type Variant = 'fused' | 'unfused';
const VARIANTS: Variant[] = ['fused', 'unfused'];

const SHAPES: AttentionDims[] = [];
for (const B of [1, 2])
  for (const T of [1, 7, 33]) for (const C of [8, 12, 64]) for (const NH of [1, 2, 4]) SHAPES.push({ B, T, C, NH });
const tag = (d: AttentionDims) => `B${d.B} T${d.T} C${d.C} NH${d.NH}`;

/** A tensor full of NaN: whatever a kernel fails to overwrite shows up in the comparison. */
function garbage(gpu: Gpu, n: number, label: string): GpuTensor {
  return gpu.upload(new Float32Array(n).fill(NaN), [n], label);
}

async function gpuForward(gpu: Gpu, d: AttentionDims, qkv: Float32Array, variant: Variant) {
  const { B, T, C, NH } = d;
  const tq = gpu.upload(qkv, [B, T, 3 * C], 'qkv');
  const out = garbage(gpu, B * T * C, 'out');
  const att = garbage(gpu, B * NH * T * T, 'att');
  const enc = gpu.encoder('attn-fwd-test');
  attentionForward(enc, { qkv: tq, out, att, ...d, variant });
  enc.submit();
  const res = { out: await gpu.read(out), att: await gpu.read(att) };
  for (const t of [tq, out, att]) gpu.release(t);
  return res;
}

async function gpuBackward(
  gpu: Gpu,
  d: AttentionDims,
  qkv: Float32Array,
  att: Float32Array,
  dout: Float32Array,
  variant: Variant,
) {
  const { B, T, C, NH } = d;
  const tq = gpu.upload(qkv, [B, T, 3 * C], 'qkv');
  const ta = gpu.upload(att, [B, NH, T, T], 'att');
  const td = gpu.upload(dout, [B, T, C], 'dout');
  const dqkv = garbage(gpu, B * T * 3 * C, 'dqkv');
  const datt = garbage(gpu, attentionScratchSizes(B, T, C, NH).datt, 'datt');
  const enc = gpu.encoder('attn-bwd-test');
  attentionBackward(enc, { dout: td, qkv: tq, att: ta, dqkv, datt, ...d, variant });
  enc.submit();
  const res = await gpu.read(dqkv);
  for (const t of [tq, ta, td, dqkv, datt]) gpu.release(t);
  return res;
}

const seedOf = (d: AttentionDims) => d.B * 1000 + d.T * 37 + d.C * 5 + d.NH;

describe('attention forward vs CPU reference', () => {
  for (const variant of VARIANTS) {
    for (const d of SHAPES) {
      it(`${variant} ${tag(d)}`, async () => {
        const gpu = await testGpu();
        const qkv = randn(d.B * d.T * 3 * d.C, seedOf(d), 1, 'qkv');
        const ref = attentionForwardRef(qkv, d);
        const got = await gpuForward(gpu, d, qkv, variant);
        expectClose(got.att, ref.att, { atol: 1e-6, rtol: 1e-4, label: `att ${variant} ${tag(d)}` });
        expectClose(got.out, ref.out, { atol: 1e-5, rtol: 1e-4, label: `out ${variant} ${tag(d)}` });
      });
    }
  }

  it('large scores: max subtraction keeps softmax finite (scores ~ ±400)', async () => {
    const gpu = await testGpu();
    const d = { B: 1, T: 33, C: 64, NH: 4 };
    const qkv = randn(d.B * d.T * 3 * d.C, 77, 20, 'qkv-big');
    const ref = attentionForwardRef(qkv, d);
    for (const variant of VARIANTS) {
      const got = await gpuForward(gpu, d, qkv, variant);
      expect(got.att.every(Number.isFinite)).toBe(true);
      expectClose(got.att, ref.att, { atol: 1e-3, rtol: 1e-3, label: `att big ${variant}` });
      expectClose(got.out, ref.out, { atol: 2e-2, rtol: 1e-3, label: `out big ${variant}` });
    }
  });

  it('preatt, when given, keeps the scaled scores q·kᵀ/√HS', async () => {
    const gpu = await testGpu();
    const d = { B: 2, T: 7, C: 12, NH: 2 };
    const { B, T, C, NH } = d;
    const HS = C / NH;
    const qkv = randn(B * T * 3 * C, 5, 1, 'qkv');
    const tq = gpu.upload(qkv, [B, T, 3 * C], 'qkv');
    const out = gpu.tensor([B, T, C], 'out');
    const att = gpu.tensor([B, NH, T, T], 'att');
    const preatt = gpu.tensor([B, NH, T, T], 'preatt');
    const enc = gpu.encoder('preatt');
    attentionForward(enc, { qkv: tq, out, att, preatt, ...d });
    enc.submit();
    const got = await gpu.read(preatt);
    const want = new Float32Array(B * NH * T * T);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < NH; h++)
        for (let t = 0; t < T; t++)
          for (let s = 0; s < T; s++) {
            let acc = 0;
            for (let i = 0; i < HS; i++)
              acc += qkv[(b * T + t) * 3 * C + h * HS + i] * qkv[(b * T + s) * 3 * C + C + h * HS + i];
            want[((b * NH + h) * T + t) * T + s] = acc / Math.sqrt(HS);
          }
    expectClose(got, want, { atol: 1e-5, rtol: 1e-4, label: 'preatt' });
    expectClose(await gpu.read(att), attentionForwardRef(qkv, d).att, {
      atol: 1e-6,
      rtol: 1e-4,
      label: 'att with preatt',
    });
    for (const t of [tq, out, att, preatt]) gpu.release(t);
  });
});

describe('attention backward vs CPU reference', () => {
  for (const variant of VARIANTS) {
    for (const d of SHAPES) {
      it(`${variant} ${tag(d)}`, async () => {
        const gpu = await testGpu();
        const qkv = randn(d.B * d.T * 3 * d.C, seedOf(d), 1, 'qkv');
        const dout = randn(d.B * d.T * d.C, seedOf(d) + 1, 1, 'dout');
        const { att } = attentionForwardRef(qkv, d);
        const ref = attentionBackwardRef(dout, qkv, att, d);
        const got = await gpuBackward(gpu, d, qkv, att, dout, variant);
        expectClose(got, ref, { atol: 2e-5, rtol: 1e-4, label: `dqkv ${variant} ${tag(d)}` });
      });
    }
  }

  it('without caller scratch (shared per-device scratch) and with dpreatt', async () => {
    const gpu = await testGpu();
    const d = { B: 2, T: 33, C: 12, NH: 4 };
    const { B, T, C, NH } = d;
    const qkv = randn(B * T * 3 * C, 8, 1, 'qkv');
    const dout = randn(B * T * C, 9, 1, 'dout');
    const { att } = attentionForwardRef(qkv, d);
    const ref = attentionBackwardRef(dout, qkv, att, d);
    for (const variant of VARIANTS) {
      const tq = gpu.upload(qkv, [B, T, 3 * C], 'qkv');
      const ta = gpu.upload(att, [B, NH, T, T], 'att');
      const td = gpu.upload(dout, [B, T, C], 'dout');
      const dqkv = garbage(gpu, B * T * 3 * C, 'dqkv');
      const dpreatt = garbage(gpu, B * NH * T * T, 'dpreatt');
      const enc = gpu.encoder('attn-bwd-scratch');
      attentionBackward(enc, { dout: td, qkv: tq, att: ta, dqkv, ...d, variant });
      enc.submit();
      expectClose(await gpu.read(dqkv), ref, { atol: 2e-5, rtol: 1e-4, label: `no scratch ${variant}` });
      const enc2 = gpu.encoder('attn-bwd-dpreatt');
      attentionBackward(enc2, { dout: td, qkv: tq, att: ta, dqkv, dpreatt, ...d, variant });
      enc2.submit();
      expectClose(await gpu.read(dqkv), ref, { atol: 2e-5, rtol: 1e-4, label: `dpreatt ${variant}` });
      // dpreatt: zero above the diagonal, rows sum to 0 (softmax Jacobian kills constants)
      const dp = await gpu.read(dpreatt);
      for (let r = 0; r < B * NH * T; r++) {
        const t = r % T;
        let sum = 0;
        for (let s = 0; s < T; s++) {
          const x = dp[r * T + s];
          if (s > t) expect(x).toBe(0);
          sum += x;
        }
        expect(Math.abs(sum)).toBeLessThan(1e-5);
      }
      for (const t of [tq, ta, td, dqkv, dpreatt]) gpu.release(t);
    }
  });
});

describe('attention backward vs central finite differences (float64)', () => {
  const fdShapes: AttentionDims[] = [
    { B: 2, T: 5, C: 8, NH: 2 },
    { B: 1, T: 7, C: 12, NH: 4 },
    { B: 2, T: 33, C: 8, NH: 1 },
  ];
  for (const d of fdShapes) {
    const qkv = randn(d.B * d.T * 3 * d.C, 300 + d.T, 1, 'qkv-fd');
    const dout = randn(d.B * d.T * d.C, 400 + d.T, 1, 'dout-fd');
    const loss = (x: Float64Array) => dot64(dout, attentionForwardRef64(x, d).out);
    let fdCache: Float64Array | null = null;
    const fd = () => (fdCache ??= centralDiff(loss, qkv, 1e-5));

    it(`CPU ${tag(d)}`, () => {
      const q64 = Float64Array.from(qkv);
      const { att } = attentionForwardRef64(q64, d);
      const g64 = attentionBackwardRef64(Float64Array.from(dout), q64, att, d);
      expectClose(g64, fd(), { atol: 1e-8, rtol: 1e-6, label: `ref64 vs fd ${tag(d)}` });
      const g32 = attentionBackwardRef(dout, qkv, attentionForwardRef(qkv, d).att, d);
      expectClose(g32, fd(), { atol: 1e-5, rtol: 1e-4, label: `ref32 vs fd ${tag(d)}` });
    });

    for (const variant of VARIANTS) {
      it(`GPU ${variant} ${tag(d)} (forward and backward both on the GPU)`, async () => {
        const gpu = await testGpu();
        const { att } = await gpuForward(gpu, d, qkv, variant);
        const got = await gpuBackward(gpu, d, qkv, att, dout, variant);
        expectClose(got, fd(), { atol: 5e-5, rtol: 2e-4, label: `gpu ${variant} vs fd ${tag(d)}` });
      });
    }
  }
});

describe('causal masking', () => {
  const d = { B: 2, T: 33, C: 12, NH: 2 };
  const { B, T, C } = d;
  for (const variant of VARIANTS) {
    it(`${variant}: changing a future token's k and v leaves earlier outputs bit-identical`, async () => {
      const gpu = await testGpu();
      const t0 = 20;
      const qkv = randn(B * T * 3 * C, 11, 1, 'qkv');
      const changed = qkv.slice();
      for (let b = 0; b < B; b++) for (let c = C; c < 3 * C; c++) changed[(b * T + t0) * 3 * C + c] += 3 + c;
      const r1 = await gpuForward(gpu, d, qkv, variant);
      const r2 = await gpuForward(gpu, d, changed, variant);
      let changedLater = false;
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let c = 0; c < C; c++) {
            const i = (b * T + t) * C + c;
            if (t < t0) expect(r2.out[i]).toBe(r1.out[i]);
            else if (r2.out[i] !== r1.out[i]) changedLater = true;
          }
      expect(changedLater).toBe(true); // the perturbation did reach t ≥ t0
    });

    it(`${variant}: a gradient at token t0 reaches no k/v after t0 and no q but t0`, async () => {
      const gpu = await testGpu();
      const t0 = 10;
      const qkv = randn(B * T * 3 * C, 12, 1, 'qkv');
      const dout = new Float32Array(B * T * C);
      const noise = randn(B * C, 13, 1, 'dout');
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) dout[(b * T + t0) * C + c] = noise[b * C + c];
      const { att } = await gpuForward(gpu, d, qkv, variant);
      const g = await gpuBackward(gpu, d, qkv, att, dout, variant);
      let nonzero = 0;
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let c = 0; c < 3 * C; c++) {
            const x = g[(b * T + t) * 3 * C + c];
            const isQ = c < C;
            const mustBeZero = isQ ? t !== t0 : t > t0;
            if (mustBeZero) expect(Math.abs(x)).toBe(0);
            else if (x !== 0) nonzero++;
          }
      expect(nonzero).toBeGreaterThan(0);
    });
  }
});

describe('attention: head size above the fused limit, determinism', () => {
  it('HS = 160 > 128: auto falls back to unfused and matches the reference; fused refuses', async () => {
    const gpu = await testGpu();
    const d = { B: 1, T: 7, C: 160, NH: 1 };
    const qkv = randn(d.T * 3 * d.C, 31, 1, 'qkv');
    const dout = randn(d.T * d.C, 32, 1, 'dout');
    const ref = attentionForwardRef(qkv, d);
    const tq = gpu.upload(qkv, [d.T, 3 * d.C], 'qkv');
    const out = garbage(gpu, d.T * d.C, 'out');
    const att = garbage(gpu, d.T * d.T, 'att');
    const enc = gpu.encoder('hs160');
    expect(() => attentionForward(enc, { qkv: tq, out, att, ...d, variant: 'fused' })).toThrow(/HS ≤ 128/);
    attentionForward(enc, { qkv: tq, out, att, ...d });
    enc.submit();
    expectClose(await gpu.read(out), ref.out, { atol: 1e-5, rtol: 1e-4, label: 'HS 160 out' });
    const got = await gpuBackward(gpu, d, qkv, ref.att, dout, 'unfused');
    expectClose(got, attentionBackwardRef(dout, qkv, ref.att, d), { atol: 2e-5, rtol: 1e-4, label: 'HS 160 dqkv' });
    for (const t of [tq, out, att]) gpu.release(t);
  });

  for (const variant of VARIANTS) {
    it(`${variant}: forward and backward are bit-identical across runs`, async () => {
      const gpu = await testGpu();
      const d = { B: 2, T: 33, C: 64, NH: 4 };
      const qkv = randn(d.B * d.T * 3 * d.C, 41, 1, 'qkv');
      const dout = randn(d.B * d.T * d.C, 42, 1, 'dout');
      const bits = async () => {
        const f = await gpuForward(gpu, d, qkv, variant);
        const g = await gpuBackward(gpu, d, qkv, f.att, dout, variant);
        return [f.out, f.att, g].map((a) => Array.from(new Uint32Array(a.buffer)));
      };
      expect(await bits()).toEqual(await bits());
    });
  }
});

describe('attention argument checks', () => {
  it('rejects C not divisible by NH and undersized tensors', async () => {
    const gpu = await testGpu();
    const qkv = gpu.tensor([1, 4, 36], 'qkv');
    const out = gpu.tensor([1, 4, 12], 'out');
    const att = gpu.tensor([1, 5, 4, 4], 'att');
    const enc = gpu.encoder('bad');
    expect(() => attentionForward(enc, { qkv, out, att, B: 1, T: 4, C: 12, NH: 5 })).toThrow(/divisible/);
    expect(() => attentionForward(enc, { qkv, out, att, B: 2, T: 4, C: 12, NH: 2 })).toThrow(/qkv/);
    expect(() => attentionForward(enc, { qkv, out, att, B: 1, T: 4, C: 12, NH: 1, variant: 'fused' })).not.toThrow();
    enc.submit();
    for (const t of [qkv, out, att]) gpu.release(t);
  });
});
