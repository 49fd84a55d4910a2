/**
 * Intruder dimensions (Shuttleworth et al., "LoRA vs Full Fine-tuning: An Illusion of Equivalence"):
 * top singular vectors of the tuned W with no similar singular vector in W₀ (max |cos| < ε).
 * Views: count against ε, the |U_tunedᵀ U₀| heatmap, intruders marked on the spectrum, counts per
 * layer and matrix, and the count over steps.
 */
import { useMemo } from 'react';
import { BarView } from '../charts/BarView';
import { ChartCard } from '../charts/ChartCard';
import { LineView } from '../charts/LineView';
import { OverlapHeatmap } from '../charts/OverlapHeatmap';
import { C } from '../charts/palette';
import { fmt } from '../format';
import { intruderCounts, intruderSummary, ROTATION_THRESHOLD, sweepFromMaxCos } from '../spectra';
import { intruderIndices, intrudersAt } from '../store/runData';
import { LayerGrid } from './LayerGrid';
import { useStudio } from '../store';
import { MatrixPicker, useMatrices } from './MatrixPicker';
import { NoRun } from './NoRun';

export function IntrudersTab() {
  const runId = useStudio((s) => s.selectedRunId);
  const run = useStudio((s) => (s.selectedRunId ? s.runs[s.selectedRunId] : null));
  const spectra = useStudio((s) => (s.selectedRunId ? s.spectra[s.selectedRunId] : null));
  const eps = useStudio((s) => s.eps);
  const setEps = useStudio((s) => s.setEps);
  const matrices = useMatrices(runId);
  const chosen = useStudio((s) => s.matrix);
  const matrix = chosen && matrices.includes(chosen) ? chosen : (matrices[0] ?? null);
  const snap = matrix && spectra ? (spectra.latest[matrix] ?? null) : null;

  const idx = useMemo(() => (snap ? intruderIndices(snap, eps) : []), [snap, eps]);
  const sweep = useMemo(() => (snap ? sweepFromMaxCos(snap) : []), [snap]);
  const spectrumRows = useMemo(() => {
    if (!snap) return [];
    const n = Math.min(snap.sigmaTuned.length, Math.max(3 * snap.intruders.maxCos.length, 32));
    return Array.from({ length: n }, (_, i) => ({
      i: i + 1,
      tuned: snap.sigmaTuned[i],
      base: snap.sigmaBase[i] ?? null,
    }));
  }, [snap]);
  const counts = useMemo(() => (spectra ? intruderCounts(spectra.latest, eps) : []), [spectra, eps]);
  const summary = useMemo(() => (spectra ? intruderSummary(spectra.latest, eps) : null), [spectra, eps]);
  const rotations = snap?.intruders.clusterNorm
    ? idx.filter((i) => snap.intruders.clusterNorm![i] >= ROTATION_THRESHOLD).length
    : null;
  const overSteps = useMemo(
    () =>
      spectra && matrix
        ? spectra.history
            .filter((h) => h.name === matrix)
            .map((h) => ({ step: h.step, intruders: intrudersAt(h, eps) }))
        : [],
    [spectra, matrix, eps],
  );

  if (!runId || !run) return <NoRun what="No run selected." />;
  const empty = snap
    ? null
    : run.config.analysis.every > 0
      ? `Waiting for the first snapshot (every ${run.config.analysis.every} steps)…`
      : 'Press Analyze now to measure this matrix.';
  const total = counts.reduce((a, c) => a + c.count, 0);
  return (
    <>
      <MatrixPicker runId={runId} />
      <div className="btn-row" data-testid="intruder-controls">
        <label className="small" htmlFor="eps-range">
          ε (max |cos| with any W₀ vector)
        </label>
        <input
          id="eps-range"
          type="range"
          min={0.05}
          max={0.95}
          step={0.05}
          value={eps}
          onChange={(e) => setEps(Number(e.target.value))}
          data-testid="input-eps"
        />
        <span className="mono small">{eps.toFixed(2)}</span>
        <span className="small" data-testid="intruder-count" data-count={snap ? idx.length : ''} data-total={total}>
          {snap ? (
            <>
              <strong>{idx.length}</strong> of top-{snap.intruders.maxCos.length} vectors in {snap.name} are intruders
              {rotations !== null && (
                <span data-testid="intruder-split">
                  {' '}
                  ({idx.length - rotations} new directions, {rotations} rotations within near-degenerate σ clusters)
                </span>
              )}{' '}
              · min max|cos| {fmt(Math.min(...snap.intruders.maxCos), 2)} · ‖ΔW‖F/‖W₀‖F{' '}
              {fmt(snap.intruders.relFrobenius, 4)} · <strong>{summary?.count ?? total}</strong> across{' '}
              {summary?.matrices ?? counts.length} adapted matrices
              {summary && ` (${summary.newDirections} new, ${summary.rotations} rotations)`}
            </>
          ) : (
            ''
          )}
        </span>
      </div>
      <div className="grid2">
        <ChartCard id="intruders-vs-eps" title="Intruder count against ε" empty={empty}>
          <LineView
            data={sweep as never}
            xKey="eps"
            height={200}
            xDomain={[0, 1]}
            yFromZero
            series={[{ key: 'count', label: 'intruders', color: C.red }]}
            markers={
              snap
                ? [
                    {
                      key: 'engine',
                      label: `engine sweep`,
                      color: C.blue,
                      data: snap.intruders.sweep.map((p) => ({ x: p.eps, y: p.count })),
                    },
                  ]
                : []
            }
          />
        </ChartCard>
        <ChartCard
          id="overlap-heatmap"
          title="|U_tunedᵀ U₀| (top-k × top-K)"
          empty={empty || (snap && snap.overlapCols === 0 ? 'No overlap matrix in this snapshot.' : null)}
          note="Rows: tuned singular vectors; columns: only the first W₀ vectors drawn. A row without a dark cell has no counterpart among these columns — max |cos| below is taken over all of W₀'s vectors. Intruders at ε are outlined."
        >
          {snap && (
            <OverlapHeatmap
              overlap={snap.overlap}
              rows={snap.overlapCols ? Math.floor(snap.overlap.length / snap.overlapCols) : 0}
              cols={snap.overlapCols}
              intruders={idx}
            />
          )}
          {snap && (
            <p className="chart-note mono" data-testid="max-cos">
              max |cos| per tuned vector:{' '}
              {Array.from(snap.intruders.maxCos, (c, i) => (idx.includes(i) ? `[${c.toFixed(2)}]` : c.toFixed(2))).join(
                ' ',
              )}
            </p>
          )}
        </ChartCard>
        <ChartCard
          id="intruders-on-spectrum"
          title="Intruders on the spectrum of W"
          empty={empty}
          note="σ(W) with intruder directions marked (red)."
        >
          <LineView
            data={spectrumRows}
            xKey="i"
            logY
            height={200}
            series={[
              { key: 'base', label: 'σ(W₀)', color: C.grey, dashed: true },
              { key: 'tuned', label: 'σ(W)', color: C.blue },
            ]}
            markers={
              snap
                ? [
                    {
                      key: 'intruder',
                      label: 'intruder',
                      color: C.red,
                      data: idx.map((i) => ({ x: i + 1, y: snap.sigmaTuned[i] })),
                    },
                  ]
                : []
            }
          />
        </ChartCard>
        <ChartCard
          id="intruders-over-steps"
          title={`Intruders over steps (ε = ${eps.toFixed(2)})`}
          empty={overSteps.length ? null : (empty ?? 'No history yet.')}
        >
          <LineView
            data={overSteps}
            xKey="step"
            height={200}
            yFromZero
            series={[{ key: 'intruders', label: 'intruders', color: C.red, dots: overSteps.length < 40 }]}
            legend={false}
          />
        </ChartCard>
      </div>
      {spectra && Object.keys(spectra.latest).length > 0 && (
        <ChartCard id="layer-grid" title={`Layers × matrices (ε = ${eps.toFixed(2)})`} empty={null}>
          <LayerGrid latest={spectra.latest} eps={eps} />
        </ChartCard>
      )}
      <ChartCard
        id="intruders-per-matrix"
        title={`Intruders per layer and matrix (ε = ${eps.toFixed(2)})`}
        empty={counts.length ? null : (empty ?? 'No snapshots yet.')}
      >
        <div className="grid2">
          <BarView
            data={counts.map((c) => ({ name: c.name, count: c.count }))}
            xKey="name"
            bars={[{ key: 'count', label: 'intruders', color: C.red }]}
            layout="vertical"
            height={Math.max(120, counts.length * 18 + 30)}
          />
          <table className="data wrap" data-testid="intruder-table">
            <thead>
              <tr>
                <th>matrix</th>
                <th>layer</th>
                <th>intruders</th>
                <th>of top-k</th>
                <th>step</th>
              </tr>
            </thead>
            <tbody>
              {counts.map((c) => (
                <tr key={c.name} className={c.name === matrix ? 'sel' : ''}>
                  <td className="mono">{c.module}</td>
                  <td>{c.layer ?? '—'}</td>
                  <td>{c.count}</td>
                  <td>{c.k}</td>
                  <td>{fmt(c.step)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </ChartCard>
    </>
  );
}
