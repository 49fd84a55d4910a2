/**
 * Sequential two-task forgetting (issue 13 preset 1; Shuttleworth et al. 2024, "LoRA vs Full
 * Fine-tuning: An Illusion of Equivalence", arXiv:2410.21228: LoRA models with intruder dimensions
 * "adapt less robustly to multiple tasks sequentially").
 *
 * Runs strictly after a run's training and all its other measurements, and only reads the trained
 * state, so every metric recorded before stays exactly what a run without this measurement records.
 * Design, as in continual fine-tuning with LoRA: task 1's adapter is merged into the weights
 * (method.merged(), the same merge as the export), and task 2 trains a NEW instance of the same method
 * (a fresh adapter drawn from a derived seed, fresh AdamW moments, the run's lr and schedule over the
 * second task's steps) on the merged model. Full fine-tuning thus simply continues from its trained
 * weights with a reset optimizer. Task 1's validation loss is then measured again on the same
 * evaluation batches:
 *   task1ValAfterTask1  task 1's val loss on the merged model before task 2 (= the run's valLoss up to
 *                       the rounding of the merge),
 *   task1ValAfterTask2  the same after task 2,
 *   seqForgetting       task1ValAfterTask2 − task1ValAfterTask1 (nats; > 0 = task 1 forgotten),
 *   task2ValAfterTask1 / task2ValAfterTask2  task 2's own val loss before and after (it was learned).
 * A second task that fails (a diverging loss, a model that does not fit) leaves these null and says why
 * in the run's `error`; the run's own results stand.
 */
import type { Gpu } from '../../gpu/device';
import type { RunConfig } from '../config';
import { resolveInputs, type InputSources, type RunInputs } from '../inputs';
import { Trainer } from '../train';
import type { SecondTask } from './schema';

/** The second task's adapter is a fresh draw: the run seed moved by the golden-ratio constant (mod 2³²). */
export const SECOND_TASK_SEED_OFFSET = 0x9e3779b9;

export const SEQUENTIAL_METRICS = [
  'task1ValAfterTask1',
  'task1ValAfterTask2',
  'seqForgetting',
  'task2ValAfterTask1',
  'task2ValAfterTask2',
] as const;

/** The second task's run: the first run's settings with the second dataset, its steps and a derived seed. */
export function secondTaskConfig(cfg: RunConfig, task: SecondTask): RunConfig {
  const c = structuredClone(cfg);
  return {
    ...c,
    name: `${cfg.name ?? 'run'} · task 2`.slice(0, 120),
    dataset: { source: 'builtin', id: task.dataset.id },
    seed: (cfg.seed + SECOND_TASK_SEED_OFFSET) % 2 ** 32,
    train: { ...c.train, steps: task.steps, warmupSteps: Math.min(c.train.warmupSteps, task.steps) },
    eval: { ...c.eval, every: 0 },
  };
}

export interface SequentialResult {
  metrics: Record<string, number | null>;
  /** Task 2's training loss per step. */
  curve: number[];
  error?: string;
}

/**
 * Train the second task from `trainer`'s merged state and measure task 1 again. `cache` is the
 * runner's inputs cache (the second dataset is tokenized once per queue).
 */
export async function measureSequential(
  gpu: Gpu,
  trainer: Trainer,
  inputs: RunInputs,
  task: SecondTask,
  opts: { sources?: InputSources; memoryBudgetBytes?: number; cache: Map<string, Promise<RunInputs>> },
): Promise<SequentialResult> {
  const out: SequentialResult = {
    metrics: Object.fromEntries(SEQUENTIAL_METRICS.map((k) => [k, null])),
    curve: [],
  };
  const cfg2 = secondTaskConfig(inputs.config, task);
  const key = `sequential:${JSON.stringify([cfg2.model, cfg2.dataset, cfg2.data, cfg2.train.contextLength, cfg2.seed])}`;
  let trainer2: Trainer | null = null;
  try {
    if (!opts.cache.has(key)) opts.cache.set(key, resolveInputs(cfg2, opts.sources));
    const task2 = await opts.cache.get(key)!;
    const merged = await trainer.method.merged(); // every parameter, task 1's update folded in
    trainer2 = await Trainer.create(
      gpu,
      { ...task2, config: cfg2, weights: merged },
      { memoryBudgetBytes: opts.memoryBudgetBytes },
    );
    const batches = inputs.config.eval.batches;
    const task1Val = inputs.data.val;
    const task2Val = task2.data.val;
    const before1 = await trainer2.evaluate(task1Val, batches);
    const before2 = await trainer2.evaluate(task2Val, batches);
    while (trainer2.step < cfg2.train.steps) out.curve.push((await trainer2.trainStep()).loss);
    const after1 = await trainer2.evaluate(task1Val, batches);
    const after2 = await trainer2.evaluate(task2Val, batches);
    out.metrics = {
      task1ValAfterTask1: before1,
      task1ValAfterTask2: after1,
      seqForgetting: after1 - before1,
      task2ValAfterTask1: before2,
      task2ValAfterTask2: after2,
    };
  } catch (e) {
    out.error = `second task (${task.dataset.id}, ${task.steps} steps): ${(e as Error).message.replace(/\s*\n\s*/g, '; ')}`;
  } finally {
    trainer2?.dispose();
  }
  return out;
}
