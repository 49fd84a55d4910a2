/**
 * HRA on the micro model through the real Trainer: after training, every adapted matrix's update
 * W·H − W (deltaOf) has numerical rank ≤ r — the paper's "HR-based orthogonal fine-tuning is an
 * adaptive low-rank adaptation" (methods-catalog claim 27) — while it is far from zero; and the merged
 * weights reproduce the adapted model's logits in a plain model (what a merged export ships).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig } from '../../src/engine/config';
import { resolveInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { createModel } from '../../src/engine/model/families';
import { singularValues } from '../../src/engine/linalg';

const R = 4;

describe('hra', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it(`rank(W·H − W) ≤ r = ${R} for every adapted matrix after training; merged weights reproduce the logits`, async () => {
    const config = parseRunConfig({
      model: { source: 'preset', id: 'micro' },
      dataset: { source: 'builtin', id: 'english' },
      method: { id: 'hra', params: { rank: R } },
      train: { steps: 6, batchSize: 2, contextLength: 16, lr: 1e-2, warmupSteps: 0, schedule: 'constant' },
      eval: { every: 0, batches: 1 },
      seed: 5,
    });
    const inputs = await resolveInputs(config);
    const tr = await Trainer.create(gpu, inputs);
    try {
      for (let s = 0; s < 6; s++) await tr.trainStep();
      const layers = [...tr.model.linears.values()].filter((l) => l.adapter);
      expect(layers.length).toBeGreaterThan(0);
      for (const l of layers) {
        const d = (await tr.method.deltaOf!(l.name))!;
        const s = singularValues(d, l.inDim, l.outDim);
        expect(s[0], `${l.name}: the update is not zero`).toBeGreaterThan(1e-3);
        expect(s[R] / s[0], `${l.name}: σ_${R + 1}/σ_1 = ${s[R] / s[0]}`).toBeLessThan(1e-5);
      }
      // merged weights in a plain model give the adapted model's logits
      const T = 16,
        B = 2;
      const tokens = Int32Array.from({ length: B * T }, (_, i) => 97 + ((i * 5) % 26));
      const logits = async (m: typeof tr.model) => {
        m.setBatch(B, T, tokens, tokens, null);
        const enc = gpu.encoder('hra logits');
        m.forward(enc, B, T);
        enc.submit();
        return m.readLogits(B, T);
      };
      const a = await logits(tr.model);
      const plain = createModel(gpu, inputs.modelConfig, await tr.method.merged(), config.seed);
      const b = await logits(plain);
      plain.destroy();
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      expect(maxDiff).toBeLessThan(1e-3);
    } finally {
      tr.dispose();
    }
  });
});
