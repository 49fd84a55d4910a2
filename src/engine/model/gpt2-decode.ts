/**
 * GPT-2's decode step with a KV cache (generation only; training never uses it). Each layer keeps the
 * keys and values of every position seen so far, so a new token costs one row through the linears and
 * one row of attention against the cache — O(length) per token instead of re-running the whole prefix
 * (O(length²) per token in attention, O(length) in the linears). This is transformers' `past_key_values`
 * for GPT2Attention (modeling_gpt2.py: `key = torch.cat((past_key, key), dim=-2)`), with the cache
 * preallocated to the context length as llm.c's inference loop would.
 *
 * The layer sequence mirrors Gpt2Model.forward (ln_1 → c_attn → attention → c_proj → residual → ln_2 →
 * c_fc → GELU → c_proj → residual), running on the model's own activation buffers with N = Tq rows and
 * the model's Linear layers, so adapters (LoRA, DoRA, …) apply exactly as in the full forward. Only
 * attention differs: `attention_decode` against the cache. Positions come from a window copy of wpe.
 *
 * Not thread-safe with training: like the full-forward sampler it borrows the model's activations.
 */
import type { Gpu, GpuTensor } from '../../gpu/device';
import { add, geluForward } from '../../gpu/kernels/elementwise';
import { layernormForward } from '../../gpu/kernels/layernorm';
import { attentionDecode } from '../../gpu/kernels/attention';
import { embedTokens, logitsRows } from './vocab';
import type { Gpt2Model } from './gpt2';
import { linearForward } from './linear';
import { gpuLimits, planKvCache } from '../memory-plan';

/** A model family's incremental decoder: feed tokens, get the next-token logits of the last one. */
export interface CachedDecoder {
  /** Positions held so far (the next token goes at this position). */
  readonly length: number;
  /** Most positions the cache holds (the model's context). */
  readonly capacity: number;
  /** Append tokens at positions length.. and return the logits (V) after the last one. */
  append(tokens: readonly number[]): Promise<Float32Array>;
  /** Forget every position (the buffers stay allocated). */
  reset(): void;
  release(): void;
}

export class Gpt2Decoder implements CachedDecoder {
  private readonly gpu: Gpu;
  private readonly k: GpuTensor[] = []; // per layer (S, C)
  private readonly v: GpuTensor[] = []; // per layer (S, C)
  private readonly lastRow: GpuTensor; // (1, C) ln_f output of the last new row
  private readonly logits: GpuTensor; // (1, V)
  private att: GpuTensor | null = null; // (Tq, NH, S) scores scratch, grown on demand
  private wpeWin: GpuTensor | null = null; // (Tq, C) wpe rows pos0..pos0+Tq−1, grown on demand
  private len = 0;
  readonly capacity: number;

  constructor(
    private readonly model: Gpt2Model,
    opts: { capacity?: number; budgetBytes?: number } = {},
  ) {
    this.gpu = model.gpu;
    const { nLayer, nEmbd: C, vocabSize: V } = model.cfg;
    const S = Math.min(opts.capacity ?? model.cfg.contextLength, model.cfg.contextLength);
    if (!(Number.isInteger(S) && S >= 1))
      throw new Error(`decode: cache capacity must be a positive integer, got ${opts.capacity}`);
    this.capacity = S;
    // planned before it is allocated: an oversized request is one line with figures, not a lost device
    const plan = planKvCache(model.cfg, S, gpuLimits(this.gpu, opts.budgetBytes), {
      liveBytes: this.gpu.pool.usage().total,
    });
    if (plan.problems.length) throw new Error(`generation: ${plan.problems.join('; ')}`);
    for (let l = 0; l < nLayer; l++) {
      this.k.push(this.gpu.tensor([S, C], `kv:h.${l}.k`, 'activations'));
      this.v.push(this.gpu.tensor([S, C], `kv:h.${l}.v`, 'activations'));
    }
    this.lastRow = this.gpu.tensor([1, C], 'kv:lastRow', 'activations');
    this.logits = this.gpu.tensor([1, V], 'kv:logits', 'activations');
  }

  get length(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
  }

  private scratch(Tq: number): { att: GpuTensor; wpeWin: GpuTensor } {
    const { nHead: NH, nEmbd: C } = this.model.cfg;
    if (!this.att || this.att.size < Tq * NH * this.capacity) {
      if (this.att) this.gpu.release(this.att);
      this.att = this.gpu.tensor([Tq, NH, this.capacity], 'kv:att', 'activations');
    }
    if (!this.wpeWin || this.wpeWin.size < Tq * C) {
      if (this.wpeWin) this.gpu.release(this.wpeWin);
      this.wpeWin = this.gpu.tensor([Tq, C], 'kv:wpe', 'activations');
    }
    return { att: this.att, wpeWin: this.wpeWin };
  }

  async append(tokens: readonly number[]): Promise<Float32Array> {
    const m = this.model;
    const { nEmbd: C, nHead: NH, layerNormEps: eps, vocabSize: V } = m.cfg;
    const Tq = tokens.length;
    const pos0 = this.len;
    const S = this.capacity;
    if (Tq === 0) throw new Error('decode: no tokens to append');
    if (pos0 + Tq > S) throw new Error(`decode: ${pos0 + Tq} positions exceed the model's context ${S}`);
    m.setBatch(1, Tq, Int32Array.from(tokens), null, null);
    const a = m.activations;
    const { att, wpeWin } = this.scratch(Tq);
    const enc = this.gpu.encoder('decode');
    enc.copy(m.param('wpe.weight'), wpeWin, Tq * C, pos0 * C, 0);
    embedTokens(enc, {
      table: m.vocab.embed,
      tokens: a.tokens,
      out: a.encoded,
      N: Tq,
      positions: { wpe: wpeWin, T: Tq },
    });
    let residual = a.encoded;
    for (let l = 0; l < m.cfg.nLayer; l++) {
      const la = a.layers[l];
      const p = `h.${l}`;
      const ln = (x: GpuTensor, name: string, out: GpuTensor, mean: GpuTensor, rstd: GpuTensor) =>
        layernormForward(enc, {
          x,
          gamma: m.param(`${p}.${name}.weight`),
          beta: m.param(`${p}.${name}.bias`),
          out,
          mean,
          rstd,
          N: Tq,
          C,
          eps,
        });
      ln(residual, 'ln_1', la.ln1, la.ln1Mean, la.ln1Rstd);
      linearForward(enc, m.linears.get(`${p}.attn.c_attn`)!, la.ln1, la.qkv, Tq);
      // append this step's keys and values: qkv row t = [q | k | v], cache row pos0 + t
      for (let t = 0; t < Tq; t++) {
        enc.copy(la.qkv, this.k[l], C, t * 3 * C + C, (pos0 + t) * C);
        enc.copy(la.qkv, this.v[l], C, t * 3 * C + 2 * C, (pos0 + t) * C);
      }
      attentionDecode(enc, { qkv: la.qkv, kc: this.k[l], vc: this.v[l], out: la.atty, att, Tq, pos0, S, C, NH });
      linearForward(enc, m.linears.get(`${p}.attn.c_proj`)!, la.atty, la.attProj, Tq);
      add(enc, { a: residual, b: la.attProj, out: la.resid2, n: Tq * C });
      ln(la.resid2, 'ln_2', la.ln2, la.ln2Mean, la.ln2Rstd);
      linearForward(enc, m.linears.get(`${p}.mlp.c_fc`)!, la.ln2, la.fch, Tq);
      geluForward(enc, { x: la.fch, out: la.fchGelu, n: Tq * 4 * C });
      linearForward(enc, m.linears.get(`${p}.mlp.c_proj`)!, la.fchGelu, la.fcProj, Tq);
      add(enc, { a: la.resid2, b: la.fcProj, out: la.resid3, n: Tq * C });
      residual = la.resid3;
    }
    layernormForward(enc, {
      x: residual,
      gamma: m.param('ln_f.weight'),
      beta: m.param('ln_f.bias'),
      out: a.lnf,
      mean: a.lnfMean,
      rstd: a.lnfRstd,
      N: Tq,
      C,
      eps,
    });
    // Only the last row's logits are needed: lastRow · wteᵀ (tied output, wte's row shards), (1, V)
    enc.copy(a.lnf, this.lastRow, C, (Tq - 1) * C, 0);
    logitsRows(enc, { x: this.lastRow, W: m.vocab.head, out: this.logits, M: 1, label: 'lm_head decode' });
    enc.submit();
    this.len += Tq;
    return this.gpu.read(this.logits, V);
  }

  release(): void {
    for (const t of [...this.k, ...this.v, this.lastRow, this.logits, this.att, this.wpeWin])
      if (t) this.gpu.release(t);
    this.k.length = 0;
    this.v.length = 0;
    this.att = null;
    this.wpeWin = null;
  }
}
