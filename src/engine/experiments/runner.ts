/**
 * Running an experiment: its expanded runs one after another through the SAME Trainer the CLI's
 * `train` and the studio's worker use (train.ts: create, step-0 evaluation, trainStep, evaluate), so a
 * run's losses here are the run's losses anywhere. Per run it records the per-step loss, validation
 * and probe losses (step 0, every eval.every steps, final), intruder counts vs ε at k (analysis.k) via
 * src/engine/analysis on the targeted matrices, trainable parameters, exact optimizer bytes and wall
 * time, plus the preset-specific measurements (DyLoRA rank evaluation, PHLoRA extraction) and, last of
 * all, the sequential two-task forgetting (sequential.ts: a second task on the merged model, then task
 * 1's validation loss again). Matrix-fit runs go to matrix-fit.ts on the same GPU.
 *
 * The queue is resumable: `ExperimentState` (plain JSON) holds the finished runs' results by key; pass
 * it back in and the runner continues with the first run not in it. Hooks report progress and let the
 * caller pause (an awaited promise between steps), skip the current run, or stop the queue (the run in
 * progress is dropped and reruns from its start on resume: runs are bit-reproducible).
 * DOM-free and Node-free: the page's worker and the CLI call it the same way.
 */
import type { Gpu } from '../../gpu/device';
import { resolveInputs, type InputSources, type RunInputs } from '../inputs';
import { NonFiniteError, Trainer, selectTargets, type StepMetrics } from '../train';
import { createModel } from '../model/families';
import { getMethod } from '../adapters/registry';
import { analyzeMatrix, computeBaseSvd, asOutIn } from '../analysis';
import { exactSvd } from '../linalg';
import { isDyLoraInstance } from '../adapters/methods/dylora';
import { ConfigError } from '../config';
import {
  expandExperiment,
  parseExperiment,
  secondTaskOf,
  type ExpandedRun,
  type Experiment,
  type ExperimentInput,
} from './schema';
import { fitMatrix } from './matrix-fit';
import { judge, type RunRow, type Verdict } from './verdict';
import { measureSequential } from './sequential';

/** ε values of the intruder sweep recorded per run (metrics `intruders@<ε>`). */
export const INTRUDER_EPS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export interface EvalPoint {
  step: number;
  valLoss?: number;
  probeLoss?: number;
}

/** One finished (or failed/skipped) run: a row of the results table plus its curves. */
export interface RunResult extends RunRow {
  label: string;
  kind: 'train' | 'matrix-fit';
  axes: Record<string, unknown>;
  /** Training loss per step (matrix-fit: relative error per step). */
  curve: number[];
  evals: EvalPoint[];
  /** Intruder count (summed over the targeted matrices) at each ε of INTRUDER_EPS, at k = analysis.k. */
  intruderSweep?: { eps: number; count: number }[];
  /** PHLoRA: per extracted rank, the energy captured and the re-merged validation loss. */
  extract?: { rank: number; energy: number; valLoss: number }[];
  /** DyLoRA: validation loss at each evaluation rank. */
  rankEval?: { rank: number; valLoss: number }[];
  /** 'sequential': the second task's training loss per step (sequential.ts). */
  secondCurve?: number[];
  error?: string;
  wallSeconds: number;
}

export interface ExperimentState {
  id: string;
  /** FNV-1a of the parsed experiment: a state is only resumed for the experiment it came from. */
  fingerprint: string;
  results: Record<string, RunResult>;
}

export interface RunnerHooks {
  onRunStart?(run: ExpandedRun, index: number, total: number): void;
  onStep?(run: ExpandedRun, m: { step: number; loss: number; valLoss?: number; probeLoss?: number }): void;
  /** After every run (done, failed or skipped), with the state to persist (IndexedDB, a file). */
  onRunEnd?(result: RunResult, state: ExperimentState): void | Promise<void>;
  /** Awaited between steps: return a promise that resolves when the person presses Resume. */
  pause?(): Promise<void> | void;
  /** Polled between steps: true skips the current run (recorded as skipped). */
  skip?(run: ExpandedRun): boolean;
  /** Polled between steps: true stops the queue (the current run is not recorded). */
  stop?(): boolean;
}

export interface RunExperimentOptions {
  /** Files for local models / uploaded datasets (same as `train`). */
  sources?: InputSources;
  state?: ExperimentState | null;
  hooks?: RunnerHooks;
  /** Memory budget for Trainer.check (the CLI's RANKSCOPE_MEMORY_BUDGET). */
  memoryBudgetBytes?: number;
}

export interface ExperimentOutcome {
  experiment: Experiment;
  runs: ExpandedRun[];
  state: ExperimentState;
  rows: RunResult[];
  verdict: Verdict;
  /** True when the queue was stopped before every run had a result. */
  stopped: boolean;
}

export function fingerprint(exp: Experiment): string {
  let h = 0x811c9dc5;
  const s = JSON.stringify(exp);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export function emptyState(exp: Experiment): ExperimentState {
  return { id: exp.id, fingerprint: fingerprint(exp), results: {} };
}

/** A run of the expansion that has not run yet: a row with no metrics (filled as the run finishes). */
export function pendingResult(r: ExpandedRun): RunResult {
  return {
    key: r.key,
    group: r.group,
    lr: r.lr,
    seed: r.seed,
    label: r.label,
    kind: r.kind,
    axes: r.axes,
    status: 'pending',
    metrics: {},
    curve: [],
    evals: [],
    wallSeconds: 0,
  };
}

/** The results table of an expansion: finished runs from the state, the rest pending. */
export function resultRows(runs: ExpandedRun[], state: ExperimentState): RunResult[] {
  return runs.map((r) => state.results[r.key] ?? pendingResult(r));
}

/**
 * The scalar metrics of one training run, from what any runner records (the page's worker runs, this
 * runner): finalLoss = mean training loss of the last tenth of the steps, meanLoss = mean over the run
 * (learning speed), valLoss/probeLoss = the final evaluation, step0… = before training, probeDelta =
 * forgetting (probe rise). The page and the CLI call this same function so their tables agree.
 */
export function runMetrics(r: {
  curve: number[];
  step0: EvalPoint | null;
  final: EvalPoint | null;
  trainableParams: number | null;
  optimizerBytes: number | null;
}): Record<string, number | null> {
  const c = r.curve;
  const tail = c.slice(-Math.max(1, Math.floor(c.length / 10)));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const p0 = r.step0?.probeLoss,
    p1 = r.final?.probeLoss;
  return {
    finalLoss: mean(tail),
    meanLoss: mean(c),
    valLoss: r.final?.valLoss ?? null,
    step0ValLoss: r.step0?.valLoss ?? null,
    probeLoss: p1 ?? null,
    step0ProbeLoss: p0 ?? null,
    probeDelta: p0 !== undefined && p1 !== undefined ? p1 - p0 : null,
    trainableParams: r.trainableParams,
    optimizerBytes: r.optimizerBytes,
  };
}

export async function runExperiment(
  gpu: Gpu,
  input: Experiment | ExperimentInput,
  opts: RunExperimentOptions = {},
): Promise<ExperimentOutcome> {
  const experiment = parseExperiment(input);
  const runs = expandExperiment(experiment);
  const fp = fingerprint(experiment);
  if (opts.state && (opts.state.id !== experiment.id || opts.state.fingerprint !== fp))
    throw new ConfigError(
      `the saved queue belongs to ${opts.state.id === experiment.id ? 'another version of this experiment' : `experiment "${opts.state.id}"`}; start it afresh`,
    );
  const state: ExperimentState = opts.state ? structuredClone(opts.state) : emptyState(experiment);
  const hooks = opts.hooks ?? {};
  const cache = new Map<string, Promise<RunInputs>>();
  let stopped = false;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i];
    if (state.results[run.key]) continue;
    hooks.onRunStart?.(run, i, runs.length);
    const result =
      run.kind === 'matrix-fit'
        ? await runFit(gpu, run, hooks)
        : await runTrain(gpu, experiment, run, opts, hooks, cache);
    if (result === 'stopped') {
      stopped = true;
      break;
    }
    state.results[run.key] = result;
    await hooks.onRunEnd?.(result, state);
    if (hooks.stop?.()) {
      stopped = i + 1 < runs.length;
      break;
    }
  }
  const rows = resultRows(runs, state);
  return { experiment, runs, state, rows, verdict: judge(experiment, rows), stopped };
}

function newResult(run: ExpandedRun): RunResult {
  return {
    key: run.key,
    group: run.group,
    lr: run.lr,
    seed: run.seed,
    label: run.label,
    kind: run.kind,
    axes: run.axes,
    status: 'running',
    metrics: {},
    curve: [],
    evals: [],
    wallSeconds: 0,
  };
}

async function runFit(
  gpu: Gpu,
  run: ExpandedRun & { kind: 'matrix-fit' },
  hooks: RunnerHooks,
): Promise<RunResult | 'stopped'> {
  const res = newResult(run);
  const t0 = performance.now();
  try {
    const fit = await fitMatrix(gpu, run.fit, { onStep: (step, rel) => hooks.onStep?.(run, { step, loss: rel }) });
    res.curve = fit.curve;
    res.metrics = {
      fitError: fit.relError,
      optimalError: fit.optimalError,
      trainableParams: fit.params,
      finalLoss: fit.relError,
    };
    res.status = 'done';
  } catch (e) {
    res.status = 'failed';
    res.error = (e as Error).message;
  }
  res.wallSeconds = (performance.now() - t0) / 1000;
  res.metrics.wallSeconds = res.wallSeconds;
  return res;
}

function inputsKey(run: ExpandedRun & { kind: 'train' }): string {
  const c = run.config;
  // built-in text sets ignore the seed; procedural sets draw their training sample from it
  return JSON.stringify([c.model, c.dataset, c.data, c.train.contextLength, c.seed]);
}

async function runTrain(
  gpu: Gpu,
  exp: Experiment,
  run: ExpandedRun & { kind: 'train' },
  opts: RunExperimentOptions,
  hooks: RunnerHooks,
  cache: Map<string, Promise<RunInputs>>,
): Promise<RunResult | 'stopped'> {
  const res = newResult(run);
  const t0 = performance.now();
  const cfg = run.config;
  const key = inputsKey(run);
  let trainer: Trainer | null = null;
  let secondStart: number | null = null;
  try {
    if (!cache.has(key)) {
      cache.clear(); // keep one dataset in memory at a time
      cache.set(key, resolveInputs(cfg, opts.sources));
    }
    const inputs: RunInputs = { ...(await cache.get(key)!), config: cfg };
    trainer = await Trainer.create(gpu, inputs, { memoryBudgetBytes: opts.memoryBudgetBytes });
    const wants = new Set(exp.measure);
    const evalBatches = cfg.eval.batches;
    const evaluate = async (step: number): Promise<EvalPoint> => {
      const p: EvalPoint = { step };
      p.valLoss = await trainer!.evaluate(inputs.data.val, evalBatches);
      if (inputs.data.probe && wants.has('probe'))
        p.probeLoss = await trainer!.evaluate(inputs.data.probe, evalBatches);
      res.evals.push(p);
      return p;
    };
    // Base weights of the targeted matrices, for intruders and extraction (the untouched model:
    // PiSSA-style methods change the trainer's base at init).
    const needBase = wants.has('intruders') || wants.has('extract');
    const base = needBase ? await baseWeights(gpu, inputs, trainer) : null;
    const step0 = await evaluate(0);
    const total = cfg.train.steps;
    while (trainer.step < total) {
      await hooks.pause?.();
      if (hooks.stop?.()) return 'stopped';
      if (hooks.skip?.(run)) {
        res.status = 'skipped';
        break;
      }
      let m: StepMetrics;
      try {
        m = await trainer.trainStep();
      } catch (e) {
        if (e instanceof NonFiniteError) {
          res.status = 'failed';
          res.error = e.message;
          break;
        }
        throw e;
      }
      res.curve.push(m.loss);
      const ev = cfg.eval.every > 0 && m.step % cfg.eval.every === 0 && m.step < total ? await evaluate(m.step) : null;
      hooks.onStep?.(run, { step: m.step, loss: m.loss, valLoss: ev?.valLoss, probeLoss: ev?.probeLoss });
    }
    if (res.status === 'running') {
      const fin = await evaluate(trainer.step);
      const mem = trainer.memory();
      res.metrics = runMetrics({
        curve: res.curve,
        step0,
        final: fin,
        trainableParams: mem.trainableParams,
        optimizerBytes: mem.optimizerState?.total ?? null,
      });
      if (wants.has('intruders') && base) await measureIntruders(gpu, trainer, base, res);
      await measureFinalState(gpu, trainer, inputs, exp, base, res);
      res.status = 'done';
      // last of all, after every other metric is recorded: the second task (it only reads this trainer)
      const second = wants.has('sequential') ? secondTaskOf(exp) : null;
      if (second) {
        secondStart = performance.now();
        const seq = await measureSequential(gpu, trainer, inputs, second, { ...opts, cache });
        Object.assign(res.metrics, seq.metrics);
        res.secondCurve = seq.curve;
        if (seq.error) res.error = seq.error;
      }
    }
  } catch (e) {
    res.status = 'failed';
    res.error = (e as Error).message.replace(/\s*\n\s*/g, '; ');
  } finally {
    trainer?.dispose();
  }
  res.wallSeconds = ((secondStart ?? performance.now()) - t0) / 1000; // the first task's time
  if (res.status === 'done') res.metrics.wallSeconds = res.wallSeconds;
  return res;
}

/** Measurements made on a training run's final state after its last evaluation (not during training). */
export const FINAL_STATE_MEASURES = ['rank-eval', 'extract'] as const;
export type FinalStateMeasure = (typeof FINAL_STATE_MEASURES)[number];

/** What the final-state measurements write into a run's result. */
export type FinalStateResult = Pick<RunResult, 'metrics' | 'rankEval' | 'extract'>;

/**
 * DyLoRA's per-rank evaluation ('rank-eval') and PHLoRA's extraction ('extract') on a trained run's
 * final state. This runner calls it after the last step; the page's worker calls it on the run's final
 * checkpoint restored into a fresh Trainer (src/worker/experiment-measure.ts), so both make the same
 * measurement with this one code. `res.metrics.valLoss` (the run's final validation loss) gives the
 * extraction's gap; `base` (baseWeights, before any training) is needed for 'extract' only.
 */
export async function measureFinalState(
  gpu: Gpu,
  trainer: Trainer,
  inputs: RunInputs,
  exp: Pick<Experiment, 'measure' | 'evalRanks' | 'extractRanks'>,
  base: BaseMatrices | null,
  res: FinalStateResult,
): Promise<void> {
  if (exp.measure.includes('rank-eval')) await measureRanks(trainer, inputs, exp.evalRanks ?? [], res);
  if (exp.measure.includes('extract') && base)
    await measureExtract(gpu, trainer, inputs, base, exp.extractRanks ?? [], res);
}

export interface BaseMatrices {
  names: string[];
  weights: Map<string, Float32Array>; // engine layout (in, out)
  shapes: Map<string, [number, number]>;
}

/** The untouched weights of the run's targeted matrices (a fresh model from the run's files and seed). */
export async function baseWeights(gpu: Gpu, inputs: RunInputs, trainer: Trainer): Promise<BaseMatrices> {
  const cfg = inputs.config;
  const model = createModel(gpu, inputs.modelConfig, inputs.weights, cfg.seed);
  try {
    const names = selectTargets(trainer.model, cfg.targets.modules, cfg.targets.layers).map((l) => `${l.name}.weight`);
    const weights = new Map<string, Float32Array>();
    const shapes = new Map<string, [number, number]>();
    for (const n of names) {
      const p = model.param(n);
      weights.set(n, await gpu.read(p));
      shapes.set(n, [p.shape[0], p.shape[1]]);
    }
    return { names, weights, shapes };
  } finally {
    model.destroy();
  }
}

/** Intruder dimensions of every targeted matrix (merged W vs W0), summed; the same analysis as the page's spectra view. */
async function measureIntruders(gpu: Gpu, trainer: Trainer, base: BaseMatrices, res: RunResult): Promise<void> {
  const a = trainer.inputs.config.analysis;
  const merged = await trainer.method.merged();
  const sweep = new Map(INTRUDER_EPS.map((e) => [e, 0]));
  let count = 0;
  for (const name of base.names) {
    const [rows, cols] = base.shapes.get(name)!;
    const w0 = base.weights.get(name)!;
    const o = asOutIn(w0, rows, cols, 'in-out');
    const r = await analyzeMatrix(gpu, {
      name,
      base: w0,
      tuned: merged.get(name)!,
      rows,
      cols,
      layout: 'in-out',
      baseSvd: computeBaseSvd(o.data, o.M, o.N),
      k: a.k,
      eps: a.eps,
      epsSweep: INTRUDER_EPS,
      tunedMethod: 'exact',
    });
    count += r.intruders.count;
    for (const s of r.intruders.sweep) sweep.set(s.eps, (sweep.get(s.eps) ?? 0) + s.count);
  }
  res.metrics.intruders = count;
  res.intruderSweep = [...sweep].map(([eps, c]) => ({ eps, count: c }));
  for (const s of res.intruderSweep) res.metrics[`intruders@${s.eps}`] = s.count;
}

/** DyLoRA: validation loss at each rank b ≤ r of the one trained adapter. */
async function measureRanks(
  trainer: Trainer,
  inputs: RunInputs,
  ranks: number[],
  res: FinalStateResult,
): Promise<void> {
  const m = trainer.method;
  if (!isDyLoraInstance(m)) return;
  const before = m.evalRank();
  res.rankEval = [];
  for (const b of ranks.filter((x) => x <= m.maxRank)) {
    m.setEvalRank(b);
    const valLoss = await trainer.evaluate(inputs.data.val, inputs.config.eval.batches);
    res.rankEval.push({ rank: b, valLoss });
    res.metrics[`valLoss@r${b}`] = valLoss;
  }
  m.setEvalRank(before);
}

/**
 * PHLoRA (arXiv:2509.10971): after full fine-tuning, truncate each targeted ΔW to rank r by SVD, merge
 * W0 + ΔW_r back and evaluate; energy = Σ_{i<r} σ_i² / Σ σ_i² over all targeted matrices together.
 * Only for methods that train the base weights in place (the trainer's model holds W).
 */
async function measureExtract(
  gpu: Gpu,
  trainer: Trainer,
  inputs: RunInputs,
  base: BaseMatrices,
  ranks: number[],
  res: FinalStateResult,
): Promise<void> {
  if (!getMethod(inputs.config.method.id).trainsBase) return;
  const tuned = new Map<string, Float32Array>();
  const svds = new Map<
    string,
    { U: Float32Array; S: Float64Array; Vt: Float32Array; k: number; M: number; N: number }
  >();
  let totalEnergy = 0;
  for (const name of base.names) {
    const [rows, cols] = base.shapes.get(name)!; // (in, out)
    const w = await gpu.read(trainer.model.param(name));
    tuned.set(name, w);
    const w0 = base.weights.get(name)!;
    const d = new Float32Array(w.length);
    for (let i = 0; i < d.length; i++) d[i] = w[i] - w0[i];
    const o = asOutIn(d, rows, cols, 'in-out'); // (out, in)
    const s = exactSvd(o.data, o.M, o.N);
    svds.set(name, { U: s.U, S: s.S64, Vt: s.Vt, k: s.S64.length, M: o.M, N: o.N }); // U (M, k), Vt (k, N)
    for (const x of s.S64) totalEnergy += x * x;
  }
  res.extract = [];
  try {
    for (const r of ranks) {
      let kept = 0;
      for (const name of base.names) {
        const { U, S, Vt, k, M, N } = svds.get(name)!;
        const rr = Math.min(r, k);
        for (let i = 0; i < rr; i++) kept += S[i] * S[i];
        // W0 + ΔW_r back in the engine layout (in, out): entry (i, o) = Σ_t U[o,t] S[t] Vt[t,i]
        const w0 = base.weights.get(name)!;
        const w = Float32Array.from(w0);
        for (let o = 0; o < M; o++)
          for (let t = 0; t < rr; t++) {
            const u = U[o * k + t] * S[t];
            for (let i = 0; i < N; i++) w[i * M + o] += u * Vt[t * N + i];
          }
        gpu.write(trainer.model.param(name), w);
      }
      const valLoss = await trainer.evaluate(inputs.data.val, inputs.config.eval.batches);
      const energy = totalEnergy > 0 ? kept / totalEnergy : 1;
      res.extract.push({ rank: r, energy, valLoss });
      res.metrics[`energy@r${r}`] = energy;
      res.metrics[`valLoss@r${r}`] = valLoss;
      res.metrics[`valLossGap@r${r}`] = valLoss - (res.metrics.valLoss ?? NaN);
    }
  } finally {
    for (const [name, w] of tuned) gpu.write(trainer.model.param(name), w);
  }
}
