import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 1 (methods-catalog §3 #1, §2.1). */
export const preset: ExperimentInput = {
  id: 'intruders',
  title: 'Intruder dimensions: LoRA vs rsLoRA vs full fine-tuning',
  claim:
    'LoRA-trained weight matrices have "new, high-ranking singular vectors, which we call intruder dimensions". "Intruder dimensions do not appear during full fine-tuning." LoRA models with them "become worse models of the pre-training distribution". "Higher-rank, rank-stabilized LoRA models closely mirror full fine-tuning."',
  paper: { title: 'LoRA vs Full Fine-tuning: An Illusion of Equivalence', arxiv: '2410.21228' },
  notes:
    "Intruders counted as in the authors' code (k = 10, max |cos| against all base left singular vectors < ε), summed over the attention c_attn matrices; forgetting = probe loss (held-out pretraining text) minus its step-0 value. Each method at its best lr of the grid by validation loss. Sequential two-task forgetting, the third measurement of this claim, is its own preset: sequential-forgetting.",
  base: TRAIN_BASE,
  budgets: BUDGETS,
  variants: [
    { label: 'LoRA r=1', set: { 'method.id': 'lora', 'method.params': { rank: 1, alpha: 2 } } },
    { label: 'LoRA r=8', set: { 'method.id': 'lora', 'method.params': { rank: 8, alpha: 16 } } },
    { label: 'LoRA r=64', set: { 'method.id': 'lora', 'method.params': { rank: 64, alpha: 128 } } },
    // rsLoRA at LoRA r=64's α: s = α/√r = 16 against α/r = 2. (At α = 16, α/√64 = 128/64 and the two arms
    // would be the same run — the first full-budget measurement found them bit-identical.)
    { label: 'rsLoRA r=64', set: { 'method.id': 'rslora', 'method.params': { rank: 64, alpha: 128 } } },
    { label: 'Full FT', set: { 'method.id': 'full', 'method.params': {} } },
  ],
  lr: { policy: 'grid', values: [3e-4, 1e-3, 3e-3] },
  measure: ['loss', 'val', 'probe', 'intruders', 'params', 'time'],
  verdict: {
    all: [
      {
        rule: 'compare',
        metric: 'intruders',
        a: 'LoRA r=8',
        op: '>',
        b: 'Full FT',
        says: 'LoRA creates intruders that full FT does not',
      },
      {
        rule: 'compare',
        metric: 'intruders',
        a: 'rsLoRA r=64',
        op: '<',
        b: 'LoRA r=8',
        says: 'high-rank rsLoRA has fewer, closer to full FT',
      },
      {
        rule: 'compare',
        metric: 'probeDelta',
        a: 'LoRA r=8',
        op: '>',
        b: 'Full FT',
        says: 'LoRA forgets the pretraining text more',
      },
    ],
  },
};
