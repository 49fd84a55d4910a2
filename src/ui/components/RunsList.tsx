/** The run history (this browser): select a run, tick runs to compare, import an exported run. */
import { useShallow } from 'zustand/react/shallow';
import { importRun } from '../exporting';
import { selectRun } from '../runs';
import { useStudio } from '../store';
import { StatePill } from './StatePill';

export function RunsList() {
  const runs = useStudio(useShallow((s) => Object.values(s.runs).sort((a, b) => b.createdAt - a.createdAt)));
  const selected = useStudio((s) => s.selectedRunId);
  const compare = useStudio((s) => s.compareIds);
  const toggle = useStudio((s) => s.toggleCompare);
  const loaded = useStudio((s) => s.historyLoaded);
  return (
    <section className="card" data-testid="runs-list">
      <h2 className="card-title">
        Runs <span className="muted">({runs.length})</span>
        <span className="spacer" />
        <label className="btn small" title="Import a run exported from Rankscope (.zip or run.json)">
          Import…
          <input
            type="file"
            hidden
            accept=".zip,.json,application/zip,application/json"
            data-testid="import-run"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void importRun(f);
              e.target.value = '';
            }}
          />
        </label>
      </h2>
      {runs.length === 0 ? (
        <p className="muted small">
          {loaded ? 'No runs yet. Set one up above and start training.' : 'Loading history…'}
        </p>
      ) : (
        <div className="runs-list">
          {runs.map((r) => (
            <div
              key={r.id}
              className={`run-item ${r.id === selected ? 'active' : ''}`}
              data-testid="run-item"
              data-run-id={r.id}
              data-status={r.status}
              onClick={() => void selectRun(r.id)}
            >
              <input
                type="checkbox"
                title="Compare"
                aria-label={`Compare ${r.name}`}
                checked={compare.includes(r.id)}
                onClick={(e) => e.stopPropagation()}
                onChange={() => toggle(r.id)}
                data-testid="compare-toggle"
              />
              <span className="name" title={r.name}>
                {r.name}
              </span>
              <span className="muted small mono">
                {r.step}/{r.totalSteps}
              </span>
              <StatePill status={r.status} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
