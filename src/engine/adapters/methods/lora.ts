/**
 * LoRA (Hu et al. 2021, arXiv:2106.09685): W frozen, ΔW = s·B·A with s = α/r; A Kaiming-uniform
 * (PEFT's default `init_lora_weights=True`: bound 1/√in), B = 0 so the model is unchanged at step 0.
 */
import type { AdapterMethod } from '../types';
import { ALPHA_PARAM, RANK_PARAM, initLoraFamily } from '../lora-family';

export const method: AdapterMethod = {
  id: 'lora',
  order: 10,
  peft: { kind: 'lora', note: 'LoRA' },
  label: 'LoRA',
  paper: 'https://arxiv.org/abs/2106.09685',
  description: 'Frozen W plus a trainable low-rank update s·B·A with s = α/r; B starts at zero.',
  params: [RANK_PARAM, ALPHA_PARAM],
  preservesFunctionAtInit: true,
  trainsBase: false,
  defaultLr: {
    value: 3e-3,
    source:
      'measured: scripts/lr-sweep.sh on the built-in base model (40 steps, batch 4, context 32, brown-news, cosine, warmup 4, clip 1; llvmpipe, Dec 2026): val loss 2.006 at 1e-3, 2.010 at 3e-3, 2.021 at 1e-2 (B = 0 at init: small models take LoRA steps of 1e-3–3e-3)',
  },
  init: (ctx) => initLoraFamily(ctx, { scaling: (a, r) => a / r, trainA: true, lrScaleB: 1 }),
};
