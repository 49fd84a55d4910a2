/**
 * LoRA+ (Hayou, Ghosh & Yu 2024, arXiv:2402.12354): LoRA whose B matrices learn λ times faster than
 * the A matrices, η_B = λ·η_A, from a large-width argument (the paper suggests λ ≈ 2⁴). PEFT's
 * `create_loraplus_optimizer(..., loraplus_lr_ratio=λ)` puts every lora_B (and every 1-D adapter
 * parameter, none here) in a group with lr·λ; lora_A keeps lr. Here that is the trainable's `lrScale`,
 * which the trainer's AdamW multiplies into the scheduled learning rate. Model and init are LoRA's.
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM, initLoraFamily } from '../lora-family';

export const RATIO_PARAM = {
  key: 'ratio',
  label: 'λ = η_B / η_A',
  type: 'float',
  default: 16,
  min: 1,
  max: 1024,
  help: 'Learning-rate ratio of B to A (PEFT loraplus_lr_ratio; the paper suggests 2⁴)',
} as const;

export const method: AdapterMethod = {
  id: 'loraplus',
  order: 30,
  peft: { kind: 'lora', note: 'LoRA (LoRA+ changes only the optimizer; the adapter is plain LoRA)' },
  label: 'LoRA+',
  paper: 'https://arxiv.org/abs/2402.12354',
  description: 'LoRA with a larger learning rate for B than for A (η_B = λ·η_A, λ = 16 by default).',
  params: [RANK_PARAM, ALPHA_PARAM, RATIO_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  init: (ctx) => initLoraFamily(ctx, { scaling: (a, r) => a / r, trainA: true, lrScaleB: Number(ctx.params.ratio) }),
};
