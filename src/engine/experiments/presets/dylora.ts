import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 10 (methods-catalog §3 #15). */
export const preset: ExperimentInput = {
  id: 'dylora',
  title: 'DyLoRA: one run at every rank vs separately trained LoRAs',
  claim:
    'DyLoRA trains once for a range of ranks, "at least 4 to 7 times ... faster than LoRA" searching the rank, and performs well "on a much larger range of ranks".',
  paper: {
    title: 'DyLoRA: Parameter Efficient Tuning of Pre-trained Models using Dynamic Search-Free Low-Rank Adaptation',
    arxiv: '2210.07558',
  },
  notes:
    'One DyLoRA with r = 16 evaluated at b ∈ {1, 4, 16} against LoRAs trained at each of those ranks (α = 16, LoRA\'s default lr). "Well" = validation loss within 2 % of the separately trained LoRA.',
  base: { ...TRAIN_BASE, method: { id: 'lora', params: { alpha: 16 } } },
  budgets: BUDGETS,
  variants: [
    { label: 'DyLoRA r=16', set: { 'method.id': 'dylora', 'method.params.rank': 16 } },
    { label: 'LoRA r=1', set: { 'method.params.rank': 1 } },
    { label: 'LoRA r=4', set: { 'method.params.rank': 4 } },
    { label: 'LoRA r=16', set: { 'method.params.rank': 16 } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'rank-eval', 'params', 'time'],
  evalRanks: [1, 4, 16],
  verdict: {
    all: [
      { rule: 'within', metric: 'valLoss@r1', metricB: 'valLoss', a: 'DyLoRA r=16', b: 'LoRA r=1', margin: 0.02 },
      { rule: 'within', metric: 'valLoss@r4', metricB: 'valLoss', a: 'DyLoRA r=16', b: 'LoRA r=4', margin: 0.02 },
      { rule: 'within', metric: 'valLoss@r16', metricB: 'valLoss', a: 'DyLoRA r=16', b: 'LoRA r=16', margin: 0.02 },
    ],
  },
};
