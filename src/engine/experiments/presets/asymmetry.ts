import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 5 (methods-catalog §3 #6). */
export const preset: ExperimentInput = {
  id: 'asymmetry',
  title: 'B only vs A+B (asymmetric LoRA)',
  claim:
    'Fine-tuning only B works about as well as both: "a random untrained A should perform nearly as well as a fine-tuned one"; tuning B is more effective than tuning A.',
  paper: { title: 'Asymmetry in Low-Rank Adapters of Foundation Models', arxiv: '2402.16842' },
  notes:
    'A-only is not run: the engine has no method that trains A with a frozen non-zero B, so the "B beats A" half of the claim is not tested. Rank 8, α = 16, LoRA\'s default lr.',
  base: { ...TRAIN_BASE, method: { id: 'lora', params: { rank: 8, alpha: 16 } } },
  budgets: BUDGETS,
  variants: [
    { label: 'A+B', set: { 'method.id': 'lora' } },
    { label: 'B only', set: { 'method.id': 'lora-asym' } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'params', 'time'],
  verdict: {
    all: [
      { rule: 'within', metric: 'valLoss', a: 'B only', b: 'A+B', margin: 0.02, says: 'nearly as well (within 2 %)' },
    ],
  },
};
