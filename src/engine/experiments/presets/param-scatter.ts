import type { ExperimentInput } from '../schema';
import { listMethods } from '../../adapters/registry';
import { BUDGETS, TRAIN_BASE } from './common';

/**
 * Issue 13 preset 11 (methods-catalog §3 #16, #17): every method in the registry at its defaults, so a
 * method added later joins the scatter by itself.
 */
export const preset: ExperimentInput = {
  id: 'param-scatter',
  title: 'Trainable parameters vs final loss, every method',
  claim:
    'SVFit beats LoRA "with 16× fewer trainable parameters"; NOLA can "halve the parameters ... compared to LoRA with rank one, without sacrificing performance".',
  paper: {
    title: 'SVFit: Parameter-Efficient Fine-Tuning of Large Pre-Trained Models Using Singular Values',
    arxiv: '2409.05926',
  },
  notes:
    'Each method with its default parameters and documented default lr on the attention c_attn matrices; the x axis (trainable parameters) is plotted on a log scale. NOLA: arXiv:2310.02556.',
  base: TRAIN_BASE,
  budgets: BUDGETS,
  variants: [
    ...listMethods().map((m) => ({ label: m.label, set: { 'method.id': m.id } })),
    { label: 'LoRA r=1', set: { 'method.id': 'lora', 'method.params.rank': 1, 'method.params.alpha': 2 } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'params', 'optimizer-bytes', 'time'],
  verdict: {
    all: [
      { rule: 'ratio', metric: 'trainableParams', a: 'SVFit', b: 'LoRA', max: 0.0625, says: '16× fewer parameters' },
      { rule: 'compare', metric: 'valLoss', a: 'SVFit', op: '<=', b: 'LoRA', says: 'SVFit is no worse than LoRA' },
      {
        rule: 'ratio',
        metric: 'trainableParams',
        a: 'NOLA',
        b: 'LoRA r=1',
        max: 0.5,
        says: 'NOLA at half of rank-1 LoRA',
      },
      { rule: 'within', metric: 'valLoss', a: 'NOLA', b: 'LoRA r=1', margin: 0.01, says: 'without losing (1 %)' },
    ],
  },
};
