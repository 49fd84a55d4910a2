/**
 * One-line definitions of the terms the studio shows, each with the paper it comes from; `Term`
 * (components/Term.tsx) shows them on hover and focus.
 */
export interface GlossaryEntry {
  term: string;
  definition: string;
  paper: string;
  url: string;
}

export const GLOSSARY = {
  erank: {
    term: 'effective rank',
    definition: 'exp of the entropy of the normalised singular values: how many directions carry the matrix',
    paper: 'Roy & Vetterli 2007, "The effective rank: a measure of effective dimensionality"',
    url: 'https://ieeexplore.ieee.org/document/7098875',
  },
  stableRank: {
    term: 'stable rank',
    definition: '‖W‖F² / ‖W‖₂² (Σσᵢ² / σ₁²): a rank that small singular values cannot inflate',
    paper: 'Rudelson & Vershynin 2007, "Sampling from large matrices"',
    url: 'https://arxiv.org/abs/math/0503442',
  },
  alpha: {
    term: 'power-law α',
    definition: 'exponent of the power law fitted to the tail of the eigenvalue (σ²) density; smaller = heavier tail',
    paper: 'Martin & Mahoney 2021, "Implicit self-regularization in deep neural networks"',
    url: 'https://arxiv.org/abs/1810.01075',
  },
  intruder: {
    term: 'intruder dimension',
    definition: 'a top singular vector of the tuned W whose cosine with every singular vector of W₀ stays below ε',
    paper: 'Shuttleworth et al. 2024, "LoRA vs Full Fine-tuning: An Illusion of Equivalence"',
    url: 'https://arxiv.org/abs/2410.21228',
  },
  eps: {
    term: 'ε',
    definition: 'the cosine threshold: a tuned singular vector with max |cos| to W₀’s vectors below ε is an intruder',
    paper: 'Shuttleworth et al. 2024, "LoRA vs Full Fine-tuning: An Illusion of Equivalence"',
    url: 'https://arxiv.org/abs/2410.21228',
  },
  probe: {
    term: 'forgetting probe',
    definition: 'loss on held-out general English the run never trains on; a rise means the model forgot',
    paper: 'Biderman et al. 2024, "LoRA Learns Less and Forgets Less"',
    url: 'https://arxiv.org/abs/2405.09673',
  },
  deltaW: {
    term: 'ΔW',
    definition: 'the change of a weight matrix, W_tuned − W₀; LoRA constrains it to rank r (ΔW = s·B·A)',
    paper: 'Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"',
    url: 'https://arxiv.org/abs/2106.09685',
  },
} satisfies Record<string, GlossaryEntry>;

export type GlossaryKey = keyof typeof GLOSSARY;

/** The hover text of a term: definition, then the source. */
export function glossaryTitle(key: GlossaryKey): string {
  const g = GLOSSARY[key];
  return `${g.term}: ${g.definition}. — ${g.paper}`;
}
