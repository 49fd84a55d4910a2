/**
 * LoRA-Pro's gradient adjustment (src/engine/adapters/methods/lora-pro.ts, loraProAdjust) against its
 * definition on random factors: the equivalent gradient g̃ = s(g̃_B·A + B·g̃_A) is the orthogonal
 * projection of G onto LoRA's tangent space, P_B·G + (I − P_B)·G·P_A, so no other LoRA gradient pair
 * comes closer to G; the Sylvester X makes g̃_A, g̃_B the closest such pair to the LoRA gradients. Then
 * through the Trainer: ‖g̃ − G‖ is in every step's metrics and below plain LoRA's ‖s(g_B·A + B·g_A) − G‖.
 */
import { describe, it, expect } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { parseRunConfig } from '../../src/engine/config';
import { resolveInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { Rng } from '../../src/engine/rng';
import { loraProAdjust } from '../../src/engine/adapters/methods/lora-pro';

const [m, n, r, s] = [7, 5, 2, 1.5];
const rand = (k: number, tag: string) => new Rng(3, tag).fillNormal(new Float64Array(k) as unknown as Float32Array, 1);

function mul(a: ArrayLike<number>, b: ArrayLike<number>, p: number, q: number, t: number): Float64Array {
  const c = new Float64Array(p * t);
  for (let i = 0; i < p; i++)
    for (let k = 0; k < q; k++) for (let j = 0; j < t; j++) c[i * t + j] += a[i * q + k] * b[k * t + j];
  return c;
}
const T = (a: ArrayLike<number>, p: number, q: number) => {
  const t = new Float64Array(p * q);
  for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) t[j * p + i] = a[i * q + j];
  return t;
};
const dist2 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i] - b[i]) ** 2;
  return d;
};
/** P = M(MᵀM)⁻¹Mᵀ for M (k, 2) — r = 2, explicit 2×2 inverse. */
function proj(M: Float64Array, k: number): Float64Array {
  const G = mul(T(M, k, 2), M, 2, k, 2);
  const det = G[0] * G[3] - G[1] * G[2];
  const inv = Float64Array.from([G[3] / det, -G[1] / det, -G[2] / det, G[0] / det]);
  return mul(mul(M, inv, k, 2, 2), T(M, k, 2), k, 2, k);
}

describe('lora-pro', () => {
  const A = Float64Array.from(rand(r * n, 'A')),
    B = Float64Array.from(rand(m * r, 'B')),
    G = Float64Array.from(rand(m * n, 'G'));
  const gA = mul(T(B, m, r), G, r, m, n).map((x) => s * x),
    gB = mul(G, T(A, r, n), m, n, r).map((x) => s * x);
  const adj = loraProAdjust(A, B, gA, gB, s, r, m, n, G);
  const equiv = (tA: ArrayLike<number>, tB: ArrayLike<number>) => {
    const a = mul(tB, A, m, r, n),
      b = mul(B, tA, m, r, n);
    return a.map((x, i) => s * (x + b[i]));
  };

  it('the equivalent gradient is the projection of G onto the tangent space, closer to G than LoRA’s', () => {
    const PB = proj(B, m),
      PA = proj(T(A, r, n), n);
    const pbg = mul(PB, G, m, m, n),
      rest = mul(
        G.map((x, i) => x - pbg[i]),
        PA,
        m,
        n,
        n,
      );
    const target = pbg.map((x, i) => x + rest[i]);
    const g = equiv(adj.gA, adj.gB);
    expect(Math.sqrt(dist2(g, target))).toBeLessThan(1e-6 * Math.sqrt(dist2(target, new Float64Array(m * n))));
    expect(adj.gap2!).toBeCloseTo(dist2(g, G), 8);
    expect(adj.gap2!).toBeLessThan(adj.loraGap2!);
    // no other LoRA gradient pair comes closer
    for (let t = 0; t < 5; t++) {
      const dA = rand(r * n, `dA${t}`),
        dB = rand(m * r, `dB${t}`);
      const other = equiv(
        adj.gA.map((x, i) => x + 0.1 * dA[i]),
        adj.gB.map((x, i) => x + 0.1 * dB[i]),
      );
      expect(dist2(other, G)).toBeGreaterThanOrEqual(adj.gap2! - 1e-9);
    }
  });

  it('the Sylvester X: g̃_A, g̃_B are the closest pair to the LoRA gradients among those with the same g̃', () => {
    const f = (tA: ArrayLike<number>, tB: ArrayLike<number>) => dist2(tA, gA) + dist2(tB, gB);
    const f0 = f(adj.gA, adj.gB);
    for (let t = 0; t < 5; t++) {
      const Y = rand(r * r, `Y${t}`).map((x) => 0.05 * x);
      const yA = mul(Y, A, r, r, n),
        By = mul(B, Y, m, r, r);
      const tA = adj.gA.map((x, i) => x + yA[i]),
        tB = adj.gB.map((x, i) => x - By[i]);
      expect(Math.sqrt(dist2(equiv(tA, tB), equiv(adj.gA, adj.gB)))).toBeLessThan(1e-9); // X does not change g̃
      expect(f(tA, tB)).toBeGreaterThan(f0);
    }
  });

  it('the trainer reports ‖g̃ − G‖ each step, below plain LoRA’s gap once B ≠ 0', async () => {
    const gpu = await testGpu();
    const config = parseRunConfig({
      model: { source: 'preset', id: 'micro' },
      dataset: { source: 'builtin', id: 'english' },
      method: { id: 'lora-pro', params: { rank: 4 } },
      train: { steps: 4, batchSize: 2, contextLength: 16, lr: 1e-2, warmupSteps: 0, schedule: 'constant' },
      eval: { every: 0, batches: 1 },
      seed: 2,
    });
    const tr = await Trainer.create(gpu, await resolveInputs(config));
    try {
      for (let st = 0; st < 4; st++) {
        const x = (await tr.trainStep()).extra!;
        expect(x.loraProGap).toBeGreaterThan(0);
        expect(x.loraProGapRel).toBeLessThan(1);
        if (st > 0) expect(x.loraProGap).toBeLessThan(x.loraGap);
      }
    } finally {
      tr.dispose();
    }
  });
});
