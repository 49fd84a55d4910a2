/**
 * Sequential two-task forgetting (src/engine/experiments/sequential.ts, the 'sequential' measurement):
 * the `secondTask` field's validation (bad values refused in one line naming the field, budget
 * overrides, the run's own dataset refused), its link round trip, and the sequential-forgetting preset
 * at its smoke budget on the GPU: task 2 moves task 1's validation loss, task 1's value before task 2
 * is the run's own final validation loss (the merge is right), and every metric a run records without
 * the measurement is bit-identical with it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { testGpu } from '../helpers/gpu';
import {
  ExperimentError,
  expandExperiment,
  parseExperiment,
  secondTaskOf,
  type Experiment,
} from '../../src/engine/experiments/schema';
import { decodeExperiment, experimentFragment } from '../../src/engine/experiments/link';
import { getPreset } from '../../src/engine/experiments/presets';
import { runExperiment } from '../../src/engine/experiments/runner';
import { SEQUENTIAL_METRICS, secondTaskConfig } from '../../src/engine/experiments/sequential';

const preset = (): Experiment => getPreset('sequential-forgetting')!;

function refusal(input: unknown): string {
  try {
    expandExperiment(parseExperiment(input));
  } catch (e) {
    expect(e).toBeInstanceOf(ExperimentError);
    const msg = (e as Error).message;
    expect(msg.includes('\n'), msg).toBe(false);
    return msg;
  }
  throw new Error('accepted');
}

describe('secondTask: the schema', () => {
  it('the preset: brown-news then brown-fiction; smoke overrides the steps, full keeps them', () => {
    const p = preset();
    expect(secondTaskOf({ ...p, budget: 'smoke' })).toEqual({
      dataset: { source: 'builtin', id: 'brown-fiction' },
      steps: 3,
    });
    expect(secondTaskOf({ ...p, budget: 'full' })!.steps).toBe(60);
    // the override addresses the second task, never the run configs
    for (const r of expandExperiment({ ...p, budget: 'smoke' })) {
      expect(r.kind === 'train' && r.config.dataset.id).toBe('brown-news');
      expect(JSON.stringify(r.kind === 'train' ? r.config : null)).not.toContain('secondTask');
    }
    const run = expandExperiment(p)[0];
    const c2 = secondTaskConfig(run.kind === 'train' ? run.config : (null as never), secondTaskOf(p)!);
    expect(c2.dataset.id).toBe('brown-fiction');
    expect(c2.train.steps).toBe(3);
    expect(c2.seed).not.toBe(run.seed); // a fresh adapter draw
    expect(c2.train.lr).toBe(run.lr);
  });

  it('refuses bad values with one line naming the field', () => {
    const p = preset();
    const cases: [unknown, RegExp][] = [
      [{ ...p, secondTask: { ...p.secondTask, steps: 0 } }, /steps/],
      [{ ...p, secondTask: { ...p.secondTask, steps: 2.5 } }, /steps/],
      [{ ...p, secondTask: { ...p.secondTask, extra: 1 } }, /extra/],
      [{ ...p, secondTask: { dataset: { source: 'upload', id: 'x.txt' }, steps: 3 } }, /built-in dataset/],
      [
        { ...p, secondTask: { dataset: { source: 'builtin', id: 'nope' }, steps: 3 } },
        /unknown built-in dataset "nope"/,
      ],
      [{ ...p, secondTask: undefined }, /needs secondTask/],
      [{ ...p, measure: ['loss', 'val'] }, /measure lacks "sequential"/],
      [
        { ...p, budgets: { ...p.budgets, smoke: { ...p.budgets.smoke, 'secondTask.steps': -1 } } },
        /budgets\.smoke.*steps/,
      ],
      [
        { ...p, secondTask: { dataset: { source: 'builtin', id: 'brown-news' }, steps: 3 } },
        /secondTask\.dataset is the run's own dataset \(brown-news\)/,
      ],
    ];
    for (const [input, re] of cases) expect(refusal(input)).toMatch(re);
    const noTask = { ...p, secondTask: undefined, measure: ['loss', 'val'] };
    expect(refusal(noTask)).toMatch(/budgets\.smoke: secondTask\.steps is set but the experiment has no secondTask/);
  });

  it('round-trips through JSON and a link', () => {
    const p = preset();
    expect(decodeExperiment(experimentFragment(p))).toEqual(p);
    expect(parseExperiment(JSON.parse(JSON.stringify(p)))).toEqual(p);
    expect(decodeExperiment(experimentFragment(p)).secondTask).toEqual(p.secondTask);
  });
});

describe('sequential-forgetting at the smoke budget (GPU)', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('task 2 moves task 1; the run’s own metrics are bit-identical to a run without the measurement', async () => {
    const withSeq = await runExperiment(gpu, preset());
    const p = preset();
    const without = await runExperiment(gpu, {
      ...p,
      secondTask: undefined,
      budgets: {
        ...p.budgets,
        smoke: Object.fromEntries(Object.entries(p.budgets.smoke).filter(([k]) => !k.startsWith('secondTask.'))),
      },
      measure: p.measure.filter((m) => m !== 'sequential'),
    });
    expect(withSeq.rows.map((r) => r.group)).toEqual(['LoRA r=8', 'rsLoRA r=64', 'Full FT']);
    for (const [i, r] of withSeq.rows.entries()) {
      const w = without.rows[i];
      expect(r.status, r.error).toBe('done');
      expect(r.error).toBeUndefined();
      for (const k of SEQUENTIAL_METRICS) expect(Number.isFinite(r.metrics[k]), `${r.group} ${k}`).toBe(true);
      const m = r.metrics as Record<string, number>;
      expect(m.task1ValAfterTask2, r.group).not.toBe(m.task1ValAfterTask1);
      expect(m.seqForgetting).toBe(m.task1ValAfterTask2 - m.task1ValAfterTask1);
      // before task 2 the merged model is the trained one: task 1's val loss as the run measured it
      expect(Math.abs(m.task1ValAfterTask1 - m.valLoss), r.group).toBeLessThan(1e-4);
      expect(r.secondCurve).toHaveLength(3);
      expect(m.task2ValAfterTask2, `${r.group}: task 2 trained`).not.toBe(m.task2ValAfterTask1); // 3 steps: moved, not necessarily down
      // everything recorded before the second task, bit for bit (wall time aside)
      const strip = (x: Record<string, number | null>) => {
        const o = { ...x };
        delete o.wallSeconds;
        for (const k of SEQUENTIAL_METRICS) delete o[k];
        return o;
      };
      expect(r.curve).toEqual(w.curve);
      expect(r.evals).toEqual(w.evals);
      expect(strip(r.metrics)).toEqual(strip(w.metrics));
      expect(Object.keys(w.metrics).some((k) => (SEQUENTIAL_METRICS as readonly string[]).includes(k))).toBe(false);
    }
    expect([true, false]).toContain(withSeq.verdict.holds); // decided from seqForgetting, not missing
    expect(withSeq.verdict.clauses[0].text).toContain('seqForgetting[LoRA r=8] > mean seqForgetting[Full FT]');
  }, 300_000);
});
