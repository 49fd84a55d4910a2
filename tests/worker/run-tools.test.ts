/**
 * The page's extract and mitigate buttons run worker/run-tools.ts (issue 12 items 3, 5) on a run's
 * checkpoint. On the micro preset (seeded init, built-in english data):
 *   - extract: a tuned checkpoint W0 + a known rank-2 ΔW per matrix → energy 1 at r = 2 (uniform r = 2 exact,
 *     threshold 0.999 picks r = 2), PEFT files written;
 *   - mitigate: a LoRA with random factors has intruders; λ = 0.75 reduces them and changes the probe loss,
 *     which is computed on the GPU with the merged weights; λ = 1 leaves the probe loss unchanged (the
 *     re-factorised rank-r ΔW is the same ΔW), so before/after differ only by the mitigation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig, presetArchitecture, RUN_PRESETS } from '../../src/engine/config';
import { createModel, paramSpecsFor } from '../../src/engine/model/families';
import type { Gpu } from '../../src/gpu/device';
import { extractRun, mitigateRun } from '../../src/worker/run-tools';
import { randn, testGpu } from '../helpers/gpu';

const MODULES = ['h.0.attn.c_attn', 'h.1.attn.c_attn'];

describe('worker run tools: extract and mitigate', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });
  const base = {
    ...RUN_PRESETS.micro,
    train: { steps: 4, batchSize: 2, contextLength: 16, lr: 3e-3 },
    eval: { every: 2, batches: 1 },
  };

  it('extracts the rank of a known ΔW from a full fine-tuning checkpoint', async () => {
    const config = parseRunConfig({ ...base, method: { id: 'full', params: {} } });
    const arch = presetArchitecture(config)!;
    const model = createModel(gpu, arch, null, config.seed);
    const w0 = await model.readWeights();
    model.destroy();
    const tensors: Record<string, Float32Array> = {};
    for (const m of MODULES) {
      const [inDim, outDim] = paramSpecsFor(arch).find((p) => p.name === `${m}.weight`)!.shape;
      const u = randn(inDim * 2, 1),
        v = randn(2 * outDim, 2);
      const w = w0.get(`${m}.weight`)!.slice();
      for (let i = 0; i < inDim; i++)
        for (let o = 0; o < outDim; o++)
          w[i * outDim + o] += 0.1 * (u[i * 2] * v[o] + 0.5 * u[i * 2 + 1] * v[outDim + o]);
      tensors[`${m}.weight`] = w;
    }
    const uni = await extractRun(gpu, { config, tensors, matrices: MODULES, rank: 2 });
    expect(uni.matrices.map((m) => m.r)).toEqual([2, 2]);
    for (const m of uni.matrices) {
      expect(m.captured).toBeGreaterThan(0.99999);
      expect(m.relError).toBeLessThan(1e-3);
    }
    expect(uni.files.map((f) => f.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const en = await extractRun(gpu, { config, tensors, matrices: MODULES, energy: 0.999 });
    expect(en.matrices.map((m) => m.r)).toEqual([2, 2]);
    expect(en.matrices[0].energyCurve[0]).toBeLessThan(0.999);
  }, 60_000);

  it('mitigates intruders and measures the probe loss before/after on the GPU', async () => {
    const config = parseRunConfig({ ...base, method: { id: 'lora', params: { rank: 4, alpha: 8 } } });
    const arch = presetArchitecture(config)!;
    const tensors: Record<string, Float32Array> = {};
    const ranks: Record<string, number> = {},
      scaling: Record<string, number> = {};
    MODULES.forEach((m, i) => {
      const [inDim, outDim] = paramSpecsFor(arch).find((p) => p.name === `${m}.weight`)!.shape;
      tensors[`${m}.lora_A`] = randn(4 * inDim, 10 + i, 0.5);
      tensors[`${m}.lora_B`] = randn(outDim * 4, 20 + i, 0.5);
      ranks[m] = 4;
      scaling[m] = 2;
    });
    const adapter = { tensors, meta: { ranks, scaling } };
    const mit = await mitigateRun(gpu, { config, adapter, lambda: 0.75, k: 10, eps: 0.5 });
    console.log(
      `mitigate λ=0.75: intruders ${mit.before} → ${mit.after}, ${mit.probeSplit} loss ${mit.probeBefore.toFixed(5)} → ${mit.probeAfter.toFixed(5)}`,
    );
    expect(mit.before).toBeGreaterThan(0);
    expect(mit.after).toBeLessThanOrEqual(mit.before);
    expect(Number.isFinite(mit.probeBefore) && Number.isFinite(mit.probeAfter)).toBe(true);
    expect(Math.abs(mit.probeAfter - mit.probeBefore)).toBeGreaterThan(1e-5);
    expect(mit.files.map((f) => f.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const same = await mitigateRun(gpu, { config, adapter, lambda: 1, k: 10, eps: 0.5 });
    expect(same.probeBefore).toBeCloseTo(mit.probeBefore, 6);
    expect(Math.abs(same.probeAfter - same.probeBefore)).toBeLessThan(1e-4);
  }, 60_000);
});
