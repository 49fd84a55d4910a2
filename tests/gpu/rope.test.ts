import { describe, it, expect } from 'vitest';
import { testGpu, expectClose, randn, record, release } from '../helpers/gpu';
import { numericGrad, dot } from '../helpers/fd';
import type { Gpu } from '../../src/gpu/device';
import { ropeApply, ropeCosSinTable, ropeInvFreq, type RopeApplyArgs } from '../../src/gpu/kernels/rope';
import * as R from '../../src/engine/ref/rope';

type View = Pick<
  RopeApplyArgs,
  'B' | 'T' | 'nHeads' | 'HS' | 'rotDim' | 'rowStride' | 'headStride' | 'offset' | 'pos0' | 'inverse'
>;

async function runGpu(gpu: Gpu, x: Float32Array, invFreq: Float32Array, v: View): Promise<Float32Array> {
  const tx = gpu.upload(x, [x.length], 'x');
  const cs = gpu.upload(ropeCosSinTable(invFreq, (v.pos0 ?? 0) + v.T), [(v.pos0 ?? 0) + v.T, 2, invFreq.length], 'cs');
  await record(gpu, (enc) => ropeApply(enc, { x: tx, cs, ...v }));
  const out = await gpu.read(tx);
  release(gpu, tx, cs);
  return out;
}

function ref(x: Float32Array, invFreq: Float32Array, v: View): Float32Array {
  return R.ropeApply({ x, invFreq, rows: v.B * v.T, ...v });
}

describe('rope kernel vs CPU reference', () => {
  const cases: [string, View][] = [
    ['contiguous full', { B: 1, T: 1, nHeads: 1, HS: 2, rotDim: 2 }],
    ['contiguous full', { B: 2, T: 7, nHeads: 3, HS: 16, rotDim: 16 }],
    ['contiguous, 33 positions from pos0 = 5', { B: 3, T: 33, nHeads: 2, HS: 64, rotDim: 64, pos0: 5 }],
    ['partial rotary (Pythia rotary_pct 0.25)', { B: 2, T: 9, nHeads: 3, HS: 32, rotDim: 8 }],
    ['partial rotary odd half', { B: 1, T: 7, nHeads: 2, HS: 10, rotDim: 6 }],
    ['head size 128 (Qwen3)', { B: 1, T: 5, nHeads: 2, HS: 128, rotDim: 128 }],
  ];
  for (const [name, v] of cases) {
    for (const inverse of [false, true]) {
      it(`${name} B${v.B} T${v.T} NH${v.nHeads} HS${v.HS} rot${v.rotDim}${inverse ? ' inverse' : ''}`, async () => {
        const gpu = await testGpu();
        const n = v.B * v.T * v.nHeads * v.HS;
        const x = randn(n, n + v.rotDim, 1, 'x');
        const invFreq = ropeInvFreq({ rotDim: v.rotDim, theta: 10000 });
        const g = await runGpu(gpu, x, invFreq, { ...v, inverse });
        expectClose(g, ref(x, invFreq, { ...v, inverse }), { atol: 2e-6, rtol: 1e-5, label: name });
        // Untouched dims are bit-identical.
        for (let r = 0; r < v.B * v.T * v.nHeads; r++)
          for (let i = v.rotDim; i < v.HS; i++) expect(g[r * v.HS + i]).toBe(x[r * v.HS + i]);
      });
    }
  }

  it('q and k inside a GPT-2-style fused (N, 3C) buffer; v untouched', async () => {
    const gpu = await testGpu();
    const B = 2,
      T = 5,
      NH = 3,
      HS = 8,
      C = NH * HS;
    const x = randn(B * T * 3 * C, 11, 1, 'qkv');
    const invFreq = ropeInvFreq({ rotDim: HS, theta: 500000 });
    const tx = gpu.upload(x, [B * T, 3 * C], 'qkv');
    const cs = gpu.upload(ropeCosSinTable(invFreq, T), [T * HS], 'cs');
    const common = { B, T, nHeads: NH, HS, rotDim: HS, rowStride: 3 * C, headStride: HS };
    await record(gpu, (enc) => {
      ropeApply(enc, { x: tx, cs, ...common, offset: 0 });
      ropeApply(enc, { x: tx, cs, ...common, offset: C });
    });
    const g = await gpu.read(tx);
    release(gpu, tx, cs);
    let want = ref(x, invFreq, { ...common, offset: 0 });
    want = ref(want, invFreq, { ...common, offset: C });
    expectClose(g, want, { atol: 2e-6, rtol: 1e-5, label: 'fused qkv' });
    for (let n = 0; n < B * T; n++) for (let c = 2 * C; c < 3 * C; c++) expect(g[n * 3 * C + c]).toBe(x[n * 3 * C + c]);
  });

  it('q and k of GPT-NeoX per-head fused (N, NH, 3·HS), partial rotary', async () => {
    const gpu = await testGpu();
    const B = 1,
      T = 7,
      NH = 2,
      HS = 16,
      rotDim = 4;
    const x = randn(B * T * NH * 3 * HS, 12, 1, 'qkv');
    const invFreq = ropeInvFreq({ rotDim, theta: 10000 });
    const tx = gpu.upload(x, [x.length], 'qkv');
    const cs = gpu.upload(ropeCosSinTable(invFreq, T), [T * rotDim], 'cs');
    const common = { B, T, nHeads: NH, HS, rotDim, rowStride: NH * 3 * HS, headStride: 3 * HS };
    await record(gpu, (enc) => {
      ropeApply(enc, { x: tx, cs, ...common, offset: 0 });
      ropeApply(enc, { x: tx, cs, ...common, offset: HS });
    });
    const g = await gpu.read(tx);
    release(gpu, tx, cs);
    const want = ref(ref(x, invFreq, { ...common, offset: 0 }), invFreq, { ...common, offset: HS });
    expectClose(g, want, { atol: 2e-6, rtol: 1e-5, label: 'neox fused' });
  });

  it('HF rotate_half convention by hand: dim i pairs with i + rotDim/2, not with i + 1', async () => {
    // One head of 4 dims at position 1, θ = 10000: inv_freq = [1, 0.01]. x = e0 + 2·e1 rotates e0 into e2
    // (angle 1) and e1 into e3 (angle 0.01): y = [cos 1, 2 cos 0.01, sin 1, 2 sin 0.01].
    const gpu = await testGpu();
    const x = Float32Array.from([9, 9, 9, 9, 1, 2, 0, 0]); // positions 0 and 1
    const g = await runGpu(gpu, x, ropeInvFreq({ rotDim: 4 }), { B: 1, T: 2, nHeads: 1, HS: 4, rotDim: 4 });
    expectClose(g, [9, 9, 9, 9, Math.cos(1), 2 * Math.cos(0.01), Math.sin(1), 2 * Math.sin(0.01)], {
      atol: 1e-6,
      rtol: 1e-6,
      label: 'rotate_half by hand',
    });
  });

  it('inverse undoes forward', async () => {
    const gpu = await testGpu();
    const v = { B: 2, T: 17, nHeads: 2, HS: 32, rotDim: 32 };
    const x = randn(2 * 17 * 2 * 32, 5, 1, 'x');
    const invFreq = ropeInvFreq({ rotDim: 32 });
    const y = await runGpu(gpu, x, invFreq, v);
    const back = await runGpu(gpu, y, invFreq, { ...v, inverse: true });
    expectClose(back, x, { atol: 1e-5, rtol: 1e-5, label: 'R⁻¹R x' });
  });

  it('rejects a bad rotary dim with one line', async () => {
    const gpu = await testGpu();
    const tx = gpu.tensor([64], 'x'),
      cs = gpu.tensor([64], 'cs');
    await expect(
      record(gpu, (enc) => ropeApply(enc, { x: tx, cs, B: 1, T: 1, nHeads: 1, HS: 8, rotDim: 10 })),
    ).rejects.toThrow(/rotDim 10 must be even and ≤ head size 8/);
    release(gpu, tx, cs);
  });
});

describe('rope backward vs finite differences', () => {
  it('inverse rotation is the gradient of Σ w ⊙ rope(x)', async () => {
    const v = { B: 1, T: 3, nHeads: 2, HS: 6, rotDim: 4, pos0: 2 };
    const n = 3 * 2 * 6;
    const x = randn(n, 21, 1, 'x');
    const w = randn(n, 22, 1, 'w');
    const invFreq = ropeInvFreq({ rotDim: 4, theta: 100 });
    const fd = numericGrad((u) => dot(w, R.ropeApplyF64({ x: u, invFreq, rows: 3, ...v })), x, 1e-3);
    const tol = { atol: 1e-5, rtol: 1e-4 };
    expectClose(R.ropeApply({ x: w, invFreq, rows: 3, ...v, inverse: true }), fd, { ...tol, label: 'ref vs FD' });
    const gpu = await testGpu();
    expectClose(await runGpu(gpu, w, invFreq, { ...v, inverse: true }), fd, { ...tol, label: 'GPU vs FD' });
  });
});

describe('ropeInvFreq (transformers modeling_rope_utils)', () => {
  it('default: 1/θ^(2i/d)', () => {
    const inv = ropeInvFreq({ rotDim: 8, theta: 10000 });
    expectClose(inv, [1, 0.1, 0.01, 0.001], { atol: 0, rtol: 1e-7, label: 'inv_freq' });
    expect(ropeInvFreq({ rotDim: 4 })[1]).toBe(Math.fround(1 / Math.fround(100)));
  });

  it('llama3: high frequencies kept, low ones divided by factor, smooth in between', () => {
    const scaling = {
      rope_type: 'llama3',
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    const base = ropeInvFreq({ rotDim: 64, theta: 500000 });
    const inv = ropeInvFreq({ rotDim: 64, theta: 500000, scaling });
    let kept = 0,
      divided = 0,
      smooth = 0;
    for (let i = 0; i < 32; i++) {
      const wavelen = (2 * Math.PI) / base[i];
      if (wavelen < 8192 / 4) {
        expect(inv[i]).toBe(base[i]);
        kept++;
      } else if (wavelen > 8192) {
        expect(inv[i]).toBe(Math.fround(base[i] / 32));
        divided++;
      } else {
        const s = (8192 / wavelen - 1) / (4 - 1);
        expect(inv[i]).toBeCloseTo(((1 - s) * base[i]) / 32 + s * base[i], 9);
        expect(inv[i]).toBeLessThanOrEqual(base[i]);
        expect(inv[i]).toBeGreaterThanOrEqual(base[i] / 32);
        smooth++;
      }
    }
    expect(kept * divided * smooth).toBeGreaterThan(0); // all three regimes exercised
  });

  it('linear divides by factor; unknown types and missing fields give one line', () => {
    const base = ropeInvFreq({ rotDim: 8 });
    expect(ropeInvFreq({ rotDim: 8, scaling: { type: 'linear', factor: 4 } })[2]).toBe(Math.fround(base[2] / 4));
    expect(() => ropeInvFreq({ rotDim: 8, scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(
      'rope: rope_scaling type "yarn" is not supported (supported: default, linear, llama3)',
    );
    expect(() => ropeInvFreq({ rotDim: 8, scaling: { rope_type: 'llama3', factor: 4 } })).toThrow(
      'rope: rope_scaling type llama3 needs low_freq_factor',
    );
    expect(() => ropeInvFreq({ rotDim: 7 })).toThrow(/positive even integer/);
  });
});
