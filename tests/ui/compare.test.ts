/** Compare's figures: the config diff keeps only differing fields; Δ vs the run's own step 0; CSV. */
import { describe, expect, it } from 'vitest';
import { batch } from './fixtures';
import { defaultDraft, setIn } from '../../src/ui/draft';
import { applyMetricsBatch, emptyMetrics } from '../../src/ui/store/runData';
import { compareCsv, compareRow, configDiff } from '../../src/ui/compare';
import type { RunRecord } from '../../src/ui/types';

const a = defaultDraft();
const b = setIn(setIn(a, 'train.lr', 1e-4), 'method.id', 'lora');

function record(id: string, config = a): RunRecord {
  return {
    id,
    name: id,
    config,
    createdAt: 0,
    updatedAt: 0,
    status: 'done',
    step: 4,
    totalSteps: 4,
    adapterName: 'x',
    matrices: [],
    summary: { seconds: 12.5 },
  };
}

describe('compare', () => {
  it('the config diff lists only the fields that differ', () => {
    const d = configDiff([a, b]);
    expect(d.map((x) => x.path)).toEqual(['method.id', 'train.lr']);
    expect(d.find((x) => x.path === 'train.lr')!.values).toEqual([String(a.train.lr), '0.0001']);
    expect(configDiff([a, a])).toEqual([]);
  });

  it('Δ val and Δ probe are read against the run’s own step-0 evaluation', () => {
    let m = applyMetricsBatch(emptyMetrics(), {
      ...batch(0, 0, () => NaN, 1),
      valLoss: Float32Array.of(5),
      probeLoss: Float32Array.of(3),
    });
    m = applyMetricsBatch(m, batch(1, 4, undefined, 2)); // val 4, probe 6 at steps 2 and 4
    const r = compareRow(record('r'), m);
    expect([r.baseVal, r.finalVal, r.bestVal, r.dVal]).toEqual([5, 4, 4, -1]);
    expect([r.baseProbe, r.finalProbe, r.dProbe]).toEqual([3, 6, 3]);
    expect(r.wallSeconds).toBe(12.5);
    // a run without a step-0 point has no baseline: no Δ rather than a made-up one
    const old = compareRow(record('o'), applyMetricsBatch(emptyMetrics(), batch(1, 4, undefined, 2)));
    expect(old.dVal).toBeNull();
    expect(old.baseVal).toBeNull();
  });

  it('CSV: one row per run, the figures then the differing settings, quoted where needed', () => {
    const rows = [compareRow(record('lora, r=8', a), undefined), compareRow(record('full', b), undefined)];
    const csv = compareCsv(rows, configDiff([a, b]), [3, null])
      .trim()
      .split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[0].split(',').slice(-3)).toEqual(['intruders', 'method.id', 'train.lr']);
    expect(csv[1].startsWith('"lora, r=8",')).toBe(true);
    expect(csv[1].endsWith(`,3,${a.method.id},${a.train.lr}`)).toBe(true);
    expect(csv[2].endsWith(',,lora,0.0001')).toBe(true);
  });
});
