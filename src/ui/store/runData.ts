/**
 * Pure reducers from engine events to the per-run data the views draw: metrics (downsampled series
 * plus the exact per-step losses), spectra (latest snapshot per matrix plus bounded history).
 * Immutable at the top level (a new object per update, so React sees the change); the exact loss
 * list is an append-only array shared between versions, never rewritten in place except when a
 * resume truncates it.
 */
import type { MetricsBatch, SpectrumSnapshot } from '../../worker/protocol';
import { appendDecimated, emptySeries, truncateSeries, type Decimated } from '../series';
import { deltaIsZero } from '../deltaZero';

export interface TrainPoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
}

export interface EvalPoint {
  step: number;
  valLoss: number;
  probeLoss: number;
}

export interface RunMetrics {
  train: Decimated<TrainPoint>;
  evals: Decimated<EvalPoint>;
  /** Exact train loss of every step: losses[i] is step i+1. The reproduction check compares these. */
  losses: number[];
  lastStep: number;
  /** Step at which this session's timing started (0, or the resume step) and its elapsed time. */
  sessionStartStep: number;
  elapsedMs: number;
  /** The latest value of each method figure (MetricsBatch.extra: LoRA-Pro's ‖g̃ − G‖ …), by name. */
  extra?: Record<string, number>;
}

export function emptyMetrics(): RunMetrics {
  return {
    train: emptySeries<TrainPoint>(1024),
    evals: emptySeries<EvalPoint>(512),
    losses: [],
    lastStep: 0,
    sessionStartStep: 0,
    elapsedMs: 0,
  };
}

/** Structure-of-arrays batch → points; steps at or before an already-seen step truncate first. */
export function applyMetricsBatch(m: RunMetrics, batch: MetricsBatch, elapsedMs?: number): RunMetrics {
  const n = batch.step.length;
  if (n === 0) return elapsedMs === undefined ? m : { ...m, elapsedMs };
  let cur = m;
  const first = batch.step[0];
  if (first <= cur.lastStep) cur = truncateMetrics(cur, first - 1);
  const train: TrainPoint[] = [];
  const evals: EvalPoint[] = [];
  const losses = cur.losses;
  let lastStep = cur.lastStep;
  for (let i = 0; i < n; i++) {
    const step = batch.step[i];
    const v = batch.valLoss[i];
    const p = batch.probeLoss[i];
    if (step === 0) {
      // the step-0 evaluation of the untouched model: an eval point only (no train loss before step 1)
      if (Number.isFinite(v) || Number.isFinite(p)) evals.push({ step, valLoss: v, probeLoss: p });
      continue;
    }
    if (step <= lastStep) continue; // out of order within a batch: ignore, never reorder history
    const loss = batch.loss[i];
    train.push({ step, loss, lr: batch.lr[i], gradNorm: batch.gradNorm[i], tokensPerSec: batch.tokensPerSec[i] });
    if (Number.isFinite(v) || Number.isFinite(p)) evals.push({ step, valLoss: v, probeLoss: p });
    // keep the index = step − 1 invariant even if the engine skipped a step
    while (losses.length < step - 1) losses.push(NaN);
    losses[step - 1] = loss;
    lastStep = step;
  }
  let extra = cur.extra;
  for (const [k, col] of Object.entries(batch.extra ?? {}))
    for (let i = n - 1; i >= 0; i--)
      if (Number.isFinite(col[i])) {
        extra = { ...extra, [k]: col[i] };
        break;
      }
  return {
    ...cur,
    train: appendDecimated(cur.train, train),
    evals: appendDecimated(cur.evals, evals),
    losses,
    lastStep,
    elapsedMs: elapsedMs ?? cur.elapsedMs,
    ...(extra ? { extra } : {}),
  };
}

export function truncateMetrics(m: RunMetrics, step: number): RunMetrics {
  const losses = m.losses.slice(0, Math.max(0, step));
  return {
    ...m,
    train: truncateSeries(m.train, step),
    evals: truncateSeries(m.evals, step),
    losses,
    lastStep: Math.min(m.lastStep, step),
  };
}

/** Rough time left, from this session's pace (a resumed run restarts the clock). */
export function etaMs(m: RunMetrics, totalSteps: number): number | null {
  const done = m.lastStep - m.sessionStartStep;
  if (done <= 0 || m.elapsedMs <= 0 || totalSteps <= m.lastStep) return totalSteps <= m.lastStep && done > 0 ? 0 : null;
  return (m.elapsedMs / done) * (totalSteps - m.lastStep);
}

// ---- spectra ---------------------------------------------------------------------------------------

export interface SpectraPoint {
  step: number;
  name: string;
  erank: number;
  stableRank: number;
  deltaErank: number;
  deltaStableRank: number;
  alpha: number;
  /** Intruders at the run's own ε (the engine's count). */
  intruders: number;
  /** max |cos| of each top-k tuned vector against W0's: the count at any ε (the slider) is #{maxCos < ε}. */
  maxCos?: Float32Array;
}

/** Intruders of a history point at threshold `eps` (the ε slider); the engine's own count without maxCos. */
export function intrudersAt(h: SpectraPoint, eps: number): number {
  if (!h.maxCos) return h.intruders;
  let n = 0;
  for (const c of h.maxCos) if (c < eps) n++;
  return n;
}

export interface RunSpectra {
  /** Newest snapshot of each matrix, by name. */
  latest: Record<string, SpectrumSnapshot>;
  history: SpectraPoint[];
  lastStep: number;
}

const MAX_SPECTRA_HISTORY = 8192;

export function emptySpectra(): RunSpectra {
  return { latest: {}, history: [], lastStep: 0 };
}

export function applySpectra(s: RunSpectra, snapshots: readonly SpectrumSnapshot[]): RunSpectra {
  if (snapshots.length === 0) return s;
  const latest = { ...s.latest };
  let history = s.history.slice();
  let lastStep = s.lastStep;
  for (const snap of snapshots) {
    const prev = latest[snap.name];
    if (!prev || prev.step <= snap.step) latest[snap.name] = snap;
    // an on-demand analysis of an already-recorded (step, matrix) replaces the point
    history = history.filter((h) => !(h.step === snap.step && h.name === snap.name));
    history.push({
      step: snap.step,
      name: snap.name,
      erank: snap.erank,
      stableRank: snap.stableRank,
      // ranks of a ΔW that is rounding noise are not drawn (a gap, not a fake collapse): deltaZero.ts
      deltaErank: deltaIsZero(snap) ? NaN : snap.deltaErank,
      deltaStableRank: deltaIsZero(snap) ? NaN : snap.deltaStableRank,
      alpha: snap.alpha,
      intruders: snap.intruders.count,
      maxCos: snap.intruders.maxCos,
    });
    lastStep = Math.max(lastStep, snap.step);
  }
  history.sort((a, b) => a.step - b.step || cmp(a.name, b.name));
  if (history.length > MAX_SPECTRA_HISTORY) history = history.slice(history.length - MAX_SPECTRA_HISTORY);
  return { latest, history, lastStep };
}

/**
 * Code-unit string order. Not localeCompare: its first call loads ICU collation data, a 50–70 ms
 * main-thread stall measured in the middle of a training run (matrix names are ASCII anyway).
 */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Intruders at threshold ε: top-k singular vectors of the tuned W whose best cosine with any base vector is below ε. */
export function intruderIndices(snap: SpectrumSnapshot, eps: number): number[] {
  const out: number[] = [];
  const mc = snap.intruders.maxCos;
  for (let i = 0; i < mc.length; i++) if (mc[i] < eps) out.push(i);
  return out;
}

/** "h.3.attn.c_attn" → { layer: 3, module: "attn.c_attn" } (null layer for names without "h.<n>."). */
export function splitMatrixName(name: string): { layer: number | null; module: string } {
  const m = /^h\.(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), module: m[2] } : { layer: null, module: name };
}
