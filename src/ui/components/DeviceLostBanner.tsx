/**
 * A lost GPU device: a banner with the reason and one action, "Resume on a new device" (a new device
 * in the same worker, then the cut-off run continues from its last checkpoint, no reload); a reload
 * stays offered as the fallback. Everything below stays visible.
 */
import { useState } from 'react';
import { resumeOnNewDevice } from '../runs';
import { useStudio } from '../store';

export function DeviceLostBanner() {
  const lost = useStudio((s) => s.deviceLost);
  const run = useStudio((s) => (s.engineRunId ? s.runs[s.engineRunId] : undefined));
  const [busy, setBusy] = useState(false);
  if (!lost) return null;
  const resumable = run && run.status !== 'done' && run.status !== 'stopped';
  const from =
    resumable && run.checkpointStep !== undefined
      ? ` “${run.name}” resumes from its last checkpoint (step ${run.checkpointStep}).`
      : resumable
        ? ` “${run.name}” had no checkpoint yet and will have to start again.`
        : '';
  return (
    <div className="banner bad" role="alert" data-testid="device-lost-banner">
      <strong>The GPU device was lost.</strong> Training stopped; your runs and their history are kept (and saved).
      {from}
      <button
        type="button"
        className="btn small primary"
        data-testid="device-lost-resume"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void resumeOnNewDevice().finally(() => setBusy(false));
        }}
      >
        {busy ? 'Getting a new device…' : 'Resume on a new device'}
      </button>
      <button
        type="button"
        className="btn small"
        data-testid="device-lost-reload"
        onClick={() => window.location.reload()}
      >
        Reload
      </button>
      <span className="banner-detail" data-testid="device-lost-reason">
        {lost.message}
      </span>
    </div>
  );
}
