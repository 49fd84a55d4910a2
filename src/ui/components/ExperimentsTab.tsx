/**
 * The Experiments tab (issue 13): an incoming experiment link, the experiment being run or looked at
 * (queue, result, verdict), the gallery of presets, a custom sweep builder, and the experiments this
 * browser has run.
 */
import { useExperiments, dismissIncoming, runIncoming, selectExperiment } from '../experimentsQueue';
import { useStudio } from '../store';
import { ExperimentsBuilder } from './ExperimentsBuilder';
import { ExperimentsGallery } from './ExperimentsGallery';
import { ExperimentsResult } from './ExperimentsResult';
import { Claim, describe, verdictWord } from './experimentsShared';

export function ExperimentsTab() {
  const experiments = useExperiments((s) => s.experiments);
  const selectedId = useExperiments((s) => s.selectedId);
  const incoming = useExperiments((s) => s.incoming);
  const engine = useStudio((s) => s.engine);
  const list = Object.values(experiments).sort((a, b) => b.createdAt - a.createdAt);
  const selected = selectedId ? experiments[selectedId] : undefined;
  return (
    <div className="experiments" data-testid="experiments">
      {incoming && !incoming.ok && (
        <div className="banner warn" role="alert" data-testid="exp-link-error">
          This experiment link cannot be opened: {incoming.error}.{' '}
          <button type="button" className="btn small" onClick={dismissIncoming}>
            Dismiss
          </button>
        </div>
      )}
      {incoming?.ok && (
        <div className="card" data-testid="exp-incoming">
          <h3 className="card-title">Shared experiment: {incoming.experiment.title}</h3>
          <Claim exp={incoming.experiment} />
          <p className="small">
            {describe(incoming.experiment)} Running it here reproduces the same per-run losses (bit-identical on the
            same kind of GPU adapter, close on another).
          </p>
          <div className="btn-row">
            <button
              type="button"
              className="btn primary"
              data-testid="exp-incoming-run"
              disabled={engine !== 'ready'}
              onClick={() => void runIncoming()}
            >
              Run it
            </button>
            <button type="button" className="btn" onClick={dismissIncoming}>
              Dismiss
            </button>
          </div>
        </div>
      )}
      {selected && <ExperimentsResult rec={selected} />}
      <ExperimentsGallery />
      <ExperimentsBuilder />
      {list.length > 0 && (
        <div className="card" data-testid="exp-history">
          <h3 className="card-title">Experiments in this browser</h3>
          <ul className="exp-list">
            {list.map((e) => (
              <li key={e.id}>
                <button
                  type="button"
                  className="linkish"
                  aria-current={e.id === selectedId}
                  onClick={() => selectExperiment(e.id)}
                  data-testid="exp-history-item"
                >
                  {e.experiment.title}
                </button>{' '}
                <span className="small muted">
                  {e.experiment.budget} · {e.status} · {e.runIds.filter(Boolean).length}/{e.runIds.length} runs ·{' '}
                  {new Date(e.createdAt).toLocaleString()}
                  {e.verdict ? ` · ${verdictWord(e.verdict.holds)}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
