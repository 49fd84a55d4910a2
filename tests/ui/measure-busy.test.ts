/**
 * While the experiments queue has the worker measure a finished run (experimentMeasure: DyLoRA
 * rank-eval), no run is active — yet the engine is busy. The studio treats the measurement like an
 * active run: engineBusy (the selector StartBar reads) gives its reason and startRun refuses, until the
 * measurement ends, whether it succeeds or fails.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/ui/db', async (orig) => ({
  ...(await orig<typeof import('../../src/ui/db')>()),
  putRun: vi.fn(async () => undefined),
  putExperiment: vi.fn(async () => undefined),
  writeBatch: vi.fn(async () => undefined),
  listExperiments: vi.fn(async () => []),
  getCheckpoint: vi.fn(async () => ({ runId: 'x', resume: {}, savedAt: 0 })),
  loadRunData: vi.fn(async () => ({ metrics: [], spectra: [] })),
}));

let settle: { resolve: (v: unknown) => void; reject: (e: unknown) => void } | null = null;
const experimentMeasure = vi.fn(
  () =>
    new Promise((resolve, reject) => {
      settle = { resolve, reject };
    }),
);
const run = vi.fn(async () => undefined);
vi.mock('../../src/ui/engine', () => ({
  engineApi: () => ({ run, experimentMeasure, stop: vi.fn(async () => undefined) }),
  restartEngine: vi.fn(async () => undefined),
  recoverDevice: vi.fn(async () => true),
}));

const { useStudio } = await import('../../src/ui/store');
const { engineBusy, startRun } = await import('../../src/ui/runs');
const { startExperiment, useExperiments, watchRuns } = await import('../../src/ui/experimentsQueue');
const { getPreset } = await import('../../src/engine/experiments/presets');
const { defaultDraft } = await import('../../src/ui/draft');

/** DyLoRA, one variant at one seed: one run, then its rank-eval measurement. */
function oneRun() {
  const p = getPreset('dylora')!;
  return { ...p, seeds: 1, variants: p.variants.slice(0, 1) };
}

const notify = vi.fn();
watchRuns();

describe('an experiment measurement blocks Start like an active run', () => {
  beforeEach(() => {
    settle = null;
    experimentMeasure.mockClear();
    notify.mockClear();
    useStudio.setState({
      engine: 'ready',
      adapter: {
        vendor: 'test',
        architecture: 'test',
        device: '',
        description: '',
        isFallbackAdapter: false,
        features: [],
        limits: {},
      },
      notify,
    } as never);
  });

  it.each([
    ['succeeds', (s: NonNullable<typeof settle>) => s.resolve({ metrics: { 'valLoss@r1': 1 } })],
    ['fails', (s: NonNullable<typeof settle>) => s.reject(new Error('device lost'))],
  ])('Start is blocked while measuring and released when the measurement %s', async (how, end) => {
    const expId = await startExperiment(oneRun());
    expect(expId).toBeTruthy();
    const runId = useExperiments.getState().experiments[expId!].runIds[0]!;
    expect(engineBusy(useStudio.getState())).toBe('A run is in progress.');

    // the run ends: the queue asks the worker to measure it, and no run is active meanwhile
    useStudio.getState().upsertRun({ id: runId, status: 'done' });
    await vi.waitFor(() => expect(experimentMeasure).toHaveBeenCalledTimes(1));
    expect(useExperiments.getState().experiments[expId!].measuring).toBe(0);
    expect(engineBusy(useStudio.getState())).toBe('Measuring experiment run 1…');
    const runsBefore = Object.keys(useStudio.getState().runs).length;
    expect(await startRun(defaultDraft())).toBeNull();
    expect(notify).toHaveBeenCalledWith(expect.stringMatching(/busy \(Measuring experiment run 1…\)/));
    expect(Object.keys(useStudio.getState().runs)).toHaveLength(runsBefore);
    expect(await startExperiment(oneRun())).toBeNull();

    end(settle!);
    await vi.waitFor(() => expect(useExperiments.getState().experiments[expId!].status).toBe('done'));
    const rec = useExperiments.getState().experiments[expId!];
    expect(rec.measuring).toBeNull();
    if (how === 'fails') expect(rec.measures?.[0]?.error).toMatch(/measuring run 1: .*device lost/);
    expect(useStudio.getState().engineTask).toBeNull();
    expect(engineBusy(useStudio.getState())).toBeNull();
    const id = await startRun(defaultDraft());
    expect(id).toBeTruthy();
    useStudio.getState().upsertRun({ id: id!, status: 'done' }); // the next case starts from an idle engine
  });
});
