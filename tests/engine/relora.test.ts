/**
 * ReLoRA (src/engine/adapters/methods/relora.ts) on the micro model through the real Trainer, with a
 * restart every 2 steps: each restart merges s·B·A into W (the model's function is unchanged by it),
 * restarts A (fresh) and B (0), prunes Adam's moments; the sum of merged updates exceeds rank r (the
 * paper's point); the jagged schedule; and a run stopped between restarts resumes bit for bit (the
 * merged W travels as method state).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig, type RunConfig } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { singularValues } from '../../src/engine/linalg';
import { jaggedFactor, magnitudePrune } from '../../src/engine/adapters/methods/relora';

const R = 2;

describe('relora', () => {
  let gpu: Gpu;
  let config: RunConfig;
  let inputs: RunInputs;
  beforeAll(async () => {
    gpu = await testGpu();
    config = parseRunConfig({
      model: { source: 'preset', id: 'micro' },
      dataset: { source: 'builtin', id: 'english' },
      method: { id: 'relora', params: { rank: R, period: 2, restartWarmup: 1 } },
      targets: { modules: ['mlp.c_fc'], layers: null, rankOverrides: {} },
      train: { steps: 6, batchSize: 2, contextLength: 16, lr: 1e-2, warmupSteps: 0, schedule: 'cosine' },
      eval: { every: 0, batches: 1 },
      seed: 9,
    });
    inputs = await resolveInputs(config);
  });

  it('magnitude pruning and the jagged factor', () => {
    const x = Float32Array.from({ length: 100 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1));
    expect(magnitudePrune(x, 0.99)).toBe(99);
    expect(Array.from(x.filter((v) => v !== 0))).toEqual([-100]);
    expect([0, 1, 2, 3, 4, 5].map((s) => jaggedFactor(s, 2, 1))).toEqual([1, 1, 0, 1, 0, 1]);
    expect([10, 11, 12, 13].map((s) => jaggedFactor(s, 10, 4))).toEqual([0, 0.25, 0.5, 0.75]);
  });

  it('restarts merge s·B·A into W and zero B; the merged sum exceeds rank r; resume between restarts is bit-identical', async () => {
    const tr = await Trainer.create(gpu, inputs);
    const layers = [...tr.model.linears.values()].filter((l) => l.adapter);
    const W0 = await Promise.all(layers.map((l) => gpu.read(l.weight)));
    const losses: number[] = [];
    let snap: Awaited<ReturnType<Trainer['snapshot']>> | null = null;
    try {
      const merged1 = await tr.method.merged();
      for (let s = 0; s < 6; s++) {
        const m = await tr.trainStep();
        losses.push(m.loss);
        expect(m.lr).toBeCloseTo(tr.lrAt(s), 12);
        if (s % 2 === 1) {
          expect(m.extra?.reloraRestart).toBe((s + 1) / 2);
          expect(m.extra?.reloraPrunedFraction).toBeGreaterThan(0.9);
          // after a restart B = 0: the adapter adds nothing, W holds everything
          for (const t of tr.method.trainables.filter((t) => t.name.endsWith('lora_B')))
            expect((await gpu.read(t.param)).every((v) => v === 0)).toBe(true);
        }
        if (s === 2) snap = await tr.snapshot();
      }
      expect(merged1.size).toBeGreaterThan(0);
      for (const [i, l] of layers.entries()) {
        const W = await gpu.read(l.weight);
        const d = W.map((v, j) => v - W0[i][j]);
        const sv = singularValues(d, l.inDim, l.outDim);
        // three restarts of rank-2 updates: rank 6 > r
        expect(sv[R] / sv[0], `${l.name}: σ_${R + 1}/σ_1`).toBeGreaterThan(1e-3);
      }
    } finally {
      tr.dispose();
    }
    // resume from the snapshot after step 3 (between restarts, one merge done)
    const tr2 = await Trainer.create(gpu, inputs);
    try {
      tr2.restore(snap!);
      const rest: number[] = [];
      for (let s = 3; s < 6; s++) rest.push((await tr2.trainStep()).loss);
      expect(rest).toEqual(losses.slice(3));
    } finally {
      tr2.dispose();
    }
  });
});
