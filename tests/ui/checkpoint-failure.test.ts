/**
 * A checkpoint that cannot reach the page (issue 17 item 1) must show on the run, not only in the
 * console: the worker's runner emits an 'error' event ("checkpoint failed at step N: …", with the
 * step) and then the 'error' state with the same message (tests/worker/runner.test.ts checks that
 * side). Here, the page's side: the events as the worker sends them, in that order, leave the run
 * with status "error", the message naming the step, a notice on screen — and a later 'done' summary
 * from the same run cannot turn it back into "done".
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/ui/db', () => ({
  putRun: vi.fn(async () => undefined),
  writeBatch: vi.fn(async () => undefined),
  putCheckpoint: vi.fn(async () => undefined),
}));

const { useStudio } = await import('../../src/ui/store');
const { applyEngineEvent } = await import('../../src/ui/store/actions');
const { defaultDraft } = await import('../../src/ui/draft');

describe('checkpoint failure on the page', () => {
  it('the run says "checkpoint failed at step 3", status error, with a notice', () => {
    useStudio.getState().upsertRun({
      id: 'c1',
      name: 'c1',
      config: defaultDraft(),
      createdAt: 1,
      updatedAt: 1,
      status: 'running',
      step: 3,
      totalSteps: 20,
      adapterName: 'swiftshader',
      matrices: [],
    });
    const message =
      'checkpoint failed at step 3: DataCloneError: ArrayBuffer at index 2 is already detached and could not be cloned.';
    applyEngineEvent({ type: 'error', runId: 'c1', step: 3, error: { name: 'Error', kind: 'internal', message } });
    applyEngineEvent({ type: 'state', runId: 'c1', state: 'error', step: 3, message });
    const run = useStudio.getState().runs.c1;
    expect(run.status).toBe('error');
    expect(run.step).toBe(3);
    expect(run.error?.message).toMatch(/^checkpoint failed at step 3/);
    expect(run.message).toMatch(/^checkpoint failed at step 3/);
    expect(useStudio.getState().notices.map((n) => n.text)).toContainEqual(
      expect.stringMatching(/Run stopped: checkpoint failed at step 3/),
    );
    // a stray summary does not make a failed run look finished
    applyEngineEvent({ type: 'done', runId: 'c1', summary: { steps: 3 } });
    expect(useStudio.getState().runs.c1.status).toBe('error');
  });
});
