/**
 * The selected run: name, status, progress with time remaining, and its actions (pause / resume /
 * stop while it trains; reproduce (after asking), share, export, delete afterwards), its tags, and its
 * setup read-only with "Edit as new run" (the form then holds a copy; the run itself never changes).
 */
import { useState } from 'react';
import { isAnalysis } from '../analysis';
import { exportRun } from '../exporting';
import { PythonExportButton } from './PythonButtons';
import { formatDuration } from '../format';
import { shareLinkFor } from '../links';
import { pauseRun, reproduceRun, resumeRun, stopRun } from '../runs';
import { deleteRun, isActive } from '../runHistory';
import { etaMs } from '../store/runData';
import { useStudio } from '../store';
import { StatePill } from './StatePill';
import { flattenConfig } from '../compare';
import { addTag, removeTag } from '../runTags';
import { restoreConfig } from '../setupActions';
import type { RunRecord } from '../types';

export function RunBar() {
  const run = useStudio((s) => (s.selectedRunId ? s.runs[s.selectedRunId] : null));
  const metrics = useStudio((s) => (s.selectedRunId ? s.metrics[s.selectedRunId] : null));
  const engineRunId = useStudio((s) => s.engineRunId);
  const engineReady = useStudio((s) => s.engine === 'ready' && !s.deviceLost);
  const [link, setLink] = useState<{ runId: string; url: string } | null>(null);
  const [copied, setCopied] = useState(false);
  if (!run) return null;
  const live = run.id === engineRunId && isActive(run);
  const total = Math.max(run.totalSteps, 1);
  const pct = Math.min(100, (run.step / total) * 100);
  const eta = metrics && live ? etaMs(metrics, run.totalSteps) : null;
  const makeLink = async () => {
    const url = await shareLinkFor(run.id);
    if (!url) return;
    setLink({ runId: run.id, url });
    await navigator.clipboard?.writeText(url).catch(() => undefined);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <section className="card" data-testid="run-bar" data-run-id={run.id} data-status={run.status} data-step={run.step}>
      <div className="runbar">
        <span className="run-title" data-testid="run-title">
          {run.name}
        </span>
        <StatePill status={run.status} />
        <div
          className="progress"
          title={`${run.step} of ${run.totalSteps} steps`}
          data-testid="run-progress"
          data-pct={pct.toFixed(1)}
        >
          <div style={{ width: `${pct}%` }} />
        </div>
        <span className="mono small" data-testid="run-steps">
          {run.step}/{run.totalSteps}
        </span>
        <span className="mono small muted" data-testid="run-eta" title="time remaining">
          {live
            ? eta === null
              ? 'estimating…'
              : `${formatDuration(eta)} left`
            : metrics?.elapsedMs
              ? formatDuration(metrics.elapsedMs)
              : ''}
        </span>
      </div>
      <div className="btn-row" style={{ marginTop: 8 }}>
        {live && run.status !== 'paused' && (
          <button
            type="button"
            className="btn small"
            onClick={() => void pauseRun()}
            data-testid="pause-run"
            disabled={!engineReady}
          >
            Pause
          </button>
        )}
        {live && run.status === 'paused' && (
          <button
            type="button"
            className="btn small"
            onClick={() => void resumeRun()}
            data-testid="resume-run"
            disabled={!engineReady}
          >
            Resume
          </button>
        )}
        {live && (
          <button
            type="button"
            className="btn small danger"
            onClick={() => void stopRun()}
            data-testid="stop-run"
            disabled={!engineReady}
          >
            Stop
          </button>
        )}
        {!live && !isAnalysis(run) && (
          <button
            type="button"
            className="btn small"
            onClick={() => {
              // a reproduction trains the whole run again: ask first (issue 16)
              const ok = window.confirm(
                `Train "${run.name}" again (${run.totalSteps} steps, same config and seed) and compare the losses?`,
              );
              if (ok) void reproduceRun(run.id);
            }}
            data-testid="reproduce-run"
            disabled={!engineReady}
            title="Train the same configuration again and compare the losses"
          >
            Reproduce
          </button>
        )}
        {/* an analysis entry (an adapter opened without training) has its own link: Adapter analysis below */}
        {!isAnalysis(run) && (
          <button
            type="button"
            className="btn small"
            onClick={() => void makeLink()}
            data-testid="share-run"
            title="Copy a link that encodes this whole run"
          >
            {copied ? 'Link copied' : 'Copy run link'}
          </button>
        )}
        <button
          type="button"
          className="btn small"
          onClick={() => void exportRun(run.id)}
          data-testid="export-run"
          title="run.json + adapter weights + charts (.zip)"
        >
          Export
        </button>
        {!isAnalysis(run) && <PythonExportButton runId={run.id} />}
        {!live && (
          <button
            type="button"
            className="btn small danger"
            data-testid="delete-run"
            onClick={() => {
              if (window.confirm(`Delete “${run.name}” and its history from this browser?`)) void deleteRun(run.id);
            }}
          >
            Delete
          </button>
        )}
        {run.message && <span className="small muted">{run.message}</span>}
      </div>
      {link && link.runId === run.id && (
        <div className="share-box" style={{ marginTop: 8 }}>
          <input
            readOnly
            value={link.url}
            data-testid="share-link"
            onFocus={(e) => e.target.select()}
            aria-label="Run link"
          />
          <span className="small muted">{link.url.length} chars</span>
        </div>
      )}
      <RunTags run={run} />
      <RunSetup run={run} />
      {run.error && (
        <p className="bad small" data-testid="run-error">
          {run.error.message}
        </p>
      )}
      {run.reproduction && (
        <p
          className={`small ${run.reproduction.match ? 'ok' : run.reproduction.match === false ? 'bad' : 'muted'}`}
          data-testid="reproduction-result"
          data-match={String(run.reproduction.match)}
        >
          {run.reproduction.match ? '✓ Reproduced: ' : run.reproduction.match === false ? '✗ Not identical: ' : ''}
          {run.reproduction.detail}
        </p>
      )}
    </section>
  );
}

function RunTags({ run }: { run: RunRecord }) {
  const [text, setText] = useState('');
  return (
    <div className="btn-row small" style={{ marginTop: 6 }} data-testid="run-tags">
      <span className="muted">Tags</span>
      {(run.tags ?? []).map((t) => (
        <span key={t} className="tag">
          {t}
          <button
            type="button"
            className="tag-x"
            aria-label={`Remove tag ${t}`}
            title="Remove tag"
            data-testid="run-tag-remove"
            onClick={() => removeTag(run.id, t)}
          >
            ×
          </button>
        </span>
      ))}
      <input
        value={text}
        placeholder="add tag"
        aria-label="Add a tag"
        data-testid="run-tag-input"
        style={{ width: 110 }}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key !== 'Enter' || !text.trim()) return;
          addTag(run.id, text);
          setText('');
        }}
      />
    </div>
  );
}

/** The run's setup, read-only: the main figures in one line, every setting on request, and "Edit as new run". */
function RunSetup({ run }: { run: RunRecord }) {
  const c = run.config;
  const p = c.method.params as Record<string, unknown>;
  const all = Object.entries(flattenConfig(c));
  const main = [
    ['model', c.model.id],
    ['data', c.dataset.id],
    ['method', c.method.id],
    ...(p.rank !== undefined ? [['rank', String(p.rank)]] : []),
    ['lr', String(c.train.lr)],
    ['steps', String(c.train.steps)],
    ['batch', String(c.train.batchSize)],
    ['context', String(c.train.contextLength)],
    ['seed', String(c.seed)],
  ];
  return (
    <details className="run-setup" data-testid="run-setup">
      <summary className="small">
        <span className="muted">Setup (read-only): </span>
        <span className="mono">{main.map(([k, v]) => `${k} ${v}`).join(' · ')}</span>{' '}
        <button
          type="button"
          className="btn small"
          data-testid="edit-as-new"
          title="Copy this setup into the form to change it and start a new run (this run stays as it is)"
          onClick={(e) => {
            e.preventDefault();
            void restoreConfig({ ...c, name: undefined }).then(() =>
              useStudio
                .getState()
                .notify(
                  `The setup of “${run.name}” is in the form: change what you want and start it as a new run.`,
                  'info',
                ),
            );
          }}
        >
          Edit as new run
        </button>
      </summary>
      <table className="data compact" data-testid="run-setup-table">
        <tbody>
          {all.map(([k, v]) => (
            <tr key={k}>
              <td className="mono muted">{k}</td>
              <td className="mono">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
