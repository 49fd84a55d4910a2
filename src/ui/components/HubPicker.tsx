/**
 * A Hugging Face model for the run: pick from the curated list or type any `owner/name[@revision]`,
 * download it once into the browser's model library (progress per file, speed, time left, pause,
 * resume after a reload, cancel), then use it. The library lists what is stored, the storage used
 * against the browser's quota, and deletes models.
 */
import { useEffect, useState } from 'react';
import { formatBytes } from '../format';
import {
  cancelDownload,
  chooseHubModel,
  CURATED,
  DEFAULT_ENDPOINT,
  deleteModel,
  pauseDownload,
  refreshLibrary,
  requestPersist,
  setEndpoint,
  startDownload,
  useHub,
  type DownloadState,
} from '../hub';
import type { LibraryModel } from '../../worker/protocol';
import { useStudio } from '../store';
import { Field } from './Field';
import { HubFit } from './HubFit';

function fmtRate(bps: number | null): string {
  return bps === null ? '…' : `${formatBytes(bps)}/s`;
}
function fmtEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '…';
  if (s < 60) return `${Math.ceil(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function HubPicker() {
  const [spec, setSpec] = useState('');
  const hub = useHub();
  const ready = useStudio((s) => s.engine === 'ready');
  const model = useStudio((s) => s.draft.model);
  useEffect(() => {
    if (ready) void refreshLibrary();
  }, [ready]);
  const curated = CURATED.find((c) => spec.split('@')[0] === c.id);
  const d = hub.download;
  const busy = d?.status === 'downloading';
  const current = model.source === 'local' && /^hf:[^@]+@[0-9a-f]{40}$/.test(model.id) ? model.id.slice(3) : null;
  return (
    <div data-testid="hub-picker">
      <Field
        label="Hub model"
        htmlFor="hub-curated"
        help={
          curated
            ? `${curated.family} · ≈${(curated.params / 1e6).toFixed(0)}M params · ${formatBytes(curated.bytes)} ${curated.dtype} · ${curated.license}${curated.note ? ` · ${curated.note}` : ''}`
            : 'A short list of small models, or type any id below ("owner/name", "@revision" optional).'
        }
      >
        <select
          id="hub-curated"
          data-testid="input-hub-curated"
          value={curated ? curated.id : ''}
          onChange={(e) => setSpec(e.target.value)}
        >
          <option value="">— pick a small model —</option>
          {CURATED.map((c) => (
            <option key={c.id} value={c.id}>
              {c.id.split('/')[1]} · {c.family} · {formatBytes(c.bytes)}
            </option>
          ))}
        </select>
      </Field>
      <div className="field">
        <label htmlFor="hub-spec">Id</label>
        <div className="hub-row">
          <input
            id="hub-spec"
            data-testid="input-hub-spec"
            placeholder="HuggingFaceTB/SmolLM2-135M@main"
            value={spec}
            spellCheck={false}
            onChange={(e) => setSpec(e.target.value)}
          />
          <button
            className="btn small"
            data-testid="btn-hub-download"
            disabled={!ready || busy || spec.trim() === ''}
            onClick={() => void startDownload(spec)}
          >
            Download
          </button>
        </div>
      </div>
      <HubFit spec={spec} />
      {hub.interrupted && !d && (
        <div className="field-msg warn" data-testid="hub-interrupted">
          The download of {hub.interrupted} was interrupted; what arrived is kept.{' '}
          <button
            className="btn small"
            data-testid="btn-hub-resume"
            onClick={() => void startDownload(hub.interrupted!)}
          >
            Resume
          </button>
        </div>
      )}
      {d && <DownloadView d={d} />}
      {current && (
        <div className="field-help" data-testid="hub-current">
          Using {current.split('@')[0]} at commit {current.split('@')[1].slice(0, 12)}.
        </div>
      )}
      {current && hub.library && !stored(hub.library, current) && d?.status !== 'downloading' && (
        // a run link from another machine: the model is named by hub id and commit, the files by sha256
        <div className="field-msg warn" data-testid="hub-missing">
          This run's model is not in this browser's library.{' '}
          <button className="btn small" data-testid="btn-hub-fetch-current" onClick={() => void startDownload(current)}>
            Download {current.split('@')[0]} at {current.split('@')[1].slice(0, 8)}
          </button>
        </div>
      )}
      <details className="hub-settings">
        <summary>Hub settings</summary>
        <Field
          label="Endpoint"
          htmlFor="hub-endpoint"
          help={`Default ${DEFAULT_ENDPOINT}; a mirror works the same way.`}
        >
          <input
            id="hub-endpoint"
            data-testid="input-hub-endpoint"
            value={hub.endpoint}
            spellCheck={false}
            onChange={(e) => setEndpoint(e.target.value)}
          />
        </Field>
        <Field
          label="Access token"
          htmlFor="hub-token"
          help="Only for gated or private repositories. Kept in this page's memory, never stored or put in a link."
        >
          <input
            id="hub-token"
            type="password"
            data-testid="input-hub-token"
            value={hub.token}
            autoComplete="off"
            onChange={(e) => useHub.setState({ token: e.target.value })}
          />
        </Field>
      </details>
      <ModelLibrary />
    </div>
  );
}

/** The library holds this repo@commit with its weights. */
function stored(library: LibraryModel[], repoAtCommit: string): boolean {
  const [repo, commit] = repoAtCommit.split('@');
  return library.some(
    (m) =>
      m.repo === repo &&
      m.snapshots.some((s) => s.commit === commit && s.files.some((f) => f.name.endsWith('.safetensors'))),
  );
}

function DownloadView({ d }: { d: DownloadState }) {
  const received = d.files.reduce((a, f) => a + f.received, 0);
  const total = d.files.reduce((a, f) => a + f.total, 0);
  const active = d.files.find((f) => !f.done);
  return (
    <div className="hub-download" data-testid="hub-download" data-status={d.status}>
      <div className="small">
        {d.status === 'downloading' && 'Downloading '}
        {d.status === 'paused' && 'Paused: '}
        {d.status === 'done' && 'Stored: '}
        {d.status === 'error' && 'Failed: '}
        {d.status === 'cancelled' && 'Cancelled: '}
        <span className="mono">{d.spec}</span>
        {total > 0 && (
          <span data-testid="hub-total">
            {' '}
            · {formatBytes(received)} of {formatBytes(total)} ({((100 * received) / total).toFixed(0)}%)
            {d.status === 'downloading' &&
              active &&
              ` · ${fmtRate(active.bytesPerSec)} · ${fmtEta(active.etaSec)} left`}
          </span>
        )}
      </div>
      <ul className="hub-files">
        {d.files.map((f) => (
          <li key={f.file} data-testid="hub-file" data-file={f.file} data-done={f.done}>
            <span className="mono">{f.file}</span>
            <progress max={f.total || 1} value={f.received} />
            <span className="small">
              {formatBytes(f.received)}/{formatBytes(f.total)}
              {!f.done && d.status === 'downloading' ? ` · ${fmtRate(f.bytesPerSec)} · ${fmtEta(f.etaSec)}` : ''}
            </span>
          </li>
        ))}
      </ul>
      {d.error && (
        <div className="field-msg" role="alert" data-testid="hub-error">
          {d.error}
        </div>
      )}
      <div className="hub-row">
        {d.status === 'downloading' && (
          <button className="btn small" data-testid="btn-hub-pause" onClick={() => void pauseDownload()}>
            Pause
          </button>
        )}
        {(d.status === 'paused' || d.status === 'error') && (
          <button className="btn small" data-testid="btn-hub-resume" onClick={() => void startDownload(d.spec)}>
            {d.status === 'error' ? 'Try again' : 'Resume'}
          </button>
        )}
        {(d.status === 'downloading' || d.status === 'paused') && (
          <button className="btn small" data-testid="btn-hub-cancel" onClick={() => void cancelDownload()}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}

function ModelLibrary() {
  const { library, estimate, persisted, libraryError } = useHub();
  return (
    <div className="hub-library" data-testid="model-library">
      <div className="group-title small">Model library (this browser)</div>
      {libraryError && <div className="field-msg">{libraryError}</div>}
      {estimate && (
        <div className="field-help" data-testid="storage-estimate">
          Storage used {formatBytes(estimate.usage)} of {formatBytes(estimate.quota)} this browser allows.{' '}
          {persisted ? (
            'Persistent: the browser will not evict it under storage pressure.'
          ) : (
            <button className="btn small" data-testid="btn-persist" onClick={() => void requestPersist()}>
              Keep it persistent
            </button>
          )}
        </div>
      )}
      {library && library.length === 0 && <div className="field-help">Nothing stored yet.</div>}
      <ul className="file-list" data-testid="library-list">
        {library?.map((m) => (
          <li key={m.repo} data-testid="library-item" data-repo={m.repo}>
            <span className="mono">{m.repo}</span> · {formatBytes(m.bytes)}
            {m.partialBytes > 0 && ` (${formatBytes(m.partialBytes)} partial)`}
            {m.snapshots
              .filter(
                (s) =>
                  s.files.some((f) => f.name === 'config.json') &&
                  s.files.some((f) => f.name === 'model.safetensors' || f.name === 'model.safetensors.index.json'),
              )
              .map((s) => (
                <button
                  key={s.commit}
                  className="btn small"
                  data-testid="btn-library-use"
                  title={`${s.files.map((f) => f.name).join(', ')}${s.revisions.length ? ` (${s.revisions.join(', ')})` : ''}`}
                  onClick={() => void chooseHubModel(m.repo, s.commit)}
                >
                  Use @{s.commit.slice(0, 8)}
                </button>
              ))}
            <button className="btn small" data-testid="btn-library-delete" onClick={() => void deleteModel(m.repo)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
