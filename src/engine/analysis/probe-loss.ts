/**
 * The forgetting-probe loss of a run's model with some weights replaced (issue 12 item 5: intruder
 * mitigation reports it before and after): the run's base model (pretrained or the preset's seeded init)
 * on the GPU, each variant's weights written over it by name (engine layout), then the mean loss over
 * the run's evaluation batches of the probe split (the validation split when the data has no probe), as
 * the trainer evaluates (train.ts meanLoss).
 */
import type { Gpu } from '../../gpu/device';
import type { RunInputs } from '../inputs';
import { createModel } from '../model/families';
import { evalBatches } from '../data/batcher';
import { meanLoss } from '../train';

export interface ProbeLosses {
  split: 'probe' | 'val';
  losses: number[];
}

/** The run's base weights as the run built them (engine layout, by name). */
export async function baseWeights(gpu: Gpu, inputs: RunInputs): Promise<Map<string, Float32Array>> {
  const model = createModel(gpu, inputs.modelConfig, inputs.weights, inputs.config.seed);
  try {
    return await model.readWeights();
  } finally {
    model.destroy();
  }
}

export async function probeLosses(
  gpu: Gpu,
  inputs: RunInputs,
  variants: readonly Map<string, Float32Array>[],
): Promise<ProbeLosses> {
  const cfg = inputs.config;
  const stream = inputs.data.probe ?? inputs.data.val;
  const B = cfg.train.batchSize,
    T = cfg.train.contextLength;
  const batches = evalBatches(stream, { B, T, maxBatches: Math.max(1, cfg.eval.batches), layout: cfg.data.layout });
  const model = createModel(gpu, inputs.modelConfig, inputs.weights, cfg.seed);
  try {
    model.ensureActivations(B, T);
    const losses: number[] = [];
    for (const v of variants) {
      model.writeWeights(v);
      losses.push(await meanLoss(gpu, model, batches, B, T));
    }
    return { split: inputs.data.probe ? 'probe' : 'val', losses };
  } finally {
    model.destroy();
  }
}
