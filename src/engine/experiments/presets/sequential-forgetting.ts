import type { ExperimentInput } from '../schema';
import { SMOKE, TRAIN_BASE } from './common';

/**
 * Issue 13 preset 1, its third measurement (methods-catalog §3 #1): sequential two-task forgetting.
 * Task 1 is the presets' brown-news, task 2 Brown fiction (another register of the same corpus; never
 * the `english` probe text). The runner's 'sequential' measurement (sequential.ts) merges task 1's
 * adapter, trains a fresh adapter of the same method on task 2, and measures task 1 again.
 */
export const preset: ExperimentInput = {
  id: 'sequential-forgetting',
  title: 'Sequential two-task forgetting: LoRA vs rsLoRA vs full fine-tuning',
  claim:
    'LoRA models with intruder dimensions, despite performing like full fine-tuning on the target task, "become worse models of the pre-training distribution and adapt less robustly to multiple tasks sequentially."',
  paper: { title: 'LoRA vs Full Fine-tuning: An Illusion of Equivalence', arxiv: '2410.21228' },
  notes:
    "Two tasks, not the paper's six: brown-news, then Brown fiction. After task 1 the adapter is merged and task 2 trains a new adapter of the same method with fresh AdamW moments (full fine-tuning continues from its weights, optimizer reset), as many steps as task 1 at the same lr. Forgetting = task 1's validation loss after task 2 minus after task 1 (nats). Each method at its documented default lr (not a grid, to keep it cheap).",
  base: TRAIN_BASE,
  secondTask: { dataset: { source: 'builtin', id: 'brown-fiction' }, steps: 60 },
  budgets: { smoke: { ...SMOKE, 'secondTask.steps': 3 }, full: {} },
  variants: [
    { label: 'LoRA r=8', set: { 'method.id': 'lora', 'method.params': { rank: 8, alpha: 16 } } },
    { label: 'rsLoRA r=64', set: { 'method.id': 'rslora', 'method.params': { rank: 64, alpha: 16 } } },
    { label: 'Full FT', set: { 'method.id': 'full', 'method.params': {} } },
  ],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'sequential', 'params', 'time'],
  verdict: {
    all: [
      {
        rule: 'compare',
        metric: 'seqForgetting',
        a: 'LoRA r=8',
        op: '>',
        b: 'Full FT',
        says: 'LoRA forgets the first task more when a second one follows',
      },
    ],
  },
};
