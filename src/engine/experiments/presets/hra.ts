import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Methods-catalog §3 #27 (switches on when the `hra` method is in the registry). */
export const preset: ExperimentInput = {
  id: 'hra',
  title: 'HRA vs LoRA: orthogonal (Householder) adaptation, loss and intruders',
  claim:
    'Householder reflection adaptation, an orthogonal fine-tuning method, "is equivalent to an adaptive low-rank adaptation".',
  paper: {
    title: 'Bridging The Gap between Low-rank and Orthogonal Adaptation via Householder Reflection Adaptation',
    arxiv: '2405.17484',
  },
  notes:
    "Rank 8 for both, each at its default lr. rank(W0·H − W0) ≤ r is an identity checked in the method's unit tests; here: the target loss (within 2 % of LoRA) and the intruder count (an orthogonal update rotates W0, so it should add fewer intruders than LoRA).",
  base: TRAIN_BASE,
  budgets: BUDGETS,
  variants: [
    { label: 'HRA r=8', set: { 'method.id': 'hra', 'method.params.rank': 8 } },
    { label: 'LoRA r=8', set: { 'method.id': 'lora', 'method.params': { rank: 8, alpha: 16 } } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'probe', 'intruders', 'params', 'time'],
  verdict: {
    all: [
      {
        rule: 'within',
        metric: 'valLoss',
        a: 'HRA r=8',
        b: 'LoRA r=8',
        margin: 0.02,
        says: 'as good as LoRA on the task',
      },
      { rule: 'compare', metric: 'intruders', a: 'HRA r=8', op: '<', b: 'LoRA r=8', says: 'with fewer intruders' },
    ],
  },
};
