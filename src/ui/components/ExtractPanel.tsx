/**
 * "Extract LoRA (PHLoRA)" on a full fine-tuning run (issue 12 item 3): per tuned matrix, ΔW's energy
 * captured against rank (the chart), the rank chosen — uniform r or the smallest reaching an energy
 * threshold (PEFT rank_pattern) — and the PEFT adapter to download.
 */
import { useMemo, useState } from 'react';
import { ChartCard } from '../charts/ChartCard';
import { LineView } from '../charts/LineView';
import { RUN_COLORS } from '../charts/palette';
import { downloadPeft, extractFromRun } from '../analysis-tools';
import { errorText } from '../gpuSupport';
import type { ExtractResult } from '../../worker/protocol';
import type { RunRecord } from '../types';

export function ExtractPanel({ run }: { run: RunRecord }) {
  const [mode, setMode] = useState<'rank' | 'energy'>('energy');
  const [rank, setRank] = useState(4);
  const [energy, setEnergy] = useState(0.9);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [res, setRes] = useState<ExtractResult | null>(null);
  const go = () => {
    setBusy(true);
    setError(null);
    extractFromRun(run.id, mode === 'rank' ? { rank } : { energy })
      .then(setRes, (e) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };
  const rows = useMemo(() => {
    if (!res) return [];
    const n = Math.max(...res.matrices.map((m) => m.energyCurve.length));
    return Array.from({ length: n }, (_, i) => {
      const row: Record<string, number | null> = { r: i + 1 };
      for (const m of res.matrices) row[m.module] = m.energyCurve[i] ?? null;
      return row;
    });
  }, [res]);
  return (
    <section className="card" data-testid="extract-panel">
      <h2 className="card-title">Extract LoRA (PHLoRA)</h2>
      <p className="muted small">
        ΔW = W − W₀ of every tuned matrix factorised by its SVD: B = U_r Σ_r^½, A = Σ_r^½ V_rᵀ, the best rank-r
        approximation; exported as a PEFT LoRA (lora_alpha = r).
      </p>
      <div className="hub-row">
        <select value={mode} onChange={(e) => setMode(e.target.value as 'rank' | 'energy')} data-testid="extract-mode">
          <option value="energy">energy threshold</option>
          <option value="rank">uniform rank</option>
        </select>
        {mode === 'rank' ? (
          <input
            type="number"
            min={1}
            value={rank}
            aria-label="rank"
            data-testid="extract-rank"
            style={{ width: 80 }}
            onChange={(e) => setRank(Math.max(1, Math.round(Number(e.target.value) || 1)))}
          />
        ) : (
          <input
            type="number"
            min={0.01}
            max={1}
            step={0.01}
            value={energy}
            aria-label="energy"
            data-testid="extract-energy"
            style={{ width: 80 }}
            onChange={(e) => setEnergy(Math.min(1, Math.max(0.01, Number(e.target.value) || 0.9)))}
          />
        )}
        <button className="btn small" data-testid="btn-extract" disabled={busy} onClick={go}>
          {busy ? 'Extracting…' : 'Extract LoRA (PHLoRA)'}
        </button>
      </div>
      {error && (
        <div className="field-msg" role="alert" data-testid="extract-error">
          {error}
        </div>
      )}
      {res && (
        <>
          <ChartCard id="extract-energy" title="Energy of ΔW captured vs rank">
            <LineView
              data={rows}
              xKey="r"
              height={200}
              xLabel="rank r"
              series={res.matrices.map((m, i) => ({
                key: m.module,
                label: m.module,
                color: RUN_COLORS[i % RUN_COLORS.length],
              }))}
            />
          </ChartCard>
          <table className="data" data-testid="extract-table">
            <thead>
              <tr>
                <th>matrix</th>
                <th>out×in</th>
                <th>r</th>
                <th>energy captured</th>
                <th>‖ΔW − BA‖/‖ΔW‖</th>
              </tr>
            </thead>
            <tbody>
              {res.matrices.map((m) => (
                <tr key={m.module} data-testid="extract-row" data-r={m.r}>
                  <td className="mono">{m.module}</td>
                  <td className="mono">
                    {m.outDim}×{m.inDim}
                  </td>
                  <td>{m.r}</td>
                  <td>{m.captured.toFixed(4)}</td>
                  <td>{m.relError.toFixed(4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button
            className="btn small"
            data-testid="btn-extract-download"
            onClick={() => downloadPeft(run.name, 'phlora-peft', res.files)}
          >
            Download PEFT adapter (r = {res.r}
            {Object.keys(res.rankPattern).length ? `, rank_pattern for ${Object.keys(res.rankPattern).length}` : ''})
          </button>
        </>
      )}
    </section>
  );
}
