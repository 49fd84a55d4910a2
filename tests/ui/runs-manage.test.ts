/**
 * Run management: names say what differs, search matches every word, rename persists and ignores blanks,
 * tags are cleaned and saved, and the list filters by method, model, dataset and tag.
 */
import { describe, expect, it, vi } from 'vitest';

const putRun = vi.fn(async () => undefined);
vi.mock('../../src/ui/db', () => ({
  putRun,
  listRuns: vi.fn(async () => []),
  deleteRun: vi.fn(async () => undefined),
}));

const { useStudio } = await import('../../src/ui/store');
const { renameRun } = await import('../../src/ui/runHistory');
const { runMatches, filterRuns, filterOptions, NO_FILTER } = await import('../../src/ui/components/RunsList');
const { addTag, removeTag, cleanTags } = await import('../../src/ui/runTags');
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
  it('tags: cleaned (trim, no duplicates, length and count caps), added by comma list, removed, saved', () => {
    expect(cleanTags(['  a  b ', 'A B', '', 'x'.repeat(40)])).toEqual(['a b', 'x'.repeat(32)]);
    expect(cleanTags(Array.from({ length: 20 }, (_, i) => `t${i}`))).toHaveLength(12);
    useStudio.getState().upsertRun(record);
    const before = putRun.mock.calls.length;
    addTag('r1', 'baseline, paper-fig-2');
    addTag('r1', 'Baseline');
    expect(useStudio.getState().runs.r1.tags).toEqual(['baseline', 'paper-fig-2']);
    removeTag('r1', 'baseline');
    expect(useStudio.getState().runs.r1.tags).toEqual(['paper-fig-2']);
    expect(putRun.mock.calls.length).toBe(before + 3);
  });
  it('filters by method, model, dataset and tag, all at once; search also finds tags', () => {
    const other = {
      ...record,
      id: 'r2',
      tags: ['sweep'],
      config: setIn(setIn(defaultDraft(), 'dataset.id', 'brown-fiction'), 'model.id', 'gpt2'),
    };
    const runs = [{ ...record, tags: ['paper'] }, other];
    const ids = (f: Partial<typeof NO_FILTER>) => filterRuns(runs, { ...NO_FILTER, ...f }).map((r) => r.id);
    expect(ids({})).toEqual(['r1', 'r2']);
    expect(ids({ method: 'pissa' })).toEqual(['r1']);
    expect(ids({ model: 'gpt2' })).toEqual(['r2']);
    expect(ids({ dataset: 'brown-news' })).toEqual(['r1']);
    expect(ids({ tag: 'sweep' })).toEqual(['r2']);
    expect(ids({ tag: 'sweep', method: 'pissa' })).toEqual([]);
    expect(ids({ query: 'paper' })).toEqual(['r1']);
    expect(filterOptions(runs)).toEqual({
      method: [...new Set(runs.map((r) => r.config.method.id))].sort(),
      model: [...new Set(runs.map((r) => r.config.model.id))].sort(),
      dataset: ['brown-fiction', 'brown-news'],
      tag: ['paper', 'sweep'],
    });
  });
});
