import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 4 (methods-catalog §3 #5). */
export const preset: ExperimentInput = {
  id: 'loraplus',
  title: 'LoRA+: the λ = η_B/η_A sweep',
  claim:
    'Setting different learning rates for A and B (η_B = λ·η_A) gives "1-2% improvements in performance and up to ∼2X speed up" of fine-tuning.',
  paper: { title: 'LoRA+: Efficient Low Rank Adaptation of Large Models', arxiv: '2402.12354' },
  notes: "Rank 8, α = 16, η_A = LoRA's default lr 3e-3 for every λ. λ = 1 is plain LoRA.",
  base: {
    ...TRAIN_BASE,
    method: { id: 'loraplus', params: { rank: 8, alpha: 16 } },
    train: { ...TRAIN_BASE.train, lr: 3e-3 },
  },
  budgets: BUDGETS,
  variants: [{ label: 'LoRA+', set: {} }],
  axes: [{ path: 'method.params.ratio', name: 'λ', values: [1, 2, 4, 8, 16] }],
  lr: { policy: 'as-configured' },
  measure: ['loss', 'val', 'params', 'time'],
  verdict: {
    all: [
      {
        rule: 'compare',
        metric: 'valLoss',
        a: 'LoRA+ λ=16',
        op: '<',
        b: 'LoRA+ λ=1',
        margin: 0.01,
        says: '≥ 1 % better',
      },
      { rule: 'speedup', metric: 'loss', a: 'LoRA+ λ=16', b: 'LoRA+ λ=1', min: 1.5, says: 'about 2× faster' },
    ],
  },
};
