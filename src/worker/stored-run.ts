/**
 * A stored run's models for generation (issue 16): the page sends the run's config and its newest
 * checkpoint (from IndexedDB); the worker rebuilds the base model and the tuned model from them, the
 * same way a resume after a reload does (Trainer.create with the run's seed, then restore), and keeps
 * them until another stored run is asked for or a training run starts.
 */
import type { Gpu } from '../gpu/device';
import { resolveInputs, type RunInputs } from '../engine/inputs';
import { createModel } from '../engine/model/families';
import type { LanguageModel } from '../engine/model/language-model';
import { Trainer } from '../engine/train';
import type { GenerateSource } from './protocol';

export interface StoredRunModels {
  runId: string;
  /** The checkpoint's step: a newer checkpoint of the same run means a reload. */
  step: number;
  inputs: RunInputs;
  base: LanguageModel;
  tuned: LanguageModel;
  dispose(): void;
}

export async function loadStoredRun(gpu: Gpu, runId: string, src: GenerateSource): Promise<StoredRunModels> {
  const inputs = await resolveInputs(src.config, { modelFiles: src.modelFiles?.files, datasetFile: src.datasetFile });
  const base = createModel(gpu, inputs.modelConfig, inputs.weights, src.config.seed);
  let trainer: Trainer;
  try {
    trainer = await Trainer.create(gpu, inputs);
  } catch (e) {
    base.destroy();
    throw e;
  }
  try {
    trainer.restore(src.resume);
  } catch (e) {
    trainer.dispose();
    base.destroy();
    throw new Error(`the run's checkpoint (step ${src.resume.step}) does not load: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return {
    runId,
    step: src.resume.step,
    inputs,
    base,
    tuned: trainer.model,
    dispose: () => {
      trainer.dispose();
      base.destroy();
    },
  };
}
