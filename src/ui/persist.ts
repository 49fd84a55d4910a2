/**
 * IndexedDB writes, batched and off the event path. Engine events only append to an in-memory
 * buffer; the buffer is written in ONE transaction every FLUSH_MS (or at once after a checkpoint or
 * when a run ends), in its own macrotask. Per-event transactions cost 10–30 ms each on a CPU shared
 * with a software GPU and showed up as long main-thread tasks. A failure becomes one notice.
 */
import type { MetricsBatch, ResumeState, SpectrumSnapshot } from '../worker/protocol';
import { writeBatch, type StoredMetrics, type StoredSpectra } from './db';
import { useStudio } from './store';

const FLUSH_MS = 1000;
/** Notices already shown, by kind: each kind of failure is said once, not once per flush. */
const warned = new Set<string>();
/** The newest checkpoint step that committed, per run: what a reload can resume from. */
const savedCheckpoint = new Map<string, number>();
let metrics: StoredMetrics[] = [];
let spectra: StoredSpectra[] = [];
let runs = new Set<string>();
let checkpoints = new Map<string, ResumeState>();
let timer: ReturnType<typeof setTimeout> | null = null;
let inFlight: Promise<void> = Promise.resolve();

/** A full disk or an exhausted origin quota (Dexie passes the DOMException's name through). */
export function isQuotaError(e: unknown): boolean {
  const x = e as { name?: string; inner?: { name?: string } } | null;
  return x?.name === 'QuotaExceededError' || x?.inner?.name === 'QuotaExceededError';
}

function report(e: unknown, what: string, runIds: string[] = []): void {
  const quota = isQuotaError(e);
  const kind = quota ? 'quota' : what;
  if (warned.has(kind)) return;
  warned.add(kind);
  // A failed transaction commits nothing, so the checkpoint saved before it is still the one a reload uses.
  const kept = runIds
    .map((id) => savedCheckpoint.get(id))
    .filter((s): s is number => s !== undefined)
    .map((s) => `step ${s}`);
  const keptText = kept.length
    ? ` The last saved checkpoint (${kept.join(', ')}) is kept; a reload resumes from there.`
    : ' No checkpoint of this run could be saved yet.';
  useStudio
    .getState()
    .notify(
      quota
        ? `Browser storage is full (quota exceeded): training continues, but new progress is not being saved.${keptText} Delete old runs to free space.`
        : `Could not save ${what} in this browser (IndexedDB): ${(e as Error)?.message ?? String(e)}. Training continues; history may not survive a reload.${keptText}`,
    );
}

function schedule(soon: boolean): void {
  if (soon) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void flushWrites(), 0);
  } else {
    timer ??= setTimeout(() => void flushWrites(), FLUSH_MS);
  }
}

export function queueMetrics(runId: string, batch: MetricsBatch, elapsedMs: number): void {
  metrics.push({ runId, batch, elapsedMs });
  schedule(false);
}

export function queueSpectra(runId: string, snapshots: SpectrumSnapshot[]): void {
  spectra.push({ runId, snapshots });
  schedule(false);
}

/** The run record as it is in the store at flush time. `soon`: write now (state changes). */
export function queueRun(runId: string, soon = false): void {
  runs.add(runId);
  schedule(soon);
}

/** A checkpoint is written promptly, with everything before it, so a reload can resume from it. */
export function queueCheckpoint(runId: string, resume: ResumeState): void {
  checkpoints.set(runId, resume);
  runs.add(runId);
  schedule(true);
}

/** Write the buffer now. Resolves when this and every earlier write has committed. */
export function flushWrites(): Promise<void> {
  if (timer) {
    clearTimeout(timer);
    timer = null;
  }
  if (!metrics.length && !spectra.length && !runs.size && !checkpoints.size) return inFlight;
  const st = useStudio.getState();
  const batch = {
    metrics,
    spectra,
    runs: [...runs].map((id) => st.runs[id]).filter((r): r is NonNullable<typeof r> => !!r),
    checkpoints: [...checkpoints].map(([runId, resume]) => ({ runId, resume })),
  };
  metrics = [];
  spectra = [];
  runs = new Set();
  checkpoints = new Map();
  const ids = [...new Set([...batch.runs.map((r) => r.id), ...batch.checkpoints.map((c) => c.runId)])];
  inFlight = inFlight
    .then(() => writeBatch(batch))
    .then(
      () => {
        for (const c of batch.checkpoints) savedCheckpoint.set(c.runId, c.resume.step);
      },
      (e: unknown) => report(e, 'the run history', ids),
    );
  return inFlight;
}

/** Await a one-off write (start, delete, import), reporting a failure once. */
export function persist(p: Promise<unknown>, what: string): void {
  p.catch((e: unknown) => report(e, what));
}

if (typeof window !== 'undefined') {
  // best effort: a page that goes away writes what it has
  window.addEventListener('pagehide', () => void flushWrites());
}
