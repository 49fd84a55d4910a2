import type { ExperimentInput } from '../schema';
import { BUDGETS, TRAIN_BASE } from './common';

/** Issue 13 preset 8 (methods-catalog §3 #24). */
export const preset: ExperimentInput = {
  id: 'phlora',
  title: 'PHLoRA: energy captured and re-merged loss vs extracted rank',
  claim:
    'Low-rank adapters extracted post hoc from a full fine-tune\'s ΔW by truncated SVD "preserve high energy" and re-merge with negligible degradation.',
  paper: {
    title: 'PHLoRA: data-free Post-hoc Low-Rank Adapter extraction from full-rank checkpoint',
    arxiv: '2509.10971',
  },
  notes:
    "Full FT of every linear, then ΔW of each matrix truncated to rank r and merged back; energy = Σ_{i<r} σ_i² / Σ σ_i² over all matrices; gap = re-merged validation loss minus the full FT's.",
  base: {
    ...TRAIN_BASE,
    method: { id: 'full', params: {} },
    targets: { modules: ['all-linear'], layers: null, rankOverrides: {} },
  },
  budgets: BUDGETS,
  variants: [{ label: 'Full FT', set: {} }],
  lr: { policy: 'per-method-defaults' },
  measure: ['loss', 'val', 'extract', 'params', 'time'],
  extractRanks: [1, 2, 4, 8, 16, 32, 64],
  verdict: {
    all: [
      {
        rule: 'threshold',
        metric: 'energy@r16',
        groups: ['Full FT'],
        op: '>=',
        value: 0.9,
        says: 'rank 16 of 128 keeps ≥ 90 % of the energy',
      },
      {
        rule: 'threshold',
        metric: 'valLossGap@r16',
        groups: ['Full FT'],
        op: '<=',
        value: 0.01,
        says: 'and re-merges within 0.01 nats',
      },
    ],
  },
};
