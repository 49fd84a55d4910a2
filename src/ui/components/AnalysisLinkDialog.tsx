/**
 * An analysis link opened (issue 11 item 6: `#analysis=…`): says which adapter and base at which commits
 * (and how many files, by content hash) the analysis needs, offers to download them from the hub endpoint
 * (editable: the link does not carry it) and opens the same analysis; the files' hashes are then checked
 * against the link's.
 */
import { useEffect } from 'react';
import { openIncomingAnalysis, readAnalysisLinkFromLocation, useAnalysisUi, useIncomingAnalysis } from '../analysis';
import { setEndpoint, useHub } from '../hub';
import { useStudio } from '../store';

export function AnalysisLinkDialog() {
  const ready = useStudio((s) => s.engine === 'ready' && s.historyLoaded);
  const { link, error } = useIncomingAnalysis();
  const ui = useAnalysisUi();
  const endpoint = useHub((s) => s.endpoint);
  useEffect(() => {
    if (!ready) return;
    readAnalysisLinkFromLocation();
    const on = () => readAnalysisLinkFromLocation();
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, [ready]);
  if (!link && !error) return null;
  const close = () => useIncomingAnalysis.setState({ link: null, error: null });
  return (
    <section className="card" role="dialog" aria-label="Analysis link" data-testid="analysis-link-dialog">
      <h2 className="card-title">Open an adapter analysis</h2>
      {error ? (
        <div className="field-msg" role="alert" data-testid="analysis-link-error">
          {error}
        </div>
      ) : (
        link && (
          <>
            <p className="small">
              Adapter <b className="mono">{link.adapter.repo}</b> at commit{' '}
              <span className="mono">{link.adapter.commit.slice(0, 12)}</span> ({link.adapter.files.length} files) on
              base{' '}
              {link.base.source === 'hub' ? (
                <>
                  <b className="mono">{link.base.repo}</b> at commit{' '}
                  <span className="mono">{link.base.commit.slice(0, 12)}</span> ({link.base.files.length} files)
                </>
              ) : (
                <b>built-in {link.base.id}</b>
              )}
              , intruders at k = {link.k}, ε = {link.eps}. What this browser lacks is downloaded into the model library
              and every file is checked against the link&apos;s sha256.
            </p>
            <div className="field">
              <label htmlFor="analysis-endpoint">Hub endpoint</label>
              <input
                id="analysis-endpoint"
                data-testid="input-analysis-endpoint"
                value={endpoint}
                spellCheck={false}
                onChange={(e) => setEndpoint(e.target.value)}
              />
            </div>
            {ui.error && (
              <div className="field-msg" role="alert" data-testid="analysis-link-failed">
                {ui.error}
              </div>
            )}
            <button
              className="btn primary"
              data-testid="btn-analysis-open"
              disabled={!ready || ui.busy}
              onClick={() => void openIncomingAnalysis()}
            >
              {ui.busy ? 'Downloading and analysing…' : 'Download and analyse'}
            </button>{' '}
          </>
        )
      )}
      <button className="btn small" data-testid="btn-analysis-dismiss" onClick={close}>
        Dismiss
      </button>
    </section>
  );
}
