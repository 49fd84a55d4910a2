/** Pick a layer and matrix among those the run analyses; optionally run an analysis now. */
import { useShallow } from 'zustand/react/shallow';
import { analyze } from '../runs';
import { isActive } from '../runHistory';
import { useStudio } from '../store';
import { cmp } from '../store/runData';

export function useMatrices(runId: string | null): string[] {
  return useStudio(
    useShallow((s) => {
      if (!runId) return [];
      const fromRun = s.runs[runId]?.matrices ?? [];
      const fromSnaps = Object.keys(s.spectra[runId]?.latest ?? {});
      return [...new Set([...fromRun, ...fromSnaps])].sort(byLayer);
    }),
  );
}

function byLayer(a: string, b: string): number {
  const la = /^h\.(\d+)\./.exec(a)?.[1];
  const lb = /^h\.(\d+)\./.exec(b)?.[1];
  return (la === undefined ? -1 : Number(la)) - (lb === undefined ? -1 : Number(lb)) || cmp(a, b);
}

export function MatrixPicker({ runId }: { runId: string }) {
  const matrices = useMatrices(runId);
  const matrix = useStudio((s) => s.matrix);
  const setMatrix = useStudio((s) => s.setMatrix);
  const canAnalyze = useStudio(
    (s) =>
      s.engine === 'ready' &&
      !s.deviceLost &&
      s.engineRunId === runId &&
      !!s.runs[runId] &&
      (s.runs[runId].status === 'done' ||
        s.runs[runId].status === 'stopped' ||
        s.runs[runId].status === 'paused' ||
        isActive(s.runs[runId])),
  );
  const current = matrix && matrices.includes(matrix) ? matrix : (matrices[0] ?? '');
  return (
    <div className="btn-row" data-testid="matrix-picker">
      <label className="small" htmlFor="matrix-select">
        Layer / matrix
      </label>
      <select
        id="matrix-select"
        value={current}
        onChange={(e) => setMatrix(e.target.value)}
        data-testid="input-matrix"
        disabled={matrices.length === 0}
      >
        {matrices.length === 0 && <option value="">no matrices yet</option>}
        {matrices.map((m) => (
          <option key={m} value={m}>
            {m}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="btn small"
        disabled={!canAnalyze || !current}
        onClick={() => void analyze(current)}
        data-testid="analyze-now"
        title="Compute this matrix's spectra at the current step"
      >
        Analyze now
      </button>
      {!canAnalyze && (
        <span className="small muted">
          On-demand analysis works on the run the engine holds (the latest one this session).
        </span>
      )}
    </div>
  );
}
