/**
 * |U_tunedᵀ U_0| as a heatmap: rows = top-k singular vectors of the tuned W, columns = top-K of the
 * base W. A row with no bright cell is an intruder (no base direction resembles it). Drawn as SVG
 * rects (exportable; canvas can come out blank in headless screenshots).
 */
import { memo } from 'react';
import { sameChartProps, usePaced, useSlot } from './pacing';

interface HeatmapProps {
  overlap: Float32Array;
  rows: number;
  cols: number;
  intruders: number[];
  height?: number;
}

export const OverlapHeatmap = memo(function OverlapHeatmap(props: HeatmapProps) {
  const { shown, mounted } = usePaced(props, useSlot());
  if (!mounted) return <div style={{ height: props.height ?? 220 }} />;
  return <HeatmapBody {...shown} />;
}, sameChartProps);

const HeatmapBody = memo(function HeatmapBody({ overlap, rows, cols, intruders, height = 220 }: HeatmapProps) {
  if (rows === 0 || cols === 0) return null;
  const label = 28;
  // square cells in viewBox units; the SVG scales to the card's width (capped height)
  const cell = Math.max(3, Math.min(16, Math.floor((height - 20) / rows)));
  const w = label + cols * cell + 8;
  const h = rows * cell + 20;
  const cells = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = Math.min(1, Math.max(0, Math.abs(overlap[i * cols + j] ?? 0)));
      cells.push(
        <rect key={`${i}-${j}`} x={label + j * cell} y={i * cell} width={cell} height={cell} fill={shade(v)} />,
      );
    }
  }
  return (
    <svg
      data-exportable
      width={w}
      height={h}
      viewBox={`0 0 ${w} ${h}`}
      style={{ width: '100%', height: 'auto', maxHeight: height + 40 }}
      preserveAspectRatio="xMinYMin meet"
      role="img"
      aria-label="overlap heatmap"
      data-testid="overlap-heatmap"
      data-rows={rows}
      data-cols={cols}
    >
      {cells}
      {intruders.map((i) => (
        <g key={`m${i}`}>
          <rect
            x={label}
            y={i * cell}
            width={cols * cell}
            height={cell}
            fill="none"
            stroke="#d64550"
            strokeWidth={1.2}
          />
          <text x={2} y={i * cell + cell - 2} fontSize={Math.min(10, cell)} fill="#d64550">
            {i}
          </text>
        </g>
      ))}
      <text x={label} y={rows * cell + 14} fontSize={10} fill="#6a7385">
        base singular vectors 0…{cols - 1} →
      </text>
    </svg>
  );
});

/** White → deep blue. */
function shade(v: number): string {
  const r = Math.round(255 - v * (255 - 31));
  const g = Math.round(255 - v * (255 - 58));
  const b = Math.round(255 - v * (255 - 140));
  return `rgb(${r},${g},${b})`;
}
