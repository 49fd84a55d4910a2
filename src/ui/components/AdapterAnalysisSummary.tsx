/**
 * The selected analysis entry (an adapter opened without training): what was opened (hub ids, commits),
 * the adapter's r and α, and per adapted matrix: shape, erank of W, ΔW's effective and stable rank,
 * intruders (k, ε of the analysis) split into new directions and rotations inside near-degenerate σ
 * clusters (src/engine/analysis/intruders.ts), the nearest miss min max|cos|, ‖ΔW‖F/‖W0‖F and α.
 * Plus the analysis link (hub adapters only).
 */
import { useState } from 'react';
import { analysisLinkOf, analysisUrl, isAnalysis, useAnalysisUi } from '../analysis';
import { fmt } from '../format';
import { ROTATION_THRESHOLD } from '../spectra';
import { intruderIndices } from '../store/runData';
import { useStudio } from '../store';

export function AdapterAnalysisSummary() {
  const run = useStudio((s) => (s.selectedRunId ? s.runs[s.selectedRunId] : null));
  const spectra = useStudio((s) => (s.selectedRunId ? s.spectra[s.selectedRunId] : null));
  const linkStatus = useAnalysisUi((s) => s.status);
  const [copied, setCopied] = useState(false);
  if (!isAnalysis(run)) return null;
  const a = run.analysis;
  const rows = Object.values(spectra?.latest ?? {}).map((s) => {
    const idx = intruderIndices(s, a.eps);
    const cn = s.intruders.clusterNorm;
    const rot = cn ? idx.filter((i) => cn[i] >= ROTATION_THRESHOLD).length : 0;
    return { s, count: idx.length, rot, minCos: Math.min(...Array.from(s.intruders.maxCos)) };
  });
  const total = rows.reduce((n, r) => n + r.count, 0);
  const rotations = rows.reduce((n, r) => n + r.rot, 0);
  const link = analysisLinkOf(run);
  const url = typeof link === 'string' ? null : analysisUrl(link);
  const where = (x: typeof a.adapter | typeof a.base) =>
    x.source === 'hub' ? `${x.repo} @ ${x.commit.slice(0, 12)}` : x.source === 'builtin' ? `built-in ${x.id}` : x.name;
  return (
    <section className="card" data-testid="adapter-summary">
      <h2 className="card-title">Adapter analysis</h2>
      <p className="small">
        Adapter <b data-testid="adapter-summary-adapter">{where(a.adapter)}</b> on base{' '}
        <b data-testid="adapter-summary-base">{where(a.base)}</b> ({a.modelType}):{' '}
        {a.peft.type === 'HRA'
          ? `HRA r = ${a.peft.ranks.join('/')} reflections`
          : `LoRA r = ${a.peft.ranks.join('/')}, α = ${a.peft.alpha}${a.peft.useRslora ? ' (rsLoRA)' : ''}`}
        , {a.peft.modules} adapted matrices, analysed in {(a.ms / 1000).toFixed(1)} s.
      </p>
      <p className="small" data-testid="adapter-summary-intruders" data-intruders={total} data-rotations={rotations}>
        <b>{total}</b> intruder dimensions (k = {a.k}, ε = {a.eps}): <b>{total - rotations}</b> new directions,{' '}
        <b>{rotations}</b> rotations within near-degenerate σ clusters.
      </p>
      <div className="table-scroll">
        <table className="data" data-testid="adapter-layer-table">
          <thead>
            <tr>
              <th>matrix</th>
              <th>out×in</th>
              <th title="effective rank of W0 + ΔW">erank W</th>
              <th title="effective rank of ΔW">erank ΔW</th>
              <th title="stable rank of ΔW">stable ΔW</th>
              <th title="intruders: new / rotations">intruders (n/r)</th>
              <th title="smallest max|cos| of a top-k tuned vector with W0's">min max|cos|</th>
              <th>‖ΔW‖/‖W0‖</th>
              <th title="power-law exponent of W's eigenvalue density">α</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ s, count, rot, minCos }) => (
              <tr key={s.name} data-testid="adapter-layer-row" data-matrix={s.name} data-intruders={count}>
                <td className="mono">{s.name}</td>
                <td className="mono">
                  {s.shape[0]}×{s.shape[1]}
                </td>
                <td>{fmt(s.erank, 2)}</td>
                <td>{fmt(s.deltaErank, 2)}</td>
                <td>{fmt(s.deltaStableRank, 2)}</td>
                <td>
                  {count} ({count - rot}/{rot})
                </td>
                <td>{fmt(minCos, 2)}</td>
                <td>{fmt(s.intruders.relFrobenius ?? NaN, 3)}</td>
                <td>{fmt(s.alpha, 2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {url ? (
        <div className="field-help">
          Analysis link (hub ids, commits and content hashes; opens this analysis in another browser):{' '}
          <input readOnly className="mono" value={url} data-testid="analysis-link" onFocus={(e) => e.target.select()} />{' '}
          <button
            className="btn small"
            data-testid="btn-analysis-link"
            onClick={() =>
              void navigator.clipboard?.writeText(url).then(
                () => setCopied(true),
                () => setCopied(false),
              )
            }
          >
            {copied ? 'Copied' : 'Copy link'}
          </button>
        </div>
      ) : (
        <div className="field-help muted">No link: {link as string}.</div>
      )}
      {linkStatus && (
        <div className="field-help" data-testid="analysis-link-status">
          {linkStatus}
        </div>
      )}
    </section>
  );
}
