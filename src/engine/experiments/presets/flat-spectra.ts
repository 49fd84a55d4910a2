import type { ExperimentInput } from '../schema';

/** Issue 13 preset 9 (methods-catalog §3 #13): no model, seconds on the GPU. */
export const preset: ExperimentInput = {
  id: 'flat-spectra',
  title: 'Flat spectra: LoRA vs a full-rank-capable (Kronecker) adapter at equal parameters',
  claim: 'LoRA "struggles to approximate matrices with relatively flat spectrums or high frequency components".',
  paper: {
    title: 'Towards Higher Effective Rank in Parameter-efficient Fine-tuning using Khatri–Rao Product',
    arxiv: '2508.08050',
  },
  notes:
    'Targets 64×64 (power law σ_i = i^-1, flat, and the DFT-like cos(2πij/n)); both adapters get 2·64·4 = 512 parameters: LoRA rank 4, and a sum of 4 Kronecker products of 8×8 factors (full rank reachable). Adam, lr 1e-2. The Eckart–Young optimum of each family is reported beside the fit.',
  kind: 'matrix-fit',
  base: { size: 64, rank: 4, steps: 400, lr: 1e-2, exponent: 1, seed: 0 },
  budgets: { smoke: { steps: 20, size: 16, rank: 2 }, full: {} },
  variants: [
    { label: 'LoRA', set: { adapter: 'lora' } },
    { label: 'Kronecker', set: { adapter: 'kron' } },
  ],
  axes: [{ path: 'spectrum', name: 'spectrum', values: ['power-law', 'flat', 'high-frequency'] }],
  lr: { policy: 'as-configured' },
  measure: ['fit-error', 'params', 'time'],
  verdict: {
    all: [
      {
        rule: 'compare',
        metric: 'fitError',
        a: 'Kronecker spectrum=flat',
        op: '<',
        b: 'LoRA spectrum=flat',
        margin: 0.05,
        says: 'on a flat spectrum',
      },
      {
        rule: 'compare',
        metric: 'fitError',
        a: 'Kronecker spectrum=high-frequency',
        op: '<',
        b: 'LoRA spectrum=high-frequency',
        margin: 0.05,
        says: 'on high frequencies',
      },
      {
        rule: 'compare',
        metric: 'fitError',
        a: 'LoRA spectrum=power-law',
        op: '<',
        b: 'LoRA spectrum=flat',
        says: 'LoRA itself is fine on a decaying spectrum',
      },
    ],
  },
};
