import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 2 (methods-catalog §3 #2, #14). */
export const preset: ExperimentInput = {
  id: 'alpha-rank',
  title: 'α/r vs α/√r across ranks (rsLoRA)',
  claim:
    'α/r scaling gives "slowed learning and stunted performance for LoRA with higher-rank adapters"; the rank-stabilized scaling α/√r fixes it.',
  paper: { title: 'A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA', arxiv: '2312.03732' },
  notes:
    "α = 16 for both, one shared lr (LoRA's default 3e-3) so only the scaling differs; learning speed = mean training loss over the run, final = mean of the last tenth of the steps. Ranks up to the matrices' width (128 on the built-in model).",
  base: { ...TRAIN_BASE, method: { id: 'lora', params: { alpha: 16 } }, train: { ...TRAIN_BASE.train, lr: 3e-3 } },
  budgets: BUDGETS,
  variants: [
    { label: 'LoRA α/r', set: { 'method.id': 'lora' } },
    { label: 'rsLoRA α/√r', set: { 'method.id': 'rslora' } },
  ],
  axes: [{ path: 'method.params.rank', name: 'r', values: [4, 16, 64, 128] }],
  lr: { policy: 'as-configured' },
  measure: ['loss', 'val', 'params', 'time'],
  verdict: {
    all: [
      {
        rule: 'trend',
        metric: 'finalLoss',
        groups: ['rsLoRA α/√r r=4', 'rsLoRA α/√r r=16', 'rsLoRA α/√r r=64', 'rsLoRA α/√r r=128'],
        direction: 'down',
        says: 'with α/√r, more rank helps',
      },
      {
        rule: 'compare',
        metric: 'meanLoss',
        a: 'rsLoRA α/√r r=128',
        op: '<',
        b: 'LoRA α/r r=128',
        says: 'at high rank α/r learns slower',
      },
      {
        rule: 'compare',
        metric: 'finalLoss',
        a: 'rsLoRA α/√r r=128',
        op: '<',
        b: 'LoRA α/r r=128',
        says: 'and ends worse',
      },
    ],
  },
};
