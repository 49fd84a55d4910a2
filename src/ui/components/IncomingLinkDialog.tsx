/**
 * A run link that was opened: what it contains, what it needs (model and data by hash), and the
 * offer to restore the setup or reproduce the run. A rejected link only shows why.
 */
import { restoreIncoming, reproduceIncoming } from '../links';
import { runName } from '../draft';
import { useStudio } from '../store';

export function IncomingLinkDialog() {
  const inc = useStudio((s) => s.incoming);
  const close = () => useStudio.getState().setIncoming(null);
  const ready = useStudio((s) => s.engine === 'ready' && !s.deviceLost && s.catalog.loaded);
  if (!inc) return null;
  if (inc.status === 'error') {
    return (
      <div className="dialog-backdrop" role="dialog" aria-modal="true" aria-labelledby="link-title">
        <div className="dialog" data-testid="link-error">
          <h2 id="link-title">This run link cannot be opened</h2>
          <p className="bad" data-testid="link-error-message" style={{ whiteSpace: 'pre-wrap' }}>
            {inc.error}
          </p>
          <p className="small muted">
            Nothing was changed: your setup and your runs are as they were. Ask for the link again, or copy it whole.
          </p>
          <div className="btn-row">
            <button type="button" className="btn" onClick={close} data-testid="link-dismiss">
              Close
            </button>
          </div>
        </div>
      </div>
    );
  }
  const c = inc.config;
  const blocked = inc.checks.some((k) => k.ok === false);
  const pending = inc.checks.length === 0;
  const p = c.method.params as Record<string, unknown>;
  return (
    <div className="dialog-backdrop" role="dialog" aria-modal="true" aria-labelledby="link-title">
      <div className="dialog" data-testid="link-dialog">
        <h2 id="link-title">Shared run: {c.name ?? runName(c)}</h2>
        <table className="data" style={{ marginBottom: 8 }}>
          <tbody>
            <tr>
              <td>Model</td>
              <td className="mono">
                {c.model.source} “{c.model.id}”
                {'hash' in c.model && c.model.hash ? ` · ${c.model.hash.slice(0, 12)}…` : ''}
              </td>
            </tr>
            <tr>
              <td>Dataset</td>
              <td className="mono">
                {c.dataset.source} “{c.dataset.id}”{c.dataset.hash ? ` · ${c.dataset.hash.slice(0, 12)}…` : ''}
              </td>
            </tr>
            <tr>
              <td>Method</td>
              <td className="mono">
                {c.method.id}{' '}
                {Object.entries(p)
                  .map(([k, v]) => `${k}=${String(v)}`)
                  .join(' ')}
              </td>
            </tr>
            <tr>
              <td>Training</td>
              <td className="mono">
                {c.train.steps} steps · batch {c.train.batchSize} · ctx {c.train.contextLength} · lr {c.train.lr}{' '}
                {c.train.schedule} · seed {c.seed}
              </td>
            </tr>
          </tbody>
        </table>
        <ul data-testid="link-checks">
          {pending && <li className="muted">Checking what the run needs…</li>}
          {inc.checks.map((k) => (
            <li
              key={k.what + k.message}
              className={k.ok === false ? 'bad' : k.ok ? '' : 'muted'}
              data-testid={`link-check-${k.what}`}
              data-ok={String(k.ok)}
            >
              {k.ok === false ? '✗ ' : k.ok ? '✓ ' : '• '}
              {k.message}
            </li>
          ))}
        </ul>
        <div className="btn-row">
          <button
            type="button"
            className="btn primary"
            disabled={!ready || blocked || pending}
            onClick={() => void reproduceIncoming()}
            data-testid="link-reproduce"
          >
            Reproduce this run
          </button>
          <button
            type="button"
            className="btn"
            disabled={!ready}
            onClick={() => void restoreIncoming().then(close)}
            data-testid="link-restore"
          >
            Restore setup only
          </button>
          <button type="button" className="btn" onClick={close} data-testid="link-dismiss">
            Close
          </button>
        </div>
        {blocked && (
          <p className="small bad" data-testid="link-blocked">
            The ✗ items block an exact reproduction.
            {c.model.source === 'local' || c.dataset.source === 'upload'
              ? ' For your own files: Restore setup, choose the files named above under Model / Dataset, then open the link again.'
              : ''}
          </p>
        )}
      </div>
    </div>
  );
}
