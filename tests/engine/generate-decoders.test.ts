/**
 * KV-cache generation for the HF decoder families (model/decoder-decode.ts): on every family's tiny
 * checkpoint (tests/fixtures/hf/tiny: Llama (also with llama3 rope_scaling) and Qwen2/Qwen3 GQA with
 * rotate-half RoPE, Pythia's fused query_key_value with partial rotary and parallel residual, GPT-Neo's
 * learned positions and local window), greedy decoding with the cache gives the SAME 16 tokens as re-running the full forward, and
 * logits within float rounding — without and with a LoRA adapter on every linear (random B, so the
 * adapter changes the function), and with the vocabulary in forced row shards. Also: the window slide
 * past the context, chunked prompt prefill, sampling, and the memory plan refusing an oversized cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Gpu } from '../../src/gpu/device';
import { expectClose, randn, testGpu } from '../helpers/gpu';
import { readModelDir } from '../../src/cli/fsio';
import { loadModelFiles, type LoadedModel } from '../../src/engine/io/checkpoint';
import { createModel } from '../../src/engine/model/families';
import type { LanguageModel } from '../../src/engine/model/language-model';
import type { DecoderModel } from '../../src/engine/model/decoder';
import { DecoderKvDecoder } from '../../src/engine/model/decoder-decode';
import { LowRankAdapter } from '../../src/engine/adapters/lowrank';
import { createCachedDecoder, sampleTokens, type SampleOptions } from '../../src/engine/generate';
import { planKvCache } from '../../src/engine/memory-plan';

const ROOT = path.resolve(__dirname, '../fixtures/hf/tiny');
const FAMILIES = ['llama', 'llama3-rope', 'qwen2', 'qwen3', 'pythia', 'gpt-neo'];

let gpu: Gpu;
const loaded = new Map<string, LoadedModel>();
beforeAll(async () => {
  gpu = await testGpu();
  for (const f of FAMILIES) loaded.set(f, await loadModelFiles(f, await readModelDir(path.join(ROOT, f))));
});
afterAll(() => gpu?.destroy?.());

/** LoRA rank 4 on every linear with a random B (PEFT's B = 0 would leave the function unchanged). */
function attachLora(model: LanguageModel): void {
  let seed = 1;
  for (const l of model.linears.values()) {
    const r = 4;
    l.adapter = new LowRankAdapter(gpu, l, {
      rank: r,
      scaling: 2,
      A: randn(r * l.inDim, seed++, 0.3, 'lora A'),
      B: randn(l.outDim * r, seed++, 0.3, 'lora B'),
      trainA: false,
      trainB: false,
    });
  }
}

async function both(model: LanguageModel, prompt: number[], o: Omit<SampleOptions, 'prompt' | 'cache'>) {
  const run = async (cache: boolean) => {
    const logits: Float32Array[] = [];
    const ids = await sampleTokens(gpu, model, prompt, { ...o, cache }, { onLogits: (l) => logits.push(l) });
    return { ids, logits };
  };
  return { cached: await run(true), full: await run(false) };
}

const PROMPT = [5, 17, 42, 99, 3, 250, 7];
const GREEDY = { maxTokens: 16, temperature: 0, topK: 0, seed: 1 };

describe('KV-cache generation matches the full forward on every decoder family', () => {
  for (const f of FAMILIES)
    for (const variant of ['plain', 'LoRA', 'LoRA + vocabulary shards'] as const) {
      it(`${f} ${variant}: same 16 greedy tokens, logits within rounding`, async () => {
        const m = loaded.get(f)!;
        const model = createModel(gpu, m.config, m.weights, 0, variant.includes('shards') ? { maxShardRows: 100 } : {});
        try {
          if (variant !== 'plain') attachLora(model);
          expect(createCachedDecoder(model, 4)).toBeInstanceOf(DecoderKvDecoder);
          const { cached, full } = await both(model, PROMPT, GREEDY);
          expect(cached.ids).toHaveLength(16);
          expect(cached.ids).toEqual(full.ids);
          for (let i = 0; i < full.logits.length; i++)
            expectClose(cached.logits[i], full.logits[i], {
              atol: 1e-4,
              rtol: 1e-4,
              label: `${f} logits of token ${i}`,
            });
        } finally {
          model.destroy();
        }
      }, 30_000);
    }
});

describe('KV-cache generation: edges', () => {
  it('llama: across the window slide past the 64-token context (cache refilled), and sampled with top-p', async () => {
    const m = loaded.get('llama')!;
    const model = createModel(gpu, m.config, m.weights);
    try {
      const long = Array.from({ length: 58 }, (_, i) => (i * 37 + 11) % 280);
      const a = await both(model, long, GREEDY); // 58 + 16 > 64: slides to the last 32 ids
      expect(a.cached.ids).toEqual(a.full.ids);
      const b = await both(model, PROMPT, { maxTokens: 16, temperature: 0.9, topK: 50, topP: 0.9, seed: 4 });
      expect(b.cached.ids).toEqual(b.full.ids);
    } finally {
      model.destroy();
    }
  }, 30_000);

  it('pythia and qwen3: a prompt fed in chunks of 5 rows gives the logits of one pass', async () => {
    for (const f of ['pythia', 'qwen3']) {
      const m = loaded.get(f)!;
      const model = createModel(gpu, m.config, m.weights) as DecoderModel;
      try {
        const prompt = Array.from({ length: 17 }, (_, i) => (i * 13 + 2) % 280);
        const one = new DecoderKvDecoder(model, { capacity: 20 });
        const chunked = new DecoderKvDecoder(model, { capacity: 20, chunkRows: 5 });
        try {
          const x = await one.append(prompt);
          const y = await chunked.append(prompt);
          expect(chunked.length).toBe(17);
          expectClose(y, x, { atol: 1e-5, rtol: 1e-4, label: `${f} chunked prefill` });
          // then one more token each: still the same
          expectClose(await chunked.append([9]), await one.append([9]), { atol: 1e-5, rtol: 1e-4, label: `${f} next` });
          await expect(one.append([1, 2, 3])).rejects.toThrow("decode: 21 positions exceed the cache's 20");
        } finally {
          one.release();
          chunked.release();
        }
      } finally {
        model.destroy();
      }
    }
  }, 30_000);

  it('an oversized cache is refused in one line with the figures, before allocating', async () => {
    const m = loaded.get('llama')!;
    const model = createModel(gpu, m.config, m.weights);
    try {
      const o = { ...GREEDY, memoryBudget: gpu.pool.usage().total + 1000 };
      await expect(sampleTokens(gpu, model, PROMPT, o)).rejects.toThrow(
        /^generation: the KV cache of 23 positions needs .* on top of the .* already allocated, above the .* budget: ask for fewer new tokens or a shorter prompt, or generate without the cache$/,
      );
      // without the cache the same request runs
      expect(await sampleTokens(gpu, model, PROMPT, { ...o, cache: false })).toHaveLength(16);
    } finally {
      model.destroy();
    }
  }, 30_000);

  it('the plan: keys and values per layer (GQA), fused rows for GPT-NeoX, the per-buffer limit', () => {
    const llama = loaded.get('llama')!.config; // L2, NH4, NKV2, HS8, V288
    const p = planKvCache(llama, 64, undefined, { chunkRows: 64 });
    expect(p.perLayerBytes).toBe(2 * 64 * 2 * 8 * 4);
    expect(p.bytes).toBe(2 * p.perLayerBytes + 64 * 4 * 64 * 4 + 64 * 8 * 4 + 288 * 4);
    const pythia = loaded.get('pythia')!.config; // NH4, HS8, rotary_pct 0.5
    expect(planKvCache(pythia, 10).perLayerBytes).toBe(10 * 3 * 32 * 4);
    // SmolLM2-135M's shape over its full 8192 context: 30 layers × 2 × 8192 × 3·64 floats
    const smol = {
      ...llama,
      nLayer: 30,
      nHead: 9,
      nKvHead: 3,
      nEmbd: 576,
      headDim: 64,
      vocabSize: 49152,
      contextLength: 8192,
    };
    const s = planKvCache(smol, 8192, undefined, { chunkRows: 64 });
    expect(s.perLayerBytes).toBe(2 * 8192 * 192 * 4);
    expect(s.problems).toEqual([]);
    const tight = planKvCache(smol, 8192, {
      maxStorageBufferBindingSize: 2 ** 20,
      maxBufferSize: 2 ** 20,
      budgetBytes: 2 ** 40,
    });
    expect(tight.problems).toHaveLength(1);
    expect(tight.problems[0]).toMatch(
      /largest buffer, attention rows \(8192, 9, 8192\), needs 2\.3 GiB, above this adapter's 1\.0 MiB per buffer/,
    );
  });
});
