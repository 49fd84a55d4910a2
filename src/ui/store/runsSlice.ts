/**
 * Runs slice: every run this browser knows (from IndexedDB and this session), their metrics and
 * spectra, the generation streaming now, which run is shown, which runs are compared, and which one the
 * engine holds.
 */
import type { StateCreator } from 'zustand';
import type { Generation, RunRecord } from '../types';
import { emptyMetrics, emptySpectra, type RunMetrics, type RunSpectra } from './runData';
import type { StudioState } from './index';

export interface RunsSlice {
  runs: Record<string, RunRecord>;
  metrics: Record<string, RunMetrics>;
  spectra: Record<string, RunSpectra>;
  /** The generation streaming now: each side's text so far (null when none is running). */
  liveGeneration: LiveGeneration | null;
  selectedRunId: string | null;
  /** The run whose model the engine holds (trained or training) — generation and analysis use it. */
  engineRunId: string | null;
  /**
   * A worker call that holds the engine without being a run (the experiment queue measuring a finished
   * run's final state): a short reason, e.g. "Measuring experiment run 2…". Start waits while it is set.
   */
  engineTask: string | null;
  compareIds: string[];
  historyLoaded: boolean;
  upsertRun(patch: Partial<RunRecord> & { id: string }): RunRecord | null;
  setRunData(id: string, data: { metrics?: RunMetrics; spectra?: RunSpectra }): void;
  /** Keep a finished generation with its run (newest first, at most MAX_SAMPLES). */
  addGeneration(runId: string, g: Omit<Generation, 'id' | 'at' | 'runId'>): RunRecord | null;
  setLiveGeneration(g: LiveGeneration | null): void;
  selectRun(id: string | null): void;
  setEngineRun(id: string | null): void;
  setEngineTask(task: string | null): void;
  toggleCompare(id: string): void;
  /** Compare exactly these runs (a comparison link), at most 8. */
  setCompare(ids: string[]): void;
  removeRunLocal(id: string): void;
  setHistoryLoaded(): void;
}

export interface LiveGeneration {
  runId: string;
  prompt: string;
  base: string;
  tuned: string;
  side: 'base' | 'tuned';
  tokens: number;
  maxTokens: number;
  /** The sampling settings asked for (stored with the sample). */
  settings?: Generation['settings'];
}

export const MAX_SAMPLES = 20;

export const createRunsSlice: StateCreator<StudioState, [], [], RunsSlice> = (set, get) => ({
  runs: {},
  metrics: {},
  spectra: {},
  liveGeneration: null,
  selectedRunId: null,
  engineRunId: null,
  engineTask: null,
  compareIds: [],
  historyLoaded: false,
  upsertRun: (patch) => {
    const prev = get().runs[patch.id];
    if (!prev && !patch.config) return null; // a patch for a run we never created (stale event)
    const next = { ...(prev ?? ({} as RunRecord)), ...patch, updatedAt: Date.now() } as RunRecord;
    set((s) => ({
      runs: { ...s.runs, [patch.id]: next },
      metrics: s.metrics[patch.id] ? s.metrics : { ...s.metrics, [patch.id]: emptyMetrics() },
      spectra: s.spectra[patch.id] ? s.spectra : { ...s.spectra, [patch.id]: emptySpectra() },
    }));
    return next;
  },
  setRunData: (id, data) =>
    set((s) => ({
      metrics: data.metrics ? { ...s.metrics, [id]: data.metrics } : s.metrics,
      spectra: data.spectra ? { ...s.spectra, [id]: data.spectra } : s.spectra,
    })),
  addGeneration: (runId, g) => {
    const run = get().runs[runId];
    if (!run) return null;
    const at = Date.now();
    const id = Math.max(at, ...(run.samples ?? []).map((x) => x.id + 1));
    const samples = [{ ...g, runId, id, at }, ...(run.samples ?? [])].slice(0, MAX_SAMPLES);
    return get().upsertRun({ id: runId, samples });
  },
  setLiveGeneration: (liveGeneration) => set({ liveGeneration }),
  selectRun: (selectedRunId) => set({ selectedRunId }),
  setEngineRun: (engineRunId) => set({ engineRunId }),
  setEngineTask: (engineTask) => set({ engineTask }),
  toggleCompare: (id) =>
    set((s) => ({
      compareIds: s.compareIds.includes(id) ? s.compareIds.filter((x) => x !== id) : [...s.compareIds, id].slice(-8),
    })),
  setCompare: (ids) => set((s) => ({ compareIds: [...new Set(ids)].filter((id) => s.runs[id]).slice(-8) })),
  removeRunLocal: (id) =>
    set((s) => {
      const runs = { ...s.runs };
      const metrics = { ...s.metrics };
      const spectra = { ...s.spectra };
      delete runs[id];
      delete metrics[id];
      delete spectra[id];
      return {
        runs,
        metrics,
        spectra,
        compareIds: s.compareIds.filter((x) => x !== id),
        selectedRunId: s.selectedRunId === id ? null : s.selectedRunId,
        engineRunId: s.engineRunId === id ? null : s.engineRunId,
      };
    }),
  setHistoryLoaded: () => set({ historyLoaded: true }),
});
