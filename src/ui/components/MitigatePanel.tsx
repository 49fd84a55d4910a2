/**
 * "Reduce intruders" on a LoRA run (issue 12 item 5): PEFT's reduce_intruder_dimension with λ (default
 * 0.75) on the run's adapter — intruder counts per matrix before and after, and the forgetting-probe loss
 * before and after, evaluated on the GPU with the mitigated weights — and the mitigated adapter as PEFT.
 */
import { useState } from 'react';
import { downloadPeft, mitigateInPage } from '../analysis-tools';
import { errorText } from '../gpuSupport';
import { intruderSummary } from '../spectra';
import { useStudio } from '../store';
import type { MitigateResult } from '../../worker/protocol';
import type { RunRecord } from '../types';

export function MitigatePanel({ run }: { run: RunRecord }) {
  const spectra = useStudio((s) => s.spectra[run.id]);
  const [lambda, setLambda] = useState(0.75);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [res, setRes] = useState<MitigateResult | null>(null);
  const live = spectra ? intruderSummary(spectra.latest, run.config.analysis.eps) : null;
  const go = () => {
    setBusy(true);
    setError(null);
    mitigateInPage(run.id, lambda)
      .then(setRes, (e) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };
  return (
    <section className="card" data-testid="mitigate-panel">
      <h2 className="card-title">Reduce intruders</h2>
      <p className="muted small">
        PEFT&apos;s reduce_intruder_dimension: among the top k = {run.config.analysis.k} left singular vectors of W +
        ΔW, those with max|cos| &lt; ε = {run.config.analysis.eps} against every W₀ vector are scaled by λ, and ΔW is
        re-factorised at the adapter&apos;s rank.
        {live ? ` The run's last snapshot shows ${live.count} intruder dimensions.` : ''}
      </p>
      <div className="hub-row">
        <label htmlFor="mitigate-lambda">λ</label>
        <input
          id="mitigate-lambda"
          type="number"
          min={0}
          max={1}
          step={0.05}
          value={lambda}
          data-testid="mitigate-lambda"
          style={{ width: 80 }}
          onChange={(e) => setLambda(Math.min(1, Math.max(0, Number(e.target.value))))}
        />
        <button className="btn small" data-testid="btn-mitigate" disabled={busy} onClick={go}>
          {busy ? 'Reducing…' : 'Reduce intruders'}
        </button>
      </div>
      {error && (
        <div className="field-msg" role="alert" data-testid="mitigate-error">
          {error}
        </div>
      )}
      {res && (
        <>
          <p
            className="small"
            data-testid="mitigate-summary"
            data-before={res.before}
            data-after={res.after}
            data-probe-before={res.probeBefore}
            data-probe-after={res.probeAfter}
          >
            Intruders <b>{res.before}</b> → <b>{res.after}</b>;{' '}
            {res.probeSplit === 'probe' ? 'forgetting-probe' : 'validation'} loss <b>{res.probeBefore.toFixed(4)}</b> →{' '}
            <b>{res.probeAfter.toFixed(4)}</b> (GPU, λ = {lambda}).
          </p>
          <table className="data" data-testid="mitigate-table">
            <thead>
              <tr>
                <th>matrix</th>
                <th>intruders before</th>
                <th>after</th>
                <th>min max|cos|</th>
              </tr>
            </thead>
            <tbody>
              {res.layers.map((l) => (
                <tr key={l.module}>
                  <td className="mono">{l.module}</td>
                  <td>{l.before}</td>
                  <td>{l.after}</td>
                  <td>{l.minMaxCos.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button
            className="btn small"
            data-testid="btn-mitigate-download"
            onClick={() => downloadPeft(run.name, 'mitigated-peft', res.files)}
          >
            Download mitigated adapter (PEFT)
          </button>
        </>
      )}
    </section>
  );
}
