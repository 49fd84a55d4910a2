/**
 * Full fine-tuning: every base parameter is trainable. The reference that intruder dimensions,
 * LoRA-GA's gradient alignment and PHLoRA extraction are measured against.
 */
import type { AdapterMethod, TrainableTensor } from '../types';

export const method: AdapterMethod = {
  id: 'full',
  order: 0,
  peft: { kind: 'none', note: 'full fine-tuning has no adapter' },
  label: 'Full fine-tuning',
  paper: 'https://arxiv.org/abs/2410.21228',
  description: 'Update every weight with AdamW. The baseline spectra and intruder dimensions are compared against.',
  params: [],
  preservesFunctionAtInit: true,
  trainsBase: true,
  defaultLr: {
    value: 3e-4,
    source:
      "measured: scripts/lr-sweep.sh on the built-in base model (40 steps, batch 4, context 32, brown-news, cosine, warmup 4, clip 1; llvmpipe, Dec 2026): val loss 2.008 at 3e-4, 2.049 at 1e-3, 2.190 at 3e-3 — every weight moves, so LoRA's 3e-3 overshoots",
  },
  async init(ctx) {
    const { model } = ctx;
    model.setTrainable(model.specs.map((s) => s.name));
    // One trainable per GPU buffer: a vocabulary matrix above one binding is several row shards (model.parts).
    const trainables: TrainableTensor[] = model.specs.flatMap((s) =>
      model.parts(s.name).map((p) => ({ name: p.name, param: p.param, grad: p.grad!, decay: s.decay, lrScale: 1 })),
    );
    return {
      trainables,
      merged: () => model.readWeights(),
      async state() {
        return { tensors: await model.readWeights(), meta: {} };
      },
      dispose() {},
    };
  },
};
