/**
 * ReLoRA's restart (src/engine/adapters/methods/relora.ts) must not set training back: the merge
 * W ← W + s·B·A with the fresh A and B = 0 leaves the model's function unchanged, and the partial
 * optimizer reset leaves Adam's moments consistent, so the steps after a restart are ordinary Adam steps.
 * What this guards: pruning m and v independently left entries with m ≠ 0 and v = 0; A's gradient is 0 on
 * the first step after a restart (B = 0), so those entries moved by lr·m̂/ε — max |A| 0.18 → 425 in one
 * step, the gradient norm ×300, and the README's experiment lost a nat.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { parseRunConfig } from '../../src/engine/config';
import { resolveInputs, type RunInputs } from '../../src/engine/inputs';
import { Trainer } from '../../src/engine/train';
import { pruneMoments } from '../../src/engine/adapters/methods/relora';

const B = 2,
  T = 16,
  LR = 1e-2;
const tokens = Int32Array.from({ length: B * T }, (_, i) => 97 + ((i * 7 + 3) % 26));
const targets = Int32Array.from({ length: B * T }, (_, i) => 97 + ((i * 11 + 5) % 26));

/** Logits (B·T, V) and the mean cross-entropy of a fixed batch. */
async function evalFixed(tr: Trainer): Promise<{ logits: Float32Array; ce: number }> {
  tr.model.setBatch(B, T, tokens, targets, null);
  const enc = tr.gpu.encoder('relora test logits');
  tr.model.forward(enc, B, T);
  enc.submit();
  const logits = await tr.model.readLogits(B, T);
  const V = logits.length / (B * T);
  let ce = 0;
  for (let n = 0; n < B * T; n++) {
    const row = logits.subarray(n * V, (n + 1) * V);
    const mx = row.reduce((a, v) => Math.max(a, v), -Infinity);
    const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
    ce += lse - row[targets[n]];
  }
  return { logits, ce: ce / (B * T) };
}

describe('relora restarts', () => {
  let gpu: Gpu;
  let inputs: RunInputs;
  beforeAll(async () => {
    gpu = await testGpu();
    const config = parseRunConfig({
      model: { source: 'preset', id: 'micro' },
      dataset: { source: 'builtin', id: 'english' },
      method: { id: 'relora', params: { rank: 4, period: 3, restartWarmup: 1 } },
      targets: { modules: ['attn.c_attn', 'mlp.c_fc'], layers: null, rankOverrides: {} },
      train: { steps: 7, batchSize: B, contextLength: T, lr: LR, warmupSteps: 0, schedule: 'cosine' },
      eval: { every: 0, batches: 1 },
      seed: 9,
    });
    inputs = await resolveInputs(config);
  });

  it('pruned moments never keep m where v is gone; prune = 1 is a full reset', () => {
    const m = Float32Array.from({ length: 100 }, (_, i) => (i === 3 ? 9 : 0.01 * i));
    const v = Float32Array.from({ length: 100 }, (_, i) => (i === 3 ? 0 : 1e-4 * i));
    pruneMoments(m, v, 0.98);
    // m's largest two (indices 3 and 99) survive their own pruning; index 3 has no v, so its m goes too
    expect([...m.entries()].filter(([, x]) => x !== 0).map(([i]) => i)).toEqual([99]);
    expect([...v.entries()].filter(([, x]) => x !== 0).map(([i]) => i)).toEqual([98, 99]);
    const m1 = Float32Array.of(1, -2, 3),
      v1 = Float32Array.of(4, 5, 6);
    expect(pruneMoments(m1, v1, 1)).toBe(6);
    expect([...m1, ...v1].every((x) => x === 0)).toBe(true);
  });

  it('a restart keeps the logits, and the steps after it are ordinary Adam steps (no jump in parameters, gradient norm or loss)', async () => {
    const tr = await Trainer.create(gpu, inputs);
    const orig = tr.method.afterStep!.bind(tr.method);
    const mergeDiffs: number[] = [];
    const ceAt: number[] = []; // fixed-batch CE after each step (after its restart, if any)
    tr.method.afterStep = async (a) => {
      const before = await evalFixed(tr);
      const r = await orig(a);
      const after = await evalFixed(tr);
      if (r?.reloraRestart)
        mergeDiffs.push(before.logits.reduce((d, x, i) => Math.max(d, Math.abs(x - after.logits[i])), 0));
      ceAt.push(after.ce);
      return r;
    };
    const read = () => Promise.all(tr.method.trainables.map((t) => gpu.read(t.param)));
    try {
      let prev = await read();
      const restarts: number[] = [],
        gradNorms: number[] = [],
        stepRatio: number[] = []; // max |Δθ| / lr of each step that is not a restart
      for (let s = 0; s < 7; s++) {
        const m = await tr.trainStep();
        gradNorms.push(m.gradNorm);
        const now = await read();
        if (m.extra?.reloraRestart) restarts.push(s);
        else if (m.lr > 0)
          stepRatio.push(
            Math.max(...now.map((p, i) => p.reduce((d, x, j) => Math.max(d, Math.abs(x - prev[i][j])), 0))) / m.lr,
          );
        prev = now;
      }
      expect(restarts).toEqual([2, 5]);
      // (1) merge + fresh A + B = 0 is the same function, to f32 rounding (measured 1.8e-7)
      for (const d of mergeDiffs) expect(d).toBeLessThan(1e-5);
      // (2) an Adam step moves an entry by about lr·m̂/√v̂, a few lr at most (measured 1.00·lr);
      //     the m ≠ 0, v = 0 entries moved by 4.8e5·lr
      expect(Math.max(...stepRatio)).toBeLessThan(5);
      // (3) the gradient norm after a restart stays at the first segment's scale (was ×300)
      const first = Math.max(...gradNorms.slice(0, 3));
      expect(Math.max(...gradNorms.slice(3))).toBeLessThan(3 * first);
      // (4) the fixed-batch loss two steps after each restart is within 0.05 nat of the loss at the restart
      for (const r of restarts) if (r + 2 < ceAt.length) expect(ceAt[r + 2] - ceAt[r]).toBeLessThan(0.05);
      process.stderr.write(
        `relora restarts: merge Δlogits ${mergeDiffs.map((d) => d.toExponential(1))}, max |Δθ|/lr ${Math.max(...stepRatio).toFixed(2)}, grad norms ${gradNorms.map((g) => g.toFixed(3))}, fixed-batch CE ${ceAt.map((c) => c.toFixed(4))}\n`,
      );
    } finally {
      tr.dispose();
    }
  }, 300_000);
});
