/**
 * Text generation: autoregressive sampling with temperature, top-k and top-p (nucleus, Holtzman et al.
 * 2020), the logits computed by the model on the GPU, the draw made on the CPU from the Philox stream
 * (seed, "sample") so a sample is reproducible. By default each new token is one decode step against a
 * KV cache (model/gpt2-decode.ts for GPT-2, model/decoder-decode.ts for every other family), linear in the
 * length; `cache: false` re-runs the full forward over the window instead (the reference the cache is
 * tested against). The cache holds the positions the request can reach (prompt + new tokens, at most the
 * context) and is planned before it is allocated: a request that does not fit is refused in one line.
 *
 * Past the context: the window the model sees starts at `start`; when it would exceed the context it
 * slides forward to the last ⌈context/2⌉ tokens (positions restart at 0), and the cache is refilled from
 * that window. Both paths use the same windows, so they produce the same tokens.
 */
import type { Gpu } from '../gpu/device';
import { Gpt2Model } from './model/gpt2';
import type { LanguageModel } from './model/language-model';
import { Gpt2Decoder, type CachedDecoder } from './model/gpt2-decode';
import { DecoderModel } from './model/decoder';
import { DecoderKvDecoder } from './model/decoder-decode';
import type { Tokenizer } from './io/tokenizers/types';
import { Rng } from './rng';

export interface SampleOptions {
  prompt: string;
  maxTokens: number;
  temperature: number; // 0 = greedy
  topK: number; // 0 = no limit
  /** Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches topP; 1 (default) = off. */
  topP?: number;
  seed: number;
  /** Stop at this token (e.g. newline for procedural tasks). */
  stopAt?: number;
  /** Decode with a KV cache (default true); false re-runs the full forward for each token. */
  cache?: boolean;
  /** Bytes the live buffers plus the KV cache may use (default 4 GiB, memory-plan.ts DEFAULT_LIMITS). */
  memoryBudget?: number;
}

export interface SampleHooks {
  /** Called with each new token as it is drawn (streaming), before the next one is computed. */
  onToken?: (id: number, index: number) => void | Promise<void>;
  /** Checked before each token: when true, generation stops and returns what it has. */
  cancelled?: () => boolean;
  /** Receives the logits row each token was drawn from (tests compare the two paths). */
  onLogits?: (logits: Float32Array) => void;
}

/** Next-token id from one row of logits. */
export function pickToken(logits: Float32Array, temperature: number, topK: number, rng: Rng, topP = 1): number {
  const V = logits.length;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let idx = Array.from({ length: V }, (_, i) => i);
  const nucleus = topP > 0 && topP < 1;
  if ((topK > 0 && topK < V) || nucleus) idx = idx.sort((a, b) => logits[b] - logits[a] || a - b);
  if (topK > 0 && topK < V) idx = idx.slice(0, topK);
  let max = -Infinity;
  for (const i of idx) max = Math.max(max, logits[i]);
  let w = idx.map((i) => Math.exp((logits[i] - max) / temperature));
  if (nucleus) {
    // transformers' TopPLogitsWarper: keep the most likely tokens until their mass reaches topP (at least one)
    const mass = w.reduce((a, b) => a + b, 0);
    let acc = 0,
      keep = 0;
    while (keep < w.length && (keep === 0 || acc < topP * mass)) acc += w[keep++];
    idx = idx.slice(0, keep);
    w = w.slice(0, keep);
  }
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.uniform() * total;
  for (let j = 0; j < idx.length; j++) {
    u -= w[j];
    if (u <= 0) return idx[j];
  }
  return idx[idx.length - 1];
}

/** The model's KV-cached decoder for `positions` positions; null for a model without one. */
export function createCachedDecoder(
  model: LanguageModel,
  positions: number,
  budgetBytes?: number,
): CachedDecoder | null {
  const opts = { capacity: Math.min(positions, model.cfg.contextLength), budgetBytes };
  if (model instanceof Gpt2Model) return new Gpt2Decoder(model, opts);
  if (model instanceof DecoderModel) return new DecoderKvDecoder(model, opts);
  return null;
}

export async function sampleTokens(
  gpu: Gpu,
  model: LanguageModel,
  promptIds: number[],
  o: Omit<SampleOptions, 'prompt'>,
  hooks: SampleHooks = {},
): Promise<number[]> {
  const ctx = model.cfg.contextLength;
  const rng = new Rng(o.seed, 'sample');
  const ids = promptIds.length ? [...promptIds] : [0];
  const out: number[] = [];
  // The window never holds more than prompt + new tokens (nor more than the context): the cache's size.
  const decoder =
    o.cache === false || o.maxTokens < 1 ? null : createCachedDecoder(model, ids.length + o.maxTokens, o.memoryBudget);
  let start = 0; // first id of the window the model sees
  let cacheStart = -1; // the window start the cache was filled from
  try {
    for (let n = 0; n < o.maxTokens; n++) {
      if (hooks.cancelled?.()) break;
      if (ids.length - start > ctx) start = ids.length - Math.ceil(ctx / 2);
      let row: Float32Array;
      if (decoder) {
        // the cache holds ids[start .. start+length); feed the rest (the whole window after a slide)
        if (cacheStart !== start) {
          decoder.reset();
          cacheStart = start;
        }
        row = await decoder.append(ids.slice(start + decoder.length));
      } else {
        const window = ids.slice(start);
        const T = window.length;
        model.setBatch(1, T, Int32Array.from(window), null, null);
        const enc = gpu.encoder('generate');
        model.forward(enc, 1, T);
        enc.submit();
        row = await model.readLogitsRow(T - 1);
      }
      hooks.onLogits?.(row);
      const next = pickToken(row, o.temperature, o.topK, rng, o.topP ?? 1);
      if (o.stopAt !== undefined && next === o.stopAt) break;
      ids.push(next);
      out.push(next);
      await hooks.onToken?.(next, n);
    }
  } finally {
    decoder?.release();
  }
  return out;
}

export async function sampleText(
  gpu: Gpu,
  model: LanguageModel,
  tokenizer: Tokenizer,
  o: SampleOptions,
  hooks: SampleHooks = {},
): Promise<string> {
  const ids = await sampleTokens(gpu, model, tokenizer.encode(o.prompt), o, hooks);
  return tokenizer.decode(ids);
}
