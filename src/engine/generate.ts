/**
 * Text generation: autoregressive sampling with temperature and top-k, the logits computed by the
 * model's GPU forward, the draw made on the CPU from the Philox stream (seed, "sample") so a sample
 * is reproducible. Each new token re-runs the forward over the last `contextLength` tokens (no KV
 * cache: these models are small and generation is a side view, not the hot path).
 */
import type { Gpu } from '../gpu/device';
import type { Gpt2Model } from './model/gpt2';
import type { Tokenizer } from './io/tokenizers/types';
import { Rng } from './rng';

export interface SampleOptions {
  prompt: string;
  maxTokens: number;
  temperature: number; // 0 = greedy
  topK: number; // 0 = no limit
  seed: number;
  /** Stop at this token (e.g. newline for procedural tasks). */
  stopAt?: number;
}

/** Next-token id from one row of logits. */
export function pickToken(logits: Float32Array, temperature: number, topK: number, rng: Rng): number {
  const V = logits.length;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let idx = Array.from({ length: V }, (_, i) => i);
  if (topK > 0 && topK < V) idx = idx.sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK);
  let max = -Infinity;
  for (const i of idx) max = Math.max(max, logits[i]);
  const w = idx.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.uniform() * total;
  for (let j = 0; j < idx.length; j++) {
    u -= w[j];
    if (u <= 0) return idx[j];
  }
  return idx[idx.length - 1];
}

export async function sampleTokens(
  gpu: Gpu,
  model: Gpt2Model,
  promptIds: number[],
  o: Omit<SampleOptions, 'prompt'>,
): Promise<number[]> {
  const ctx = model.cfg.contextLength;
  const V = model.cfg.vocabSize;
  const rng = new Rng(o.seed, 'sample');
  const ids = promptIds.length ? [...promptIds] : [0];
  const out: number[] = [];
  for (let n = 0; n < o.maxTokens; n++) {
    const window = ids.slice(-ctx);
    const T = window.length;
    model.setBatch(1, T, Int32Array.from(window), null, null);
    const enc = gpu.encoder('generate');
    model.forward(enc, 1, T);
    enc.submit();
    const row = await gpu.read(model.activations.logits, V, (T - 1) * V);
    const next = pickToken(row, o.temperature, o.topK, rng);
    if (o.stopAt !== undefined && next === o.stopAt) break;
    ids.push(next);
    out.push(next);
  }
  return out;
}

export async function sampleText(gpu: Gpu, model: Gpt2Model, tokenizer: Tokenizer, o: SampleOptions): Promise<string> {
  const ids = await sampleTokens(gpu, model, tokenizer.encode(o.prompt), o);
  return tokenizer.decode(ids);
}
