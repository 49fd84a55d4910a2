/**
 * The experiment runner (src/engine/experiments/runner.ts) on the real GPU (Dawn): the model-free
 * matrix-fit preset at its smoke budget reaches the Eckart–Young optimum's neighbourhood and is
 * deterministic; the queue stops, resumes from its saved state and ends with exactly the results of an
 * uninterrupted run; a skipped run is recorded as skipped and the verdict says too few runs finished; a
 * training preset (micro model, 3 steps) records the step-0 evaluation, per-step losses, parameters and
 * optimizer bytes from the same Trainer as `train`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { testGpu } from '../helpers/gpu';
import { getPreset } from '../../src/engine/experiments/presets';
import { runExperiment, type ExperimentState } from '../../src/engine/experiments/runner';
import { fitMatrix, parseFitConfig } from '../../src/engine/experiments/matrix-fit';
import type { Experiment } from '../../src/engine/experiments/schema';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const flat = (): Experiment => ({ ...getPreset('flat-spectra')!, budget: 'smoke' });

describe('matrix fit on the GPU', () => {
  it('gradient descent approaches the best rank-r fit and repeats bit for bit', async () => {
    const cfg = parseFitConfig({ size: 16, rank: 2, steps: 300, lr: 3e-2, spectrum: 'power-law', adapter: 'lora' });
    const a = await fitMatrix(gpu, cfg);
    const b = await fitMatrix(gpu, cfg);
    expect(a.curve).toEqual(b.curve);
    expect(a.curve[0]).toBeCloseTo(1, 5); // B = 0 at init
    expect(a.relError).toBeGreaterThanOrEqual(a.optimalError - 1e-4);
    expect(a.relError).toBeLessThan(a.optimalError + 0.02);
    expect(a.params).toBe(2 * 16 * 2);
    const k = await fitMatrix(gpu, { ...cfg, adapter: 'kron' });
    expect(k.params).toBe(a.params); // equal parameter count
    expect(k.relError).toBeGreaterThanOrEqual(k.optimalError - 1e-4);
  }, 120_000);
});

describe('the queue', () => {
  it('stops, resumes from its state, and ends with the results of an uninterrupted run', async () => {
    const full = await runExperiment(gpu, flat());
    expect(full.stopped).toBe(false);
    expect(full.rows.every((r) => r.status === 'done')).toBe(true);
    expect([true, false, null]).toContain(full.verdict.holds);

    let saved: ExperimentState | null = null;
    let ended = 0;
    const first = await runExperiment(gpu, flat(), {
      hooks: {
        onRunEnd: (_r, st) => {
          saved = structuredClone(st);
          ended++;
        },
        stop: () => ended >= 2,
      },
    });
    expect(first.stopped).toBe(true);
    expect(Object.keys(first.state.results)).toHaveLength(2);
    expect(first.verdict.inconclusive).toBe('too-few-runs');
    const starts: string[] = [];
    const resumed = await runExperiment(gpu, flat(), {
      state: JSON.parse(JSON.stringify(saved)) as ExperimentState, // as stored in IndexedDB / results.json
      hooks: { onRunStart: (run) => starts.push(run.key) },
    });
    expect(starts).toEqual(full.runs.slice(2).map((r) => r.key));
    const strip = (rows: typeof full.rows) =>
      rows.map((r) => ({ key: r.key, curve: r.curve, fit: r.metrics.fitError }));
    expect(strip(resumed.rows)).toEqual(strip(full.rows));
    expect(resumed.verdict.holds).toBe(full.verdict.holds);
    // a state from another experiment is refused
    await expect(runExperiment(gpu, { ...flat(), seeds: 2 }, { state: resumed.state })).rejects.toThrow(
      /another version of this experiment/,
    );
  }, 180_000);

  it('a skipped run is recorded as skipped; the verdict then lacks runs', async () => {
    const out = await runExperiment(gpu, getPreset('asymmetry')!, {
      hooks: { skip: (run) => run.group === 'B only' },
    });
    const byGroup = Object.fromEntries(out.rows.map((r) => [r.group, r]));
    expect(byGroup['B only'].status).toBe('skipped');
    expect(out.verdict.holds).toBeNull();
    expect(out.verdict.reason).toContain('no finished run for B only');
    const ab = byGroup['A+B'];
    expect(ab.status).toBe('done');
    expect(ab.curve).toHaveLength(3);
    expect(ab.evals[0].step).toBe(0); // the untouched model's evaluation first
    expect(ab.metrics.step0ValLoss).toBe(ab.evals[0].valLoss);
    expect(ab.metrics.trainableParams).toBeGreaterThan(0);
    expect(ab.metrics.optimizerBytes).toBe(8 * ab.metrics.trainableParams!);
  }, 180_000);
});
