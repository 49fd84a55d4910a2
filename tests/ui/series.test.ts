import { describe, expect, it } from 'vitest';
import { appendDecimated, ema, emptySeries, seriesView, thin, truncateSeries } from '../../src/ui/series';

const pts = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => ({ step: a + i, v: a + i }));

describe('decimated series', () => {
  it('keeps everything below the cap', () => {
    const s = appendDecimated(emptySeries<{ step: number; v: number }>(100), pts(1, 50));
    expect(s.points.length).toBe(50);
    expect(s.stride).toBe(1);
    expect(seriesView(s).at(-1)!.step).toBe(50);
  });
  it('stays bounded and evenly spaced for long runs, and always shows the newest point', () => {
    let s = emptySeries<{ step: number; v: number }>(64);
    for (let a = 1; a <= 100_000; a += 1000) s = appendDecimated(s, pts(a, a + 999));
    expect(s.points.length).toBeLessThanOrEqual(64);
    expect(s.points.length).toBeGreaterThan(16);
    const steps = s.points.map((p) => p.step);
    const gaps = new Set(steps.slice(1).map((x, i) => x - steps[i]));
    expect(gaps.size).toBe(1); // even spacing
    expect(seriesView(s).at(-1)!.step).toBe(100_000);
  });
  it('truncates for a resume', () => {
    const s = truncateSeries(appendDecimated(emptySeries<{ step: number; v: number }>(100), pts(1, 30)), 12);
    expect(seriesView(s).map((p) => p.step)).toEqual(pts(1, 12).map((p) => p.step));
  });
  it('thin keeps ends and bounds length', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const t = thin(xs, 10);
    expect(t.length).toBe(10);
    expect(t[0]).toBe(0);
    expect(t.at(-1)).toBe(999);
    expect(thin([1, 2], 10)).toEqual([1, 2]);
  });
  it('ema is bias-corrected and skips non-finite values', () => {
    expect(ema([2, 2, 2], 0.9)).toEqual([2, 2, 2].map((x) => expect.closeTo(x, 12)));
    const e = ema([1, NaN, 3], 0.5);
    expect(Number.isNaN(e[1])).toBe(true);
    expect(e[2]).toBeCloseTo((0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25), 12);
  });
});
