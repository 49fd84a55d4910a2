/**
 * The decode step with a KV cache for the `DecoderModel` families — Llama/SmolLM2, Qwen2, Qwen3,
 * GPT-NeoX (Pythia), GPT-Neo — generation only; training never uses it. Each layer keeps the keys
 * (rotated) and values of every position seen so far, so a new token costs one row through the linears
 * and one row of attention against the cache instead of re-running the whole window. This is
 * transformers' `past_key_values` (DynamicCache: `key_states, value_states = past_key_value.update(…)`
 * after `apply_rotary_pos_emb` in LlamaAttention/Qwen2Attention/GPTNeoXAttention), the cache
 * preallocated to the positions the request can reach.
 *
 * The layer sequence is DecoderModel.forward's (decoder.ts) — the same calls: normForward, qkvForward,
 * ropeRows, attnSizes, outMlpForward — run on the model's own activation buffers with B = 1, T = Tq rows
 * and the model's Linear layers, so adapters (LoRA, DoRA, …) apply exactly as in the full forward (the
 * same `linearForward` path gpt2-decode.ts uses). What differs:
 *   - RoPE rotates q and k at the new rows' absolute positions (pos0 …), from this decoder's own cos/sin
 *     table over the cache's positions (decoder.ts ropeTable, as the full forward's: ropeInvFreq with the
 *     config's rope_theta / rotary_emb_base, llama3 scaling, GPT-NeoX's partial `rotary_pct`);
 *   - after the rotation the new k and v rows are copied into the cache — GPT-NeoX's fused
 *     query_key_value rows (per head [q | k | v]) are cached whole, one copy per layer, and read through
 *     the k and v views;
 *   - attention is `gqaDecode` (shaders/attention-gqa.wgsl gqa_decode: GQA, scale, GPT-Neo's window)
 *     against the cache;
 *   - GPT-Neo's learned positions come from a window copy of wpe;
 *   - only the last row goes through the (sharded) head.
 * Long prompts are fed in chunks of at most `chunkRows` rows (each attends to the cache and to itself,
 * causally), so the attention rows and the model's activations stay small whatever the prompt length.
 *
 * Memory: the cache is planned before it is allocated (memory-plan.ts planKvCache); a request that does
 * not fit throws one line with the figures. Not thread-safe with training: it borrows the activations.
 */
import type { Gpu, GpuTensor } from '../../gpu/device';
import { gqaDecode } from '../../gpu/kernels/attention-gqa';
import { gpuLimits, planKvCache } from '../memory-plan';
import { ropeTable, type DecoderModel } from './decoder';
import type { CachedDecoder } from './gpt2-decode';
import { embedTokens, logitsRows } from './vocab';

export interface KvDecoderOptions {
  /** Positions the cache holds (default and maximum: the model's context). */
  capacity?: number;
  /** Most rows fed in one pass (prompt prefill); default 64. */
  chunkRows?: number;
  /** Bytes everything live plus the cache may use (default DEFAULT_LIMITS' 4 GiB). */
  budgetBytes?: number;
}

interface LayerCache {
  k: GpuTensor; // (S, NKV·HS) rotated keys, or (S, 3·NH·HS) whole fused rows (GPT-NeoX)
  v: GpuTensor; // (S, NKV·HS), or the same tensor as k (fused)
}

export class DecoderKvDecoder implements CachedDecoder {
  private readonly gpu: Gpu;
  private readonly cache: LayerCache[] = [];
  private readonly logits: GpuTensor; // (1, V)
  private readonly cs: GpuTensor | null; // RoPE (S, 2, rotDim/2)
  private att: GpuTensor | null = null; // (chunk, NH, S) scores scratch
  private wpeWin: GpuTensor | null = null; // (chunk, C) GPT-Neo position rows pos0 …
  private len = 0;
  readonly capacity: number;
  readonly chunkRows: number;

  constructor(
    private readonly model: DecoderModel,
    opts: KvDecoderOptions = {},
  ) {
    const gpu = (this.gpu = model.gpu);
    const cfg = model.cfg;
    const lay = model.layout;
    const S = Math.min(opts.capacity ?? cfg.contextLength, cfg.contextLength);
    if (!(Number.isInteger(S) && S >= 1))
      throw new Error(`decode: cache capacity must be a positive integer, got ${opts.capacity}`);
    this.capacity = S;
    this.chunkRows = Math.max(1, Math.min(opts.chunkRows ?? 64, S));
    const plan = planKvCache(cfg, S, gpuLimits(gpu, opts.budgetBytes), {
      liveBytes: gpu.pool.usage().total,
      chunkRows: this.chunkRows,
    });
    if (plan.problems.length) throw new Error(`generation: ${plan.problems.join('; ')}`);
    const { NH, KV, HS } = model.dims;
    for (let l = 0; l < lay.layers.length; l++) {
      if (lay.layers[l].attn.kind === 'fused') {
        const kv = gpu.tensor([S, 3 * NH * HS], `kv:${l}.qkv`, 'activations');
        this.cache.push({ k: kv, v: kv });
      } else
        this.cache.push({
          k: gpu.tensor([S, KV * HS], `kv:${l}.k`, 'activations'),
          v: gpu.tensor([S, KV * HS], `kv:${l}.v`, 'activations'),
        });
    }
    this.logits = gpu.tensor([1, cfg.vocabSize], 'kv:logits', 'activations');
    this.cs = lay.rotDim > 0 ? ropeTable(gpu, cfg, lay.rotDim, S, 'kv:rope cos-sin') : null;
  }

  get length(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
  }

  private scratch(Tq: number): { att: GpuTensor; wpeWin: GpuTensor | null } {
    const { NH, C } = this.model.dims;
    if (!this.att || this.att.size < Tq * NH * this.capacity) {
      if (this.att) this.gpu.release(this.att);
      this.att = this.gpu.tensor([Tq, NH, this.capacity], 'kv:att', 'activations');
    }
    if (this.model.layout.pos && (!this.wpeWin || this.wpeWin.size < Tq * C)) {
      if (this.wpeWin) this.gpu.release(this.wpeWin);
      this.wpeWin = this.gpu.tensor([Tq, C], 'kv:wpe', 'activations');
    }
    return { att: this.att, wpeWin: this.wpeWin };
  }

  async append(tokens: readonly number[]): Promise<Float32Array> {
    if (tokens.length === 0) throw new Error('decode: no tokens to append');
    if (this.len + tokens.length > this.capacity)
      throw new Error(`decode: ${this.len + tokens.length} positions exceed the cache's ${this.capacity}`);
    for (let i = 0; i < tokens.length; i += this.chunkRows) {
      const chunk = tokens.slice(i, i + this.chunkRows);
      this.step(chunk);
    }
    return this.gpu.read(this.logits, this.model.cfg.vocabSize);
  }

  /** One pass of Tq ≤ chunkRows rows at positions len … len+Tq−1; leaves the last row's logits. */
  private step(tokens: readonly number[]): void {
    const m = this.model;
    const lay = m.layout;
    const { C, Q, KVW } = m.dims;
    const Tq = tokens.length;
    const pos0 = this.len;
    const S = this.capacity;
    m.setBatch(1, Tq, Int32Array.from(tokens), null, null);
    const a = m.activations;
    const { att, wpeWin } = this.scratch(Tq);
    const enc = this.gpu.encoder('decode');
    if (lay.pos && wpeWin) enc.copy(m.param(`${lay.pos}.weight`), wpeWin, Tq * C, pos0 * C, 0);
    embedTokens(enc, {
      table: m.vocab.embed,
      tokens: a.tokens,
      out: a.encoded,
      N: Tq,
      positions: lay.pos && wpeWin ? { wpe: wpeWin, T: Tq } : undefined,
    });
    let x = a.encoded;
    lay.layers.forEach((l, i) => {
      const la = a.layers[i];
      const kv = this.cache[i];
      m.normForward(enc, l.ln1, x, la.n1, la.n1Mean, la.n1Rstd, Tq);
      const fused = l.attn.kind === 'fused';
      const { q, k } = m.qkvForward(enc, l, la, Tq);
      const vw = m.views(l);
      if (this.cs) m.ropeRows(enc, l, q, k, { cs: this.cs, B: 1, T: Tq, pos0, tag: ' decode' });
      // the new rows into the cache, row = absolute position (after RoPE: the cache holds rotated keys)
      if (fused) enc.copy(la.q, kv.k, Tq * 3 * Q, 0, pos0 * 3 * Q);
      else {
        enc.copy(k, kv.k, Tq * KVW, 0, pos0 * KVW);
        enc.copy(la.v!, kv.v, Tq * KVW, 0, pos0 * KVW);
      }
      gqaDecode(enc, {
        q,
        kc: kv.k,
        vc: kv.v,
        out: la.atty,
        att,
        Tq,
        pos0,
        S,
        ...m.attnSizes(l),
        qView: vw.q,
        kcView: fused ? vw.k : undefined,
        vcView: fused ? vw.v : undefined,
      });
      x = m.outMlpForward(enc, l, la, x, Tq);
    });
    m.normForward(enc, lay.finalNorm, x, a.nf, a.nfMean, a.nfRstd, Tq);
    // only the last row's logits: nf[Tq−1] · headᵀ through the head's row shards, (1, V)
    logitsRows(enc, {
      x: a.nf,
      W: m.vocab.head,
      out: this.logits,
      M: 1,
      xOffset: (Tq - 1) * C,
      label: 'lm_head decode',
    });
    enc.submit();
    this.len += Tq;
  }

  release(): void {
    const seen = new Set<GpuTensor>();
    for (const c of this.cache) seen.add(c.k).add(c.v);
    for (const t of [this.logits, this.cs, this.att, this.wpeWin]) if (t) seen.add(t);
    for (const t of seen) this.gpu.release(t);
    this.cache.length = 0;
    this.att = null;
    this.wpeWin = null;
  }
}
