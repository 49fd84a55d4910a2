import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Methods-catalog §3 #22 (switches on when `lora-pro` and `adalora` are in the registry). */
export const preset: ExperimentInput = {
  id: 'lora-pro',
  title: 'LoRA-Pro and AdaLoRA vs LoRA and full fine-tuning',
  claim:
    'LoRA "is mathematically equivalent to full fine-tuning using a low-rank gradient"; adjusting that equivalent gradient (LoRA-Pro) narrows the gap to full fine-tuning.',
  paper: { title: 'LoRA-Pro: Are Low-Rank Adapters Properly Optimized?', arxiv: '2407.18242' },
  notes:
    'Rank 8; each method at its default lr. AdaLoRA (arXiv:2303.10512) at the same final rank budget as a second reference.',
  base: TRAIN_BASE,
  budgets: BUDGETS,
  variants: [
    { label: 'LoRA-Pro', set: { 'method.id': 'lora-pro', 'method.params.rank': 8 } },
    { label: 'AdaLoRA', set: { 'method.id': 'adalora', 'method.params.rank': 8 } },
    { label: 'LoRA', set: { 'method.id': 'lora', 'method.params': { rank: 8, alpha: 16 } } },
    { label: 'Full FT', set: { 'method.id': 'full', 'method.params': {} } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'params', 'time'],
  verdict: {
    all: [
      { rule: 'compare', metric: 'valLoss', a: 'LoRA-Pro', op: '<', b: 'LoRA', says: 'closer to full FT than LoRA' },
      { rule: 'compare', metric: 'valLoss', a: 'AdaLoRA', op: '<', b: 'LoRA' },
    ],
  },
};
