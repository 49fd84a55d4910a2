/**
 * The run history (this browser): select a run, tick runs to compare, search and filter by method,
 * model and dataset, rename (double-click the name), delete the ticked runs, import an exported run.
 */
import { useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { isAnalysis } from '../analysis';
import { importRun } from '../exporting';
import { deleteRun, isActive, renameRun, selectRun } from '../runs';
import { useStudio } from '../store';
import type { RunRecord } from '../types';
import { PythonImportButton } from './PythonButtons';
import { StatePill } from './StatePill';

/** Whether a run matches the search words (all of them, anywhere in name, method, model, dataset). */
export function runMatches(r: RunRecord, query: string): boolean {
  const hay = `${r.name} ${r.config.method.id} ${r.config.model.id} ${r.config.dataset.id}`.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

export function RunsList() {
  const all = useStudio(useShallow((s) => Object.values(s.runs).sort((a, b) => b.createdAt - a.createdAt)));
  const selected = useStudio((s) => s.selectedRunId);
  const compare = useStudio((s) => s.compareIds);
  const toggle = useStudio((s) => s.toggleCompare);
  const loaded = useStudio((s) => s.historyLoaded);
  const engineRunId = useStudio((s) => s.engineRunId);
  const [query, setQuery] = useState('');
  const [method, setMethod] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const methods = useMemo(() => [...new Set(all.map((r) => r.config.method.id))].sort(), [all]);
  const runs = all.filter((r) => (!method || r.config.method.id === method) && runMatches(r, query));
  const ticked = all.filter((r) => compare.includes(r.id));
  const deletable = ticked.filter((r) => !(isActive(r) && r.id === engineRunId));
  const removeTicked = () => {
    if (!deletable.length) return;
    const names = deletable.map((r) => `• ${r.name}`).join('\n');
    if (!window.confirm(`Delete ${deletable.length} run(s) and their history from this browser?\n${names}`)) return;
    for (const r of deletable) {
      if (compare.includes(r.id)) toggle(r.id);
      void deleteRun(r.id);
    }
  };
  return (
    <section className="card" data-testid="runs-list">
      <h2 className="card-title">
        Runs <span className="muted">({all.length})</span>
        <span className="spacer" />
        {ticked.length > 0 && (
          <button
            type="button"
            className="btn small danger"
            onClick={removeTicked}
            disabled={!deletable.length}
            title="Delete the ticked runs (a running run must be stopped first)"
            data-testid="delete-runs"
          >
            Delete {deletable.length}
          </button>
        )}
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
        <PythonImportButton />
      </h2>
      {all.length > 1 && (
        <div className="runs-filter">
          <input
            type="search"
            placeholder="Search name, method, model, data"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            aria-label="Search runs"
            data-testid="runs-search"
          />
          <select
            value={method}
            onChange={(e) => setMethod(e.target.value)}
            aria-label="Filter by method"
            data-testid="runs-method-filter"
          >
            <option value="">all methods</option>
            {methods.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
      )}
      {all.length === 0 ? (
        <p className="muted small">
          {loaded ? 'No runs yet. Set one up above and start training.' : 'Loading history…'}
        </p>
      ) : runs.length === 0 ? (
        <p className="muted small" data-testid="runs-none-match">
          No run matches.
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
                title="Compare (and select for deletion)"
                aria-label={`Compare ${r.name}`}
                checked={compare.includes(r.id)}
                onClick={(e) => e.stopPropagation()}
                onChange={() => toggle(r.id)}
                data-testid="compare-toggle"
              />
              {editing === r.id ? (
                <input
                  className="name"
                  defaultValue={r.name}
                  autoFocus
                  aria-label="Run name"
                  data-testid="run-rename-input"
                  onClick={(e) => e.stopPropagation()}
                  onBlur={(e) => {
                    renameRun(r.id, e.currentTarget.value);
                    setEditing(null);
                  }}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') e.currentTarget.blur();
                    if (e.key === 'Escape') setEditing(null);
                  }}
                />
              ) : (
                <span
                  className="name"
                  title={`${r.name} — double-click to rename`}
                  onDoubleClick={(e) => {
                    e.stopPropagation();
                    setEditing(r.id);
                  }}
                  data-testid="run-name"
                >
                  {r.name}
                </span>
              )}
              {isAnalysis(r) ? (
                <span
                  className="muted small"
                  data-testid="analysis-badge"
                  title="An adapter opened for analysis (no training)"
                >
                  analysis
                </span>
              ) : (
                <span className="muted small mono">
                  {r.step}/{r.totalSteps}
                </span>
              )}
              <StatePill status={r.status} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
