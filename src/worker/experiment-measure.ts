/**
 * An experiment's final-state measurements for a page run (issue 13: the DyLoRA and PHLoRA presets in the
 * page). The page trains an experiment's runs as normal runs; when one finishes it sends the run's config
 * and final checkpoint here. The run is rebuilt as a resume after a reload rebuilds it (Trainer.create with
 * the run's seed, then restore), and the engine runner's own `measureFinalState` makes the measurement —
 * DyLoRA's validation loss at each evaluation rank, PHLoRA's energy and re-merged loss per extracted rank —
 * and, last of all as in the runner, sequential.ts's `measureSequential` (a second task on the merged
 * state, then task 1 again), so the page's numbers are the CLI's.
 */
import type { Gpu } from '../gpu/device';
import type { RunConfig } from '../engine/config';
import { resolveInputs } from '../engine/inputs';
import { Trainer } from '../engine/train';
import {
  baseWeights,
  FINAL_STATE_MEASURES,
  measureFinalState,
  type FinalStateMeasure,
  type FinalStateResult,
} from '../engine/experiments/runner';
import { measureSequential } from '../engine/experiments/sequential';
import type { SecondTask } from '../engine/experiments/schema';
import type { LocalFiles, ResumeState } from './protocol';

/** What the worker measures on a finished run: the runner's final-state measurements, and 'sequential'. */
export type PageMeasure = FinalStateMeasure | 'sequential';

export interface ExperimentMeasureRequest {
  config: RunConfig;
  modelFiles?: LocalFiles;
  datasetFile?: { name: string; bytes: Uint8Array };
  /** The run's final checkpoint (step = config.train.steps). */
  resume: ResumeState;
  measure: PageMeasure[];
  /** 'sequential': the experiment's second task at its budget (schema.ts secondTaskOf). */
  secondTask?: SecondTask;
  /** DyLoRA: the ranks to evaluate at (the experiment's evalRanks). */
  evalRanks?: number[];
  /** PHLoRA: the ranks to extract (the experiment's extractRanks). */
  extractRanks?: number[];
  /** The run's final validation loss (the extraction's gap is measured from it); absent: evaluated here. */
  valLoss?: number;
}

export interface ExperimentMeasureResult {
  /**
   * The new metrics only, as the CLI's runner names them (`valLoss@r<b>`, `energy@r<r>`,
   * `valLossGap@r<r>`, sequential.ts's task1ValAfterTask2, seqForgetting, …); unmeasured ones left out.
   */
  metrics: Record<string, number>;
  rankEval?: { rank: number; valLoss: number }[];
  extract?: { rank: number; energy: number; valLoss: number }[];
  /** 'sequential': the second task's training loss per step. */
  secondCurve?: number[];
  /** 'sequential': why the second task failed (the run's own results stand, as in the CLI). */
  sequentialError?: string;
}

export async function measureExperimentRun(gpu: Gpu, req: ExperimentMeasureRequest): Promise<ExperimentMeasureResult> {
  const known: readonly string[] = [...FINAL_STATE_MEASURES, 'sequential'];
  const unknown = req.measure.filter((m) => !known.includes(m));
  if (unknown.length) throw new Error(`${unknown.join(', ')}: not a final-state measurement (${known.join(', ')})`);
  if (req.measure.includes('sequential') && !req.secondTask)
    throw new Error("'sequential' needs the experiment's second task (secondTask)");
  const steps = req.config.train.steps;
  if (req.resume.step !== steps)
    throw new Error(`the run's checkpoint is at step ${req.resume.step} of ${steps}: measure the finished run`);
  const inputs = await resolveInputs(req.config, { modelFiles: req.modelFiles?.files, datasetFile: req.datasetFile });
  const trainer = await Trainer.create(gpu, inputs);
  try {
    const base = req.measure.includes('extract') ? await baseWeights(gpu, inputs, trainer) : null;
    try {
      trainer.restore(req.resume);
    } catch (e) {
      throw new Error(`the run's checkpoint (step ${req.resume.step}) does not load: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const valLoss = req.valLoss ?? (await trainer.evaluate(inputs.data.val, req.config.eval.batches));
    const res: FinalStateResult = { metrics: { valLoss } };
    const exp = { measure: req.measure, evalRanks: req.evalRanks, extractRanks: req.extractRanks };
    await measureFinalState(gpu, trainer, inputs, exp, base, res);
    const out: ExperimentMeasureResult = { metrics: {} };
    if (res.rankEval) out.rankEval = res.rankEval;
    if (res.extract) out.extract = res.extract;
    // last of all, as in the CLI's runner: the second task on the merged state (it only reads this trainer)
    if (req.measure.includes('sequential')) {
      const sources = { modelFiles: req.modelFiles?.files, datasetFile: req.datasetFile };
      const seq = await measureSequential(gpu, trainer, inputs, req.secondTask!, { sources, cache: new Map() });
      Object.assign(res.metrics, seq.metrics);
      out.secondCurve = seq.curve;
      if (seq.error) out.sequentialError = seq.error;
    }
    for (const [k, v] of Object.entries(res.metrics)) if (k !== 'valLoss' && typeof v === 'number') out.metrics[k] = v;
    return out;
  } finally {
    trainer.dispose();
  }
}
