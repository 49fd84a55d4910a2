/**
 * One experiment: the queue (run i of n, the step of the run in progress, pause / resume / skip /
 * stop), the claim quoted with its paper, the verdict computed from the numbers with its rule, the
 * measured table (per run and mean ± spread over seeds), charts, and exports (JSON + CSV of every
 * metric + the charts as SVG in one zip, CSV alone, each chart as SVG/PNG) and the experiment's link.
 */
import { strToU8, zipSync } from 'fflate';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ruleText } from '../../engine/experiments/verdict';
import {
  experimentLink,
  finalStateMeasures,
  groupSummaries,
  metricColumns,
  resultsCsv,
  resultsJson,
  verdictOf,
  type PageRow,
} from '../experiments';
import {
  deleteExperiment,
  experimentRows,
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
import { RUN_COLORS } from '../charts/palette';
import { selectRun } from '../runHistory';
import { useStudio } from '../store';
import { Claim, verdictWord } from './experimentsShared';
import { ExperimentsPythonButton } from './ExperimentsPython';

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

  // experimentRows reads the store's runs, metrics and spectra: recompute when any of them changes
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const rows = useMemo(() => experimentRows(rec), [rec, runs, metrics, spectra]);
  const exp = rec.experiment;
  const verdict = useMemo(() => rec.verdict ?? verdictOf(exp, rows), [rec, exp, rows]);
  const groups = useMemo(() => groupSummaries(rows), [rows]);
  const cols = useMemo(() => metricColumns(rows), [rows]);
  const n = rows.length;
  const cur = rec.current;
  const curRunId = cur !== null ? rec.runIds[cur] : null;
  const curRun = curRunId ? runs[curRunId] : undefined;
  const finished = rows.filter((r) => r.status === 'done').length;
  const pending = rows.some((r) => r.status === 'pending' || r.status === 'running');
  const live = rec.status === 'running' || rec.status === 'paused';
  const metric =
    exp.verdict.all[0]?.metric && cols.includes(exp.verdict.all[0].metric) ? exp.verdict.all[0].metric : 'valLoss';

  const lossRows = useMemo(() => {
    const len = Math.max(0, ...rows.map((r) => r.curve.length));
    return Array.from({ length: len }, (_, i) => {
      const row: Record<string, number | null> = { step: i + 1 };
      rows.forEach((r, k) => (row[`r${k}`] = Number.isFinite(r.curve[i]) ? r.curve[i] : null));
      return row;
    });
  }, [rows]);
  const series = rows.flatMap((r, k) =>
    r.curve.length ? [{ key: `r${k}`, label: `${k + 1}: ${r.label}`, color: RUN_COLORS[k % RUN_COLORS.length] }] : [],
  );
  const barRows = groups.map((g) => ({
    name: groups.filter((x) => x.group === g.group).length > 1 ? `${g.group} lr=${g.lr}` : g.group,
    value: g.mean[metric] ?? null,
  }));
  const title = `${exp.title} (${exp.budget})`;

  const csv = () => download(`${safeName(exp.id)}.csv`, new Blob([resultsCsv(rows)], { type: 'text/csv' }));
  const exportZip = () => {
    const files: Record<string, Uint8Array> = {
      'experiment.json': strToU8(resultsJson(exp, rows, verdict)),
      'results.csv': strToU8(resultsCsv(rows)),
    };
    ref.current?.querySelectorAll<SVGSVGElement>('[data-chart-id] svg[data-exportable]').forEach((svg) => {
      const id = svg.closest('[data-chart-id]')?.getAttribute('data-chart-id') ?? 'chart';
      files[`charts/${safeName(id)}.svg`] = strToU8(chartSvg(svg));
    });
    download(
      `${safeName(exp.id)}.experiment.zip`,
      new Blob([zipSync(files, { level: 6 }) as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
    );
  };
  const copyLink = async () => {
    const l = experimentLink(window.location.origin + window.location.pathname, exp);
    setLink(l);
    await navigator.clipboard?.writeText(l).catch(() => undefined);
  };

  return (
    <div className="card exp-result" data-testid="exp-result" data-status={rec.status} ref={ref}>
      <h3 className="card-title">
        {title}
        <span className="spacer" />
        <span className={`pill status-${rec.status}`} data-testid="exp-status">
          {rec.status}
        </span>
      </h3>
      <p className="small" data-testid="exp-progress" data-done={finished} data-total={n}>
        {live && typeof rec.measuring === 'number'
          ? `Run ${rec.measuring + 1} of ${n} · measuring its final state (${finalStateMeasures(exp).join(', ')})`
          : live && cur !== null
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
        {(rec.status === 'paused' || rec.status === 'interrupted' || rec.status === 'stopped') && pending && (
          <button
            type="button"
            className="btn small primary"
            onClick={() => void resumeExperiment(rec.id)}
            data-testid="exp-resume"
          >
            Resume
          </button>
        )}
        {rec.status !== 'done' && pending && (
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
        <ExperimentsPythonButton exp={exp} testId="exp-python" />
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
      <Claim exp={exp} />
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
        <ul className="small exp-clauses">
          {verdict.clauses.map((c, i) => (
            <li key={i} data-testid="exp-clause">
              {c.holds === true ? '✓' : c.holds === false ? '✗' : '?'} {c.text} — {c.detail}
            </li>
          ))}
        </ul>
        <div className="small muted" data-testid="exp-rule">
          Rule: {ruleText(exp)}
        </div>
      </div>
      <div className="table-scroll">
        <table className="data" data-testid="exp-groups">
          <thead>
            <tr>
              <th>group</th>
              <th>lr</th>
              <th>seeds</th>
              {cols.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={`${g.group} ${g.lr}`}>
                <td className="mono">{g.group}</td>
                <td className="mono">{g.lr}</td>
                <td className="mono">{g.n}</td>
                {cols.map((c) => (
                  <td key={c} className="mono">
                    {pm(g.mean[c], g.spread[c], g.n)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <RankRows rows={rows} />
      <details>
        <summary className="small">Every run ({n})</summary>
        <div className="table-scroll">
          <table className="data" data-testid="exp-runs">
            <thead>
              <tr>
                <th>#</th>
                <th>run</th>
                <th>status</th>
                {cols.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, k) => (
                <tr key={r.key} data-testid="exp-run-row" data-run-id={r.runId ?? ''}>
                  <td className="mono">{k + 1}</td>
                  <td className="mono">
                    {r.runId && !r.runId.startsWith('fit:') ? (
                      <button
                        type="button"
                        className="linkish"
                        onClick={() => {
                          void selectRun(r.runId!);
                          setTab('loss');
                        }}
                      >
                        {r.label}
                      </button>
                    ) : (
                      r.label
                    )}
                  </td>
                  <td className="mono">{r.status}</td>
                  {cols.map((c) => (
                    <td key={c} className="mono">
                      {fmt(r.metrics[c] ?? undefined, 4)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
      <ChartCard
        id="experiment-loss"
        title={
          exp.kind === 'matrix-fit'
            ? 'Relative fit error ‖fit − T‖/‖T‖ per step'
            : 'Train loss per run (exact per-step losses)'
        }
        empty={lossRows.length ? null : 'No steps yet.'}
      >
        <LineView data={lossRows} xKey="step" series={series} height={220} />
      </ChartCard>
      <ChartCard
        id="experiment-metric"
        title={`Mean ${metric} per group`}
        empty={barRows.some((r) => r.value !== null) ? null : 'No finished runs yet.'}
      >
        <BarView
          data={barRows}
          xKey="name"
          bars={[{ key: 'value', label: metric, color: RUN_COLORS[0] }]}
          layout="vertical"
          height={Math.max(120, 28 * barRows.length)}
        />
      </ChartCard>
    </div>
  );
}

/** DyLoRA's validation loss per evaluation rank, PHLoRA's energy and re-merged loss per extracted rank. */
function RankRows({ rows }: { rows: PageRow[] }) {
  const ranked = rows.filter((r) => r.rankEval?.length || r.extract?.length);
  if (!ranked.length) return null;
  const extract = ranked.some((r) => r.extract?.length);
  return (
    <div className="table-scroll">
      <table className="data" data-testid="exp-ranks">
        <caption className="small">
          {extract
            ? 'Per extracted rank r: energy Σσ²(≤r)/Σσ² of ΔW over every targeted matrix, validation loss with W0 + ΔW_r merged, and its gap to the full fine-tune'
            : 'Validation loss of each DyLoRA run evaluated at rank b'}
        </caption>
        <thead>
          <tr>
            <th>run</th>
            <th>rank</th>
            {extract && <th>energy</th>}
            <th>valLoss</th>
            {extract && <th>gap</th>}
          </tr>
        </thead>
        <tbody>
          {ranked.flatMap((r) =>
            (r.extract ?? r.rankEval ?? []).map((p: { rank: number; valLoss: number; energy?: number }) => (
              <tr key={`${r.key} ${p.rank}`} data-testid="exp-rank-row" data-rank={p.rank}>
                <td className="mono">{r.label}</td>
                <td className="mono">{p.rank}</td>
                {extract && <td className="mono">{fmt(p.energy, 4)}</td>}
                <td className="mono">{fmt(p.valLoss, 4)}</td>
                {extract && <td className="mono">{fmt(r.metrics[`valLossGap@r${p.rank}`] ?? undefined, 4)}</td>}
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

/** "2.3456 ± 0.0123" — mean ± spread (max − min) over seeds; no ± with one seed. */
function pm(mean: number | null, spread: number | null, n: number): string {
  if (mean === null || !Number.isFinite(mean)) return '—';
  return n > 1 && spread !== null ? `${fmt(mean, 4)} ± ${fmt(spread, 2)}` : fmt(mean, 4);
}
