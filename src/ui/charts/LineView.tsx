/**
 * The studio's line chart, drawn as plain SVG: several series over one numeric x, optional log
 * axes, marker points, a legend and a hover read-out. No animation; the caller bounds the points.
 *
 * Why not recharts (the design note's choice): measured in e2e/responsiveness.spec.ts, recharts 3
 * charts re-rendered on each metrics batch produced 50–370 ms main-thread tasks on the 2-core CI box
 * while SwiftShader trained (its internal store re-renders every chart per update). These charts
 * cost a few milliseconds. The props kept recharts' vocabulary, so swapping back is one file.
 */
import { memo, useMemo, useRef, useState } from 'react';
import { fmt, fmtTick } from '../format';
import { sameChartProps, useElementWidth, usePaced, useSlot } from './pacing';
import { linearDomain, logDomain, makeScale } from './scale';

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
  dashed?: boolean;
  width?: number;
  dots?: boolean;
}

export interface MarkerSpec {
  key: string;
  label: string;
  color: string;
  data: { x: number; y: number }[];
}

type Bound = number | 'auto' | 'dataMin' | 'dataMax';

export interface LineViewProps {
  data: Record<string, number | null | undefined>[];
  xKey: string;
  series: SeriesSpec[];
  markers?: MarkerSpec[];
  height?: number;
  logX?: boolean;
  logY?: boolean;
  xLabel?: string;
  yLabel?: string;
  xDomain?: [Bound, Bound];
  legend?: boolean;
  /** Counts: the y axis starts at 0 (and shows 0…1 when everything is 0). */
  yFromZero?: boolean;
}

/** Paced (pacing.ts): each chart draws in its own task, and at most once a second while training. */
export const LineView = memo(function LineView(props: LineViewProps) {
  const slot = useSlot();
  const ref = useRef<HTMLDivElement>(null);
  const width = useElementWidth(ref, slot);
  const { shown, mounted } = usePaced(props, slot);
  return (
    <div ref={ref} style={{ height: props.height ?? 200, width: '100%', position: 'relative' }}>
      {mounted && width > 0 && <LineChartBody {...shown} width={width} />}
    </div>
  );
}, sameChartProps);

const M = { top: 6, right: 12, left: 50, bottom: 20 };
const LEGEND_H = 16;

const ok = (v: number | null | undefined, log?: boolean): v is number =>
  typeof v === 'number' && Number.isFinite(v) && (!log || v > 0);

const LineChartBody = memo(function LineChartBody({
  data,
  xKey,
  series,
  markers = [],
  height = 200,
  logX,
  logY,
  xLabel,
  legend = true,
  xDomain,
  yFromZero,
  width,
}: LineViewProps & { width: number }) {
  const [hover, setHover] = useState<number | null>(null);
  const showLegend = legend && (series.length > 1 || markers.length > 0);
  const bottom = M.bottom + (xLabel ? 12 : 0) + (showLegend ? LEGEND_H : 0);
  const plotW = Math.max(10, width - M.left - M.right);
  const plotH = Math.max(10, height - M.top - bottom);

  const geo = useMemo(() => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const d of data) {
      const x = d[xKey];
      if (ok(x, logX)) xs.push(x);
      for (const s of series) if (ok(d[s.key], logY)) ys.push(d[s.key] as number);
    }
    for (const m of markers)
      for (const p of m.data) {
        if (ok(p.x, logX)) xs.push(p.x);
        if (ok(p.y, logY)) ys.push(p.y);
      }
    const fixed: [number | null, number | null] = [
      typeof xDomain?.[0] === 'number' ? xDomain[0] : null,
      typeof xDomain?.[1] === 'number' ? xDomain[1] : null,
    ];
    const xd = logX ? logDomain(xs) : linearDomain(xs, { fixed, count: Math.max(2, Math.floor(plotW / 90)) });
    if (!logX && fixed[0] === null && fixed[1] === null && xs.length) {
      // x spans exactly the data (steps 1…n), ticks stay nice inside it
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      xd.domain = lo === hi ? [lo - 1, hi + 1] : [lo, hi];
      xd.ticks = xd.ticks.filter((t) => t >= xd.domain[0] - 1e-9 && t <= xd.domain[1] + 1e-9);
    }
    // steps and indices are whole numbers: no tick at 1.5
    if (!logX && xs.length && xs.every(Number.isInteger)) xd.ticks = xd.ticks.filter(Number.isInteger);
    const maxY = ys.length ? Math.max(...ys) : 0;
    const yd = logY
      ? logDomain(ys)
      : linearDomain(ys, {
          count: Math.max(2, Math.floor(plotH / 36)),
          ...(yFromZero
            ? { fixed: [0, maxY > 0 ? null : 1] as [number | null, number | null], includeZero: true }
            : {}),
        });
    if (yFromZero && !logY && ys.every(Number.isInteger)) yd.ticks = yd.ticks.filter(Number.isInteger);
    const x = makeScale(xd.domain, [0, plotW], xd.ticks, logX);
    const y = makeScale(yd.domain, [plotH, 0], yd.ticks, logY);
    const paths = series.map((s) => {
      let dpath = '';
      const dots: [number, number][] = [];
      for (const d of data) {
        const xv = d[xKey];
        const yv = d[s.key];
        if (!ok(xv, logX) || !ok(yv, logY)) continue; // gaps are joined (validation points are sparse)
        const px = x(xv);
        const py = y(yv);
        dpath += `${dpath ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`;
        if (s.dots) dots.push([px, py]);
      }
      return { s, d: dpath, dots };
    });
    return { x, y, paths };
  }, [data, xKey, series, markers, logX, logY, xDomain, yFromZero, plotW, plotH]);

  const onMove = (e: React.MouseEvent<SVGSVGElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const px = e.clientX - rect.left - M.left;
    if (px < 0 || px > plotW || data.length === 0) return setHover(null);
    let best = -1;
    let bestD = Infinity;
    for (let i = 0; i < data.length; i++) {
      const xv = data[i][xKey];
      if (!ok(xv, logX)) continue;
      const dd = Math.abs(geo.x(xv) - px);
      if (dd < bestD) {
        bestD = dd;
        best = i;
      }
    }
    setHover(best >= 0 ? best : null);
  };

  const h = hover !== null ? data[hover] : null;
  const hx = h && ok(h[xKey], logX) ? geo.x(h[xKey] as number) : null;
  return (
    <>
      <svg
        data-exportable
        width={width}
        height={height}
        className="rs-chart"
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
        role="img"
      >
        <g transform={`translate(${M.left},${M.top})`}>
          {geo.y.ticks.map((t) => (
            <g key={`y${t}`}>
              <line x1={0} x2={plotW} y1={geo.y(t)} y2={geo.y(t)} stroke="#eef0f4" />
              <text x={-6} y={geo.y(t)} dy="0.32em" textAnchor="end" fontSize={10} fill="#6a7385">
                {fmtTick(t)}
              </text>
            </g>
          ))}
          {geo.x.ticks.map((t) => (
            <g key={`x${t}`}>
              <line x1={geo.x(t)} x2={geo.x(t)} y1={0} y2={plotH} stroke="#f3f4f7" />
              <text x={geo.x(t)} y={plotH + 13} textAnchor="middle" fontSize={10} fill="#6a7385">
                {fmtTick(t)}
              </text>
            </g>
          ))}
          <line x1={0} x2={plotW} y1={plotH} y2={plotH} stroke="#9aa3b2" />
          <line x1={0} x2={0} y1={0} y2={plotH} stroke="#9aa3b2" />
          {geo.paths.map(({ s, d, dots }) => (
            <g key={s.key}>
              {d && (
                <path
                  data-series={s.key}
                  d={d}
                  fill="none"
                  stroke={s.color}
                  strokeWidth={s.width ?? 1.5}
                  strokeDasharray={s.dashed ? '4 3' : undefined}
                  strokeLinejoin="round"
                />
              )}
              {dots.map(([px, py], i) => (
                <circle key={i} cx={px} cy={py} r={2.5} fill={s.color} />
              ))}
            </g>
          ))}
          {markers.map((m) =>
            m.data
              .filter((p) => ok(p.x, logX) && ok(p.y, logY))
              .map((p, i) => (
                <circle
                  key={`${m.key}${i}`}
                  data-marker={m.key}
                  cx={geo.x(p.x)}
                  cy={geo.y(p.y)}
                  r={3.5}
                  fill={m.color}
                  stroke="#fff"
                  strokeWidth={1}
                />
              )),
          )}
          {/* data-hover: the crosshair and its markers, left out of SVG/PNG exports (exporting.ts) */}
          {hx !== null && <line data-hover x1={hx} x2={hx} y1={0} y2={plotH} stroke="#9aa3b2" strokeDasharray="3 3" />}
          {hx !== null &&
            h &&
            series.map((s) =>
              ok(h[s.key], logY) ? (
                <circle
                  data-hover
                  key={`h${s.key}`}
                  cx={hx}
                  cy={geo.y(h[s.key] as number)}
                  r={3.5}
                  fill="#fff"
                  stroke={s.color}
                  strokeWidth={1.5}
                />
              ) : null,
            )}
          {xLabel && (
            <text x={plotW / 2} y={plotH + 26} textAnchor="middle" fontSize={10} fill="#6a7385">
              {xLabel}
            </text>
          )}
        </g>
        {showLegend && (
          <Legend
            items={[
              ...series.map((s) => ({ label: s.label, color: s.color, dashed: s.dashed })),
              ...markers.map((m) => ({ label: m.label, color: m.color, dot: true })),
            ]}
            y={height - 5}
            width={width}
          />
        )}
      </svg>
      {h && hx !== null && (
        <div className="chart-tip" style={{ left: Math.min(M.left + hx + 10, width - 150), top: M.top + 4 }}>
          <div className="muted">
            {xKey} {fmt(h[xKey] as number, 4)}
          </div>
          {series.map((s) =>
            ok(h[s.key]) ? (
              <div key={s.key}>
                <span className="legend-swatch" style={{ background: s.color }} />
                {s.label}: <span className="mono">{fmt(h[s.key] as number, 4)}</span>
              </div>
            ) : null,
          )}
        </div>
      )}
    </>
  );
});

/** A one-line legend inside the SVG (so downloads keep it). */
export function Legend({
  items,
  y,
  width,
}: {
  items: { label: string; color: string; dashed?: boolean; dot?: boolean }[];
  y: number;
  width: number;
}) {
  const widths = items.map((it) => 22 + it.label.length * 6);
  const total = widths.reduce((a, b) => a + b, 0);
  let x = Math.max(4, (width - total) / 2);
  return (
    <g fontSize={10.5}>
      {items.map((it, i) => {
        const gx = x;
        x += widths[i];
        return (
          <g key={it.label + i} transform={`translate(${gx},${y})`}>
            {it.dot ? (
              <circle cx={6} cy={-3.5} r={3.5} fill={it.color} />
            ) : (
              <line
                x1={0}
                x2={12}
                y1={-3.5}
                y2={-3.5}
                stroke={it.color}
                strokeWidth={2}
                strokeDasharray={it.dashed ? '3 2' : undefined}
              />
            )}
            <text x={16} y={0} fill="#3d4657">
              {it.label}
            </text>
          </g>
        );
      })}
    </g>
  );
}
