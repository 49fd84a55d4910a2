/**
 * Intruder classification (rotation in a near-degenerate σ cluster vs new direction), PEFT's
 * intruder mitigation (analysis/mitigate.ts) checked against our live intruder rule on a fixed
 * pair, and PHLoRA extraction (analysis/extract.ts) round-tripped through the PEFT files. CPU only.
 */
import { describe, it, expect } from 'vitest';
import { intruderDimensions, analyzeMatrix } from '../../src/engine/analysis';
import { mitigateLayer } from '../../src/engine/analysis/mitigate';
import { extractMatrix, extractedState, chooseRank } from '../../src/engine/analysis/extract';
import { exportPeft, importPeft } from '../../src/engine/io/peft';
import { exactSvd } from '../../src/engine/linalg';
import { parseRunConfig } from '../../src/engine/config';
import { Rng } from '../../src/engine/rng';

const randn = (n: number, seed: number, sd = 1) => new Rng(seed, 'intruder-test').fillNormal(new Float32Array(n), sd);

/** ΔW (out, in) = s·B·A */
function delta(A: Float32Array, B: Float32Array, r: number, s: number, out: number, inn: number): Float32Array {
  const d = new Float32Array(out * inn);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inn; i++) {
      let x = 0;
      for (let j = 0; j < r; j++) x += B[o * r + j] * A[j * inn + i];
      d[o * inn + i] = s * x;
    }
  return d;
}

describe('intruder classification', () => {
  it('a vector spread over a σ-degenerate cluster is a rotation; one outside the base span is new', () => {
    // Base: the identity's first 6 columns of R^8 (M = 8, r0 = 6); σ0 = [5,5,5,5,5,1].
    const M = 8,
      r0 = 6;
    const U0 = new Float32Array(M * r0);
    for (let i = 0; i < r0; i++) U0[i * r0 + i] = 1;
    const sigmaBase = [5, 5, 5, 5, 5, 1];
    // Tuned: y0 = (e0+…+e4)/√5 (max|cos| 0.447 < 0.5, all in the σ≈5 cluster), y1 = e7 (outside), y2 = e5.
    const kt = 3;
    const Ut = new Float32Array(M * kt);
    for (let i = 0; i < 5; i++) Ut[i * kt + 0] = 1 / Math.sqrt(5);
    Ut[7 * kt + 1] = 1;
    Ut[5 * kt + 2] = 1;
    const res = intruderDimensions(Ut, kt, U0, r0, M, { k: 3, eps: 0.5, sigmaTuned: [5.1, 4, 1], sigmaBase });
    expect(res.indices).toEqual([0, 1]);
    expect(res.kinds).toEqual(['rotation', 'new']);
    expect(res.rotations).toBe(1);
    expect(res.newDirections).toBe(1);
    expect(res.clusterNorm![0]).toBeCloseTo(1, 5);
    expect(res.minMaxCos).toBeCloseTo(0, 6);
    // The same rotation with the cluster's σ far from its own (σ 20) is a new direction by the rule.
    const far = intruderDimensions(Ut, kt, U0, r0, M, { k: 3, eps: 0.5, sigmaTuned: [20, 4, 1], sigmaBase });
    expect(far.kinds).toEqual(['new', 'new']);
  });
});

describe("intruder mitigation as PEFT's reduce_intruder_dimension", () => {
  // A fixed pair: W (24, 16) and a strong rank-4 LoRA update along random directions.
  const out = 24,
    inn = 16,
    r = 4,
    s = 2;
  const W = randn(out * inn, 1, 0.3);
  const A = randn(r * inn, 2, 0.5);
  const B = randn(out * r, 3, 0.5);

  it('finds the same intruders as our live count (analyzeMatrix on the stored Conv1D layout)', async () => {
    const m = mitigateLayer(W, A, B, r, s, out, inn);
    expect(m.intruders.length).toBeGreaterThan(0);
    const d = delta(A, B, r, s, out, inn);
    const tuned = W.map((x, i) => x + d[i]);
    // Stored as GPT-2 Conv1D (in, out): the analysis transposes back to (out, in).
    const live = await analyzeMatrix(null, {
      name: 'h.0.attn.c_proj.weight',
      base: transposeOutIn(W, out, inn),
      tuned: transposeOutIn(tuned, out, inn),
      rows: inn,
      cols: out,
      layout: 'in-out',
      k: 10,
      eps: 0.5,
    });
    expect(live.intruders.indices).toEqual(m.intruders);
    for (let j = 0; j < 10; j++) expect(live.intruders.maxCos[j]).toBeCloseTo(m.maxCos[j], 4);
  });

  it('λ = 1 keeps ΔW; no intruder copies the factors; ε above 1 re-factorises every layer', () => {
    const d = delta(A, B, r, s, out, inn);
    const same = mitigateLayer(W, A, B, r, s, out, inn, { lambda: 1 });
    const d1 = delta(same.A, same.B, r, s, out, inn);
    for (let i = 0; i < d.length; i++) expect(Math.abs(d1[i] - d[i])).toBeLessThan(1e-4);
    const none = mitigateLayer(W, A, B, r, s, out, inn, { eps: 1e-9 });
    expect(none.changed).toBe(false);
    expect(none.A).toEqual(A);
    const all = mitigateLayer(W, A, B, r, s, out, inn, { eps: 999 });
    expect(all.intruders).toEqual([...Array(10).keys()]);
    expect(all.changed).toBe(true);
  });

  it('λ = 0.75 scales a dominant new direction of W + ΔW to 0.75 of its σ', () => {
    // A rank-1 update (σ ≈ 6) well above W's spectrum (σ ≤ ~2.7): the top tuned vector is the update's.
    const a = randn(inn, 4),
      b = randn(out, 5);
    const na = Math.hypot(...a),
      nb = Math.hypot(...b);
    const A1 = new Float32Array(r * inn),
      B1 = new Float32Array(out * r);
    for (let i = 0; i < inn; i++) A1[i] = a[i] / na;
    for (let o = 0; o < out; o++) B1[o * r] = (3 * b[o]) / nb; // s·|b|·|a| = 2·3·1 = 6
    const m = mitigateLayer(W, A1, B1, r, s, out, inn);
    expect(m.intruders).toContain(0);
    const d0 = delta(A1, B1, r, s, out, inn),
      d1 = delta(m.A, m.B, r, s, out, inn);
    const t0 = exactSvd(
      W.map((x, i) => x + d0[i]),
      out,
      inn,
    );
    const q = t0.S.length;
    let proj = 0;
    for (let o = 0; o < out; o++)
      for (let i = 0; i < inn; i++) proj += t0.U[o * q] * (W[o * inn + i] + d1[o * inn + i]) * t0.Vt[i];
    expect(proj / t0.S[0]).toBeGreaterThan(0.7);
    expect(proj / t0.S[0]).toBeLessThan(0.8);
  });
});

function transposeOutIn(x: Float32Array, out: number, inn: number): Float32Array {
  const t = new Float32Array(out * inn);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) t[i * out + o] = x[o * inn + i];
  return t;
}

describe('PHLoRA extraction', () => {
  const out = 20,
    inn = 12;
  // ΔW of rank 3 (σ ≈ 3, 2, 1 scale) plus 1e-3 noise.
  const U = randn(out * 3, 7),
    V = randn(3 * inn, 8);
  const D = delta(
    V,
    U.map((x, i) => x * [3, 2, 1][i % 3]),
    3,
    1,
    out,
    inn,
  );
  const noise = randn(out * inn, 9, 1e-3);
  for (let i = 0; i < D.length; i++) D[i] += noise[i];

  it('energy 0.999 picks r = 3; rank 2 leaves exactly the third σ; the curve ends at 1', () => {
    const e = extractMatrix('h.0.mlp.c_fc', D, out, inn, { energy: 0.999 });
    expect(e.r).toBe(3);
    expect(e.relError).toBeLessThan(1e-2);
    const two = extractMatrix('h.0.mlp.c_fc', D, out, inn, { rank: 2 });
    const S = exactSvd(D, out, inn).S64;
    let tot = 0;
    for (const x of S) tot += x * x;
    let rest = 0;
    for (let i = 2; i < S.length; i++) rest += S[i] ** 2;
    expect(two.relError).toBeCloseTo(Math.sqrt(rest / tot), 4);
    expect(e.energyCurve.at(-1)).toBeCloseTo(1, 10);
    expect(chooseRank([0.5, 0.8, 0.95, 1], { energy: 0.9 })).toBe(3);
    expect(chooseRank([0.5, 0.8], { rank: 9 })).toBe(2);
  });

  it('round-trips through PEFT files: the imported B·A (lora_alpha = r) is the extracted ΔW', () => {
    const mats = [
      extractMatrix('h.0.mlp.c_fc', D, out, inn, { rank: 3 }),
      extractMatrix('h.1.mlp.c_fc', D, out, inn, { rank: 2 }),
    ];
    const config = parseRunConfig({
      model: { source: 'preset', id: 'micro' },
      dataset: { source: 'builtin', id: 'english' },
      method: { id: 'lora', params: {} },
      targets: { modules: ['mlp.c_fc'], layers: null, rankOverrides: {} },
    });
    const ex = exportPeft(config, extractedState(mats), { nLayer: 2 });
    expect(ex.config.r).toBe(2); // ties go to the smaller rank; the other is in rank_pattern
    expect(ex.config.rank_pattern).toEqual({ 'transformer.h.0.mlp.c_fc': 3 });
    const back = importPeft(ex.files);
    for (const [i, m] of back.modules.entries()) {
      expect(m.scaling).toBeCloseTo(1, 10);
      const got = delta(m.A, m.B, m.r, m.scaling, out, inn),
        want = delta(mats[i].A, mats[i].B, mats[i].r, 1, out, inn);
      for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-5);
    }
  });
});
