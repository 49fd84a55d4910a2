import { describe, it, expect } from 'vitest';
import { learningRate, learningRateSeries, type LrSchedule } from '../../src/engine/optim/schedule';

const base: LrSchedule = { lr: 1e-3, warmupSteps: 10, totalSteps: 110, schedule: 'cosine', minLrRatio: 0.1 };

describe('learning-rate schedule', () => {
  it('linear warmup: lr/warmup at step 0, full lr at the last warmup step', () => {
    expect(learningRate(0, base)).toBeCloseTo(1e-4, 15);
    expect(learningRate(4, base)).toBeCloseTo(5e-4, 15);
    expect(learningRate(9, base)).toBeCloseTo(1e-3, 15);
  });

  it('cosine: peak right after warmup, midpoint halfway, lr·minLrRatio at the final step, then held', () => {
    expect(learningRate(10, base)).toBeCloseTo(1e-3, 15);
    // decay span = totalSteps − 1 − warmup = 99 steps; p = 0.5 would be step 59.5, so check the formula
    const p = (59 - 10) / 99;
    expect(learningRate(59, base)).toBeCloseTo(1e-4 + 9e-4 * 0.5 * (1 + Math.cos(Math.PI * p)), 15);
    expect(learningRate(109, base)).toBeCloseTo(1e-4, 15);
    expect(learningRate(500, base)).toBeCloseTo(1e-4, 15);
    const mid = { ...base, totalSteps: 11 + 2 * 50 }; // span 100, p = 0.5 at step 60
    expect(learningRate(60, mid)).toBeCloseTo(5.5e-4, 15);
  });

  it('cosine decay is monotone non-increasing after warmup and stays within [min, lr]', () => {
    const s = learningRateSeries(base);
    for (let i = 11; i < s.length; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1] + 1e-18);
    for (const v of s) expect(v).toBeGreaterThanOrEqual(0);
    expect(Math.min(...s.subarray(10))).toBeCloseTo(1e-4, 15);
  });

  it('linear decay and constant', () => {
    const lin = { ...base, schedule: 'linear' as const };
    expect(learningRate(9, lin)).toBeCloseTo(1e-3, 15);
    expect(learningRate(10 + 33, lin)).toBeCloseTo(1e-3 - 9e-4 / 3, 15);
    expect(learningRate(109, lin)).toBeCloseTo(1e-4, 15);
    const con = { ...base, schedule: 'constant' as const };
    expect(learningRate(0, con)).toBeCloseTo(1e-4, 15);
    expect(learningRate(9, con)).toBeCloseTo(1e-3, 15);
    expect(learningRate(109, con)).toBe(1e-3);
  });

  it('defaults: minLrRatio 0.1; no warmup starts at the peak', () => {
    const s = { lr: 2, warmupSteps: 0, totalSteps: 5, schedule: 'cosine' as const };
    expect(learningRate(0, s)).toBe(2);
    expect(learningRate(4, s)).toBeCloseTo(0.2, 15);
    expect(learningRate(2, s)).toBeCloseTo(1.1, 15);
  });

  it('rejects bad input with a clear message', () => {
    expect(() => learningRate(-1, base)).toThrow(/step/);
    expect(() => learningRate(0, { ...base, totalSteps: 0 })).toThrow(/totalSteps/);
    expect(() => learningRate(0, { ...base, lr: NaN })).toThrow(/learning rate/);
    expect(() => learningRate(0, { ...base, minLrRatio: 2 })).toThrow(/minLrRatio/);
    expect(() => learningRate(0, { ...base, schedule: 'step' as never })).toThrow(/unknown schedule/);
  });
});
