/**
 * Method figures from the step hooks (StepMetrics.extra: LoRA-Pro's ‖g̃ − G‖, AdaLoRA's budget, ReLoRA's
 * restarts) travel from the worker's metrics buffer (one column per name, NaN where a row has none) to
 * the run's metrics in the page (the latest finite value of each), which the Loss tab shows as stats.
 */
import { describe, expect, it } from 'vitest';
import { batch } from './fixtures';
import { MetricsBuffer } from '../../src/worker/runner';
import { applyMetricsBatch, emptyMetrics } from '../../src/ui/store/runData';

describe('method metrics', () => {
  it('the worker buffer keeps one column per figure, NaN on rows without it', () => {
    const buf = new MetricsBuffer();
    buf.push(1, 5, 1e-3, 0.5, 100, NaN, NaN, { loraProGap: 0.5, loraGap: 0.9 });
    buf.push(2, 4.9, 1e-3, 0.5, 100, NaN, NaN);
    buf.push(3, 4.8, 1e-3, 0.5, 100, NaN, NaN, { loraProGap: 0.25, reloraRestart: 1 });
    const b = buf.drain();
    expect(Array.from(b.extra!.loraProGap)).toEqual([0.5, NaN, 0.25]);
    expect(Array.from(b.extra!.reloraRestart)).toEqual([NaN, NaN, 1]);
    expect(Object.keys(b.extra!).sort()).toEqual(['loraGap', 'loraProGap', 'reloraRestart']);
    buf.push(4, 4.7, 1e-3, 0.5, 100, NaN, NaN);
    expect(buf.drain().extra).toBeUndefined();
  });

  it('the page keeps the latest finite value of each figure across batches', () => {
    let m = applyMetricsBatch(emptyMetrics(), {
      ...batch(1, 3),
      extra: { loraProGap: Float32Array.from([0.5, 0.4, NaN]), loraGap: Float32Array.from([0.9, NaN, NaN]) },
    });
    expect(m.extra).toEqual({ loraProGap: Math.fround(0.4), loraGap: Math.fround(0.9) });
    m = applyMetricsBatch(m, { ...batch(4, 5), extra: { loraProGap: Float32Array.from([0.3, 0.2]) } });
    expect(m.extra).toEqual({ loraProGap: Math.fround(0.2), loraGap: Math.fround(0.9) });
    expect(applyMetricsBatch(emptyMetrics(), batch(1, 2)).extra).toBeUndefined();
  });
});
