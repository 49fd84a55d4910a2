/**
 * Module-level actions (zustand "practice with no store actions"): the engine's events enter the
 * store here, so the worker client needs no React hooks. Metric batches are coalesced and applied
 * at most every FLUSH_MS, so the charts re-render a few times a second, not once per event, and
 * every batch is also appended to IndexedDB as it arrives.
 */
import { hubProgress } from '../hub';
import type { EngineEvent, MetricsBatch, MemoryReport } from '../../worker/protocol';
import { classifyError } from '../gpuSupport';
import { queueCheckpoint, queueMetrics, queueRun, queueSpectra } from '../persist';
import { checkReproduction } from '../reproduce';
import { applyMetricsBatch, applySpectra, emptyMetrics, emptySpectra } from './runData';
import { useStudio } from './index';
import type { RunRecord } from '../types';

const FLUSH_MS = 250;

/** "h.0.attn.c_attn.weight" and "h.0.attn.c_attn" name the same matrix. */
export function matrixKey(name: string): string {
  return name.replace(/\.weight$/, '');
}

const pending = new Map<string, { batches: MetricsBatch[]; elapsedMs: number; memory?: MemoryReport }>();
let flushTimer: ReturnType<typeof setTimeout> | null = null;

/** Apply buffered metric batches now (called on a timer and before any state change of a run). */
export function flushMetrics(): void {
  if (flushTimer) {
    clearTimeout(flushTimer);
    flushTimer = null;
  }
  if (pending.size === 0) return;
  const st = useStudio.getState();
  for (const [runId, p] of pending) {
    let m = st.metrics[runId] ?? emptyMetrics();
    for (const b of p.batches) m = applyMetricsBatch(m, b);
    m = { ...m, elapsedMs: p.elapsedMs };
    st.setRunData(runId, { metrics: m });
    const run = st.runs[runId];
    if (run) st.upsertRun({ id: runId, step: Math.max(m.lastStep, 0), ...(p.memory ? { memory: p.memory } : {}) });
  }
  pending.clear();
}

function scheduleFlush(): void {
  flushTimer ??= setTimeout(flushMetrics, FLUSH_MS);
}

/** Save the run record with the next write (`soon`: in the next task, for state changes). */
function saveRun(id: string, soon = false): void {
  queueRun(id, soon);
}

export function applyEngineEvent(e: EngineEvent): void {
  const st = useStudio.getState();
  switch (e.type) {
    case 'ready':
      st.setEngine('ready', { adapter: e.adapter, problem: null });
      return;
    case 'state': {
      if (!st.runs[e.runId]) return;
      flushMetrics();
      const status = e.state;
      // a state without a message clears the previous one ("resuming from step 6" must not outlive the resume)
      st.upsertRun({ id: e.runId, status, step: Math.max(e.step, 0), message: e.message });
      saveRun(e.runId, true);
      if (status === 'done') void checkReproduction(e.runId);
      return;
    }
    case 'prepared':
      if (!st.runs[e.runId]) return;
      st.upsertRun({
        id: e.runId,
        totalSteps: e.totalSteps,
        memory: e.memory,
        modelHash: e.modelHash,
        datasetHash: e.datasetHash,
        // snapshots name matrices without the ".weight" suffix; keep one vocabulary in the studio
        matrices: e.matrices.map(matrixKey),
        ...(e.rankAllocation ? { rankAllocation: e.rankAllocation } : {}),
      });
      if (!st.matrix && e.matrices.length) st.setMatrix(matrixKey(e.matrices[0]));
      saveRun(e.runId);
      return;
    case 'metrics': {
      if (!st.runs[e.runId]) return;
      const p = pending.get(e.runId) ?? { batches: [], elapsedMs: 0 };
      p.batches.push(e.batch);
      p.elapsedMs = e.elapsedMs;
      if (e.memory) p.memory = e.memory;
      pending.set(e.runId, p);
      queueMetrics(e.runId, e.batch, e.elapsedMs);
      scheduleFlush();
      saveRun(e.runId);
      return;
    }
    case 'spectra': {
      if (!st.runs[e.runId]) return;
      st.setRunData(e.runId, { spectra: applySpectra(st.spectra[e.runId] ?? emptySpectra(), e.snapshots) });
      if (!st.matrix && e.snapshots.length) st.setMatrix(e.snapshots[0].name);
      queueSpectra(e.runId, e.snapshots);
      return;
    }
    case 'checkpoint':
      if (!st.runs[e.runId]) return;
      flushMetrics(); // the record written with the checkpoint carries the steps before it
      st.upsertRun({ id: e.runId, checkpointStep: e.resume.step });
      queueCheckpoint(e.runId, e.resume);
      return;
    case 'generating': {
      const runId = e.runId ?? st.liveGeneration?.runId ?? st.engineRunId ?? '';
      const prev =
        st.liveGeneration?.prompt === e.prompt && st.liveGeneration.runId === runId ? st.liveGeneration : null;
      st.setLiveGeneration({
        runId,
        prompt: e.prompt,
        base: e.side === 'base' ? e.text : (prev?.base ?? ''),
        tuned: e.side === 'tuned' ? e.text : '',
        side: e.side,
        tokens: e.tokens,
        maxTokens: e.maxTokens,
        ...(prev?.settings ? { settings: prev.settings } : {}),
      });
      return;
    }
    case 'generated': {
      // kept with its run (RunRecord.samples), so the sample is there again after a reload
      const runId = e.runId ?? st.liveGeneration?.runId ?? st.engineRunId;
      const settings = st.liveGeneration?.settings;
      st.setLiveGeneration(null);
      const sample = { prompt: e.prompt, base: e.base, tuned: e.tuned, ...(e.cancelled ? { cancelled: true } : {}) };
      if (runId && st.addGeneration(runId, settings ? { ...sample, settings } : sample)) saveRun(runId, true);
      return;
    }
    case 'download':
      hubProgress(e.spec, e.progress);
      return;
    case 'done':
      // The run's end; its final status (done or stopped) follows as a 'state' event.
      if (!st.runs[e.runId]) return;
      flushMetrics();
      st.upsertRun({ id: e.runId, summary: e.summary });
      saveRun(e.runId);
      return;
    case 'error': {
      const p = classifyError(e.error);
      if (p.kind === 'device-lost') st.setDeviceLost(e.error);
      if (e.runId && st.runs[e.runId]) {
        flushMetrics();
        const patch: Partial<RunRecord> & { id: string } = { id: e.runId, status: 'error', error: e.error };
        if (e.step !== undefined) patch.step = e.step;
        st.upsertRun(patch);
        saveRun(e.runId, true);
        if (p.kind !== 'device-lost') st.notify(`Run stopped: ${e.error.message}`);
        return;
      }
      // Before the engine is ready, init()'s rejection decides the page; after, it's a notice.
      if (st.engine === 'ready' && p.kind !== 'device-lost') st.notify(e.error.message);
      return;
    }
  }
}
