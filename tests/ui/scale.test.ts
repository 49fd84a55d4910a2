import { describe, expect, it } from 'vitest';
import { linearDomain, logDomain, makeScale, niceStep } from '../../src/ui/charts/scale';

describe('chart scales', () => {
  it('1-2-5 steps', () => {
    expect(niceStep(0, 10, 5)).toBe(2);
    expect(niceStep(0, 1, 5)).toBeCloseTo(0.2);
    expect(niceStep(2.3, 3.3, 5)).toBeCloseTo(0.2);
    expect(niceStep(0, 0.0032, 4)).toBeCloseTo(0.001);
  });
  it('linear domains are nice and cover the data', () => {
    const { domain, ticks } = linearDomain([2.37, 3.09, 2.61]);
    expect(domain[0]).toBeLessThanOrEqual(2.37);
    expect(domain[1]).toBeGreaterThanOrEqual(3.09);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const t of ticks) expect(t).toBeGreaterThanOrEqual(domain[0] - 1e-12);
    expect(linearDomain([5, 5]).domain[0]).toBeLessThan(5);
    expect(linearDomain([NaN]).domain).toEqual([0, 1]);
    expect(linearDomain([1, 3], { includeZero: true }).domain[0]).toBe(0);
    expect(linearDomain([0.2, 0.7], { fixed: [0, 1] }).domain).toEqual([0, 1]);
  });
  it('log domains skip non-positive values and tick on decades', () => {
    const { domain, ticks } = logDomain([1e-8, 0.01, 0, -1, 3]);
    expect(domain[0]).toBeLessThan(1e-8);
    expect(domain[1]).toBeGreaterThan(3);
    expect(ticks).toContain(1e-6);
    expect(logDomain([]).domain).toEqual([1, 10]);
    expect(logDomain([0.1, 0.9]).ticks).toEqual([0.1, 0.2, 0.5]);
  });
  it('scales map and invert', () => {
    const s = makeScale([0, 10], [0, 100], []);
    expect(s(5)).toBe(50);
    expect(s.invert(25)).toBe(2.5);
    const l = makeScale([1, 100], [0, 100], [], true);
    expect(l(10)).toBeCloseTo(50);
    expect(l.invert(50)).toBeCloseTo(10);
  });
});

import { fmt, fmtTick, formatBytes, formatDuration } from '../../src/ui/format';

describe('formatting', () => {
  it('ticks are short', () => {
    expect(fmtTick(1e-5)).toBe('1e-5');
    expect(fmtTick(2.5e-7)).toBe('2.5e-7');
    expect(fmtTick(0.25)).toBe('0.25');
    expect(fmtTick(0)).toBe('0');
    expect(fmtTick(1200)).toBe('1200');
  });
  it('numbers, sizes, durations', () => {
    expect(fmt(NaN)).toBe('—');
    expect(fmt(2.6081, 4)).toBe('2.608');
    expect(fmt(3e-4)).toBe('3.00e-4');
    expect(formatBytes(1024 ** 3)).toBe('1.00 GiB');
    expect(formatDuration(65_000)).toBe('1m 05s');
  });
});
