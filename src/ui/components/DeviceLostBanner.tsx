/** A lost GPU device: a banner with a reload action; everything below stays visible. */
import { useStudio } from '../store';

export function DeviceLostBanner() {
  const lost = useStudio((s) => s.deviceLost);
  if (!lost) return null;
  return (
    <div className="banner bad" role="alert" data-testid="device-lost-banner">
      <strong>The GPU device was lost.</strong> Training stopped; your runs and their history are kept (and saved).
      Reload the page to get a new device and resume from the last checkpoint.
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
