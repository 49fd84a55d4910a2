/**
 * Several runs compared for a paper: the config fields that differ, each run's figures against its own
 * step-0 baseline (val and forgetting-probe loss of the untouched model), learning vs forgetting as a
 * scatter, EMA-smoothed exact loss curves, validation curves, intruder counts; exportable as CSV and
 * each chart as SVG/PNG, and as a link that opens the same comparison (the runs' configs travel in it,
 * so a fresh profile can train the runs it lacks).
 */
import { useEffect, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { BarView } from '../charts/BarView';
import { ChartCard } from '../charts/ChartCard';
import { LineView } from '../charts/LineView';
import { RUN_COLORS } from '../charts/palette';
import { fmt } from '../format';
import { ensureRunData } from '../runHistory';
import { ema, seriesView, thin } from '../series';
import { intruderSummary } from '../spectra';
import { useStudio } from '../store';
import { ScatterView } from '../charts/ScatterView';
import { compareCsv, compareRow, configDiff } from '../compare';
import { sharedLrWarnings } from '../methods';
import { Term } from './Term';
import { compareLinkFor, trainMissing } from '../compareLink';

export function CompareTab() {
  const ids = useStudio((s) => s.compareIds);
  const runs = useStudio(useShallow((s) => ids.map((id) => s.runs[id]).filter(Boolean)));
  const metrics = useStudio(useShallow((s) => ids.map((id) => s.metrics[id])));
  const spectra = useStudio(useShallow((s) => ids.map((id) => s.spectra[id])));
  const eps = useStudio((s) => s.eps);
  useEffect(() => {
    for (const id of ids) void ensureRunData(id);
  }, [ids]);

  const smoothing = useStudio((s) => s.smoothing);
  const methods = useStudio((s) => s.catalog.methods);
  // EMA over the exact per-step losses (not over a thinned series), then thinned for drawing
  const lossRows = useMemo(() => {
    const rows: Record<string, number | null>[] = [];
    ids.forEach((_, k) => {
      const m = metrics[k];
      if (!m) return;
      const sm = ema(m.losses, smoothing);
      const steps = thin(
        sm.map((v, i) => ({ step: i + 1, v })),
        400,
      );
      for (const p of steps) if (Number.isFinite(p.v)) rows.push({ step: p.step, [`r${k}`]: p.v });
    });
    return rows.sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
  }, [ids, metrics, smoothing]);
  const table = useMemo(() => runs.map((r, k) => compareRow(r, metrics[k])), [runs, metrics]);
  const diff = useMemo(() => configDiff(runs.map((r) => r.config)), [runs]);
  const lrWarnings = useMemo(
    () =>
      sharedLrWarnings(
        methods,
        runs.map((r) => ({ method: r.config.method.id, lr: r.config.train.lr })),
      ),
    [methods, runs],
  );
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
      <>
        <CompareLinkBanner />
        <div className="empty-state" data-testid="compare-empty">
          Tick runs in the Runs list to overlay them here.
        </div>
      </>
    );
  const color = (k: number) => RUN_COLORS[k % RUN_COLORS.length];
  const series = runs.map((r, k) => ({ key: `r${k}`, label: r.name, color: color(k) }));
  const scatter = table.flatMap((t, k) =>
    t.dVal !== null && t.dProbe !== null ? [{ x: t.dVal, y: t.dProbe, label: t.name, color: color(k) }] : [],
  );
  const saveCsv = () => {
    const csv = compareCsv(
      table,
      diff,
      intruderRows.map((r) => (r.matrices ? r.intruders : null)),
    );
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    a.download = 'rankscope-compare.csv';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  const delta = (v: number | null) => (v === null ? '—' : `${v > 0 ? '+' : ''}${fmt(v, 4)}`);
  return (
    <>
      {lrWarnings.length > 0 && (
        <div className="banner warn" data-testid="compare-lr-warning" role="status">
          These runs share one learning rate: {lrWarnings.join('; ')}. Differences may reflect the step size, not the
          method.
        </div>
      )}
      <CompareLinkBanner />
      <div className="btn-row" style={{ marginBottom: 6 }}>
        <button type="button" className="btn small" onClick={saveCsv} data-testid="compare-csv">
          Export CSV
        </button>
        <CopyCompareLink ids={ids} />
        <span className="small muted">Δ = final − step 0 (the untouched model) of the same run.</span>
      </div>
      {diff.length > 0 && (
        <div className="table-scroll">
          <table className="data wrap" data-testid="compare-diff">
            <thead>
              <tr>
                <th>setting that differs</th>
                {runs.map((r, k) => (
                  <th key={r.id}>
                    <span className="legend-swatch" style={{ background: color(k) }} />
                    {r.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {diff.map((d) => (
                <tr key={d.path}>
                  <td className="mono">{d.path}</td>
                  {d.values.map((v, k) => (
                    <td key={k} className="mono">
                      {v}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {/* two tables of one row per run, so each fits the view column at 1024 px (issue 16): learning and
          forgetting, then what the run cost and what it did to the spectra */}
      <div className="table-scroll">
        <table className="data wrap" data-testid="compare-table">
          <thead>
            <tr>
              <th>run</th>
              <th>method</th>
              <th>final loss</th>
              <th title="validation loss at step 0 (untouched model) → final">val base → final</th>
              <th>best val</th>
              <th title="final − step 0">Δ val</th>
              <th>
                <Term k="probe">probe</Term> base → final
              </th>
              <th title="final − step 0: positive = forgetting">Δ probe</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r, k) => (
              <tr key={r.id}>
                <td>
                  <span className="legend-swatch" style={{ background: color(k) }} />
                  {r.name}
                </td>
                <td className="mono">{r.config.method.id}</td>
                <td className="mono">{fmt(table[k].finalLoss ?? undefined, 4)}</td>
                <td className="mono wrap-ok">
                  {fmt(table[k].baseVal ?? undefined, 4)} → {fmt(table[k].finalVal ?? undefined, 4)}
                </td>
                <td className="mono">{fmt(table[k].bestVal ?? undefined, 4)}</td>
                <td className="mono" data-testid="compare-dval">
                  {delta(table[k].dVal)}
                </td>
                <td className="mono wrap-ok">
                  {fmt(table[k].baseProbe ?? undefined, 4)} → {fmt(table[k].finalProbe ?? undefined, 4)}
                </td>
                <td className="mono" data-testid="compare-dprobe">
                  {delta(table[k].dProbe)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-scroll">
        <table className="data wrap" data-testid="compare-cost">
          <thead>
            <tr>
              <th>run</th>
              <th>steps</th>
              <th>
                <Term k="intruder">intruders</Term> (<Term k="eps">ε</Term> {eps.toFixed(2)})
              </th>
              <th>trainable</th>
              <th>optimizer</th>
              <th>wall</th>
              <th>status</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r, k) => (
              <tr key={r.id}>
                <td>
                  <span className="legend-swatch" style={{ background: color(k) }} />
                  {r.name}
                </td>
                <td>{r.step}</td>
                <td data-testid="compare-intruders-cell">
                  {intruderRows[k]?.matrices
                    ? `${intruderRows[k].intruders} (${intruderRows[k].newDirections} new, ${intruderRows[k].rotations} rot.) · min max|cos| ${fmt(intruderRows[k].minMaxCos, 2)} · ‖ΔW‖/‖W₀‖ ${fmt(intruderRows[k].relFrobenius, 4)}`
                    : '—'}
                </td>
                <td className="mono">{table[k].trainableParams?.toLocaleString() ?? '—'}</td>
                <td className="mono">{bytes(table[k].optimizerBytes)}</td>
                <td className="mono">
                  {table[k].wallSeconds === null ? '—' : `${table[k].wallSeconds!.toFixed(1)} s`}
                </td>
                <td>{r.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ChartCard
        id="compare-scatter"
        title="Learning vs forgetting"
        note="One point per run: Δ validation loss (left = learned the task) against Δ forgetting-probe loss (up = forgot), both from the run's own step 0 — as in Shuttleworth et al. 2024 (arXiv:2410.21228)."
        empty={scatter.length ? null : 'Needs runs with evaluation on (a step-0 and a later val + probe loss).'}
      >
        <ScatterView points={scatter} xLabel="Δ val loss (final − step 0)" yLabel="Δ probe loss" />
      </ChartCard>
      <ChartCard
        id="compare-loss"
        title={`Train loss (EMA ${smoothing.toFixed(2)} over exact per-step losses)`}
        empty={lossRows.length ? null : 'No metrics yet.'}
      >
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

function bytes(n: number | null): string {
  if (n === null) return '—';
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

/** "Copy comparison link": the link is also shown, selectable, in case the clipboard is refused. */
function CopyCompareLink({ ids }: { ids: string[] }) {
  const [link, setLink] = useState<string | null>(null);
  useEffect(() => setLink(null), [ids]);
  return (
    <>
      <button
        type="button"
        className="btn small"
        title="A link that opens this comparison: the runs' configs travel in it, so another browser can train them"
        data-testid="compare-link"
        onClick={() => {
          const l = compareLinkFor(ids);
          setLink(l);
          if (l) navigator.clipboard?.writeText(l).catch(() => undefined);
        }}
      >
        Copy comparison link
      </button>
      {link && (
        <input
          readOnly
          className="mono small"
          value={link}
          aria-label="Comparison link"
          data-testid="compare-link-text"
          style={{ flex: '1 1 160px', minWidth: 0 }}
          onFocus={(e) => e.currentTarget.select()}
        />
      )}
    </>
  );
}

/** After opening a comparison link: which runs it names that this browser lacks, and training them. */
function CompareLinkBanner() {
  const link = useStudio((s) => s.compareLink);
  const clear = useStudio((s) => s.setCompareLink);
  const [busy, setBusy] = useState(false);
  if (!link) return null;
  const found = link.total - link.missing.length;
  return (
    <div className="banner" role="status" data-testid="compare-link-banner">
      This comparison link names {link.total} run{link.total === 1 ? '' : 's'}; {found} {found === 1 ? 'is' : 'are'} in
      this browser.
      {link.missing.length > 0 && (
        <>
          {' '}
          Not here: {link.missing.map((r) => `“${r.name}”`).join(', ')}. Training them from the link's configs (same
          seed, same adapter ⇒ same losses) rebuilds the comparison.{' '}
          <button
            type="button"
            className="btn small primary"
            disabled={busy}
            data-testid="compare-link-train"
            onClick={async () => {
              setBusy(true);
              await trainMissing();
              setBusy(false);
            }}
          >
            {busy ? 'Training…' : `Train the ${link.missing.length} missing run${link.missing.length === 1 ? '' : 's'}`}
          </button>
        </>
      )}{' '}
      <button type="button" className="btn small" onClick={() => clear(null)} data-testid="compare-link-dismiss">
        Dismiss
      </button>
    </div>
  );
}
