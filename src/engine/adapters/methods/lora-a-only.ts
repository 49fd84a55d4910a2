/**
 * A-only LoRA, the other arm of Zhu et al. 2024 ("Asymmetry in Low-Rank Adapters of Foundation
 * Models", arXiv:2402.16842): B is a random projection that stays frozen and only A is trained — the
 * arm the paper finds weaker ("fine-tuning B is inherently more effective than fine-tuning A"). The
 * mirror image of lora-asym (B only): A starts at zero, so the model is unchanged at step 0, and
 * ΔW = s·B·A stays in the column space of B. B is lora-asym's Kaiming-uniform draw for A mirrored to
 * the output side, U(±1/√out) (lora-family.ts `kaimingB`), s = α/r. Trainable parameters: r·in per
 * layer; no gradient for B is computed at all. PEFT loads it as an ordinary LoRA (B is non-zero).
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM, initLoraFamily } from '../lora-family';

export const method: AdapterMethod = {
  id: 'lora-a-only',
  order: 45,
  peft: { kind: 'lora', note: 'LoRA (B was a frozen random draw in training; PEFT loads it as an ordinary LoRA)' },
  label: 'Asymmetric LoRA (A only)',
  paper: 'https://arxiv.org/abs/2402.16842',
  description: 'LoRA with a frozen random B: only A is trained, from zero (the weaker arm of Asymmetry in LoRA).',
  params: [RANK_PARAM, ALPHA_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  init: (ctx) => initLoraFamily(ctx, { scaling: (a, r) => a / r, trainA: true, lrScaleB: 1, frozenRandomB: true }),
};
