/**
 * rsLoRA — rank-stabilised LoRA (Kalajdzievski 2023, arXiv:2312.03732): LoRA with the scaling
 * s = α/√r instead of α/r, so the update's magnitude (and learning) does not collapse as the rank
 * grows. PEFT: `use_rslora=True` (LoraLayer.update_layer). Everything else is LoRA: A Kaiming-uniform,
 * B = 0, W frozen.
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM, initLoraFamily } from '../lora-family';

export const method: AdapterMethod = {
  id: 'rslora',
  order: 20,
  peft: { kind: 'lora', note: 'LoRA with use_rslora (s = α/√r)' },
  label: 'rsLoRA',
  paper: 'https://arxiv.org/abs/2312.03732',
  description:
    'LoRA with the rank-stabilised scaling s = α/√r, so higher ranks keep learning instead of being scaled down.',
  params: [RANK_PARAM, ALPHA_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  init: (ctx) => initLoraFamily(ctx, { scaling: (a, r) => a / Math.sqrt(r), trainA: true, lrScaleB: 1 }),
};
