/**
 * Engine events → store, the way the page receives them (no DOM, IndexedDB mocked): run lifecycle,
 * batched metrics, spectra, checkpoints, errors, a lost device, and the reproduction verdict.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/ui/db', () => ({
  putRun: vi.fn(async () => undefined),
  addMetrics: vi.fn(async () => undefined),
  addSpectra: vi.fn(async () => undefined),
  putCheckpoint: vi.fn(async () => undefined),
  loadRunData: vi.fn(async () => ({ metrics: [], spectra: [] })),
  listRuns: vi.fn(async () => []),
  getCheckpoint: vi.fn(async () => undefined),
  deleteRun: vi.fn(async () => undefined),
  getBlob: vi.fn(async () => undefined),
  putBlob: vi.fn(async () => true),
  writeBatch: vi.fn(async () => undefined),
}));

const { useStudio } = await import('../../src/ui/store');
const { applyEngineEvent, flushMetrics } = await import('../../src/ui/store/actions');
const { defaultDraft } = await import('../../src/ui/draft');
const { lossFingerprint } = await import('../../src/ui/share');
const { batch, snapshot } = await import('./fixtures');
const { reproKey, sameLosses } = await import('../../src/ui/reproduce');

const config = defaultDraft();
function newRun(id: string, extra: Record<string, unknown> = {}) {
  useStudio.getState().upsertRun({
    id,
    name: id,
    config,
    createdAt: Date.now(),
    updatedAt: Date.now(),
    status: 'queued',
    step: 0,
    totalSteps: 20,
    adapterName: 'google swiftshader',
    matrices: [],
    ...extra,
  });
}

describe('engine events into the store', () => {
  beforeEach(() => {
    for (const id of Object.keys(useStudio.getState().runs)) useStudio.getState().removeRunLocal(id);
  });

  it('a run from prepared to done', async () => {
    newRun('r1');
    applyEngineEvent({ type: 'state', runId: 'r1', state: 'preparing', step: 0 });
    applyEngineEvent({
      type: 'prepared',
      runId: 'r1',
      totalSteps: 20,
      modelHash: 'a'.repeat(64),
      datasetHash: 'b'.repeat(64),
      matrices: ['h.0.attn.c_attn', 'h.1.attn.c_attn'],
      memory: {
        weights: 1,
        gradients: 2,
        optimizer: 3,
        activations: 4,
        adapter: 5,
        analysis: 6,
        scratch: 7,
        total: 28,
        trainableParams: 10,
        totalParams: 100,
      },
    });
    applyEngineEvent({ type: 'state', runId: 'r1', state: 'running', step: 0 });
    applyEngineEvent({ type: 'metrics', runId: 'r1', batch: batch(1, 10, undefined, 5), elapsedMs: 500 });
    applyEngineEvent({ type: 'metrics', runId: 'r1', batch: batch(11, 20, undefined, 5), elapsedMs: 1000 });
    flushMetrics();
    applyEngineEvent({ type: 'spectra', runId: 'r1', snapshots: [snapshot('h.0.attn.c_attn', 20, [0.9, 0.1])] });
    applyEngineEvent({ type: 'checkpoint', runId: 'r1', resume: { step: 20, tensors: {} } });
    applyEngineEvent({ type: 'done', runId: 'r1', summary: { steps: 20 } });
    applyEngineEvent({ type: 'state', runId: 'r1', state: 'done', step: 20 });
    const s = useStudio.getState();
    const r = s.runs.r1;
    expect(r.status).toBe('done');
    expect(r.step).toBe(20);
    expect(r.modelHash).toBe('a'.repeat(64));
    expect(r.matrices.length).toBe(2);
    expect(r.checkpointStep).toBe(20);
    expect(r.summary).toEqual({ steps: 20 });
    expect(s.metrics.r1.losses.length).toBe(20);
    expect(s.metrics.r1.elapsedMs).toBe(1000);
    expect(s.spectra.r1.latest['h.0.attn.c_attn'].intruders.count).toBe(1);
    expect(s.matrix).toBe('h.0.attn.c_attn');
  });

  it('metric batches are coalesced until flushed', () => {
    newRun('r2');
    applyEngineEvent({ type: 'metrics', runId: 'r2', batch: batch(1, 3), elapsedMs: 10 });
    expect(useStudio.getState().metrics.r2.losses.length).toBe(0);
    flushMetrics();
    expect(useStudio.getState().metrics.r2.losses.length).toBe(3);
  });

  it('events for unknown runs change nothing', () => {
    applyEngineEvent({ type: 'metrics', runId: 'ghost', batch: batch(1, 3), elapsedMs: 10 });
    applyEngineEvent({ type: 'state', runId: 'ghost', state: 'running', step: 1 });
    flushMetrics();
    expect(useStudio.getState().runs.ghost).toBeUndefined();
    expect(useStudio.getState().metrics.ghost).toBeUndefined();
  });

  it('a run error is kept on the run and shown as a notice', () => {
    newRun('r3');
    applyEngineEvent({
      type: 'error',
      runId: 'r3',
      step: 4,
      error: {
        name: 'HashMismatchError',
        kind: 'internal',
        message: 'dataset "x": this run needs data with sha256 aaa',
      },
    });
    const s = useStudio.getState();
    expect(s.runs.r3.status).toBe('error');
    expect(s.runs.r3.error?.message).toMatch(/sha256/);
    expect(s.notices.at(-1)?.text).toMatch(/sha256/);
  });

  it('a lost device sets the banner state and keeps the history', () => {
    newRun('r4');
    applyEngineEvent({ type: 'metrics', runId: 'r4', batch: batch(1, 5), elapsedMs: 10 });
    flushMetrics();
    applyEngineEvent({
      type: 'error',
      runId: 'r4',
      error: { name: 'GpuDeviceLostError', kind: 'device-lost', message: 'GPU device lost (unknown): gone' },
    });
    const s = useStudio.getState();
    expect(s.deviceLost?.kind).toBe('device-lost');
    expect(s.metrics.r4.losses.length).toBe(5);
    expect(s.runs.r4.status).toBe('error');
  });

  it('reproduction: fingerprint and peer comparison', async () => {
    const losses = Array.from(batch(1, 20).loss);
    const fp = await lossFingerprint(losses, 'google swiftshader');
    newRun('orig', { status: 'done' });
    newRun('copy', { reproduces: { fingerprint: fp } });
    for (const id of ['orig', 'copy']) {
      applyEngineEvent({ type: 'metrics', runId: id, batch: batch(1, 20), elapsedMs: 10 });
      flushMetrics();
    }
    useStudio.getState().upsertRun({ id: 'orig', status: 'done' });
    applyEngineEvent({ type: 'state', runId: 'copy', state: 'done', step: 20 });
    await vi.waitFor(() => expect(useStudio.getState().runs.copy.reproduction).toBeDefined());
    const rep = useStudio.getState().runs.copy.reproduction!;
    expect(rep.match).toBe(true);
    expect(rep.detail).toMatch(/bit-identical to the shared run/);
    expect(rep.detail).toMatch(/identical to “orig”/);
  });

  it('sameLosses is exact (float32) and reproKey ignores names and hashes', () => {
    expect(sameLosses([1, 2, 3], [1, 2, 3]).equal).toBe(true);
    expect(sameLosses([1, 2, 3], [1, 2, 3.0000002])).toEqual({ equal: false, firstDiff: 3 });
    expect(sameLosses([1, 2], [1, 2, 3])).toEqual({ equal: false, firstDiff: 3 });
    expect(sameLosses([NaN], [NaN]).equal).toBe(true);
    const a = { ...config, name: 'a', dataset: { ...config.dataset, hash: 'c'.repeat(64) } };
    expect(reproKey(a)).toBe(reproKey({ ...config, name: 'b' }));
    expect(reproKey({ ...config, seed: 1 })).not.toBe(reproKey(config));
  });
});
