/**
 * Scales and ticks for the studio's SVG charts: linear and log10, "nice" tick steps (1-2-5), and
 * domains padded from the data. Pure functions, unit-tested (tests/ui/scale.test.ts).
 */

export interface Scale {
  (v: number): number;
  domain: [number, number];
  ticks: number[];
  log: boolean;
  invert(px: number): number;
}

/** 1-2-5 tick step for about `count` intervals over [lo, hi]. */
export function niceStep(lo: number, hi: number, count = 5): number {
  const span = Math.abs(hi - lo) || Math.abs(lo) || 1;
  const raw = span / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const r = raw / mag;
  return (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1) * mag;
}

export function linearDomain(
  values: readonly number[],
  opts: { includeZero?: boolean; fixed?: [number | null, number | null]; count?: number } = {},
): { domain: [number, number]; ticks: number[] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (opts.includeZero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const fixedLo = opts.fixed?.[0];
  const fixedHi = opts.fixed?.[1];
  if (fixedLo !== null && fixedLo !== undefined) lo = fixedLo;
  if (fixedHi !== null && fixedHi !== undefined) hi = fixedHi;
  const step = niceStep(lo, hi, opts.count ?? 5);
  const nlo = fixedLo !== null && fixedLo !== undefined ? lo : Math.floor(lo / step + 1e-9) * step;
  const nhi = fixedHi !== null && fixedHi !== undefined ? hi : Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = Math.ceil(nlo / step - 1e-9) * step; v <= nhi + step * 1e-6; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return { domain: [nlo, nhi], ticks };
}

export function logDomain(values: readonly number[]): { domain: [number, number]; ticks: number[] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!(v > 0) || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { domain: [1, 10], ticks: [1, 10] };
  if (lo === hi) {
    lo /= 2;
    hi *= 2;
  }
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const decades = b - a;
  const ticks: number[] = [];
  const mult = decades <= 1 ? [1, 2, 5] : decades <= 3 ? [1, 3] : [1];
  const every = Math.max(1, Math.ceil(decades / 6));
  for (let e = a; e <= b; e++) {
    if ((e - a) % every !== 0) continue;
    for (const m of mult) {
      const v = Number((m * Math.pow(10, e)).toPrecision(12));
      if (v >= lo / 1.0001 && v <= hi * 1.0001) ticks.push(v);
    }
  }
  // keep the data's own range (tight), widened a little so end points are not on the frame
  const domain: [number, number] = [lo / 1.15, hi * 1.15];
  if (ticks.length < 2) ticks.splice(0, ticks.length, Number(lo.toPrecision(2)), Number(hi.toPrecision(2)));
  return { domain, ticks };
}

export function makeScale(domain: [number, number], range: [number, number], ticks: number[], log = false): Scale {
  const [d0, d1] = log ? [Math.log10(domain[0]), Math.log10(domain[1])] : domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((v: number) => r0 + ((log ? Math.log10(v) : v) - d0) * k) as Scale;
  f.domain = domain;
  f.ticks = ticks;
  f.log = log;
  f.invert = (px: number) => {
    const t = d0 + (px - r0) / (k || 1);
    return log ? Math.pow(10, t) : t;
  };
  return f;
}
