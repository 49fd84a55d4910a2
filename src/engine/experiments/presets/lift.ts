import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 7 (methods-catalog §3 #11). */
export const preset: ExperimentInput = {
  id: 'lift',
  title: 'LIFT vs magnitude mask vs LoRA vs full FT: target and source loss',
  claim:
    'Updating only the top 5 % Principal Weights beats full fine-tuning and "retains up to 20% more source-domain knowledge, compared to Full FT and LoRA"; plain magnitude-based sparse fine-tuning is weak.',
  paper: { title: 'LIFT the Veil for the Truth: Principal Weights Emerge after Rank Reduction', arxiv: '2506.00772' },
  notes:
    'The magnitude mask is LIFT with the rank set above the matrix size (W_r = W: the top 5 % entries of W itself). Source loss = the held-out pretraining probe; retention = its rise from step 0 (probeDelta). Full FT at its documented lr 3e-4, the sparse methods and LoRA at 1e-3 / 3e-3 per their defaults.',
  base: { ...TRAIN_BASE, targets: { modules: ['all-linear'], layers: null, rankOverrides: {} } },
  budgets: BUDGETS,
  variants: [
    { label: 'LIFT 5%', set: { 'method.id': 'lift', 'method.params': { rank: 8, density: 5, period: 100 } } },
    { label: 'Magnitude 5%', set: { 'method.id': 'lift', 'method.params': { rank: 4096, density: 5, period: 100 } } },
    { label: 'LoRA', set: { 'method.id': 'lora', 'method.params': { rank: 8, alpha: 16 } } },
    { label: 'Full FT', set: { 'method.id': 'full', 'method.params': {} } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'probe', 'params', 'optimizer-bytes', 'time'],
  verdict: {
    all: [
      { rule: 'compare', metric: 'valLoss', a: 'LIFT 5%', op: '<', b: 'Full FT', says: 'beats full FT on the target' },
      { rule: 'compare', metric: 'probeDelta', a: 'LIFT 5%', op: '<', b: 'Full FT', says: 'forgets less than full FT' },
      { rule: 'compare', metric: 'probeDelta', a: 'LIFT 5%', op: '<', b: 'LoRA', says: 'and than LoRA' },
      {
        rule: 'compare',
        metric: 'valLoss',
        a: 'LIFT 5%',
        op: '<',
        b: 'Magnitude 5%',
        says: 'magnitude masks are weak',
      },
    ],
  },
};
