/**
 * Experiments on the page (issue 13): the page's side of the engine's experiment object
 * (src/engine/experiments/: schema, presets, expansion, verdict, links). The page runs an experiment's
 * expanded runs one by one through the studio's normal run path (experimentsQueue.ts), so every run is
 * a normal run in the runs list; this file turns what those runs recorded (the store's metrics and
 * spectra) into the engine's result rows — through the engine's own `runMetrics` and `judge`, so the
 * page's table and verdict are the CLI's — and exports them (CSV of every metric, JSON).
 *
 * Loaded lazily (the Experiments tab's chunk): it imports the adapter registry through the engine.
 */
import type { RunConfig } from '../engine/config';
import { decodeExperiment, experimentFragment } from '../engine/experiments/link';
import { FINAL_STATE_MEASURES, INTRUDER_EPS, runMetrics, type RunResult } from '../engine/experiments/runner';
import { expandExperiment, type ExpandedRun, type Experiment } from '../engine/experiments/schema';
import { judge, type RunRow, type Verdict } from '../engine/experiments/verdict';
import type { FitResult } from '../engine/experiments/matrix-fit';
import type { ExperimentMeasureResult, PageMeasure, SpectrumSnapshot } from '../worker/protocol';
import type { RunMetrics } from './store/runData';
import type { RunRecord } from './types';

export type { Experiment, ExpandedRun, Verdict };

/** Measurements the page's run path cannot make yet (the CLI's runner makes them). */
const CLI_ONLY: Record<string, string> = {};

/**
 * Measurements the page makes after a run finishes, on its final checkpoint in the worker
 * (experimentMeasure → the engine runner's measureFinalState, then sequential.ts): DyLoRA's per-rank
 * evaluation, PHLoRA's extraction, the sequential two-task forgetting. The experiment's runs of it each
 * get one such call before the queue moves on.
 */
export function finalStateMeasures(exp: Experiment): PageMeasure[] {
  return [...FINAL_STATE_MEASURES, 'sequential' as const].filter((m) => exp.measure.includes(m));
}

/** Why the page cannot run this experiment yet (null: it can). */
export function pageLimitation(exp: Experiment): string | null {
  const m = exp.measure.find((x) => CLI_ONLY[x]);
  return m ? `${CLI_ONLY[m]} runs in the CLI only for now (npm run cli -- experiment run ${exp.id})` : null;
}

/**
 * The config the page trains for one expanded run: the engine's config, plus the evaluations the
 * engine's runner makes outside `eval.every` (step 0 and the end) and a spectra snapshot at the end when
 * intruders are measured. Evaluation and analysis are forward-only: the training losses are the same.
 */
export function pageConfig(exp: Experiment, run: ExpandedRun & { kind: 'train' }): RunConfig {
  const c = structuredClone(run.config);
  const wantsEval = exp.measure.includes('val') || exp.measure.includes('probe');
  if (wantsEval && c.eval.every === 0) c.eval = { ...c.eval, every: c.train.steps };
  if (exp.measure.includes('intruders') && c.analysis.every === 0) c.analysis = { ...c.analysis, every: c.train.steps };
  return c;
}

/**
 * Every run of the experiment in the engine's order, with the config the page trains for each training
 * run (null for a matrix fit: those run in the worker with no model and are not runs in the runs list).
 */
export function expandForPage(exp: Experiment): { runs: ExpandedRun[]; configs: (RunConfig | null)[] } {
  const runs = expandExperiment(exp);
  return { runs, configs: runs.map((r) => (r.kind === 'train' ? pageConfig(exp, r) : null)) };
}

/** What the studio's store holds for one run (null: not started). */
export interface StoredRun {
  record: RunRecord | undefined;
  metrics: RunMetrics | undefined;
  spectra: Record<string, SpectrumSnapshot> | undefined;
  skipped: boolean;
  /** A matrix fit's result (kind 'matrix-fit'). */
  fit?: FitResult;
  /** The final-state measurement of a finished run (absent: not made yet). */
  measured?: SlotMeasure;
}

/** What the worker measured on one run's final state, or why it could not. */
export type SlotMeasure = ExperimentMeasureResult & { error?: string };

export interface PageRow extends RunRow, Partial<Pick<RunResult, 'rankEval' | 'extract' | 'secondCurve' | 'error'>> {
  label: string;
  runId: string | null;
  curve: number[];
}

/**
 * One engine result row per expanded run, from the page's run data (metrics through runMetrics). With
 * `finalState` (the experiment measures rank-eval / extract) a finished run counts as done once its
 * final-state measurement is there: until then it is still running, and a measurement that failed fails
 * the run, as in the CLI's runner.
 */
export function pageRows(
  runs: ExpandedRun[],
  stored: StoredRun[],
  runIds: (string | null)[],
  finalState = false,
): PageRow[] {
  return runs.map((run, i) => {
    const s = stored[i];
    const base = { key: run.key, group: run.group, lr: run.lr, seed: run.seed, label: run.label, runId: runIds[i] };
    if (s?.fit) {
      const f = s.fit;
      const metrics = {
        fitError: f.relError,
        optimalError: f.optimalError,
        trainableParams: f.params,
        finalLoss: f.relError,
        wallSeconds: f.seconds,
      };
      return { ...base, status: 'done', metrics, curve: f.curve.slice() };
    }
    const status = s?.record?.status;
    if (s?.skipped) return { ...base, status: 'skipped', metrics: {}, curve: s.metrics?.losses.slice() ?? [] };
    if (status === 'error') return { ...base, status: 'failed', metrics: {}, curve: s.metrics?.losses.slice() ?? [] };
    if (status !== 'done' || !s.metrics)
      return {
        ...base,
        status: status && status !== 'stopped' && status !== 'interrupted' ? 'running' : 'pending',
        metrics: {},
        curve: s?.metrics?.losses.slice() ?? [],
      };
    const m = s.metrics;
    const evals = [...m.evals.points, ...(m.evals.last ? [m.evals.last] : [])];
    const at = (step: number) => {
      const e = evals.find((p) => p.step === step);
      return e ? { step, valLoss: fin(e.valLoss), probeLoss: fin(e.probeLoss) } : null;
    };
    const rec = s.record!;
    const metrics = runMetrics({
      curve: m.losses,
      step0: at(0),
      final: at(m.lastStep),
      trainableParams: rec.memory?.trainableParams ?? null,
      optimizerBytes: rec.memory?.optimizerState?.total ?? null,
    });
    const snaps = Object.values(s.spectra ?? {}).filter((x) => x.step === m.lastStep);
    if (snaps.length) {
      metrics.intruders = snaps.reduce((a, x) => a + x.intruders.count, 0);
      for (const eps of INTRUDER_EPS) {
        const counts = snaps.map((x) => x.intruders.sweep.find((p) => Math.abs(p.eps - eps) < 1e-9)?.count);
        if (counts.every((c) => c !== undefined)) metrics[`intruders@${eps}`] = counts.reduce((a, c) => a! + c!, 0)!;
      }
    }
    const secs = (rec.summary as { seconds?: number } | undefined)?.seconds;
    if (typeof secs === 'number') metrics.wallSeconds = secs;
    const curve = m.losses.slice();
    if (!finalState) return { ...base, status: 'done', metrics, curve };
    const fs = s.measured;
    if (!fs) return { ...base, status: 'running', metrics: {}, curve };
    if (fs.error) return { ...base, status: 'failed', metrics: {}, curve, error: fs.error };
    return {
      ...base,
      status: 'done',
      metrics: { ...metrics, ...fs.metrics },
      curve,
      ...(fs.rankEval ? { rankEval: fs.rankEval } : {}),
      ...(fs.extract ? { extract: fs.extract } : {}),
      ...(fs.secondCurve ? { secondCurve: fs.secondCurve } : {}),
      // the second task failed: the run's own results stand, the reason goes with them (as in the CLI)
      ...(fs.sequentialError ? { error: fs.sequentialError } : {}),
    };
  });
}

function fin(v: number | undefined): number | undefined {
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

export function verdictOf(exp: Experiment, rows: PageRow[]): Verdict {
  return judge(exp, rows);
}

// ---- the results table: mean ± spread over seeds --------------------------------------------------

export interface GroupSummary {
  group: string;
  lr: number;
  n: number;
  mean: Record<string, number | null>;
  /** max − min across seeds, as the verdict's seed-spread rule uses it. */
  spread: Record<string, number | null>;
}

/** Metrics the table shows first, when measured. */
export const TABLE_METRICS = [
  'valLoss',
  'fitError',
  'optimalError',
  'probeLoss',
  'probeDelta',
  'finalLoss',
  'meanLoss',
  'intruders',
  'trainableParams',
  'optimizerBytes',
  'wallSeconds',
];

export function metricColumns(rows: PageRow[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r.metrics)) if (v !== null) seen.add(k);
  return [...TABLE_METRICS.filter((m) => seen.has(m)), ...[...seen].filter((m) => !TABLE_METRICS.includes(m)).sort()];
}

export function groupSummaries(rows: PageRow[]): GroupSummary[] {
  const groups = new Map<string, PageRow[]>();
  for (const r of rows) {
    if (r.status !== 'done') continue;
    const k = `${r.group}\u0000${r.lr}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const mean: Record<string, number | null> = {};
    const spread: Record<string, number | null> = {};
    for (const m of metricColumns(rs)) {
      const v = rs.map((r) => r.metrics[m]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      mean[m] = v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
      spread[m] = v.length ? Math.max(...v) - Math.min(...v) : null;
    }
    return { group: rs[0].group, lr: rs[0].lr, n: rs.length, mean, spread };
  });
}

// ---- export ---------------------------------------------------------------------------------------------

function csvCell(v: unknown): string {
  const s = v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per run with every metric measured, then one row per (run, step) with the exact train loss. */
export function resultsCsv(rows: PageRow[]): string {
  const cols = metricColumns(rows);
  const out = [['run', 'key', 'group', 'lr', 'seed', 'status', 'run_id', ...cols].map(csvCell).join(',')];
  rows.forEach((r, i) =>
    out.push(
      [i + 1, r.key, r.group, r.lr, r.seed, r.status, r.runId, ...cols.map((c) => r.metrics[c])].map(csvCell).join(','),
    ),
  );
  out.push('', 'run,step,loss');
  rows.forEach((r, i) => r.curve.forEach((l, s) => out.push(`${i + 1},${s + 1},${csvCell(l)}`)));
  return out.join('\n') + '\n';
}

export function resultsJson(exp: Experiment, rows: PageRow[], verdict: Verdict): string {
  return JSON.stringify(
    {
      format: 'rankscope-experiment-result',
      version: 1,
      experiment: exp,
      link: experimentFragment(exp),
      verdict,
      groups: groupSummaries(rows),
      runs: rows,
    },
    (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    1,
  );
}

// ---- links ------------------------------------------------------------------------------------------------

/** `#experiment=…` — the engine's link format, which the CLI's `experiment run <link>` also reads. */
export function isExperimentFragment(hash: string): boolean {
  return /^#?experiment=/.test(hash);
}

export function experimentLink(baseUrl: string, exp: Experiment): string {
  return `${baseUrl.split('#')[0]}${experimentFragment(exp)}`;
}

/** Decode a location hash; never throws: a bad link is one line for the person. */
export function decodeExperimentLink(
  hash: string,
): { ok: true; experiment: Experiment } | { ok: false; error: string } {
  try {
    return { ok: true, experiment: decodeExperiment(hash) };
  } catch (e) {
    return { ok: false, error: ((e as Error)?.message ?? String(e)).split('\n')[0] };
  }
}

// ---- time estimate ----------------------------------------------------------------------------------------

/** Seconds the page should take, from one calibration (ms per step, per evaluation, per preparation). */
export function estimateSeconds(
  configs: (RunConfig | null)[],
  cal: { prepareMs: number; stepMs: number; evalMs: number },
): number {
  let ms = 0;
  for (const c of configs) {
    if (!c) {
      ms += 2000; // a matrix fit (no model): about two seconds — not calibrated, a rough figure
      continue;
    }
    const evals = c.eval.every > 0 ? Math.floor(c.train.steps / c.eval.every) + 2 : 0;
    ms += cal.prepareMs + c.train.steps * cal.stepMs + evals * cal.evalMs;
  }
  return ms / 1000;
}
