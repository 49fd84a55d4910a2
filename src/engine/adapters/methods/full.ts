/**
 * Full fine-tuning: every base parameter is trainable. The reference that intruder dimensions,
 * LoRA-GA's gradient alignment and PHLoRA extraction are measured against.
 */
import type { AdapterMethod, TrainableTensor } from '../types';

export const method: AdapterMethod = {
  id: 'full',
  label: 'Full fine-tuning',
  paper: 'https://arxiv.org/abs/2410.21228',
  description: 'Update every weight with AdamW. The baseline spectra and intruder dimensions are compared against.',
  params: [],
  preservesFunctionAtInit: true,
  trainsBase: true,
  async init(ctx) {
    const { model } = ctx;
    model.setTrainable(model.specs.map((s) => s.name));
    const trainables: TrainableTensor[] = model.specs.map((s) => ({
      name: s.name,
      param: model.param(s.name),
      grad: model.grads.get(s.name)!,
      decay: s.decay,
      lrScale: 1,
    }));
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
