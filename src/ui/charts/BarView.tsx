/**
 * A compact SVG bar chart (counts per matrix, rank allocation, intruders per run): categories on one
 * axis, values from zero on the other; horizontal bars when `layout="vertical"` (long names).
 * Plain SVG for the same reason as LineView.tsx.
 */
import { memo, useRef } from 'react';
import { fmt, fmtTick } from '../format';
import { Legend } from './LineView';
import { sameChartProps, useElementWidth, usePaced, useSlot } from './pacing';
import { linearDomain, makeScale } from './scale';

interface BarViewProps {
  data: Record<string, string | number | null>[];
  xKey: string;
  bars: { key: string; label: string; color: string }[];
  height?: number;
  layout?: 'horizontal' | 'vertical';
}

export const BarView = memo(function BarView(props: BarViewProps) {
  const slot = useSlot();
  const ref = useRef<HTMLDivElement>(null);
  const width = useElementWidth(ref, slot);
  const { shown, mounted } = usePaced(props, slot);
  return (
    <div ref={ref} style={{ height: props.height ?? 200, width: '100%' }}>
      {mounted && width > 0 && <BarBody {...shown} width={width} />}
    </div>
  );
}, sameChartProps);

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

const BarBody = memo(function BarBody({
  data,
  xKey,
  bars,
  height = 200,
  layout = 'horizontal',
  width,
}: BarViewProps & { width: number }) {
  const vertical = layout === 'vertical';
  const showLegend = bars.length > 1;
  const M = { top: 6, right: 14, left: vertical ? 118 : 40, bottom: (vertical ? 20 : 28) + (showLegend ? 16 : 0) };
  const plotW = Math.max(10, width - M.left - M.right);
  const plotH = Math.max(10, height - M.top - M.bottom);
  const values = data.flatMap((d) => bars.map((b) => num(d[b.key])));
  const maxV = Math.max(1, ...values);
  const vd = linearDomain([0, maxV], { includeZero: true, count: vertical ? Math.max(2, Math.floor(plotW / 80)) : 4 });
  const ticks = maxV <= 8 ? vd.ticks.filter((t) => Number.isInteger(t)) : vd.ticks;
  const v = makeScale(vd.domain, vertical ? [0, plotW] : [plotH, 0], ticks);
  const band = (vertical ? plotH : plotW) / Math.max(1, data.length);
  const barSize = Math.min(26, (band * 0.7) / bars.length);
  return (
    <svg data-exportable width={width} height={height} className="rs-chart" role="img">
      <g transform={`translate(${M.left},${M.top})`}>
        {ticks.map((t) => (
          <g key={t}>
            {vertical ? (
              <line x1={v(t)} x2={v(t)} y1={0} y2={plotH} stroke="#eef0f4" />
            ) : (
              <line x1={0} x2={plotW} y1={v(t)} y2={v(t)} stroke="#eef0f4" />
            )}
            <text
              x={vertical ? v(t) : -6}
              y={vertical ? plotH + 13 : v(t)}
              dy={vertical ? 0 : '0.32em'}
              textAnchor={vertical ? 'middle' : 'end'}
              fontSize={10}
              fill="#6a7385"
            >
              {fmtTick(t)}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const c = i * band + band / 2;
          const label = String(d[xKey] ?? '');
          return (
            <g key={label + i}>
              {bars.map((b, j) => {
                const val = num(d[b.key]);
                const off = c - (bars.length * barSize) / 2 + j * barSize;
                return vertical ? (
                  <rect
                    key={b.key}
                    data-bar={b.key}
                    x={0}
                    y={off}
                    width={Math.max(0, v(val))}
                    height={barSize - 1}
                    fill={b.color}
                  >
                    <title>{`${label} ${b.label}: ${fmt(val, 4)}`}</title>
                  </rect>
                ) : (
                  <rect
                    key={b.key}
                    data-bar={b.key}
                    x={off}
                    y={v(val)}
                    width={barSize - 1}
                    height={Math.max(0, plotH - v(val))}
                    fill={b.color}
                  >
                    <title>{`${label} ${b.label}: ${fmt(val, 4)}`}</title>
                  </rect>
                );
              })}
              <text
                x={vertical ? -6 : c}
                y={vertical ? c : plotH + 13}
                dy={vertical ? '0.32em' : 0}
                textAnchor={vertical ? 'end' : 'middle'}
                fontSize={10}
                fill="#3d4657"
              >
                {label.length > 22 ? label.slice(0, 21) + '…' : label}
              </text>
            </g>
          );
        })}
        <line x1={0} x2={vertical ? 0 : plotW} y1={vertical ? 0 : plotH} y2={plotH} stroke="#9aa3b2" />
      </g>
      {showLegend && (
        <Legend items={bars.map((b) => ({ label: b.label, color: b.color }))} y={height - 5} width={width} />
      )}
    </svg>
  );
});
