import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 5 (methods-catalog §3 #6). */
export const preset: ExperimentInput = {
  id: 'asymmetry',
  title: 'B only vs A only vs A+B (asymmetric LoRA)',
  claim:
    'Fine-tuning only B works about as well as both: "a random untrained A should perform nearly as well as a fine-tuned one"; tuning B is more effective than tuning A.',
  paper: { title: 'Asymmetry in Low-Rank Adapters of Foundation Models', arxiv: '2402.16842' },
  notes:
    "A only = lora-a-only: B a frozen random draw (Kaiming-uniform mirrored to the output side, U(±1/√out)), A from zero, the mirror image of B only. Rank 8, α = 16, all three at 3e-3 (LoRA's default; the one-factor methods have none of their own).",
  base: { ...TRAIN_BASE, method: { id: 'lora', params: { rank: 8, alpha: 16 } } },
  budgets: BUDGETS,
  variants: [
    { label: 'A+B', set: { 'method.id': 'lora' } },
    { label: 'B only', set: { 'method.id': 'lora-asym' } },
    { label: 'A only', set: { 'method.id': 'lora-a-only' } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'params', 'time'],
  verdict: {
    all: [
      { rule: 'within', metric: 'valLoss', a: 'B only', b: 'A+B', margin: 0.02, says: 'nearly as well (within 2 %)' },
      { rule: 'compare', metric: 'valLoss', a: 'B only', op: '<', b: 'A only', says: 'B only beats A only' },
    ],
  },
};
