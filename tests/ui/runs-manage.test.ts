/** Run management: names say what differs, search matches every word, rename persists and ignores blanks. */
import { describe, expect, it, vi } from 'vitest';

const putRun = vi.fn(async () => undefined);
vi.mock('../../src/ui/db', () => ({
  putRun,
  listRuns: vi.fn(async () => []),
  deleteRun: vi.fn(async () => undefined),
}));

const { useStudio } = await import('../../src/ui/store');
const { renameRun } = await import('../../src/ui/runs');
const { runMatches } = await import('../../src/ui/components/RunsList');
const { defaultDraft, runName, setIn } = await import('../../src/ui/draft');

const config = setIn(setIn(defaultDraft(), 'method.id', 'pissa'), 'train.lr', 3e-4);
const record = {
  id: 'r1',
  name: runName(config),
  config,
  createdAt: 1,
  updatedAt: 1,
  status: 'done' as const,
  step: 40,
  totalSteps: 40,
  adapterName: 'x',
  matrices: [],
};

describe('run management', () => {
  it('default names carry method, lr and steps', () => {
    expect(record.name).toBe('pissa · lr 3e-4 · 40 steps · brown-news · micro · seed 0');
  });
  it('search matches all words across name, method, model and dataset', () => {
    expect(runMatches(record, 'pissa brown')).toBe(true);
    expect(runMatches(record, 'PISSA micro')).toBe(true);
    expect(runMatches(record, 'lora')).toBe(false);
    expect(runMatches(record, '')).toBe(true);
  });
  it('rename updates the record and saves it; a blank name is ignored', () => {
    useStudio.getState().upsertRun(record);
    renameRun('r1', '  PiSSA baseline  ');
    expect(useStudio.getState().runs.r1.name).toBe('PiSSA baseline');
    expect(putRun).toHaveBeenCalledTimes(1);
    renameRun('r1', '   ');
    expect(useStudio.getState().runs.r1.name).toBe('PiSSA baseline');
    expect(putRun).toHaveBeenCalledTimes(1);
  });
});
