/**
 * One experiment: the queue (run i of n, the step of the run in progress, pause / resume / skip /
 * stop), the claim quoted with its paper, the verdict computed from the numbers with its rule, the
 * measured table (per run and mean ± spread over seeds), charts, and exports (JSON + CSV of every
 * metric + the charts as SVG in one zip, CSV alone, each chart as SVG/PNG) and the experiment's link.
 */
import { strToU8, zipSync } from 'fflate';
import { useEffect, useMemo, useRef, useState } from 'react';
import {
  computeVerdict,
  experimentLink,
  groupLabel,
  groupStats,
  METRIC_LABEL,
  resultsCsv,
  resultsJson,
  type MetricId,
} from '../experiments';
import {
  deleteExperiment,
  experimentResults,
  loadExperimentData,
  pauseExperiment,
  resumeExperiment,
  skipCurrent,
  stopExperiment,
  type ExperimentRecord,
} from '../experimentsQueue';
import { chartSvg, download, safeName } from '../exporting';
import { fmt } from '../format';
import { ChartCard } from '../charts/ChartCard';
import { BarView } from '../charts/BarView';
import { LineView } from '../charts/LineView';
import { ScatterView } from '../charts/ScatterView';
import { RUN_COLORS } from '../charts/palette';
import { selectRun } from '../runs';
import { useStudio } from '../store';
import { verdictWord } from './ExperimentsTab';

export function ExperimentsResult({ rec }: { rec: ExperimentRecord }) {
  const runs = useStudio((s) => s.runs);
  const metrics = useStudio((s) => s.metrics);
  const spectra = useStudio((s) => s.spectra);
  const setTab = useStudio((s) => s.setTab);
  const [link, setLink] = useState<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    void loadExperimentData(rec);
    setLink(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rec.id]);

  // experimentResults reads the store's runs, metrics and spectra: recompute when any of them changes
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const results = useMemo(() => experimentResults(rec), [rec, runs, metrics, spectra]);
  const verdict = useMemo(
    () => rec.verdict ?? (rec.spec.rule ? computeVerdict(rec.spec.rule, results) : null),
    [rec, results],
  );
  const stats = useMemo(() => groupStats(results), [results]);
  const spec = rec.spec;
  const n = spec.runs.length;
  const cur = rec.current;
  const curRunId = cur !== null ? rec.runIds[cur] : null;
  const curRun = curRunId ? runs[curRunId] : undefined;
  const finished = results.filter((r) => r.status === 'done').length;
  const live = rec.status === 'running' || rec.status === 'paused';
  const metric: MetricId = spec.rule?.metric ?? 'valLoss';

  const lossRows = useMemo(() => {
    const len = Math.max(0, ...results.map((r) => r.losses.length));
    return Array.from({ length: len }, (_, i) => {
      const row: Record<string, number | null> = { step: i + 1 };
      results.forEach((r) => (row[`r${r.index}`] = Number.isFinite(r.losses[i]) ? r.losses[i] : null));
      return row;
    });
  }, [results]);
  const series = results
    .filter((r) => r.losses.length)
    .map((r) => ({
      key: `r${r.index}`,
      label: `${r.index + 1}: ${groupLabel(r.config)} s${r.config.seed}`,
      color: RUN_COLORS[r.index % RUN_COLORS.length],
    }));
  const barRows = stats.map((g) => ({ name: g.label, value: Number.isFinite(g.mean[metric]) ? g.mean[metric] : null }));
  const scatter = stats
    .filter((g) => Number.isFinite(g.mean.trainableParams) && Number.isFinite(g.mean.valLoss))
    .map((g, k) => ({
      x: Math.log10(Math.max(1, g.mean.trainableParams)),
      y: g.mean.valLoss,
      label: g.label,
      color: RUN_COLORS[k % RUN_COLORS.length],
    }));

  const csv = () => download(`${safeName(spec.name)}.csv`, new Blob([resultsCsv(results)], { type: 'text/csv' }));
  const exportZip = () => {
    const files: Record<string, Uint8Array> = {
      'experiment.json': strToU8(resultsJson(spec, results, verdict)),
      'results.csv': strToU8(resultsCsv(results)),
    };
    ref.current?.querySelectorAll<SVGSVGElement>('[data-chart-id] svg[data-exportable]').forEach((svg) => {
      const id = svg.closest('[data-chart-id]')?.getAttribute('data-chart-id') ?? 'chart';
      files[`charts/${safeName(id)}.svg`] = strToU8(chartSvg(svg));
    });
    download(
      `${safeName(spec.name)}.experiment.zip`,
      new Blob([zipSync(files, { level: 6 }) as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
    );
  };
  const copyLink = async () => {
    const l = experimentLink(window.location.origin + window.location.pathname, spec);
    setLink(l);
    await navigator.clipboard?.writeText(l).catch(() => undefined);
  };

  return (
    <div className="card exp-result" data-testid="exp-result" data-status={rec.status} ref={ref}>
      <h3 className="card-title">
        {spec.name}
        <span className="spacer" />
        <span className={`pill status-${rec.status}`} data-testid="exp-status">
          {rec.status}
        </span>
      </h3>
      <p className="small" data-testid="exp-progress" data-done={finished} data-total={n}>
        {live && cur !== null
          ? `Run ${cur + 1} of ${n}${curRun ? ` · step ${curRun.step}/${curRun.totalSteps} (${curRun.status})` : ''}`
          : `${finished} of ${n} runs finished`}
        {rec.skipped.length > 0 && ` · ${rec.skipped.length} skipped`}
        {rec.message && ` · ${rec.message}`}
        {rec.adapterName && <span className="muted"> · on {rec.adapterName}</span>}
      </p>
      <div className="btn-row">
        {rec.status === 'running' && (
          <button
            type="button"
            className="btn small"
            onClick={() => void pauseExperiment(rec.id)}
            data-testid="exp-pause"
          >
            Pause
          </button>
        )}
        {(rec.status === 'paused' || rec.status === 'interrupted' || rec.status === 'stopped') &&
          results.some((r) => r.status === 'pending') && (
            <button
              type="button"
              className="btn small primary"
              onClick={() => void resumeExperiment(rec.id)}
              data-testid="exp-resume"
            >
              Resume
            </button>
          )}
        {rec.status !== 'done' && results.some((r) => r.status === 'pending') && (
          <button type="button" className="btn small" onClick={() => void skipCurrent(rec.id)} data-testid="exp-skip">
            Skip run
          </button>
        )}
        {live && (
          <button type="button" className="btn small danger" onClick={() => void stopExperiment(rec.id)}>
            Stop
          </button>
        )}
        <button type="button" className="btn small" onClick={csv} data-testid="exp-csv">
          CSV
        </button>
        <button type="button" className="btn small" onClick={exportZip} data-testid="exp-export">
          Export (JSON + CSV + charts)
        </button>
        <button type="button" className="btn small" onClick={() => void copyLink()} data-testid="exp-copy-link">
          Copy link
        </button>
        {!live && (
          <button type="button" className="btn small" onClick={() => void deleteExperiment(rec.id)}>
            Delete
          </button>
        )}
      </div>
      {link && (
        <input
          className="exp-link mono small"
          readOnly
          value={link}
          data-testid="exp-link"
          onFocus={(e) => e.target.select()}
        />
      )}
      {spec.claim && (
        <blockquote className="exp-claim" data-testid="exp-claim">
          {spec.claim}
          {spec.paper && <footer>— {spec.paper}</footer>}
        </blockquote>
      )}
      {verdict && (
        <div
          className={`exp-verdict holds-${String(verdict.holds)}`}
          data-testid="exp-verdict"
          data-holds={String(verdict.holds)}
          data-final={rec.status === 'done'}
        >
          <b>
            {rec.status === 'done' ? 'Verdict' : 'So far'}: {verdictWord(verdict.holds)}
          </b>{' '}
          — {verdict.reason}
          <div className="small muted">Rule: {verdict.rule}</div>
        </div>
      )}
      <div className="table-scroll">
        <table className="data" data-testid="exp-groups">
          <thead>
            <tr>
              <th>configuration</th>
              <th>seeds</th>
              <th>final train loss</th>
              <th>val loss</th>
              <th>probe loss</th>
              <th>intruders</th>
              <th>trainable</th>
            </tr>
          </thead>
          <tbody>
            {stats.map((g) => (
              <tr key={g.key}>
                <td className="mono">{g.label}</td>
                <td className="mono">{g.n}</td>
                {(['finalLoss', 'valLoss', 'probeLoss', 'intruders'] as MetricId[]).map((m) => (
                  <td key={m} className="mono">
                    {pm(g.mean[m], g.spread[m], g.n)}
                  </td>
                ))}
                <td className="mono">
                  {Number.isFinite(g.mean.trainableParams) ? g.mean.trainableParams.toLocaleString() : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary className="small">Every run ({n})</summary>
        <div className="table-scroll">
          <table className="data" data-testid="exp-runs">
            <thead>
              <tr>
                <th>#</th>
                <th>configuration</th>
                <th>seed</th>
                <th>status</th>
                <th>final train loss</th>
                <th>val loss</th>
                <th>probe loss</th>
                <th>intruders</th>
                <th>seconds</th>
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <tr key={r.index} data-testid="exp-run-row" data-run-id={r.runId ?? ''}>
                  <td className="mono">{r.index + 1}</td>
                  <td className="mono">
                    {r.runId ? (
                      <button
                        type="button"
                        className="linkish"
                        onClick={() => {
                          void selectRun(r.runId!);
                          setTab('loss');
                        }}
                      >
                        {groupLabel(r.config)}
                      </button>
                    ) : (
                      groupLabel(r.config)
                    )}
                  </td>
                  <td className="mono">{r.config.seed}</td>
                  <td className="mono">{r.runId ? (runs[r.runId]?.status ?? r.status) : r.status}</td>
                  <td className="mono">{fmt(r.finalLoss, 4)}</td>
                  <td className="mono">{fmt(r.valLoss, 4)}</td>
                  <td className="mono">{fmt(r.probeLoss, 4)}</td>
                  <td className="mono">{Number.isFinite(r.intruders) ? r.intruders : '—'}</td>
                  <td className="mono">{fmt(r.seconds, 3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
      <ChartCard
        id="experiment-loss"
        title="Train loss per run (exact per-step losses)"
        empty={lossRows.length ? null : 'No steps yet.'}
      >
        <LineView data={lossRows} xKey="step" series={series} height={220} />
      </ChartCard>
      <div className="grid2">
        <ChartCard
          id="experiment-metric"
          title={`Mean ${METRIC_LABEL[metric]} per configuration`}
          empty={barRows.some((r) => r.value !== null) ? null : 'No finished runs yet.'}
        >
          <BarView
            data={barRows}
            xKey="name"
            bars={[{ key: 'value', label: METRIC_LABEL[metric], color: RUN_COLORS[0] }]}
            layout="vertical"
            height={Math.max(120, 28 * barRows.length)}
          />
        </ChartCard>
        <ChartCard
          id="experiment-params"
          title="Val loss vs log₁₀ trainable parameters"
          empty={scatter.length ? null : 'No finished runs yet.'}
        >
          <ScatterView
            points={scatter}
            xLabel="log₁₀ trainable parameters"
            yLabel="val loss"
            height={220}
            width={420}
          />
        </ChartCard>
      </div>
    </div>
  );
}

/** "2.3456 ± 0.0123" (no ± with one seed). */
function pm(mean: number, spread: number, n: number): string {
  if (!Number.isFinite(mean)) return '—';
  return n > 1 ? `${fmt(mean, 4)} ± ${fmt(spread, 2)}` : fmt(mean, 4);
}
