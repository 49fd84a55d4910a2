/** Several runs overlaid: loss curves, validation losses, and intruder counts. */
import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { BarView } from '../charts/BarView';
import { ChartCard } from '../charts/ChartCard';
import { LineView } from '../charts/LineView';
import { RUN_COLORS } from '../charts/palette';
import { fmt } from '../format';
import { ensureRunData } from '../runs';
import { seriesView, thin } from '../series';
import { intruderSummary } from '../spectra';
import { useStudio } from '../store';

export function CompareTab() {
  const ids = useStudio((s) => s.compareIds);
  const runs = useStudio(useShallow((s) => ids.map((id) => s.runs[id]).filter(Boolean)));
  const metrics = useStudio(useShallow((s) => ids.map((id) => s.metrics[id])));
  const spectra = useStudio(useShallow((s) => ids.map((id) => s.spectra[id])));
  const eps = useStudio((s) => s.eps);
  useEffect(() => {
    for (const id of ids) void ensureRunData(id);
  }, [ids]);

  const lossRows = useMemo(() => {
    const rows: Record<string, number | null>[] = [];
    ids.forEach((_, k) => {
      const m = metrics[k];
      if (!m) return;
      for (const p of thin(seriesView(m.train), 400)) rows.push({ step: p.step, [`r${k}`]: p.loss });
    });
    return rows.sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
  }, [ids, metrics]);
  const valRows = useMemo(() => {
    const rows: Record<string, number | null>[] = [];
    ids.forEach((_, k) => {
      const m = metrics[k];
      if (!m) return;
      for (const p of seriesView(m.evals))
        if (Number.isFinite(p.valLoss)) rows.push({ step: p.step, [`r${k}`]: p.valLoss });
    });
    return rows.sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
  }, [ids, metrics]);
  const intruderRows = useMemo(
    () =>
      runs.map((r, k) => {
        const c = spectra[k] ? intruderSummary(spectra[k].latest, eps) : null;
        return {
          name: short(r.name),
          intruders: c?.count ?? 0,
          newDirections: c?.newDirections ?? 0,
          rotations: c?.rotations ?? 0,
          minMaxCos: c?.minMaxCos ?? 1,
          relFrobenius: c?.relFrobenius ?? 0,
          matrices: c?.matrices ?? 0,
        };
      }),
    [runs, spectra, eps],
  );

  if (ids.length === 0)
    return (
      <div className="empty-state" data-testid="compare-empty">
        Tick runs in the Runs list (left) to overlay them here.
      </div>
    );
  const series = runs.map((r, k) => ({ key: `r${k}`, label: short(r.name), color: RUN_COLORS[k % RUN_COLORS.length] }));
  return (
    <>
      <table className="data" data-testid="compare-table">
        <thead>
          <tr>
            <th>run</th>
            <th>method</th>
            <th>steps</th>
            <th>final loss</th>
            <th>final val</th>
            <th>intruders (ε {eps.toFixed(2)})</th>
            <th>status</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r, k) => (
            <tr key={r.id}>
              <td>
                <span className="legend-swatch" style={{ background: RUN_COLORS[k % RUN_COLORS.length] }} />
                {r.name}
              </td>
              <td className="mono">{r.config.method.id}</td>
              <td>{r.step}</td>
              <td className="mono">{fmt(metrics[k]?.train.last?.loss, 4)}</td>
              <td className="mono">{fmt(metrics[k]?.evals.last?.valLoss, 4)}</td>
              <td data-testid="compare-intruders-cell">
                {intruderRows[k]?.matrices
                  ? `${intruderRows[k].intruders} (${intruderRows[k].newDirections} new, ${intruderRows[k].rotations} rot.) · min max|cos| ${fmt(intruderRows[k].minMaxCos, 2)} · ‖ΔW‖/‖W₀‖ ${fmt(intruderRows[k].relFrobenius, 4)}`
                  : '—'}
              </td>
              <td>{r.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ChartCard id="compare-loss" title="Train loss" empty={lossRows.length ? null : 'No metrics yet.'}>
        <LineView data={lossRows} xKey="step" series={series} height={240} />
      </ChartCard>
      <div className="grid2">
        <ChartCard id="compare-val" title="Validation loss" empty={valRows.length ? null : 'No validation losses.'}>
          <LineView data={valRows} xKey="step" series={series.map((s) => ({ ...s, dots: true }))} height={200} />
        </ChartCard>
        <ChartCard
          id="compare-intruders"
          title={`Intruders across all matrices (ε = ${eps.toFixed(2)})`}
          empty={intruderRows.some((r) => r.matrices) ? null : 'No spectra snapshots in these runs.'}
        >
          <BarView
            data={intruderRows}
            xKey="name"
            bars={[
              { key: 'newDirections', label: 'new directions', color: '#d64550' },
              { key: 'rotations', label: 'rotations in σ clusters', color: '#8d99ae' },
            ]}
            height={200}
          />
        </ChartCard>
      </div>
    </>
  );
}

function short(s: string): string {
  return s.length > 28 ? s.slice(0, 27) + '…' : s;
}
