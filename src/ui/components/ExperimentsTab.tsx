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
import { expandForPage, type Experiment } from '../experiments';

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

export function verdictWord(holds: boolean | null): string {
  return holds === true ? 'holds' : holds === false ? 'does not hold' : 'inconclusive';
}

/** The claim quoted, with its paper and the design notes. */
export function Claim({ exp }: { exp: Experiment }) {
  return (
    <blockquote className="exp-claim" data-testid="exp-claim">
      {exp.claim}
      <footer>
        — {exp.paper.title} (
        <a href={`https://arxiv.org/abs/${exp.paper.arxiv}`} target="_blank" rel="noreferrer">
          arXiv:{exp.paper.arxiv}
        </a>
        ){exp.notes && <span className="exp-notes"> · {exp.notes}</span>}
      </footer>
    </blockquote>
  );
}

/** "4 runs (2 seeds) on micro / brown-news, 3 steps each." */
export function describe(exp: Experiment): string {
  try {
    const { configs } = expandForPage(exp);
    const c = configs.find((x) => x !== null);
    if (!c) return `${configs.length} matrix fits (no model), ${exp.budget} budget.`;
    return `${configs.length} runs (${exp.seeds} seed${exp.seeds > 1 ? 's' : ''}) on ${c.model.id} / ${c.dataset.id}, ${c.train.steps} steps each, ${exp.budget} budget.`;
  } catch (e) {
    return (e as Error).message;
  }
}
