/**
 * Samples are kept with their run (issue 16): streamed 'generating' events fill the live view of the
 * run they name, 'generated' stores the sample (with its sampling settings) in the run record, newest
 * first and capped, and the record with its samples goes to IndexedDB (so a reload shows them again).
 */
import { describe, expect, it, vi } from 'vitest';

const writeBatch = vi.fn(async (_b: { runs: { id: string; samples?: unknown[] }[] }) => undefined);
vi.mock('../../src/ui/db', () => ({
  putRun: vi.fn(async () => undefined),
  getCheckpoint: vi.fn(async () => undefined),
  writeBatch,
}));

const { useStudio } = await import('../../src/ui/store');
const { applyEngineEvent } = await import('../../src/ui/store/actions');
const { MAX_SAMPLES } = await import('../../src/ui/store/runsSlice');
const { flushWrites } = await import('../../src/ui/persist');
const { defaultDraft } = await import('../../src/ui/draft');
const { generatableRuns } = await import('../../src/ui/components/GenerateTab');

function newRun(id: string, extra: Record<string, unknown> = {}) {
  return useStudio.getState().upsertRun({
    id,
    name: id,
    config: defaultDraft(),
    createdAt: Date.now(),
    updatedAt: Date.now(),
    status: 'done',
    step: 4,
    totalSteps: 4,
    adapterName: 'swiftshader',
    matrices: [],
    ...extra,
  })!;
}

describe('generation samples', () => {
  it('stream into the named run, are stored with it (settings too), newest first, capped, and saved', async () => {
    newRun('a', { checkpointStep: 4 });
    newRun('b');
    const settings = { maxTokens: 8, temperature: 0.7, topK: 5, topP: 0.9, seed: 2 };
    useStudio.getState().setLiveGeneration({
      runId: 'a',
      prompt: 'Hi',
      base: '',
      tuned: '',
      side: 'base',
      tokens: 0,
      maxTokens: 8,
      settings,
    });
    applyEngineEvent({
      type: 'generating',
      runId: 'a',
      prompt: 'Hi',
      side: 'base',
      text: 'x',
      tokens: 1,
      maxTokens: 8,
    });
    applyEngineEvent({
      type: 'generating',
      runId: 'a',
      prompt: 'Hi',
      side: 'tuned',
      text: 'y',
      tokens: 1,
      maxTokens: 8,
    });
    const live = useStudio.getState().liveGeneration!;
    expect([live.runId, live.base, live.tuned, live.side]).toEqual(['a', 'x', 'y', 'tuned']);
    applyEngineEvent({ type: 'generated', runId: 'a', prompt: 'Hi', base: 'xx', tuned: 'yy', cancelled: true });
    expect(useStudio.getState().liveGeneration).toBeNull();
    const s = useStudio.getState().runs.a.samples!;
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ runId: 'a', prompt: 'Hi', base: 'xx', tuned: 'yy', cancelled: true, settings });
    expect(useStudio.getState().runs.b.samples).toBeUndefined();

    await flushWrites();
    const saved = writeBatch.mock.calls.flatMap((c) => c[0].runs).filter((r) => r.id === 'a');
    expect(saved.at(-1)!.samples).toHaveLength(1);

    for (let i = 0; i < MAX_SAMPLES + 3; i++)
      applyEngineEvent({ type: 'generated', runId: 'a', prompt: `p${i}`, base: '', tuned: '' });
    const all = useStudio.getState().runs.a.samples!;
    expect(all).toHaveLength(MAX_SAMPLES);
    expect(all[0].prompt).toBe(`p${MAX_SAMPLES + 2}`);
    expect(new Set(all.map((g) => g.id)).size).toBe(MAX_SAMPLES); // distinct keys for the list

    // only runs with a tuned model to load are offered: the engine's, or one with a checkpoint
    const runs = Object.values(useStudio.getState().runs);
    expect(generatableRuns(runs, null).map((r) => r.id)).toEqual(['a']);
    expect(
      generatableRuns(runs, 'b')
        .map((r) => r.id)
        .sort(),
    ).toEqual(['a', 'b']);
  });
});
