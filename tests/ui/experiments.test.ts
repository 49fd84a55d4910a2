/**
 * The page's experiment object (src/ui/experiments.ts, experimentsPresets.ts): sweep expansion, mean ±
 * spread over seeds, the verdict from the numbers (holds / does not hold / inconclusive, the lr-flip
 * case), the CSV of every metric, and the `#exp=` link (round trip; hostile links give one line).
 */
import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { RunConfigSchema, type RunConfig } from '../../src/engine/config';
import {
  computeVerdict,
  decodeExperimentFragment,
  EXPERIMENT_FORMAT,
  expandRuns,
  experimentFragment,
  groupStats,
  parseExperiment,
  resultsCsv,
  type Rule,
  type RunResult,
} from '../../src/ui/experiments';
import { PRESETS, presetExperiment, presetStatus } from '../../src/ui/experimentsPresets';
import { toBase64Url } from '../../src/ui/share';

const base = RunConfigSchema.parse({
  model: { source: 'builtin', id: 'micro' },
  dataset: { source: 'builtin', id: 'brown-news' },
  method: { id: 'lora', params: { rank: 4, alpha: 8 } },
  train: { steps: 8, lr: 1e-3 },
});
const defaults: Record<string, Record<string, number>> = {
  lora: { rank: 8, alpha: 16 },
  rslora: { rank: 8, alpha: 16 },
  full: {},
};
const paramsFor = (m: string) => defaults[m] ?? null;

function result(index: number, config: RunConfig, valLoss: number, extra: Partial<RunResult> = {}): RunResult {
  return {
    index,
    config,
    runId: `run-${index}`,
    status: 'done',
    losses: [3, 2.5, valLoss],
    finalLoss: valLoss,
    valLoss,
    probeLoss: NaN,
    intruders: NaN,
    trainableParams: 100,
    seconds: 1,
    ...extra,
  };
}

describe('expandRuns', () => {
  it('crosses method × rank × lr × seed, seeds innermost; full FT is not repeated per rank', () => {
    const runs = expandRuns(base, { method: ['lora', 'full'], rank: [1, 8], lr: [1e-3], seed: [0, 1] }, paramsFor);
    expect(runs.map((c) => [c.method.id, c.method.params.rank ?? null, c.seed])).toEqual([
      ['lora', 1, 0],
      ['lora', 1, 1],
      ['lora', 8, 0],
      ['lora', 8, 1],
      ['full', null, 0],
      ['full', null, 1],
    ]);
    // the base method keeps its own params (alpha 8), others get their defaults
    expect(runs[0].method.params.alpha).toBe(8);
    expect(runs.every((c) => RunConfigSchema.safeParse(c).success)).toBe(true);
  });

  it('refuses more than 64 runs', () => {
    expect(() => expandRuns(base, { rank: [1, 2, 3, 4, 5, 6, 7, 8, 9], seed: [0, 1, 2, 3, 4, 5, 6, 7] })).toThrow(
      /at most 64/,
    );
  });
});

describe('verdict', () => {
  const rule: Rule = { metric: 'valLoss', a: { by: 'rank', value: 8 }, b: { by: 'rank', value: 1 } };
  const runs = expandRuns(base, { rank: [8, 1], seed: [0, 1] });

  it('holds when A is lower by more than the seed spread; mean ± spread per configuration', () => {
    const rs = [result(0, runs[0], 2.0), result(1, runs[1], 2.02), result(2, runs[2], 2.5), result(3, runs[3], 2.6)];
    const g = groupStats(rs);
    expect(g).toHaveLength(2);
    expect(g[0].mean.valLoss).toBeCloseTo(2.01, 10);
    expect(g[0].spread.valLoss).toBeCloseTo(0.01, 10);
    expect(g[1].spread.valLoss).toBeCloseTo(0.05, 10);
    const v = computeVerdict(rule, rs);
    expect(v.holds).toBe(true);
    expect(v.numbers.difference).toBeCloseTo(0.54, 10);
    expect(v.rule).toMatch(/larger seed spread/);
  });

  it('does not hold when A is higher by more than the spread', () => {
    const rs = [result(0, runs[0], 2.6), result(1, runs[1], 2.6), result(2, runs[2], 2.0), result(3, runs[3], 2.0)];
    expect(computeVerdict(rule, rs).holds).toBe(false);
  });

  it('is inconclusive when the seed spread is larger than the effect', () => {
    const rs = [result(0, runs[0], 2.0), result(1, runs[1], 2.4), result(2, runs[2], 2.1), result(3, runs[3], 2.2)];
    const v = computeVerdict(rule, rs);
    expect(v.holds).toBeNull();
    expect(v.reason).toMatch(/within the spread across seeds/);
  });

  it('is inconclusive when the ordering flips across the lr grid', () => {
    const grid = expandRuns(base, { method: ['lora', 'rslora'], lr: [1e-3, 3e-3] }, paramsFor);
    const val = [2.0, 2.5, 2.3, 2.1]; // lora wins at 1e-3, rslora at 3e-3
    const rs = grid.map((c, i) => result(i, c, val[i]));
    const v = computeVerdict(
      { metric: 'valLoss', a: { by: 'method', value: 'lora' }, b: { by: 'method', value: 'rslora' } },
      rs,
    );
    expect(v.holds).toBeNull();
    expect(v.reason).toMatch(/flips across the lr grid/);
  });

  it('says which side has no finished runs', () => {
    const v = computeVerdict(rule, [result(0, runs[0], 2.0)]);
    expect(v.holds).toBeNull();
    expect(v.reason).toMatch(/no finished runs for 1/);
  });
});

describe('CSV', () => {
  it('has one row per run with every final metric, then every step loss', () => {
    const runs = expandRuns(base, { rank: [8, 1] });
    const csv = resultsCsv([result(0, runs[0], 2.25), { ...result(1, runs[1], NaN), status: 'skipped', losses: [] }]);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe(
      'run,run_id,status,method,rank,lr,seed,steps,final_loss,val_loss,probe_loss,intruders,trainable_params,seconds',
    );
    expect(lines[1]).toBe('1,run-0,done,lora,8,0.001,0,8,2.25,2.25,,,100,1');
    expect(lines[2]).toBe('2,run-1,skipped,lora,1,0.001,0,8,,,,,100,1');
    expect(lines.slice(4)).toEqual(['run,step,loss', '1,1,3', '1,2,2.5', '1,3,2.25']);
  });
});

describe('experiment links', () => {
  const spec = parseExperiment({
    format: EXPERIMENT_FORMAT,
    version: 1,
    name: 'ranks',
    claim: 'rank 8 beats rank 1',
    runs: expandRuns(base, { rank: [8, 1], seed: [0, 1] }),
    rule: { metric: 'valLoss', a: { by: 'rank', value: 8 }, b: { by: 'rank', value: 1 } },
  });

  it('round-trips the runs exactly', () => {
    const d = decodeExperimentFragment('#' + experimentFragment(spec));
    expect(d.ok).toBe(true);
    if (d.ok) expect(d.spec).toEqual(spec);
  });

  const enc = (s: string) => 'exp=' + toBase64Url(deflateSync(new TextEncoder().encode(s)));
  it.each([
    ['exp=', /no experiment data/],
    ['exp=@@@', /does not belong/],
    ['exp=' + 'A'.repeat(30_000), /too long/],
    [enc('{"format":"rankscope-experiment","__proto__":{"x":1}}'), /forbidden key/],
    [enc('not json'), /not valid JSON/],
    [enc(JSON.stringify({ ...spec, runs: [] })), /experiment is invalid: .*at runs/],
    [
      enc(JSON.stringify({ ...spec, runs: [{ ...spec.runs[0], train: { ...spec.runs[0].train, lr: -1 } }] })),
      /invalid/,
    ],
    [enc('[' + '['.repeat(20) + ']'.repeat(20) + ']'), /nested too deeply/],
  ])('refuses %#: one line, no throw', (hash, re) => {
    const d = decodeExperimentFragment(hash);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.error).toMatch(re);
      expect(d.error).not.toMatch(/\n/);
    }
  });
});

describe('presets', () => {
  const all = [
    'lora',
    'rslora',
    'full',
    'pissa',
    'milora',
    'lora-ga',
    'eva',
    'loraplus',
    'lora-asym',
    'galore',
    'fira',
    'lift',
    'dylora',
  ];
  it('every ready preset builds a valid experiment with a claim, a paper and a rule', () => {
    const ready = PRESETS.filter((p) => presetStatus(p, all).ready);
    expect(ready.length).toBeGreaterThanOrEqual(8);
    for (const p of ready) {
      const e = presetExperiment(p, 'smoke', (m) => defaults[m] ?? { rank: 8, alpha: 16 });
      expect(e.claim && e.paper && e.rule).toBeTruthy();
      expect(e.runs.length).toBeGreaterThan(1);
      expect(e.runs.every((c) => c.model.id === 'micro' && c.train.steps === 8)).toBe(true);
    }
  });

  it('a preset whose method is missing is waiting, and says which', () => {
    const p = PRESETS.find((x) => x.id === 'phlora')!;
    expect(presetStatus(p, all)).toEqual({ ready: false, why: 'waiting: phlora is not in the engine yet' });
  });
});
