import { describe, expect, it } from 'vitest';
import { batch, snapshot } from './fixtures';
import {
  applyMetricsBatch,
  applySpectra,
  emptyMetrics,
  emptySpectra,
  etaMs,
  intruderIndices,
  intrudersAt,
  splitMatrixName,
  truncateMetrics,
} from '../../src/ui/store/runData';
import { esd, intruderCounts, sweepFromMaxCos } from '../../src/ui/spectra';
import { deltaIsZero, relDeltaNorm } from '../../src/ui/deltaZero';

describe('metrics reducer', () => {
  it('turns batches into exact per-step losses and bounded series', () => {
    let m = emptyMetrics();
    m = applyMetricsBatch(m, batch(1, 10, undefined, 5), 1000);
    m = applyMetricsBatch(m, batch(11, 20, undefined, 5), 2000);
    expect(m.losses.length).toBe(20);
    expect(m.losses[0]).toBe(Math.fround(4.99));
    expect(m.lastStep).toBe(20);
    expect(m.evals.points.map((p) => p.step)).toEqual([5, 10, 15, 20]);
    expect(m.elapsedMs).toBe(2000);
    expect(m.train.last!.step).toBe(20);
  });
  it('a resumed run re-sending earlier steps truncates, never duplicates', () => {
    let m = applyMetricsBatch(emptyMetrics(), batch(1, 20));
    m = applyMetricsBatch(
      m,
      batch(16, 18, () => 1),
    );
    expect(m.losses.length).toBe(18);
    expect(m.losses.slice(15)).toEqual([1, 1, 1]);
    expect(m.lastStep).toBe(18);
    const t = truncateMetrics(m, 5);
    expect(t.losses.length).toBe(5);
    expect(t.train.points.every((p) => p.step <= 5)).toBe(true);
  });
  it('the step-0 evaluation becomes an eval point only, before step 1', () => {
    const zero = batch(0, 0, () => NaN, 1); // the worker's step-0 row: no train loss, val 4, probe 6
    let m = applyMetricsBatch(emptyMetrics(), zero);
    m = applyMetricsBatch(m, batch(1, 4, undefined, 2));
    expect(m.evals.points.map((p) => [p.step, p.valLoss, p.probeLoss])).toEqual([
      [0, 4, 6],
      [2, 4, 6],
      [4, 4, 6],
    ]);
    expect(m.train.points.every((p) => p.step >= 1)).toBe(true);
    expect(m.losses).toHaveLength(4);
    expect(m.losses.every(Number.isFinite)).toBe(true);
    expect(m.lastStep).toBe(4);
  });
  it('eta from this session pace', () => {
    const m = { ...applyMetricsBatch(emptyMetrics(), batch(1, 10)), elapsedMs: 1000 };
    expect(etaMs(m, 20)).toBeCloseTo(1000, 6);
    expect(etaMs(emptyMetrics(), 20)).toBeNull();
    expect(etaMs({ ...m, sessionStartStep: 5 }, 20)).toBeCloseTo(2000, 6);
  });
});

describe('spectra reducer and helpers', () => {
  it('a ΔW that is rounding noise gets no ranks drawn (ΔW ≈ 0), a real one keeps them', () => {
    const noise = snapshot('h.0.attn.c_attn', 0, [0.9]);
    noise.intruders.relFrobenius = 3e-7; // PiSSA's step 0: (W_res + s·B·A) − W0 in float32
    const real = snapshot('h.0.attn.c_attn', 10, [0.9]);
    real.intruders.relFrobenius = 2e-3;
    const s = applySpectra(emptySpectra(), [noise, real]);
    expect(s.history.map((h) => h.deltaErank)).toEqual([NaN, 4]);
    expect(deltaIsZero(noise)).toBe(true);
    expect(deltaIsZero(real)).toBe(false);
    // without the engine's figure it comes from the singular values (fixture: √(Σ_{n≤4} 1/n²) / √(Σ_{n≤32} 100/n²) ≈ 0.0939)
    expect(relDeltaNorm(snapshot('m', 1, [0.9]))).toBeCloseTo(0.0939, 3);
  });

  it('keeps the newest snapshot per matrix and a history', () => {
    let s = applySpectra(emptySpectra(), [
      snapshot('h.0.attn.c_attn', 0, [0.9, 0.9]),
      snapshot('h.1.attn.c_attn', 0, [0.9, 0.9]),
    ]);
    s = applySpectra(s, [snapshot('h.0.attn.c_attn', 10, [0.9, 0.2])]);
    expect(Object.keys(s.latest).sort()).toEqual(['h.0.attn.c_attn', 'h.1.attn.c_attn']);
    expect(s.latest['h.0.attn.c_attn'].step).toBe(10);
    expect(s.history.length).toBe(3);
    // re-analysis at the same step replaces, not duplicates
    s = applySpectra(s, [snapshot('h.0.attn.c_attn', 10, [0.1, 0.2])]);
    expect(s.history.length).toBe(3);
    expect(s.history.find((h) => h.step === 10)!.intruders).toBe(2);
    // the ε slider recounts every history point, not only the latest snapshot (issue 16)
    const h10 = s.history.find((h) => h.step === 10 && h.name === 'h.0.attn.c_attn')!;
    expect([intrudersAt(h10, 0.15), intrudersAt(h10, 0.5), intrudersAt(h10, 0.05)]).toEqual([1, 2, 0]);
    expect(intrudersAt({ ...h10, maxCos: undefined }, 0.05)).toBe(2); // no maxCos: the engine's count
  });
  it('intruders at ε, per matrix', () => {
    const snap = snapshot('h.2.mlp.c_fc', 5, [0.95, 0.3, 0.6, 0.1]);
    expect(intruderIndices(snap, 0.5)).toEqual([1, 3]);
    expect(intruderIndices(snap, 0.7)).toEqual([1, 2, 3]);
    expect(splitMatrixName('h.2.mlp.c_fc')).toEqual({ layer: 2, module: 'mlp.c_fc' });
    expect(splitMatrixName('lm_head')).toEqual({ layer: null, module: 'lm_head' });
    const counts = intruderCounts({ a: snapshot('h.1.attn.c_attn', 1, [0.1]), b: snap }, 0.5);
    expect(counts.map((c) => [c.layer, c.count])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    const sw = sweepFromMaxCos(snap, 9);
    expect(sw[0].count).toBe(0);
    expect(sw.at(-1)!.count).toBe(3); // ε = 0.9: the 0.95 vector is not an intruder
    for (let i = 1; i < sw.length; i++) expect(sw[i].count).toBeGreaterThanOrEqual(sw[i - 1].count);
  });
  it('esd is a density on log bins with the power law over the tail', () => {
    const sigma = Float32Array.from({ length: 200 }, (_, i) => Math.pow(i + 1, -0.7));
    const pts = esd(sigma, 2.2, 0.01);
    expect(pts.length).toBe(24);
    expect(pts.every((p) => p.lambda > 0)).toBe(true);
    expect(pts.some((p) => p.fit && p.fit > 0)).toBe(true);
    expect(pts.filter((p) => p.lambda < 0.01).every((p) => p.fit === null)).toBe(true);
    expect(esd([1], 2, 1)).toEqual([]);
    expect(esd([3, 2, 1], NaN, 1).every((p) => p.fit === null)).toBe(true);
  });
});

import { matrixKey } from '../../src/ui/store/actions';
import { esdFromHistogram } from '../../src/ui/spectra';

describe('engine vocabulary', () => {
  it('"…weight" and snapshot names are one matrix', () => {
    expect(matrixKey('h.0.attn.c_attn.weight')).toBe('h.0.attn.c_attn');
    expect(matrixKey('h.0.attn.c_attn')).toBe('h.0.attn.c_attn');
  });
  it('the engine histogram becomes a density with the fit over the tail', () => {
    const pts = esdFromHistogram({ log10Edges: [-2, -1, 0, 1], counts: [5, 3, 2] }, 2, 0.1);
    expect(pts).toHaveLength(3);
    const mass = pts.reduce(
      (a, p, i) => a + (p.density ?? 0) * (Math.pow(10, [-2, -1, 0, 1][i + 1]) - Math.pow(10, [-2, -1, 0, 1][i])),
      0,
    );
    expect(mass).toBeCloseTo(1, 6);
    expect(pts[0].fit).toBeNull();
    expect(pts[2].fit).toBeGreaterThan(0);
    expect(esdFromHistogram({ log10Edges: [0], counts: [] }, 2, 1)).toEqual([]);
  });
});
