import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 6 (methods-catalog §3 #7). */
export const preset: ExperimentInput = {
  id: 'optimizer-memory',
  title: 'Optimizer memory and loss: full Adam vs GaLore vs Fira vs LoRA',
  claim:
    'GaLore reduces optimizer-state memory "by up to 65.5%" while maintaining performance; Fira "outperforms both LoRA and GaLore" and can match full-rank training.',
  paper: { title: 'GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection', arxiv: '2403.03507' },
  notes:
    'Exact optimizer-state bytes (moments + projection bases) of the whole run; GaLore/Fira project the targeted matrices (every linear), rank 16, period 50. One shared lr (1e-3).',
  base: {
    ...TRAIN_BASE,
    targets: { modules: ['all-linear'], layers: null, rankOverrides: {} },
    train: { ...TRAIN_BASE.train, lr: 1e-3 },
  },
  budgets: BUDGETS,
  variants: [
    { label: 'Full Adam', set: { 'method.id': 'full', 'method.params': {} } },
    { label: 'GaLore', set: { 'method.id': 'galore', 'method.params': { rank: 16, period: 50 } } },
    { label: 'Fira', set: { 'method.id': 'fira', 'method.params': { rank: 16, period: 50 } } },
    { label: 'LoRA', set: { 'method.id': 'lora', 'method.params': { rank: 16, alpha: 32 } } },
  ],
  lr: { policy: 'as-configured' },
  measure: ['loss', 'val', 'params', 'optimizer-bytes', 'time'],
  verdict: {
    all: [
      {
        rule: 'ratio',
        metric: 'optimizerBytes',
        a: 'GaLore',
        b: 'Full Adam',
        max: 0.5,
        says: 'GaLore at least halves the optimizer state',
      },
      {
        rule: 'ratio',
        metric: 'valLoss',
        a: 'GaLore',
        b: 'Full Adam',
        max: 1.02,
        says: 'while maintaining the loss: at most 2 % worse (better is fine)',
      },
      { rule: 'compare', metric: 'valLoss', a: 'Fira', op: '<', b: 'GaLore' },
      { rule: 'compare', metric: 'valLoss', a: 'Fira', op: '<', b: 'LoRA' },
    ],
  },
};
