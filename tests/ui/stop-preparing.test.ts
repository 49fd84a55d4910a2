/**
 * Stop while a run prepares (issue 19 item 2, page side): the worker may be inside one long synchronous
 * call (tokenizing) and unable to answer; after 2 s without an answer the page ends the worker, starts
 * a fresh one and marks the run stopped. A worker that answers is never restarted.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const putRun = vi.fn(async () => undefined);
vi.mock('../../src/ui/db', () => ({
  putRun,
  listRuns: vi.fn(async () => []),
  deleteRun: vi.fn(async () => undefined),
}));
let stopAnswers = false;
const stop = vi.fn(() => (stopAnswers ? Promise.resolve() : new Promise<void>(() => {})));
const restartEngine = vi.fn(async () => undefined);
vi.mock('../../src/ui/engine', () => ({
  engineApi: () => ({ stop }),
  restartEngine,
  recoverDevice: vi.fn(async () => true),
}));

const { useStudio } = await import('../../src/ui/store');
const { stopRun } = await import('../../src/ui/runs');
const { defaultDraft } = await import('../../src/ui/draft');

function preparing(): void {
  const st = useStudio.getState();
  st.upsertRun({
    id: 'r1',
    name: 'r1',
    config: defaultDraft(),
    createdAt: 1,
    updatedAt: 1,
    status: 'preparing',
    step: 0,
    totalSteps: 10,
    adapterName: 'x',
    matrices: [],
  });
  st.setEngineRun('r1');
}

describe('Stop during preparation', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    stop.mockClear();
    restartEngine.mockClear();
  });

  it('a worker stuck in a synchronous call is restarted and the run marked stopped', async () => {
    stopAnswers = false;
    preparing();
    const done = stopRun();
    await vi.advanceTimersByTimeAsync(2000);
    await done;
    expect(stop).toHaveBeenCalledTimes(1);
    expect(restartEngine).toHaveBeenCalledTimes(1);
    const r = useStudio.getState().runs.r1!;
    expect(r.status).toBe('stopped');
    expect(r.message).toMatch(/stopped while preparing/);
  });

  it('a worker that answers takes the Stop itself: no restart', async () => {
    stopAnswers = true;
    preparing();
    await stopRun();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(restartEngine).not.toHaveBeenCalled();
    expect(useStudio.getState().runs.r1!.status).toBe('preparing'); // the worker's 'state' event says stopped
  });
});
