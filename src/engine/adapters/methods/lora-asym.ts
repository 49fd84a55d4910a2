/**
 * Asymmetric LoRA (Zhu et al. 2024, "Asymmetry in Low-Rank Adapters of Foundation Models",
 * arXiv:2402.16842): A is a random projection that stays frozen and only B is trained — "a random
 * untrained A should perform nearly as well as a fine-tuned one". The same code path as FFA-LoRA
 * (Sun et al. 2024, arXiv:2403.12313: "fix the randomly initialized non-zero matrices and only
 * fine-tune the zero-initialized matrices"). A is PEFT's default Kaiming-uniform draw (U(±1/√in)),
 * B = 0, s = α/r, so the model is unchanged at step 0 and ΔW = s·B·A stays in the row space of A.
 * Trainable parameters: out·r per layer (half of LoRA's for square weights); no gradient for A is
 * computed at all.
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM, initLoraFamily } from '../lora-family';

export const method: AdapterMethod = {
  id: 'lora-asym',
  order: 40,
  peft: { kind: 'lora', note: 'LoRA (A was frozen in training; PEFT loads it as an ordinary LoRA)' },
  label: 'Asymmetric LoRA (B only)',
  paper: 'https://arxiv.org/abs/2402.16842',
  description: 'LoRA with a frozen random A: only B is trained (Asymmetry in LoRA; the FFA-LoRA code path).',
  params: [RANK_PARAM, ALPHA_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  init: (ctx) => initLoraFamily(ctx, { scaling: (a, r) => a / r, trainA: false, lrScaleB: 1 }),
};
