/**
 * IndexedDB persistence (dexie): runs (the record), their metric batches and spectra snapshots as
 * they arrived, the newest checkpoint per run (to resume after a reload), and the bytes of local
 * model/dataset files by content hash (so a reload or a reproduction need not ask for them again).
 *
 * Every call is best-effort from the studio's point of view: a failed write is reported once as a
 * notice and never stops training (a private window may refuse IndexedDB altogether).
 */
import Dexie, { type Table } from 'dexie';
import type { MetricsBatch, ResumeState, SpectrumSnapshot } from '../worker/protocol';
import type { RunRecord } from './types';
import type { ExperimentRecord } from './experimentsQueue';

export interface StoredMetrics {
  id?: number;
  runId: string;
  batch: MetricsBatch;
  elapsedMs: number;
}

export interface StoredSpectra {
  id?: number;
  runId: string;
  snapshots: SpectrumSnapshot[];
}

export interface StoredCheckpoint {
  runId: string;
  step: number;
  savedAt: number;
  resume: ResumeState;
}

export interface StoredBlob {
  sha256: string;
  name: string;
  kind: 'model' | 'dataset';
  bytes: Uint8Array;
  savedAt: number;
}

/** Files above this size are not kept: the person picks them again. */
export const MAX_BLOB_BYTES = 64 * 1024 * 1024;

class RankscopeDb extends Dexie {
  runs!: Table<RunRecord, string>;
  metrics!: Table<StoredMetrics, number>;
  spectra!: Table<StoredSpectra, number>;
  checkpoints!: Table<StoredCheckpoint, string>;
  blobs!: Table<StoredBlob, string>;
  experiments!: Table<ExperimentRecord, string>;

  constructor(name: string) {
    super(name);
    this.version(1).stores({
      runs: 'id, createdAt',
      metrics: '++id, runId',
      spectra: '++id, runId',
      checkpoints: 'runId',
      blobs: 'sha256',
    });
    // v2 (issue 13): experiments — the spec, which run each queue slot became, and the queue's state.
    // A new table only: existing stores keep their data (Dexie adds the table on open).
    this.version(2).stores({ experiments: 'id, createdAt' });
  }
}

let db: RankscopeDb | null = null;

export function getDb(): RankscopeDb {
  db ??= new RankscopeDb('rankscope');
  return db;
}

export async function listRuns(): Promise<RunRecord[]> {
  return getDb().runs.orderBy('createdAt').toArray();
}

export async function putRun(r: RunRecord): Promise<void> {
  await getDb().runs.put(r);
}

export async function addMetrics(runId: string, batch: MetricsBatch, elapsedMs: number): Promise<void> {
  await getDb().metrics.add({ runId, batch, elapsedMs });
}

export async function addSpectra(runId: string, snapshots: SpectrumSnapshot[]): Promise<void> {
  await getDb().spectra.add({ runId, snapshots });
}

export async function loadRunData(runId: string): Promise<{ metrics: StoredMetrics[]; spectra: StoredSpectra[] }> {
  const d = getDb();
  const [metrics, spectra] = await Promise.all([
    d.metrics.where('runId').equals(runId).toArray(),
    d.spectra.where('runId').equals(runId).toArray(),
  ]);
  metrics.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  spectra.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  return { metrics, spectra };
}

/** Everything buffered since the last flush, in one transaction (one commit instead of dozens). */
export async function writeBatch(b: {
  metrics: StoredMetrics[];
  spectra: StoredSpectra[];
  runs: RunRecord[];
  checkpoints: { runId: string; resume: ResumeState }[];
}): Promise<void> {
  const d = getDb();
  await d.transaction('rw', [d.runs, d.metrics, d.spectra, d.checkpoints], async () => {
    if (b.runs.length) await d.runs.bulkPut(b.runs);
    if (b.metrics.length) await d.metrics.bulkAdd(b.metrics);
    if (b.spectra.length) await d.spectra.bulkAdd(b.spectra);
    for (const c of b.checkpoints)
      await d.checkpoints.put({ runId: c.runId, step: c.resume.step, savedAt: Date.now(), resume: c.resume });
  });
}

export async function putCheckpoint(runId: string, resume: ResumeState): Promise<void> {
  await getDb().checkpoints.put({ runId, step: resume.step, savedAt: Date.now(), resume });
}

export async function getCheckpoint(runId: string): Promise<StoredCheckpoint | undefined> {
  return getDb().checkpoints.get(runId);
}

export async function deleteRun(runId: string): Promise<void> {
  const d = getDb();
  await d.transaction('rw', [d.runs, d.metrics, d.spectra, d.checkpoints], async () => {
    await d.runs.delete(runId);
    await d.metrics.where('runId').equals(runId).delete();
    await d.spectra.where('runId').equals(runId).delete();
    await d.checkpoints.delete(runId);
  });
}

/** Replace a run's stored data wholesale (import). */
export async function replaceRun(
  r: RunRecord,
  metrics: StoredMetrics[],
  spectra: StoredSpectra[],
  checkpoint?: StoredCheckpoint,
): Promise<void> {
  const d = getDb();
  await d.transaction('rw', [d.runs, d.metrics, d.spectra, d.checkpoints], async () => {
    await d.metrics.where('runId').equals(r.id).delete();
    await d.spectra.where('runId').equals(r.id).delete();
    await d.runs.put(r);
    for (const m of metrics) await d.metrics.add({ runId: r.id, batch: m.batch, elapsedMs: m.elapsedMs });
    for (const s of spectra) await d.spectra.add({ runId: r.id, snapshots: s.snapshots });
    if (checkpoint) await d.checkpoints.put({ ...checkpoint, runId: r.id });
  });
}

export async function putBlob(b: Omit<StoredBlob, 'savedAt'>): Promise<boolean> {
  if (b.bytes.byteLength > MAX_BLOB_BYTES) return false;
  await getDb().blobs.put({ ...b, savedAt: Date.now() });
  return true;
}

export async function getBlob(sha256: string): Promise<StoredBlob | undefined> {
  return getDb().blobs.get(sha256);
}

export async function listExperiments(): Promise<ExperimentRecord[]> {
  return getDb().experiments.orderBy('createdAt').toArray();
}

export async function putExperiment(e: ExperimentRecord): Promise<void> {
  await getDb().experiments.put(e);
}

export async function deleteExperiment(id: string): Promise<void> {
  await getDb().experiments.delete(id);
}
