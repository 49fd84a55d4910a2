/**
 * The custom sweep's verdict clauses (src/ui/experimentsVerdict.ts): a clause of every rule kind the
 * engine judges, drafted from form fields over the sweep's groups, becomes the engine's clause through
 * its schema and is judged by the engine's judge() as expected; bad fields and incomplete clauses give
 * one line in plain words naming the clause. Also the page's rows of a run whose final-state measurement
 * (DyLoRA ranks, PHLoRA extraction) is pending, failed or made (experiments.ts pageRows).
 */
import { describe, expect, it } from 'vitest';
import { RUN_PRESETS } from '../../src/engine/config';
import { parseExperiment, ClauseSchema, type Clause } from '../../src/engine/experiments/schema';
import { clauseText, judge, type RunRow } from '../../src/engine/experiments/verdict';
import { getPreset } from '../../src/engine/experiments/presets';
import {
  clauseOf,
  fitDraft,
  newDraft,
  readsIntruders,
  verdictOfDrafts,
  VERDICT_RULES,
  type ClauseDraft,
} from '../../src/ui/experimentsVerdict';
import { expandForPage, finalStateMeasures, pageRows, type StoredRun } from '../../src/ui/experiments';
import { applyMetricsBatch, emptyMetrics } from '../../src/ui/store/runData';
import type { RunRecord } from '../../src/ui/types';

const GROUPS = ['lora r=4', 'lora r=8', 'lora r=16'];

/** One finished run per group: valLoss 3.0, 2.9, 2.8 (falls with r), curves reaching 2.5 at steps 8, 6, 4. */
function rows(): RunRow[] {
  return GROUPS.map((g, i) => ({
    key: `${g} · seed=0`,
    group: g,
    lr: 1e-3,
    seed: 0,
    status: 'done',
    metrics: { valLoss: 3 - 0.1 * i, trainableParams: 1000 * 2 ** i, finalLoss: 2.5 },
    curve: Array.from({ length: 10 }, (_, s) => Math.max(2.5, 3.3 - (0.1 * s * (8 + 4 * i)) / 8)),
  }));
}

/** The experiment the builder makes (as ExperimentsBuilder's input()), with these clauses. */
function sweep(all: Clause[]) {
  return parseExperiment({
    id: 'custom-test',
    title: 'Sweep',
    claim: 'A custom sweep over the studio’s current setup (no paper’s claim).',
    paper: { title: 'custom sweep', arxiv: '0000.00000' },
    base: { ...RUN_PRESETS.micro, method: { id: 'lora', params: { rank: 4, alpha: 8 } } },
    variants: [{ label: 'lora', set: {} }],
    axes: [{ path: 'method.params.rank', name: 'r', values: [4, 8, 16] }],
    lr: { policy: 'as-configured' },
    measure: ['loss', 'val', 'params'],
    verdict: { all },
  });
}

const draft = (rule: ClauseDraft['rule'], over: Partial<ClauseDraft> = {}) => ({ ...newDraft(rule, GROUPS), ...over });

describe('custom verdict clauses of every rule kind', () => {
  it('the builder’s groups are the expanded groups the drafts pick from', () => {
    const groups = [...new Set(expandForPage(sweep([clauseOf(draft('compare'))])).runs.map((r) => r.group))];
    expect(groups).toEqual(GROUPS);
  });

  it('each kind becomes a schema-valid engine clause and judge() decides it from the numbers', () => {
    const cases: [ClauseDraft, boolean][] = [
      [draft('compare', { a: 'lora r=16', b: 'lora r=4', op: '<' }), true], // 2.8 < 3.0
      [draft('compare', { a: 'lora r=16', b: 'lora r=4', op: '<', margin: '0.1' }), false], // not by 10 %
      [draft('within', { a: 'lora r=8', b: 'lora r=4', margin: '0.05' }), true], // 2.9 vs 3.0: 3.3 %
      [draft('within', { a: 'lora r=16', b: 'lora r=4', margin: '0.05' }), false], // 6.7 %
      [
        draft('ratio', { metric: 'trainableParams', a: 'lora r=16', b: 'lora r=4', boundKind: 'max', bound: '4' }),
        true,
      ],
      [
        draft('ratio', { metric: 'trainableParams', a: 'lora r=16', b: 'lora r=4', boundKind: 'min', bound: '5' }),
        false,
      ],
      [draft('trend', { direction: 'down' }), true],
      [draft('trend', { direction: 'up' }), false],
      [draft('threshold', { groups: GROUPS, op: '<=', bound: '3' }), true],
      [draft('threshold', { groups: ['lora r=4'], op: '<', bound: '2.95' }), false],
      [draft('speedup', { a: 'lora r=16', b: 'lora r=4', bound: '1.5' }), true], // steps 4 vs 8 in the curves
      [draft('speedup', { a: 'lora r=4', b: 'lora r=16', bound: '1.5' }), false],
    ];
    expect(new Set(cases.map(([d]) => d.rule))).toEqual(new Set(VERDICT_RULES));
    for (const [d, holds] of cases) {
      const c = clauseOf(d);
      expect(ClauseSchema.safeParse(c).success).toBe(true);
      const v = judge(sweep([c]), rows());
      expect({ clause: clauseText(c), holds: v.holds }).toEqual({ clause: clauseText(c), holds });
    }
    // all together: the claim holds only when every clause does
    const all = verdictOfDrafts(cases.filter(([, h]) => h).map(([d]) => d));
    if ('error' in all) throw new Error(all.error);
    expect(all.all).toHaveLength(6);
    expect(judge(sweep(all.all), rows()).holds).toBe(true);
  });

  it('bad fields and incomplete clauses are one plain line naming the clause', () => {
    const err = (ds: ClauseDraft[]) => {
      const v = verdictOfDrafts(ds);
      return 'error' in v ? v.error : null;
    };
    expect(err([draft('compare'), draft('within', { margin: 'abc' })])).toBe(
      'Clause 2 (within): the tolerance must be a number (got "abc")',
    );
    expect(err([draft('trend', { groups: ['lora r=4'] })])).toBe(
      'Clause 1 (trend): a trend clause needs at least two groups in order (at groups)',
    );
    expect(err([draft('compare', { a: 'lora r=4', b: 'lora r=4' })])).toBe(
      'Clause 1 (compare): a compare clause compares two different groups (or two metrics) (at b)',
    );
    expect(err([draft('threshold', { groups: [] })])).toBe('Clause 1 (threshold): choose at least one (at groups)');
    expect(err([draft('ratio', { bound: '' })])).toBe('Clause 1 (ratio): the bound must be a number (got "")');
    expect(err([draft('within', { margin: '-0.1' })])).toMatch(/^Clause 1 \(within\): .*(at margin)/);
    expect(err([draft('compare'), draft('speedup')])).toBeNull();
  });

  it('the engine schema refuses incomplete clauses in files and links too', () => {
    expect(() => sweep([{ rule: 'compare', metric: 'valLoss', a: 'lora r=4' } as Clause])).toThrow(
      'invalid experiment: a compare clause needs group b (at verdict.all.0.b)',
    );
    expect(() => sweep([{ rule: 'threshold', metric: 'valLoss', value: 3 } as Clause])).toThrow(
      'a threshold clause needs the groups it holds for (at verdict.all.0.groups)',
    );
    expect(() => sweep([{ rule: 'ratio', metric: 'valLoss', a: 'lora r=4', b: 'lora r=8' } as Clause])).toThrow(
      'a ratio clause needs a bound: max, min or both (at verdict.all.0.max)',
    );
  });

  it('drafts follow the sweep’s groups when the axes change; intruder clauses ask for the measurement', () => {
    const d = fitDraft(draft('trend'), ['lora r=4', 'lora r=32']);
    expect(d.groups).toEqual(['lora r=4']);
    const c = fitDraft(draft('compare', { a: 'gone', b: 'lora r=8' }), ['lora r=8', 'x']);
    expect([c.a, c.b]).toEqual(['lora r=8', 'lora r=8']);
    expect(readsIntruders([clauseOf(draft('compare', { metric: 'intruders' }))])).toBe(true);
    expect(readsIntruders([clauseOf(draft('compare'))])).toBe(false);
  });
});

describe('rows of runs with a final-state measurement (DyLoRA, PHLoRA)', () => {
  const exp = { ...getPreset('phlora')!, budget: 'smoke' as const };
  const finished = (): StoredRun => {
    const m = applyMetricsBatch(emptyMetrics(), {
      step: Int32Array.from([0, 1, 2, 3]),
      loss: Float32Array.from([NaN, 3.2, 3.1, 3.0]),
      lr: Float32Array.from([1, 1, 1, 1]),
      gradNorm: Float32Array.from([1, 1, 1, 1]),
      tokensPerSec: Float32Array.from([1, 1, 1, 1]),
      valLoss: Float32Array.from([3.3, NaN, NaN, 3.05]),
      probeLoss: Float32Array.from([NaN, NaN, NaN, NaN]),
    });
    const record = { status: 'done', memory: { trainableParams: 10 }, summary: { seconds: 1 } } as unknown as RunRecord;
    return { record, metrics: m, spectra: undefined, skipped: false };
  };
  const { runs } = expandForPage(exp);

  it('a finished run is still running until measured, failed when the measurement failed, done with its numbers', () => {
    expect(finalStateMeasures(exp)).toEqual(['extract']);
    expect(pageRows(runs, [finished()], ['run-1'], true)[0].status).toBe('running');
    const failed = pageRows(
      runs,
      [{ ...finished(), measured: { metrics: {}, error: 'measuring run 1: x' } }],
      ['run-1'],
      true,
    )[0];
    expect([failed.status, failed.error]).toEqual(['failed', 'measuring run 1: x']);
    const extract = [{ rank: 16, energy: 0.95, valLoss: 3.06 }];
    const done = pageRows(
      runs,
      [
        {
          ...finished(),
          measured: { metrics: { 'energy@r16': 0.95, 'valLoss@r16': 3.06, 'valLossGap@r16': 0.01 }, extract },
        },
      ],
      ['run-1'],
      true,
    )[0];
    expect(done.status).toBe('done');
    expect(done.extract).toEqual(extract);
    expect(done.metrics.valLoss).toBeCloseTo(3.05, 6);
    expect(done.metrics['energy@r16']).toBe(0.95);
    // without final-state measurements the same run is done as before
    expect(pageRows(runs, [finished()], ['run-1'])[0].status).toBe('done');
  });
});
