/** Start button with a summary of what blocks it, and a link for the current setup. */
import { useState } from 'react';
import { draftLink } from '../links';
import { busyRun, engineBusy, startRun } from '../runs';
import { useStudio } from '../store';

export function StartBar() {
  const validation = useStudio((s) => s.validation);
  const engine = useStudio((s) => s.engine);
  const lost = useStudio((s) => s.deviceLost);
  const loaded = useStudio((s) => s.catalog.loaded);
  const busy = useStudio(engineBusy); // a run in progress, or the worker measuring an experiment's run
  const [copied, setCopied] = useState(false);
  const errors = validation.issues.filter((i) => i.level === 'error');
  const disabled = engine !== 'ready' || !!lost || !loaded || !validation.config || !!busy;
  const why = lost
    ? 'The GPU device was lost: “Resume on a new device” in the banner above, or reload.'
    : engine !== 'ready'
      ? 'Waiting for the engine…'
      : busy
        ? busy
        : errors.length
          ? `${errors.length} problem${errors.length > 1 ? 's' : ''} to fix above.`
          : '';
  return (
    <div className="card start-bar" data-testid="start-bar">
      <div className="btn-row">
        <button
          type="button"
          className="btn primary"
          disabled={disabled}
          data-testid="start-run"
          onClick={() => {
            if (validation.config && !busyRun()) void startRun(validation.config);
          }}
        >
          Start training
        </button>
        <button
          type="button"
          className="btn small"
          disabled={!validation.config}
          data-testid="copy-setup-link"
          title="A link to this setup (no results)"
          onClick={async () => {
            const l = draftLink();
            if (!l) return;
            await navigator.clipboard?.writeText(l).catch(() => undefined);
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          }}
        >
          {copied ? 'Copied' : 'Copy setup link'}
        </button>
      </div>
      {why && (
        <p className={`small ${errors.length ? 'bad' : 'muted'}`} data-testid="start-blocked">
          {why}
        </p>
      )}
    </div>
  );
}
