/**
 * Divergence that stays finite, and NaN stops that name the tensor (issue 19 item 6): the monitor on
 * loss sequences, then real micro runs — lr 10 stops with a message instead of finishing, and a NaN
 * planted in one weight is reported by that weight's name, not "loss".
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { DivergenceMonitor } from '../../src/engine/divergence';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { applyOverrides, parseRunConfig, RUN_PRESETS } from '../../src/engine/config';
import { resolveInputs } from '../../src/engine/inputs';
import { DivergenceError, NonFiniteError, Trainer } from '../../src/engine/train';

const feed = (losses: number[]) => {
  const m = new DivergenceMonitor();
  for (let i = 0; i < losses.length; i++) {
    const r = m.observe(i + 1, losses[i]);
    if (r) return { step: i + 1, reason: r };
  }
  return null;
};

describe('DivergenceMonitor', () => {
  it('leaves falling and noisy losses alone', () => {
    expect(feed([5.5, 5.2, 4.9, 5.1, 4.5, 4.6, 3.9, 4.2, 3.5])).toBeNull();
    expect(feed([5.5, 9, 5.4, 9.5, 5, 10, 4.9])).toBeNull(); // spikes, never 3 in a row
  });
  it('stops a loss that climbs to thousands, naming start, minimum and steps', () => {
    const d = feed([5.55, 5.9, 14, 120, 7000, 6900, 7100]);
    expect(d?.step).toBe(5);
    expect(d?.reason).toMatch(/diverged at step 5: the loss 7\.000e\+3 has stayed above 2× its start \(5\.5500\)/);
    expect(d?.reason).toMatch(/minimum 5\.5500 \(step 1\) \+ 5 for 3 steps/);
  });
  it('stops a run that learned first and then blew up', () => {
    expect(feed([5.5, 3, 1, 0.5, 12, 13, 14])?.step).toBe(7);
  });
});

describe('trainer stops (real micro runs)', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });
  const inputs = (...ov: string[]) =>
    resolveInputs(parseRunConfig(applyOverrides(RUN_PRESETS.micro, ['train.warmupSteps=0', ...ov])), {});

  it('lr 10 without clipping: stopped as diverged (or non-finite with a tensor named), never finishing', async () => {
    const tr = await Trainer.create(gpu, await inputs('train.lr=10', 'train.gradClip=0', 'train.steps=40'));
    let err: unknown = null;
    try {
      while (tr.step < 40) await tr.trainStep();
    } catch (e) {
      err = e;
    } finally {
      tr.dispose();
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    const e = err as NonFiniteError;
    console.log(`lr 10: ${e.name} at step ${e.step}: ${e.message}`);
    expect(e.step).toBeLessThan(40);
    if (!(e instanceof DivergenceError)) expect(e.tensor).not.toBe('loss');
  }, 120_000);

  it('a NaN in one weight is reported by that weight, not "loss"', async () => {
    const tr = await Trainer.create(gpu, await inputs('train.steps=5'));
    try {
      await tr.trainStep();
      const w = await gpu.read(tr.model.param('h.1.mlp.c_fc.weight'));
      w[5] = NaN;
      gpu.write(tr.model.param('h.1.mlp.c_fc.weight'), w);
      const err = await tr.trainStep().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NonFiniteError);
      expect((err as NonFiniteError).tensor).toBe('h.1.mlp.c_fc.weight');
      expect((err as Error).message).toMatch(/non-finite parameter at step 2 in h\.1\.mlp\.c_fc\.weight/);
    } finally {
      tr.dispose();
    }
  }, 60_000);
});
