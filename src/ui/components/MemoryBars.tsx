/** GPU memory by category (from the engine's buffer pool: every live byte is accounted). */
import { C } from '../charts/palette';
import { formatBytes } from '../format';
import type { MemoryReport } from '../../worker/protocol';

const CATS: { key: Exclude<keyof MemoryReport, 'optimizerState'>; label: string; color: string }[] = [
  { key: 'weights', label: 'weights', color: C.blue },
  { key: 'gradients', label: 'gradients', color: C.orange },
  { key: 'optimizer', label: 'optimizer', color: C.teal },
  { key: 'activations', label: 'activations', color: C.purple },
  { key: 'adapter', label: 'adapter', color: C.red },
  { key: 'analysis', label: 'analysis', color: '#8d99ae' },
  { key: 'scratch', label: 'scratch', color: '#b9c2d0' },
];

export function MemoryBars({ memory }: { memory?: MemoryReport }) {
  return (
    <div className="chart-card" data-testid="memory-bars" data-total={memory?.total ?? ''}>
      <h3>
        GPU memory by category <span className="spacer" />
        <span className="mono small">{memory ? formatBytes(memory.total) : ''}</span>
      </h3>
      {!memory ? (
        <p className="muted small">Reported once the run is prepared.</p>
      ) : (
        CATS.map((c) => {
          const v = memory[c.key];
          const pct = memory.total > 0 ? (v / memory.total) * 100 : 0;
          return (
            <div className="mem-row" key={c.key}>
              <span className="small">{c.label}</span>
              <div>
                <div className="mem-bar" style={{ width: `${pct}%`, background: c.color }} />
              </div>
              <span className="mono small" style={{ textAlign: 'right' }}>
                {formatBytes(v)}
              </span>
            </div>
          );
        })
      )}
      {memory?.optimizerState && (
        <p className="muted small mono" data-testid="optimizer-state">
          optimizer state (exact): Adam moments {formatBytes(memory.optimizerState.moments)} · projection{' '}
          {formatBytes(memory.optimizerState.projection)}
        </p>
      )}
    </div>
  );
}
