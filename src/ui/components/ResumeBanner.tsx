/**
 * Runs cut off by a reload — or by a lost device, once that device's banner is gone (after a reload):
 * offer to resume from the last checkpoint (or to start again).
 */
import { useShallow } from 'zustand/react/shallow';
import { resumeFromCheckpoint, startRun } from '../runs';
import { useStudio } from '../store';

export function ResumeBanner() {
  const interrupted = useStudio(
    useShallow((s) =>
      Object.values(s.runs).filter(
        (r) =>
          r.status === 'interrupted' ||
          // while the device-lost banner shows, its own button resumes the run
          (!s.deviceLost && r.status === 'error' && r.error?.kind === 'device-lost'),
      ),
    ),
  );
  const ready = useStudio((s) => s.engine === 'ready' && !s.deviceLost);
  if (interrupted.length === 0) return null;
  return (
    <>
      {interrupted.map((r) => (
        <div key={r.id} className="banner warn" data-testid="resume-banner" data-run-id={r.id}>
          <span>
            <strong>“{r.name}”</strong> {r.status === 'error' ? 'was stopped by a lost GPU device' : 'was interrupted'}{' '}
            at step {r.step} of {r.totalSteps}.{' '}
            {r.checkpointStep !== undefined
              ? `Its last checkpoint is at step ${r.checkpointStep}.`
              : 'It has no checkpoint yet.'}
          </span>
          {r.checkpointStep !== undefined ? (
            <button
              type="button"
              className="btn small primary"
              disabled={!ready}
              onClick={() => void resumeFromCheckpoint(r.id)}
              data-testid="resume-from-checkpoint"
            >
              Resume from step {r.checkpointStep}
            </button>
          ) : (
            <button
              type="button"
              className="btn small"
              disabled={!ready}
              onClick={() => void startRun(r.config, { name: r.name })}
              data-testid="restart-run"
            >
              Start again
            </button>
          )}
        </div>
      ))}
    </>
  );
}
