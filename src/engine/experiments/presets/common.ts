/**
 * What the presets share: the built-in pretrained model fine-tuned on a text of another register (the
 * held-out `english` slice is the forgetting probe), and the two budgets. `smoke` is CI's: the micro
 * model, three steps, a few seconds per run. `full` is the README's figures on the CPU driver.
 */
import type { ExperimentInput } from '../schema';

export const TRAIN_BASE = {
  model: { source: 'builtin', id: 'base' },
  dataset: { source: 'builtin', id: 'brown-news' },
  targets: { modules: ['attn.c_attn'], layers: null, rankOverrides: {} },
  train: { steps: 60, batchSize: 4, contextLength: 32, warmupSteps: 3, schedule: 'cosine' },
  eval: { every: 20, batches: 2 },
  analysis: { every: 0, k: 10, eps: 0.5 },
  seed: 0,
} satisfies NonNullable<ExperimentInput['base']>;

export const SMOKE: Record<string, string | number> = {
  'model.id': 'micro',
  'train.steps': 3,
  'train.batchSize': 2,
  'train.contextLength': 16,
  'train.warmupSteps': 0,
  'eval.every': 0,
  'eval.batches': 1,
};

export const BUDGETS: NonNullable<ExperimentInput['budgets']> = { smoke: SMOKE, full: {} };
