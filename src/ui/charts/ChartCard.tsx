/** A titled chart frame with SVG/PNG download of the chart inside it. */
import { useRef, type ReactNode } from 'react';
import { downloadPng, downloadSvg } from '../exporting';
import { useStudio } from '../store';

export function ChartCard({
  id,
  title,
  note,
  right,
  children,
  empty,
}: {
  id: string;
  title: ReactNode;
  note?: ReactNode;
  right?: ReactNode;
  children: ReactNode;
  empty?: string | null;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const svg = () => ref.current?.querySelector<SVGSVGElement>('svg[data-exportable]') ?? null;
  const save = (kind: 'svg' | 'png') => {
    const s = svg();
    if (!s) return;
    if (kind === 'svg') downloadSvg(s, id);
    else
      downloadPng(s, id).catch((e: unknown) =>
        useStudio.getState().notify(`PNG export failed: ${(e as Error).message}`),
      );
  };
  return (
    <div
      className="chart-card"
      data-chart-id={id}
      data-testid={`chart-${id}`}
      data-empty={empty ? 'true' : 'false'}
      ref={ref}
    >
      <h3>
        {title}
        <span className="spacer" />
        {right}
        {!empty && (
          <>
            <button
              type="button"
              className="icon-btn small"
              title="Download SVG"
              aria-label={`Download ${id} as SVG`}
              onClick={() => save('svg')}
            >
              <span className="small">SVG</span>
            </button>
            <button
              type="button"
              className="icon-btn small"
              title="Download PNG"
              aria-label={`Download ${id} as PNG`}
              onClick={() => save('png')}
            >
              <span className="small">PNG</span>
            </button>
          </>
        )}
      </h3>
      {note && <p className="chart-note">{note}</p>}
      {empty ? (
        <div className="chart-empty" style={{ height: 180 }}>
          {empty}
        </div>
      ) : (
        children
      )}
    </div>
  );
}
