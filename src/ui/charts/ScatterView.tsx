/**
 * A small labelled scatter plot in plain SVG (exportable by ChartCard): one point per item, zero lines
 * on both axes, each point named beside it. Used for learning vs forgetting in Compare.
 */
import { linearDomain } from './scale';

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
  color: string;
}

export function ScatterView({
  points,
  xLabel,
  yLabel,
  height = 260,
  width = 520,
}: {
  points: ScatterPoint[];
  xLabel: string;
  yLabel: string;
  height?: number;
  width?: number;
}) {
  const pad = { l: 56, r: 16, t: 12, b: 40 };
  const xd = linearDomain(
      points.map((p) => p.x),
      { includeZero: true },
    ),
    yd = linearDomain(
      points.map((p) => p.y),
      { includeZero: true },
    );
  const [x0, x1] = xd.domain,
    [y0, y1] = yd.domain;
  const W = width - pad.l - pad.r,
    H = height - pad.t - pad.b;
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * W;
  const sy = (y: number) => pad.t + H - ((y - y0) / (y1 - y0)) * H;
  const xt = xd.ticks,
    yt = yd.ticks;
  const tick = (v: number) =>
    Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(Math.abs(v) >= 1 ? 1 : 3) : v.toExponential(0);
  return (
    <svg
      data-exportable
      viewBox={`0 0 ${width} ${height}`}
      width="100%"
      height={height}
      role="img"
      aria-label={`${yLabel} against ${xLabel}`}
      style={{ fontSize: 11, fontFamily: 'system-ui, sans-serif' }}
    >
      <rect x={pad.l} y={pad.t} width={W} height={H} fill="none" stroke="#ccd" />
      {xt.map((v) => (
        <g key={`x${v}`}>
          <line x1={sx(v)} x2={sx(v)} y1={pad.t} y2={pad.t + H} stroke="#eef" />
          <text x={sx(v)} y={pad.t + H + 14} textAnchor="middle" fill="#556">
            {tick(v)}
          </text>
        </g>
      ))}
      {yt.map((v) => (
        <g key={`y${v}`}>
          <line x1={pad.l} x2={pad.l + W} y1={sy(v)} y2={sy(v)} stroke="#eef" />
          <text x={pad.l - 6} y={sy(v) + 4} textAnchor="end" fill="#556">
            {tick(v)}
          </text>
        </g>
      ))}
      <line x1={sx(0)} x2={sx(0)} y1={pad.t} y2={pad.t + H} stroke="#889" strokeDasharray="4 3" />
      <line x1={pad.l} x2={pad.l + W} y1={sy(0)} y2={sy(0)} stroke="#889" strokeDasharray="4 3" />
      <text x={pad.l + W / 2} y={height - 6} textAnchor="middle" fill="#334">
        {xLabel}
      </text>
      <text transform={`translate(14 ${pad.t + H / 2}) rotate(-90)`} textAnchor="middle" fill="#334">
        {yLabel}
      </text>
      {points.map((p, i) => (
        <g key={i} data-testid="scatter-point" data-x={p.x} data-y={p.y}>
          <circle cx={sx(p.x)} cy={sy(p.y)} r={5} fill={p.color} stroke="#fff" />
          <text
            x={sx(p.x) + (sx(p.x) > pad.l + W * 0.7 ? -8 : 8)}
            y={sy(p.y) - 6}
            textAnchor={sx(p.x) > pad.l + W * 0.7 ? 'end' : 'start'}
            fill="#223"
          >
            {p.label}
          </text>
        </g>
      ))}
    </svg>
  );
}
