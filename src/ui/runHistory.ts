/**
 * Run history: the runs stored in IndexedDB, loaded into the store on demand (a run's metrics and
 * spectra once, `ensureRunData`), renamed and deleted. Run control (start, pause, resume, stop,
 * reproduce, generate, analyze) is ./runs.ts; this module talks to no engine and applies no engine
 * events, so ./reproduce.ts and the store's actions can use it without an import cycle.
 */
import { deleteRun as dbDeleteRun, listRuns, loadRunData, putRun } from './db';
import { errorText } from './gpuSupport';
import { persist } from './persist';
import { applyMetricsBatch, applySpectra, emptyMetrics, emptySpectra } from './store/runData';
import { useStudio } from './store';
import type { RunRecord, RunStatus } from './types';

const ACTIVE: RunStatus[] = ['queued', 'preparing', 'running', 'paused'];

export function isActive(r: RunRecord | undefined | null): boolean {
  return !!r && ACTIVE.includes(r.status);
}

const loaded = new Set<string>();

/** A run created in this page has all its data in the store already: nothing to load. */
export function markRunLoaded(runId: string): void {
  loaded.add(runId);
}

/** Load a run's metrics and spectra from IndexedDB into the store (once). */
export async function ensureRunData(runId: string): Promise<void> {
  if (loaded.has(runId)) return;
  loaded.add(runId);
  try {
    const { metrics, spectra } = await loadRunData(runId);
    let m = emptyMetrics();
    for (const row of metrics) m = applyMetricsBatch(m, row.batch, row.elapsedMs);
    let s = emptySpectra();
    for (const row of spectra) s = applySpectra(s, row.snapshots);
    // events that arrived while loading (a live run) are newer than the stored ones
    const cur = useStudio.getState();
    const live = cur.metrics[runId];
    if (live && live.lastStep > m.lastStep) return;
    cur.setRunData(runId, { metrics: m, spectra: s });
    if (!cur.matrix) {
      const names = Object.keys(s.latest);
      if (names.length) cur.setMatrix(names[0]);
    }
  } catch (e) {
    loaded.delete(runId);
    useStudio.getState().notify(`Could not load the run's history: ${errorText(e)}`);
  }
}

/** Runs from IndexedDB; runs that were active when the page went away are marked interrupted. */
export async function loadHistory(): Promise<void> {
  const st = useStudio.getState();
  try {
    const runs = await listRuns();
    for (const r of runs) {
      if (st.runs[r.id]) continue;
      const rec: RunRecord = ACTIVE.includes(r.status)
        ? { ...r, status: 'interrupted', message: `interrupted at step ${r.step} (the page was closed or reloaded)` }
        : r;
      useStudio.getState().upsertRun(rec);
      if (rec.status !== r.status) persist(putRun(useStudio.getState().runs[r.id]!), 'the run');
    }
    const all = Object.values(useStudio.getState().runs).sort((a, b) => b.createdAt - a.createdAt);
    if (!useStudio.getState().selectedRunId && all.length) {
      useStudio.getState().selectRun(all[0].id);
      await ensureRunData(all[0].id);
    }
  } catch (e) {
    st.notify(`Run history is unavailable in this browser (IndexedDB): ${errorText(e)}`);
  } finally {
    useStudio.getState().setHistoryLoaded();
  }
}

export async function selectRun(runId: string): Promise<void> {
  useStudio.getState().selectRun(runId);
  await ensureRunData(runId);
}

/** Rename a run (trimmed, at most 120 characters; an empty name is ignored). */
export function renameRun(runId: string, name: string): void {
  const clean = name.trim().slice(0, 120);
  if (!clean) return;
  const rec = useStudio.getState().upsertRun({ id: runId, name: clean });
  if (rec) persist(putRun(rec), 'the new name');
}

export async function deleteRun(runId: string): Promise<void> {
  const st = useStudio.getState();
  if (isActive(st.runs[runId]) && st.engineRunId === runId) {
    st.notify('Stop the run before deleting it.');
    return;
  }
  st.removeRunLocal(runId);
  loaded.delete(runId);
  persist(dbDeleteRun(runId), 'the deletion');
}
