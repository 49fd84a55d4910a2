/**
 * Verdict rules (src/engine/experiments/verdict.ts) on hand-made results tables: every rule holding and
 * not holding, and each inconclusive reason — too few runs finished, a missing metric, a flip across the
 * lr grid, a seed spread larger than the effect, a baseline whose loss did not fall (speedup). The rule text is checked too.
 */
import { describe, expect, it } from 'vitest';
import { judge, stepsTo, type RunRow } from '../../src/engine/experiments/verdict';
import type { Clause, Experiment } from '../../src/engine/experiments/schema';

type Exp = Pick<Experiment, 'verdict' | 'lr' | 'seeds'>;
const exp = (all: Clause[], extra: Partial<Exp> = {}): Exp => ({
  verdict: { all },
  lr: { policy: 'per-method-defaults' },
  seeds: 1,
  ...extra,
});
let n = 0;
const row = (group: string, metrics: Record<string, number | null>, o: Partial<RunRow> = {}): RunRow => ({
  key: `${group}#${n++}`,
  group,
  lr: 1e-3,
  seed: 0,
  status: 'done',
  metrics,
  ...o,
});

describe('verdict rules', () => {
  it('compare: holds, does not hold, with a margin; the rule reads as text', () => {
    const c: Clause = { rule: 'compare', metric: 'valLoss', a: 'A', op: '<', b: 'B', margin: 0.1 };
    const yes = judge(exp([c]), [row('A', { valLoss: 1 }), row('B', { valLoss: 2 })]);
    expect(yes.holds).toBe(true);
    expect(yes.rule).toBe('holds when mean valLoss[A] < mean valLoss[B] by ≥ 10%');
    expect(yes.reason).toMatch(/^holds/);
    const within = judge(exp([c]), [row('A', { valLoss: 1.95 }), row('B', { valLoss: 2 })]);
    expect(within.holds).toBe(false); // below b, but not by 10 %
    expect(within.reason).toMatch(/^does not hold: mean valLoss\[A\] < mean valLoss\[B\] by ≥ 10% is false/);
    const gt = judge(exp([{ ...c, op: '>', margin: 0 }]), [row('A', { valLoss: 3 }), row('B', { valLoss: 2 })]);
    expect(gt.holds).toBe(true);
  });

  it('within, ratio (with metricB), threshold', () => {
    const w: Clause = { rule: 'within', metric: 'valLoss', a: 'A', b: 'B', margin: 0.05 };
    expect(judge(exp([w]), [row('A', { valLoss: 1.04 }), row('B', { valLoss: 1 })]).holds).toBe(true);
    expect(judge(exp([w]), [row('A', { valLoss: 1.06 }), row('B', { valLoss: 1 })]).holds).toBe(false);
    const wb: Clause = { rule: 'within', metric: 'valLoss@r4', metricB: 'valLoss', a: 'Dy', b: 'L4', margin: 0.01 };
    const v = judge(exp([wb]), [row('Dy', { 'valLoss@r4': 2.0 }), row('L4', { valLoss: 2.01 })]);
    expect(v.holds).toBe(true);
    expect(v.rule).toContain('valLoss@r4[Dy] within 1.0% of mean valLoss[L4]');
    const r: Clause = { rule: 'ratio', metric: 'optimizerBytes', a: 'G', b: 'F', max: 0.5 };
    expect(judge(exp([r]), [row('G', { optimizerBytes: 30 }), row('F', { optimizerBytes: 100 })]).holds).toBe(true);
    expect(judge(exp([r]), [row('G', { optimizerBytes: 60 }), row('F', { optimizerBytes: 100 })]).holds).toBe(false);
    const t: Clause = { rule: 'threshold', metric: 'energy@r16', groups: ['F'], op: '>=', value: 0.9 };
    expect(judge(exp([t]), [row('F', { 'energy@r16': 0.95 })]).holds).toBe(true);
    const tf = judge(exp([t]), [row('F', { 'energy@r16': 0.8 })]);
    expect(tf.holds).toBe(false);
    expect(tf.reason).toContain('fails for F');
  });

  it('trend: monotone along the groups, with slack', () => {
    const c: Clause = { rule: 'trend', metric: 'finalLoss', groups: ['r4', 'r16', 'r64'], direction: 'down' };
    const rows = (a: number, b: number, d: number) => [
      row('r4', { finalLoss: a }),
      row('r16', { finalLoss: b }),
      row('r64', { finalLoss: d }),
    ];
    expect(judge(exp([c]), rows(3, 2, 1)).holds).toBe(true);
    const no = judge(exp([c]), rows(3, 2, 2.5));
    expect(no.holds).toBe(false);
    expect(no.reason).toContain('against the trend between r16 and r64');
    expect(judge(exp([{ ...c, margin: 0.3 }]), rows(3, 2, 2.5)).holds).toBe(true);
  });

  it('speedup: steps of the smoothed mean curve to the baseline’s final loss', () => {
    expect(stepsTo([5, 4, 3, 2], 3)).toBe(3);
    expect(stepsTo([5, 4], 3)).toBe(Infinity);
    const base = Array.from({ length: 20 }, (_, i) => 4 - i * 0.1); // reaches 2.1 at step 20
    const fast = Array.from({ length: 20 }, (_, i) => Math.max(1, 4 - i * 0.3));
    const c: Clause = { rule: 'speedup', metric: 'loss', a: 'GA', b: 'LoRA', min: 2 };
    const v = judge(exp([c]), [row('GA', {}, { curve: fast }), row('LoRA', {}, { curve: base })]);
    expect(v.holds).toBe(true);
    expect(v.clauses[0].effect).toBeGreaterThanOrEqual(2);
    const slow = judge(exp([c]), [row('GA', {}, { curve: base.map((x) => x + 1) }), row('LoRA', {}, { curve: base })]);
    expect(slow.holds).toBe(false);
    expect(slow.clauses[0].detail).toContain('never');
  });

  it('speedup: inconclusive when the baseline never fell beyond its noise (no descent)', () => {
    // Flat noisy losses, as 60 steps on the built-in model gave: the smoothed baseline is at its final
    // value within the first smoothing window, so "steps to target" would be 3 vs 3 — noise, not speed.
    const noisy = (phase: number) => Array.from({ length: 60 }, (_, i) => ((i + phase) % 2 ? 1.8 : 2.0));
    const c: Clause = { rule: 'speedup', metric: 'loss', a: 'GA', b: 'LoRA', min: 2 };
    const v = judge(exp([c]), [row('GA', {}, { curve: noisy(1) }), row('LoRA', {}, { curve: noisy(0) })]);
    expect(v.holds).toBeNull();
    expect(v.inconclusive).toBe('no-descent');
    expect(v.reason).toContain('the baseline loss did not fall at this budget');
    // a baseline that does fall is still judged
    const falling = Array.from({ length: 60 }, (_, i) => 4 - i * 0.03);
    expect(judge(exp([c]), [row('GA', {}, { curve: falling }), row('LoRA', {}, { curve: falling })]).holds).toBe(false);
  });

  it('all clauses must hold; one decisive failure is enough to fail', () => {
    const a: Clause = { rule: 'compare', metric: 'x', a: 'A', op: '<', b: 'B' };
    const b: Clause = { rule: 'compare', metric: 'y', a: 'A', op: '<', b: 'B' };
    const rows = [row('A', { x: 1, y: 3 }), row('B', { x: 2, y: 2 })];
    const v = judge(exp([a, b]), rows);
    expect(v.holds).toBe(false);
    expect(v.clauses.map((c) => c.holds)).toEqual([true, false]);
    expect(v.rule).toContain(' AND ');
  });
});

describe('inconclusive, with the reason', () => {
  const c: Clause = { rule: 'compare', metric: 'valLoss', a: 'A', op: '<', b: 'B' };

  it('too few runs finished: a group without a finished run, or under two thirds done', () => {
    const none = judge(exp([c]), [row('A', { valLoss: 1 }), row('B', {}, { status: 'failed' })]);
    expect(none.holds).toBeNull();
    expect(none.inconclusive).toBe('too-few-runs');
    expect(none.reason).toContain('no finished run for B');
    const rows = [
      row('A', { valLoss: 1 }),
      row('A', {}, { status: 'pending', seed: 1 }),
      row('A', {}, { status: 'skipped', seed: 2 }),
      row('B', { valLoss: 2 }),
      row('B', {}, { status: 'failed', seed: 1 }),
      row('B', { valLoss: 2 }, { seed: 2 }),
    ];
    const few = judge(exp([c], { seeds: 3 }), rows);
    expect(few.inconclusive).toBe('too-few-runs');
    expect(few.reason).toMatch(/3 of 6/);
    const unknown = judge(exp([{ ...c, b: 'C' }]), [row('A', { valLoss: 1 })]);
    expect(unknown.inconclusive).toBe('too-few-runs');
    expect(unknown.reason).toContain('no runs: C');
  });

  it('a missing metric', () => {
    const v = judge(exp([c]), [row('A', { valLoss: null }), row('B', { valLoss: 2 })]);
    expect(v.holds).toBeNull();
    expect(v.inconclusive).toBe('missing-metric');
    expect(v.reason).toContain('valLoss is missing for A');
  });

  it('the verdict flips across the lr grid', () => {
    const g = exp([c], { lr: { policy: 'grid', values: [1e-3, 3e-3] } });
    const rows = [
      row('A', { valLoss: 1 }, { lr: 1e-3 }),
      row('B', { valLoss: 2 }, { lr: 1e-3 }),
      row('A', { valLoss: 3 }, { lr: 3e-3 }),
      row('B', { valLoss: 1.5 }, { lr: 3e-3 }),
    ];
    const v = judge(g, rows);
    expect(v.holds).toBeNull();
    expect(v.inconclusive).toBe('lr-flip');
    expect(v.reason).toBe(
      'inconclusive (the verdict flips across the lr grid): holds at lr=0.001, does not hold at lr=0.003',
    );
    // each group at its best lr by validation loss
    expect(v.lrByGroup).toEqual({ A: 1e-3, B: 3e-3 });
    // no flip: decided at the best lrs
    const steady = judge(
      g,
      rows.map((r) => (r.group === 'A' ? { ...r, metrics: { valLoss: 1 } } : r)),
    );
    expect(steady.holds).toBe(true);
    expect(steady.byLr).toEqual([
      { lr: 1e-3, holds: true },
      { lr: 3e-3, holds: true },
    ]);
    expect(steady.rule).toContain('best lr of {0.001, 0.003}');
  });

  it('the spread across seeds is larger than the effect', () => {
    const rows = [
      row('A', { valLoss: 1.0 }, { seed: 0 }),
      row('A', { valLoss: 1.4 }, { seed: 1 }),
      row('B', { valLoss: 1.3 }, { seed: 0 }),
      row('B', { valLoss: 1.3 }, { seed: 1 }),
    ];
    const v = judge(exp([c], { seeds: 2 }), rows);
    expect(v.holds).toBeNull();
    expect(v.inconclusive).toBe('seed-spread');
    expect(v.reason).toMatch(/^inconclusive \(spread across seeds larger than the effect\)/);
    expect(v.clauses[0].stats[0]).toMatchObject({ group: 'A', n: 2, spread: expect.closeTo(0.4, 9) as number });
    // a clear effect over the same spread decides
    const clear = rows.map((r) => (r.group === 'B' ? { ...r, metrics: { valLoss: 3 } } : r));
    expect(judge(exp([c], { seeds: 2 }), clear).holds).toBe(true);
  });
});
