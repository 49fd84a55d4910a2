/**
 * The page's side of experiments (src/ui/experiments.ts) over the engine's object: the configs the page
 * trains (the engine's plus step-0/final evaluation and an end snapshot when intruders are measured),
 * result rows from the store's run data through the engine's runMetrics and judge, mean ± spread over
 * seeds, the CSV of every metric, and `#experiment=` links (round trip; hostile links give one line).
 */
import { describe, expect, it } from 'vitest';
import { experimentFragment } from '../../src/engine/experiments/link';
import { getPreset } from '../../src/engine/experiments/presets';
import { runMetrics } from '../../src/engine/experiments/runner';
import {
  decodeExperimentLink,
  expandForPage,
  groupSummaries,
  pageLimitation,
  pageRows,
  resultsCsv,
  verdictOf,
  type ExpandedRun,
  type StoredRun,
} from '../../src/ui/experiments';
import { applyMetricsBatch, emptyMetrics } from '../../src/ui/store/runData';
import type { RunRecord } from '../../src/ui/types';

/** The asymmetry preset's A+B and B only arms at two seeds (its A only arm adds nothing these table mechanics need). */
const asymPreset = getPreset('asymmetry')!;
const asym = {
  ...asymPreset,
  seeds: 2,
  variants: asymPreset.variants.filter((v) => v.label !== 'A only'),
  verdict: { all: asymPreset.verdict.all.filter((c) => c.a !== 'B only' || c.b !== 'A only') },
};

/** A finished page run: `losses` per step, val loss at step 0 and at the end. */
function stored(losses: number[], val0: number, val1: number, trainableParams: number): StoredRun {
  const n = losses.length;
  const f = (xs: number[]) => Float32Array.from(xs);
  const m = applyMetricsBatch(emptyMetrics(), {
    step: Int32Array.from([0, ...losses.map((_, i) => i + 1)]),
    loss: f([NaN, ...losses]),
    lr: f(Array(n + 1).fill(3e-3)),
    gradNorm: f(Array(n + 1).fill(1)),
    tokensPerSec: f(Array(n + 1).fill(1)),
    valLoss: f([val0, ...losses.map((_, i) => (i === n - 1 ? val1 : NaN))]),
    probeLoss: f(Array(n + 1).fill(NaN)),
  });
  const record = {
    status: 'done',
    memory: { trainableParams, optimizerState: { total: trainableParams * 8 } },
    summary: { seconds: 1.5 },
  } as unknown as RunRecord;
  return { record, metrics: m, spectra: undefined, skipped: false };
}

describe('page configs', () => {
  it('evaluate at step 0 and the end when the smoke budget evaluates never; training settings unchanged', () => {
    const { runs, configs } = expandForPage(asym);
    expect(runs.map((r) => r.key)).toEqual(['A+B · seed=0', 'A+B · seed=1', 'B only · seed=0', 'B only · seed=1']);
    const engine = (runs[0] as ExpandedRun & { kind: 'train' }).config;
    expect(engine.eval.every).toBe(0);
    expect(configs[0]!.eval.every).toBe(3);
    expect({ ...configs[0], eval: null }).toEqual({ ...engine, eval: null });
  });

  it('take an end-of-run spectra snapshot when intruders are measured', () => {
    const { configs } = expandForPage(getPreset('intruders')!);
    expect(configs.every((c) => c!.analysis.every === c!.train.steps)).toBe(true);
  });

  it('say which presets only the CLI can run', () => {
    expect(pageLimitation(getPreset('flat-spectra')!)).toBeNull(); // fits run in the worker (fitMatrix)
    expect(pageLimitation(getPreset('dylora')!)).toBeNull(); // its per-rank evaluation runs in the worker
    expect(pageLimitation(getPreset('sequential-forgetting')!)).toBeNull(); // its second task runs in the worker
    expect(pageLimitation(asym)).toBeNull();
  });
});

describe('rows and verdict from page runs', () => {
  const { runs } = expandForPage(asym);
  const data = [
    stored([2.3, 2.6, 2.48], 3.0865, 3.0895, 2048),
    stored([2.6, 2.5, 3.09], 3.0865, 3.0897, 2048),
    stored([2.3, 2.6, 2.49], 3.0865, 3.0898, 1536),
    { ...stored([2.6], 3.0865, NaN, 1536), skipped: true },
  ];
  const rows = pageRows(runs, data, ['r0', 'r1', 'r2', 'r3']);

  it('uses the engine’s runMetrics on the exact losses and the step-0/final evaluations', () => {
    const f = (x: number) => Math.fround(x);
    expect(rows[0].metrics).toMatchObject(
      runMetrics({
        curve: [2.3, 2.6, 2.48].map(f),
        step0: { step: 0, valLoss: f(3.0865) },
        final: { step: 3, valLoss: f(3.0895) },
        trainableParams: 2048,
        optimizerBytes: 2048 * 8,
      }),
    );
    expect(rows[0].metrics.wallSeconds).toBe(1.5);
    expect(rows.map((r) => r.status)).toEqual(['done', 'done', 'done', 'skipped']);
  });

  it('mean ± spread (max − min) over seeds per group', () => {
    const g = groupSummaries(rows);
    expect(g.map((x) => [x.group, x.n])).toEqual([
      ['A+B', 2],
      ['B only', 1],
    ]);
    expect(g[0].mean.valLoss).toBeCloseTo((Math.fround(3.0895) + Math.fround(3.0897)) / 2, 9);
    expect(g[0].spread.valLoss).toBeCloseTo(Math.fround(3.0897) - Math.fround(3.0895), 9);
  });

  it('the engine’s judge decides (too few runs while B only is pending; holds with all four)', () => {
    const none: StoredRun = { record: undefined, metrics: undefined, spectra: undefined, skipped: false };
    const v = verdictOf(asym, pageRows(runs, [data[0], data[1], none, none], ['a', 'b', null, null]));
    expect(v.holds).toBeNull();
    expect(v.inconclusive).toBe('too-few-runs');
    const all = verdictOf(asym, pageRows(runs, [data[0], data[1], data[2], data[2]], ['a', 'b', 'c', 'd']));
    expect(all.holds).toBe(true);
    expect(all.clauses[0].text).toMatch(/valLoss\[B only\] within 2.0% of mean valLoss\[A\+B\]/);
  });

  it('CSV: one row per run with every metric, then every step loss', () => {
    const lines = resultsCsv(rows).trim().split('\n');
    expect(lines[0]).toBe(
      'run,key,group,lr,seed,status,run_id,valLoss,finalLoss,meanLoss,trainableParams,optimizerBytes,wallSeconds,step0ValLoss',
    );
    expect(lines[1]).toMatch(/^1,A\+B · seed=0,A\+B,0\.003,0,done,r0,3\.089\d+,2\.48\d*,/);
    expect(lines[4]).toBe('4,B only · seed=1,B only,0.003,1,skipped,r3,,,,,,,');
    expect(lines.slice(6, 8)).toEqual(['run,step,loss', `1,1,${Math.fround(2.3)}`]);
    expect(lines.filter((l) => /^\d,\d,/.test(l))).toHaveLength(10);
  });
});

describe('matrix fits', () => {
  it('are expanded without a run config and give the engine’s fit metrics', () => {
    const exp = getPreset('flat-spectra')!;
    const { runs, configs } = expandForPage(exp);
    expect(configs.every((c) => c === null)).toBe(true);
    const fit = { curve: [0.9, 0.5], relError: 0.5, optimalError: 0.4, params: 64, targetSigma: [1], seconds: 0.2 };
    const none: StoredRun = { record: undefined, metrics: undefined, spectra: undefined, skipped: false };
    const rows = pageRows(
      runs,
      runs.map((_, i) => (i === 0 ? { ...none, fit } : none)),
      runs.map((r, i) => (i === 0 ? `fit:${r.key}` : null)),
    );
    expect(rows[0]).toMatchObject({
      status: 'done',
      curve: [0.9, 0.5],
      metrics: { fitError: 0.5, optimalError: 0.4, trainableParams: 64, finalLoss: 0.5, wallSeconds: 0.2 },
    });
    expect(rows[1].status).toBe('pending');
  });
});

describe('experiment links', () => {
  it('round-trip the engine object', () => {
    const d = decodeExperimentLink(`https://x.test/${experimentFragment(asym)}`);
    expect(d).toEqual({ ok: true, experiment: asym });
  });

  it.each([
    ['#experiment=', /no data/],
    ['#experiment=@@@', /does not belong in it \("@" at position 0\)/],
    ['#experiment=' + 'A'.repeat(70_000), /too long/],
  ])('refuse %# with one line', (hash, re) => {
    const d = decodeExperimentLink(hash);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.error).toMatch(re);
      expect(d.error).not.toMatch(/\n/);
    }
  });
});
