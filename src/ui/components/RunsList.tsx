/**
 * The run history (this browser), in its own panel under the setup form (each scrolls on its own, so the
 * list is reachable without scrolling the form): select a run, tick runs to compare, search and filter by
 * method, model, dataset and tag, rename (double-click the name), delete the ticked runs, import a run.
 */
import { useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { isAnalysis } from '../analysis';
import { importRun } from '../exporting';
import { deleteRun, isActive, renameRun, selectRun } from '../runHistory';
import { useStudio } from '../store';
import type { RunRecord } from '../types';
import { PythonImportButton } from './PythonButtons';
import { StatePill } from './StatePill';

/** Whether a run matches the search words (all of them, anywhere in name, method, model, dataset, tags). */
export function runMatches(r: RunRecord, query: string): boolean {
  const hay =
    `${r.name} ${r.config.method.id} ${r.config.model.id} ${r.config.dataset.id} ${(r.tags ?? []).join(' ')}`.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

export interface RunFilter {
  query: string;
  method: string;
  model: string;
  dataset: string;
  tag: string;
}

export const NO_FILTER: RunFilter = { query: '', method: '', model: '', dataset: '', tag: '' };

/** The runs that pass every filter (an empty filter passes all). */
export function filterRuns(runs: RunRecord[], f: RunFilter): RunRecord[] {
  return runs.filter(
    (r) =>
      (!f.method || r.config.method.id === f.method) &&
      (!f.model || r.config.model.id === f.model) &&
      (!f.dataset || r.config.dataset.id === f.dataset) &&
      (!f.tag || (r.tags ?? []).includes(f.tag)) &&
      runMatches(r, f.query),
  );
}

/** The distinct values of each filterable field, sorted (the filter menus). */
export function filterOptions(runs: RunRecord[]): Record<'method' | 'model' | 'dataset' | 'tag', string[]> {
  const uniq = (xs: string[]) => [...new Set(xs)].sort();
  return {
    method: uniq(runs.map((r) => r.config.method.id)),
    model: uniq(runs.map((r) => r.config.model.id)),
    dataset: uniq(runs.map((r) => r.config.dataset.id)),
    tag: uniq(runs.flatMap((r) => r.tags ?? [])),
  };
}

export function RunsList() {
  const all = useStudio(useShallow((s) => Object.values(s.runs).sort((a, b) => b.createdAt - a.createdAt)));
  const selected = useStudio((s) => s.selectedRunId);
  const compare = useStudio((s) => s.compareIds);
  const toggle = useStudio((s) => s.toggleCompare);
  const loaded = useStudio((s) => s.historyLoaded);
  const engineRunId = useStudio((s) => s.engineRunId);
  const [filter, setFilter] = useState<RunFilter>(NO_FILTER);
  const [editing, setEditing] = useState<string | null>(null);
  const options = useMemo(() => filterOptions(all), [all]);
  const runs = filterRuns(all, filter);
  const set = (k: keyof RunFilter) => (v: string) => setFilter((f) => ({ ...f, [k]: v }));
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
    <section className="card runs-panel" data-testid="runs-list">
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
        <div className="runs-filter" data-testid="runs-filter">
          <input
            type="search"
            placeholder="Search name, method, model, data, tag"
            value={filter.query}
            onChange={(e) => set('query')(e.target.value)}
            aria-label="Search runs"
            data-testid="runs-search"
          />
          <FilterSelect label="method" values={options.method} value={filter.method} set={set('method')} always />
          <FilterSelect label="model" values={options.model} value={filter.model} set={set('model')} />
          <FilterSelect label="dataset" values={options.dataset} value={filter.dataset} set={set('dataset')} />
          <FilterSelect
            label="tag"
            values={options.tag}
            value={filter.tag}
            set={set('tag')}
            always={options.tag.length > 0}
          />
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
              {(r.tags ?? []).map((t) => (
                <span key={t} className="tag" data-testid="run-tag">
                  {t}
                </span>
              ))}
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

/** One filter menu; hidden while there is only one value to pick (unless `always`). */
function FilterSelect({
  label,
  values,
  value,
  set,
  always = false,
}: {
  label: string;
  values: string[];
  value: string;
  set: (v: string) => void;
  always?: boolean;
}) {
  if (!always && values.length < 2 && !value) return null;
  return (
    <select
      value={value}
      onChange={(e) => set(e.target.value)}
      aria-label={`Filter by ${label}`}
      data-testid={`runs-${label}-filter`}
    >
      <option value="">all {label === 'dataset' ? 'data' : `${label}s`}</option>
      {values.map((m) => (
        <option key={m} value={m}>
          {m}
        </option>
      ))}
    </select>
  );
}
