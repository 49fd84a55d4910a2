/**
 * Small pieces the Experiments tab's components share (verdict word, quoted claim, one-line summary of an
 * experiment). A leaf module: it imports none of the Experiments*.tsx components, so they import it
 * without forming an import cycle (tests/lint/layers.test.ts fails if one returns).
 */
import { expandForPage, type Experiment } from '../experiments';

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
