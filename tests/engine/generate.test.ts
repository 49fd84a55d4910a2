/**
 * Generation: decoding with the KV cache gives the same tokens and (within float rounding) the same
 * logits as re-running the full forward for every token — inside the context and across the window
 * slide past it — plus streaming order, cancellation and top-p.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { testGpu, expectClose } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/device';
import { Gpt2Model } from '../../src/engine/model/gpt2';
import { loadBuiltinModel } from '../../src/engine/io/checkpoint';
import { pickToken, sampleTokens, type SampleOptions } from '../../src/engine/generate';
import { Rng } from '../../src/engine/rng';

let gpu: Gpu;
let model: Gpt2Model;
beforeAll(async () => {
  gpu = await testGpu();
  const loaded = await loadBuiltinModel('micro'); // context 32: 45 new tokens cross the window slide
  model = Gpt2Model.fromWeights(gpu, loaded.config, loaded.weights);
});

async function both(prompt: number[], o: Omit<SampleOptions, 'prompt' | 'cache'>) {
  const run = async (cache: boolean) => {
    const logits: Float32Array[] = [];
    const ids = await sampleTokens(gpu, model, prompt, { ...o, cache }, { onLogits: (l) => logits.push(l) });
    return { ids, logits };
  };
  return { cached: await run(true), full: await run(false) };
}

const prompt = [...'The cat'].map((c) => c.charCodeAt(0));

describe('generation with a KV cache', () => {
  it('greedy: same tokens and logits as full recomputation, across the context slide', async () => {
    const { cached, full } = await both(prompt, { maxTokens: 45, temperature: 0, topK: 0, seed: 1 });
    expect(cached.ids).toHaveLength(45);
    expect(cached.ids).toEqual(full.ids);
    for (let i = 0; i < full.logits.length; i++)
      expectClose(cached.logits[i], full.logits[i], { atol: 2e-4, rtol: 1e-4, label: `logits of token ${i}` });
  });

  it('sampled (temperature, top-k, top-p, seed): same tokens as full recomputation', async () => {
    const o = { maxTokens: 20, temperature: 0.9, topK: 40, topP: 0.9, seed: 7 };
    const { cached, full } = await both(prompt, o);
    expect(cached.ids).toEqual(full.ids);
  });

  it('streams tokens in order and stops when cancelled', async () => {
    const seen: number[] = [];
    const ids = await sampleTokens(
      gpu,
      model,
      prompt,
      { maxTokens: 20, temperature: 0, topK: 0, seed: 1 },
      { onToken: (id) => void seen.push(id), cancelled: () => seen.length >= 3 },
    );
    expect(ids).toHaveLength(3);
    expect(seen).toEqual(ids);
  });

  it('top-p keeps the smallest set reaching the mass', () => {
    // probabilities ∝ e^logit at temperature 1: [0.64, 0.24, 0.09, 0.03] (approx.)
    const logits = Float32Array.from([3, 2, 1, 0]);
    const drawn = new Set<number>();
    const rng = new Rng(1, 'test');
    for (let i = 0; i < 300; i++) drawn.add(pickToken(logits, 1, 0, rng, 0.8));
    expect([...drawn].sort()).toEqual([0, 1]);
  });
});
