/** A run's status as a small coloured label. */
import type { RunStatus } from '../types';

export function StatePill({ status }: { status: RunStatus }) {
  return (
    <span className={`state-pill ${status}`} data-testid="state-pill">
      {status}
    </span>
  );
}
