import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Methods-catalog §3 #8 (switches on when the `relora` method is in the registry). */
export const preset: ExperimentInput = {
  id: 'relora',
  title: 'ReLoRA vs LoRA vs full-rank training',
  claim:
    'ReLoRA, low-rank updates merged and restarted, gives "comparable performance to regular neural network training".',
  paper: { title: 'ReLoRA: High-Rank Training Through Low-Rank Updates', arxiv: '2307.05695' },
  notes:
    'Every linear, rank 16, each method at its default lr; "comparable" = validation loss within 2 % of full-rank training.',
  base: { ...TRAIN_BASE, targets: { modules: ['all-linear'], layers: null, rankOverrides: {} } },
  budgets: BUDGETS,
  variants: [
    {
      label: 'ReLoRA',
      set: {
        'method.id': 'relora',
        // LoRA's α, so that between restarts ReLoRA is the LoRA variant step for step (s = 2)
        'method.params.rank': 16,
        'method.params.alpha': 32,
        'method.params.period': 20,
        'method.params.restartWarmup': 5,
      },
    },
    { label: 'LoRA', set: { 'method.id': 'lora', 'method.params': { rank: 16, alpha: 32 } } },
    { label: 'Full', set: { 'method.id': 'full', 'method.params': {} } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'params', 'optimizer-bytes', 'time'],
  verdict: {
    all: [
      { rule: 'within', metric: 'valLoss', a: 'ReLoRA', b: 'Full', margin: 0.02 },
      {
        rule: 'compare',
        metric: 'valLoss',
        a: 'ReLoRA',
        op: '<',
        b: 'LoRA',
        says: 'restarts buy rank that LoRA lacks',
      },
    ],
  },
};
