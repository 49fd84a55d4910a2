/**
 * The page's persistence layer when the browser's storage is full (issue 17 item 7): an IndexedDB
 * QuotaExceededError mid-run keeps the run going (no status change), says so on screen once — naming
 * the last checkpoint that did commit — and leaves that checkpoint as the one a reload resumes from
 * (a failed transaction commits nothing). IndexedDB itself is mocked: this tests our error path.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ResumeState } from '../../src/worker/protocol';

const stored = new Map<string, number>(); // runId → checkpoint step actually committed
let failNext = 0;
vi.mock('../../src/ui/db', () => ({
  writeBatch: vi.fn(async (b: { checkpoints: { runId: string; resume: ResumeState }[] }) => {
    if (failNext > 0) {
      failNext--;
      // what Dexie rejects with when the origin's quota is exhausted
      throw Object.assign(new Error('QuotaExceededError: the quota has been exceeded.'), {
        name: 'QuotaExceededError',
      });
    }
    for (const c of b.checkpoints) stored.set(c.runId, c.resume.step);
  }),
}));

const { useStudio } = await import('../../src/ui/store');
const { queueCheckpoint, queueRun, flushWrites, isQuotaError } = await import('../../src/ui/persist');
const { defaultDraft } = await import('../../src/ui/draft');

const ckpt = (step: number): ResumeState => ({ step, tensors: { w: new Float32Array([step]) } });

describe('IndexedDB quota error mid-run', () => {
  it('keeps the run going, says so once with the kept checkpoint, and keeps that checkpoint', async () => {
    useStudio.getState().upsertRun({
      id: 'q1',
      name: 'q1',
      config: defaultDraft(),
      createdAt: 1,
      updatedAt: 1,
      status: 'running',
      step: 4,
      totalSteps: 20,
      adapterName: 'swiftshader',
      matrices: [],
    });
    queueCheckpoint('q1', ckpt(4));
    await flushWrites();
    expect(stored.get('q1')).toBe(4);
    expect(useStudio.getState().notices).toEqual([]);

    failNext = 2;
    queueCheckpoint('q1', ckpt(8));
    await flushWrites();
    queueRun('q1', true);
    queueCheckpoint('q1', ckpt(12));
    await flushWrites();
    const notices = useStudio.getState().notices;
    expect(notices).toHaveLength(1); // said once, not once per failed flush
    expect(notices[0].text).toMatch(/storage is full/);
    expect(notices[0].text).toMatch(/training continues/);
    expect(notices[0].text).toMatch(/last saved checkpoint \(step 4\) is kept/);
    expect(useStudio.getState().runs.q1.status).toBe('running'); // the run is not stopped
    expect(stored.get('q1')).toBe(4); // the last good checkpoint survives the failed transactions

    // space freed: the next checkpoint commits again
    queueCheckpoint('q1', ckpt(16));
    await flushWrites();
    expect(stored.get('q1')).toBe(16);
  });

  it('recognises the quota error by name, also when Dexie wraps it', () => {
    expect(isQuotaError({ name: 'QuotaExceededError' })).toBe(true);
    expect(isQuotaError({ name: 'AbortError', inner: { name: 'QuotaExceededError' } })).toBe(true);
    expect(isQuotaError(new Error('x'))).toBe(false);
  });
});
