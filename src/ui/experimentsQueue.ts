/**
 * The experiment queue: an experiment's runs execute one after another in the engine worker, each
 * started through the studio's own startRun (so each is a normal run in the runs list, with its
 * history, checkpoints, export and link). The queue's state — which slot became which run, which were
 * skipped, paused or done — is kept in IndexedDB (db.ts `experiments`), so a reload finds it and can
 * resume: the interrupted run continues from its last checkpoint, then the queue goes on.
 *
 * This module owns a small zustand store of its own (experiments, the selected one, an incoming link,
 * the calibration) so the studio's store slices stay untouched.
 */
import { create } from 'zustand';
import type { RunConfig } from '../engine/config';
import type { FitResult } from '../engine/experiments/matrix-fit';
import { secondTaskOf } from '../engine/experiments/schema';
import type { CalibrationReport } from '../worker/protocol';
import { deleteExperiment as dbDelete, getCheckpoint, listExperiments, putExperiment } from './db';
import { engineApi } from './engine';
import { errorText } from './gpuSupport';
import {
  decodeExperimentLink,
  expandForPage,
  finalStateMeasures,
  isExperimentFragment,
  pageRows,
  verdictOf,
  type ExpandedRun,
  type Experiment,
  type PageRow,
  type SlotMeasure,
  type Verdict,
} from './experiments';
import { flushWrites, persist } from './persist';
import { busyRun, pauseRun, resumeFromCheckpoint, resumeRun, sourcesFor, startRun, stopRun } from './runs';
import { ensureRunData } from './runHistory';
import { useStudio } from './store';
import type { RunStatus } from './types';

export type ExperimentStatus = 'running' | 'paused' | 'done' | 'stopped' | 'interrupted';

export interface ExperimentRecord {
  id: string;
  /** The engine's experiment object (src/engine/experiments/schema.ts), as run. */
  experiment: Experiment;
  createdAt: number;
  updatedAt: number;
  status: ExperimentStatus;
  /** Queue slot i (expandExperiment's order) → the run it became (null: not started yet). */
  runIds: (string | null)[];
  /** Matrix fits' results by slot (they have no run in the runs list). */
  fits?: Record<number, FitResult>;
  /** Final-state measurements (DyLoRA ranks, PHLoRA extraction) of finished runs, by slot. */
  measures?: Record<number, SlotMeasure>;
  /** The slot whose final state the worker is measuring now. */
  measuring?: number | null;
  /** Slots the person skipped. */
  skipped: number[];
  /** The slot running now (or that was running when paused/interrupted). */
  current: number | null;
  /** The verdict when the queue finished (the gallery's "last result on this machine"). */
  verdict?: Verdict | null;
  /** The adapter it ran on. */
  adapterName?: string;
  /** The experiment a link opened (it reproduces that one). */
  fromLink?: boolean;
  message?: string;
}

export type Incoming = { ok: true; experiment: Experiment } | { ok: false; error: string };

interface ExperimentsState {
  experiments: Record<string, ExperimentRecord>;
  selectedId: string | null;
  incoming: Incoming | null;
  calibration: (CalibrationReport & { config: string }) | null;
  calibrating: boolean;
}

export const useExperiments = create<ExperimentsState>()(() => ({
  experiments: {},
  selectedId: null,
  incoming: null,
  calibration: null,
  calibrating: false,
}));

const TERMINAL: RunStatus[] = ['done', 'stopped', 'error', 'interrupted'];
/** A skip was asked for this run: its 'stopped' means "next", not "stop the experiment". */
const skipping = new Set<string>();

function put(rec: ExperimentRecord): void {
  const next = { ...rec, updatedAt: Date.now() };
  useExperiments.setState((s) => ({ experiments: { ...s.experiments, [rec.id]: next } }));
  persist(putExperiment(next), 'the experiment');
}

function get(id: string): ExperimentRecord | undefined {
  return useExperiments.getState().experiments[id];
}

function newId(): string {
  const rnd = globalThis.crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `exp-${Date.now().toString(36)}-${rnd}`;
}

export function selectExperiment(id: string | null): void {
  useExperiments.setState({ selectedId: id });
}

/** Queue an experiment's runs and start the first. */
export async function startExperiment(
  experiment: Experiment,
  opts: { fromLink?: boolean } = {},
): Promise<string | null> {
  const st = useStudio.getState();
  const busy = busyRun();
  if (busy) {
    st.notify(`“${busy.name}” is still running: stop it first.`);
    return null;
  }
  if (st.engineTask) {
    st.notify(`The engine is busy (${st.engineTask}): start again when it is done.`);
    return null;
  }
  let n: number;
  try {
    n = expandForPage(experiment).runs.length;
  } catch (e) {
    st.notify(`This experiment cannot run: ${errorText(e)}`);
    return null;
  }
  const now = Date.now();
  const rec: ExperimentRecord = {
    id: newId(),
    experiment,
    createdAt: now,
    updatedAt: now,
    status: 'running',
    runIds: Array.from({ length: n }, () => null),
    skipped: [],
    current: null,
    ...(opts.fromLink ? { fromLink: true } : {}),
  };
  put(rec);
  selectExperiment(rec.id);
  await advance(rec.id);
  return rec.id;
}

/** Start the next slot, or finish. */
async function advance(id: string): Promise<void> {
  const rec = get(id);
  if (!rec || rec.status !== 'running') return;
  // a finished run still without its final-state measurement (DyLoRA ranks, PHLoRA extraction) first
  if (finalStateMeasures(rec.experiment).length) {
    const runs = useStudio.getState().runs;
    const slot = rec.runIds.findIndex(
      (r, i) => r && !r.startsWith('fit:') && runs[r]?.status === 'done' && !rec.measures?.[i],
    );
    if (slot >= 0) {
      await measureSlot(id, slot, rec.runIds[slot]!);
      setTimeout(() => void advance(id), 0);
      return;
    }
  }
  // a fit a reload cut off (its marker but no result) runs again: fits are deterministic and short
  const next = rec.runIds.findIndex(
    (r, i) => (r === null || (r.startsWith('fit:') && !rec.fits?.[i])) && !rec.skipped.includes(i),
  );
  if (next < 0) {
    await finish(id);
    return;
  }
  const { runs, configs } = expandForPage(rec.experiment);
  const config = configs[next];
  if (!config) {
    await runFit(id, next, runs[next]);
    return;
  }
  const runId = await startRun(config, {
    name: `${rec.experiment.id} ${next + 1}/${runs.length} · ${runs[next].label}`.slice(0, 120),
  });
  const cur = get(id)!;
  if (!runId) {
    put({ ...cur, status: 'stopped', current: next, message: `run ${next + 1} could not start` });
    return;
  }
  const runIds = cur.runIds.slice();
  runIds[next] = runId;
  put({
    ...cur,
    runIds,
    current: next,
    message: undefined,
    adapterName: cur.adapterName ?? useStudio.getState().runs[runId]?.adapterName,
  });
}

/** A matrix fit (no model): in the worker, then on to the next slot. */
async function runFit(id: string, slot: number, run: ExpandedRun): Promise<void> {
  const api = engineApi();
  if (!api || run.kind !== 'matrix-fit') return;
  const marker = `fit:${run.key}`;
  let cur = get(id)!;
  put({ ...cur, runIds: cur.runIds.map((r, i) => (i === slot ? marker : r)), current: slot });
  // a fit keeps the worker busy with no active run, like a measurement: Start waits on it
  useStudio.getState().setEngineTask(`Fitting matrix ${run.label}…`);
  try {
    const fit = await api.fitMatrix({ fit: run.fit });
    cur = get(id)!;
    put({ ...cur, fits: { ...(cur.fits ?? {}), [slot]: fit } });
  } catch (e) {
    useStudio.getState().notify(`Matrix fit ${run.label} failed: ${errorText(e)}`);
    cur = get(id)!;
    put({ ...cur, skipped: [...cur.skipped, slot] });
  } finally {
    useStudio.getState().setEngineTask(null);
  }
  setTimeout(() => void advance(id), 0);
}

/**
 * The worker measures a finished run's final state (its last checkpoint, restored) with the engine
 * runner's own code; the result goes into the experiment record (IndexedDB) and the rows judge() sees.
 * A measurement that fails is kept with its reason (the row fails, as in the CLI) and the queue goes on.
 */
async function measureSlot(id: string, slot: number, runId: string): Promise<void> {
  const api = engineApi();
  if (!api) return;
  const rec = get(id)!;
  put({ ...rec, measuring: slot });
  // no run is active meanwhile: the studio's Start (and other experiments) wait on this instead
  useStudio.getState().setEngineTask(`Measuring experiment run ${slot + 1}…`);
  let result: SlotMeasure;
  try {
    const run = useStudio.getState().runs[runId];
    await flushWrites(); // the run's last checkpoint reaches IndexedDB before it is read back
    const ckpt = await getCheckpoint(runId);
    if (!run || !ckpt) throw new Error('the run has no saved checkpoint in this browser');
    const { cmd, missing } = await sourcesFor(run.config);
    if (missing) throw new Error(missing);
    await ensureRunData(runId);
    const valLoss = experimentRows({ ...rec, measures: undefined }, false)[slot]?.metrics.valLoss;
    result = await api.experimentMeasure({
      config: run.config,
      modelFiles: cmd.modelFiles,
      datasetFile: cmd.datasetFile,
      resume: ckpt.resume,
      measure: finalStateMeasures(rec.experiment),
      evalRanks: rec.experiment.evalRanks,
      extractRanks: rec.experiment.extractRanks,
      secondTask: secondTaskOf(rec.experiment) ?? undefined,
      ...(typeof valLoss === 'number' ? { valLoss } : {}),
    });
  } catch (e) {
    result = { metrics: {}, error: `measuring run ${slot + 1}: ${errorText(e)}` };
    useStudio.getState().notify(`Experiment: ${result.error}`);
  } finally {
    useStudio.getState().setEngineTask(null);
  }
  const cur = get(id)!;
  put({ ...cur, measuring: null, measures: { ...(cur.measures ?? {}), [slot]: result } });
}

async function finish(id: string): Promise<void> {
  const rec = get(id);
  if (!rec) return;
  await loadExperimentData(rec);
  const verdict = verdictOf(rec.experiment, experimentRows(get(id)!));
  put({ ...get(id)!, status: 'done', current: null, verdict });
}

/** The engine reported a state for one of our runs: move the queue on when it ended. */
function onRunEnded(rec: ExperimentRecord, runId: string, status: RunStatus): void {
  const slot = rec.runIds.indexOf(runId);
  if (status === 'stopped' && skipping.has(runId)) {
    skipping.delete(runId);
    put({ ...rec, skipped: [...rec.skipped, slot] });
  } else if (status === 'stopped') {
    put({ ...rec, status: 'stopped', message: `stopped during run ${slot + 1}` });
    return;
  } else if (status === 'interrupted') {
    return;
  }
  // 'error' moves on too: the failed run keeps its message in the runs list and the table
  setTimeout(() => void advance(rec.id), 0);
}

export function watchRuns(): () => void {
  // read-only handle for e2e tests and the console, beside window.__rankscope
  (globalThis as unknown as { __rankscopeExperiments?: unknown }).__rankscopeExperiments = useExperiments;
  return useStudio.subscribe((s, prev) => {
    if (s.runs === prev.runs) return;
    for (const rec of Object.values(useExperiments.getState().experiments)) {
      if (rec.status !== 'running' && rec.status !== 'paused') continue;
      const runId = rec.current !== null ? rec.runIds[rec.current] : null;
      if (!runId) continue;
      const now = s.runs[runId]?.status;
      if (now && now !== prev.runs[runId]?.status && TERMINAL.includes(now)) onRunEnded(rec, runId, now);
    }
  });
}

export async function pauseExperiment(id: string): Promise<void> {
  const rec = get(id);
  if (!rec || rec.status !== 'running') return;
  put({ ...rec, status: 'paused' });
  await pauseRun();
}

export async function resumeExperiment(id: string): Promise<void> {
  const rec = get(id);
  if (!rec) return;
  const runId = rec.current !== null ? rec.runIds[rec.current] : null;
  const run = runId ? useStudio.getState().runs[runId] : undefined;
  if (rec.status === 'paused' && run?.status === 'paused') {
    put({ ...rec, status: 'running' });
    await resumeRun();
    return;
  }
  if (busyRun() || useStudio.getState().engineTask) {
    useStudio.getState().notify('Another run is in progress: stop it first.');
    return;
  }
  put({ ...rec, status: 'running', message: undefined });
  if (runId && run && run.status !== 'done' && run.status !== 'error') {
    // the run the reload (or a stop) cut off: continue it from its checkpoint, or start the slot again
    const ckpt = await getCheckpoint(runId).catch(() => undefined);
    if (ckpt) {
      await resumeFromCheckpoint(runId);
      return;
    }
    const runIds = rec.runIds.slice();
    runIds[rec.current!] = null;
    put({ ...get(id)!, runIds });
  }
  await advance(id);
}

/** Stop the run in progress and go on with the next one. */
export async function skipCurrent(id: string): Promise<void> {
  const rec = get(id);
  if (!rec) return;
  const runId = rec.current !== null ? rec.runIds[rec.current] : null;
  const run = runId ? useStudio.getState().runs[runId] : undefined;
  if (runId && run && ['queued', 'preparing', 'running', 'paused'].includes(run.status)) {
    if (rec.status === 'paused') put({ ...rec, status: 'running' });
    skipping.add(runId);
    await stopRun();
    return;
  }
  // nothing running (interrupted or stopped): skip the slot that would run next
  const next = rec.runIds.findIndex((r, i) => (r === null || i === rec.current) && !rec.skipped.includes(i));
  if (next >= 0) put({ ...rec, skipped: [...rec.skipped, next] });
}

export async function stopExperiment(id: string): Promise<void> {
  const rec = get(id);
  if (!rec) return;
  put({ ...rec, status: 'stopped', message: 'stopped by you' });
  const runId = rec.current !== null ? rec.runIds[rec.current] : null;
  if (runId && busyRun()?.id === runId) await stopRun();
}

export async function deleteExperiment(id: string): Promise<void> {
  const rec = get(id);
  if (!rec) return;
  if (rec.status === 'running' || rec.status === 'paused') {
    useStudio.getState().notify('Stop the experiment before deleting it (its runs stay in the runs list).');
    return;
  }
  useExperiments.setState((s) => {
    const experiments = { ...s.experiments };
    delete experiments[id];
    return { experiments, selectedId: s.selectedId === id ? null : s.selectedId };
  });
  persist(dbDelete(id), 'the deletion');
}

// ---- results -----------------------------------------------------------------------------------

export async function loadExperimentData(rec: ExperimentRecord): Promise<void> {
  for (const id of rec.runIds) if (id && !id.startsWith('fit:')) await ensureRunData(id);
}

/**
 * The engine's result rows of an experiment, from its runs' records, metrics and spectra in the store
 * and the final-state measurements in the record (`finalState` false: the rows before them).
 */
export function experimentRows(rec: ExperimentRecord, finalState = true): PageRow[] {
  const st = useStudio.getState();
  const { runs } = expandForPage(rec.experiment);
  const stored = runs.map((_, i) => {
    const id = rec.runIds[i];
    return {
      record: id ? st.runs[id] : undefined,
      metrics: id ? st.metrics[id] : undefined,
      spectra: id ? st.spectra[id]?.latest : undefined,
      skipped: rec.skipped.includes(i),
      fit: rec.fits?.[i],
      measured: rec.measures?.[i],
    };
  });
  return pageRows(runs, stored, rec.runIds, finalState && finalStateMeasures(rec.experiment).length > 0);
}

// ---- history and links ---------------------------------------------------------------------------

/** Experiments from IndexedDB; one that was running when the page went away is marked interrupted. */
export async function loadExperiments(): Promise<void> {
  try {
    const list = await listExperiments();
    const experiments: Record<string, ExperimentRecord> = {};
    for (const e of list) {
      if (!e.experiment) continue; // a record of an older page version
      const live = e.status === 'running' || e.status === 'paused';
      experiments[e.id] = live
        ? { ...e, status: 'interrupted', measuring: null, message: 'interrupted by a reload: resume to continue' }
        : e;
      if (live) persist(putExperiment(experiments[e.id]), 'the experiment');
    }
    useExperiments.setState((s) => ({ experiments: { ...experiments, ...s.experiments } }));
    // the experiment a reload cut off is the one to show (its Resume button continues the queue)
    const cut = Object.values(experiments)
      .filter((e) => e.status === 'interrupted')
      .sort((a, b) => b.updatedAt - a.updatedAt)[0];
    if (cut && !useExperiments.getState().selectedId) selectExperiment(cut.id);
  } catch (e) {
    useStudio.getState().notify(`Experiments are unavailable in this browser (IndexedDB): ${errorText(e)}`);
  }
}

/** An `#exp=` link in the address bar: decode it (one line if it is bad) and show it in the Experiments tab. */
export function openExperimentLink(hash: string): boolean {
  if (!isExperimentFragment(hash)) return false;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  useExperiments.setState({ incoming: decodeExperimentLink(hash) });
  useStudio.getState().setTab('experiments');
  return true;
}

export async function runIncoming(): Promise<void> {
  const inc = useExperiments.getState().incoming;
  if (!inc?.ok) return;
  const id = await startExperiment(inc.experiment, { fromLink: true });
  if (id) useExperiments.setState({ incoming: null });
}

export function dismissIncoming(): void {
  useExperiments.setState({ incoming: null });
}

/** Time one training step of `config` on this adapter (the gallery's estimates); once per config. */
export async function calibrate(config: RunConfig): Promise<void> {
  const key = JSON.stringify(config);
  const s = useExperiments.getState();
  if (s.calibrating || s.calibration?.config === key || busyRun() || useStudio.getState().engineTask) return;
  const api = engineApi();
  if (!api) return;
  useExperiments.setState({ calibrating: true });
  try {
    const r = await api.calibrate({ config, steps: 2 });
    useExperiments.setState({ calibration: { ...r, config: key } });
  } catch (e) {
    useStudio.getState().notify(`Calibration failed: ${errorText(e)}`);
  } finally {
    useExperiments.setState({ calibrating: false });
  }
}
