/**
 * Bounded, downsampled series for charts (ARCHITECTURE.md §9: SVG charts choke on many points).
 * Points are kept when `step % stride === 0`; when the cap is exceeded the stride doubles and the
 * kept set is thinned, so memory is O(cap) whatever the run length, the kept steps are evenly
 * spaced, and the newest point is always shown (`last`).
 */

export interface Decimated<P extends { step: number }> {
  points: P[];
  stride: number;
  cap: number;
  last: P | null;
}

export function emptySeries<P extends { step: number }>(cap = 1024): Decimated<P> {
  return { points: [], stride: 1, cap, last: null };
}

export function appendDecimated<P extends { step: number }>(s: Decimated<P>, incoming: readonly P[]): Decimated<P> {
  if (incoming.length === 0) return s;
  let stride = s.stride;
  let pts = s.points.slice();
  for (const p of incoming) if (p.step % stride === 0) pts.push(p);
  while (pts.length > s.cap) {
    stride *= 2;
    pts = pts.filter((p) => p.step % stride === 0);
  }
  return { points: pts, stride, cap: s.cap, last: incoming[incoming.length - 1] };
}

/** Drop every point after `step` (a run resumed from an earlier checkpoint re-does those steps). */
export function truncateSeries<P extends { step: number }>(s: Decimated<P>, step: number): Decimated<P> {
  const points = s.points.filter((p) => p.step <= step);
  const last = points.length ? points[points.length - 1] : null;
  return { ...s, points, last };
}

/** What a chart draws: the kept points plus the newest one. */
export function seriesView<P extends { step: number }>(s: Decimated<P>): P[] {
  const n = s.points.length;
  if (s.last && (n === 0 || s.points[n - 1].step < s.last.step)) return [...s.points, s.last];
  return s.points;
}

/** Thin an array to at most `max` items, evenly, keeping the first and the last. */
export function thin<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return xs.slice();
  const out: T[] = [];
  const step = (xs.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(xs[Math.round(i * step)]);
  return out;
}

/** Exponential moving average with bias correction (TensorBoard-style smoothing). */
export function ema(values: readonly number[], weight: number): number[] {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(NaN);
      continue;
    }
    acc = acc * weight + (1 - weight) * v;
    n++;
    out.push(acc / (1 - Math.pow(weight, n)));
  }
  return out;
}
