/**
 * The decode step with a KV cache for the `DecoderModel` families — Llama/SmolLM2, Qwen2, Qwen3,
 * GPT-NeoX (Pythia), GPT-Neo — generation only; training never uses it. Each layer keeps the keys
 * (rotated) and values of every position seen so far, so a new token costs one row through the linears
 * and one row of attention against the cache instead of re-running the whole window. This is
 * transformers' `past_key_values` (DynamicCache: `key_states, value_states = past_key_value.update(…)`
 * after `apply_rotary_pos_emb` in LlamaAttention/Qwen2Attention/GPTNeoXAttention), the cache
 * preallocated to the positions the request can reach.
 *
 * The layer sequence is DecoderModel.forward's (decoder.ts), run on the model's own activation buffers
 * with B = 1, T = Tq rows and the model's Linear layers, so adapters (LoRA, DoRA, …) apply exactly as in
 * the full forward (the same `linearForward` path gpt2-decode.ts uses). What differs:
 *   - RoPE rotates q and k at the new rows' absolute positions (pos0 …), from this decoder's own cos/sin
 *     table over the cache's positions (the same table the full forward builds: ropeInvFreq with the
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
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { add, geluForward } from '../../gpu/kernels/elementwise';
import { geluErfForward, swigluForward } from '../../gpu/kernels/activation';
import { layernormForward } from '../../gpu/kernels/layernorm';
import { rmsnormForward } from '../../gpu/kernels/rmsnorm';
import { ropeApply, ropeCosSinTable, ropeInvFreq } from '../../gpu/kernels/rope';
import { gqaDecode, type HeadView } from '../../gpu/kernels/attention-gqa';
import { gpuLimits, planKvCache } from '../memory-plan';
import { headDimOf, intermediateOf } from './config';
import { ropeScalingOf, type DecoderModel, type LayerLayout } from './decoder';
import type { CachedDecoder } from './gpt2-decode';
import { linearForward } from './linear';
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
    const { NH, NKV, HS } = this.dims;
    for (let l = 0; l < lay.layers.length; l++) {
      if (lay.layers[l].attn.kind === 'fused') {
        const kv = gpu.tensor([S, 3 * NH * HS], `kv:${l}.qkv`, 'activations');
        this.cache.push({ k: kv, v: kv });
      } else
        this.cache.push({
          k: gpu.tensor([S, NKV * HS], `kv:${l}.k`, 'activations'),
          v: gpu.tensor([S, NKV * HS], `kv:${l}.v`, 'activations'),
        });
    }
    this.logits = gpu.tensor([1, cfg.vocabSize], 'kv:logits', 'activations');
    this.cs =
      lay.rotDim > 0
        ? gpu.upload(
            ropeCosSinTable(
              ropeInvFreq({ rotDim: lay.rotDim, theta: cfg.ropeTheta ?? 10000, scaling: ropeScalingOf(cfg) }),
              S,
            ),
            [S, lay.rotDim],
            'kv:rope cos-sin',
            'activations',
          )
        : null;
  }

  get length(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
  }

  private get dims() {
    const c = this.model.cfg;
    const HS = headDimOf(c);
    return {
      C: c.nEmbd,
      I: intermediateOf(c),
      HS,
      NH: c.nHead,
      NKV: c.nKvHead ?? c.nHead,
      Q: c.nHead * HS,
      KVW: (c.nKvHead ?? c.nHead) * HS,
      eps: c.layerNormEps,
    };
  }

  private scratch(Tq: number): { att: GpuTensor; wpeWin: GpuTensor | null } {
    const { NH, C } = this.dims;
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

  /** GPT-NeoX's per-head fused rows: q, k, v views of (N, NH, 3·HS); separate projections: defaults. */
  private views(l: LayerLayout): { q: HeadView; k: HeadView; v: HeadView } {
    const { HS, Q } = this.dims;
    if (l.attn.kind !== 'fused') return { q: {}, k: {}, v: {} };
    const row = 3 * Q,
      head = 3 * HS;
    return { q: { off: 0, row, head }, k: { off: HS, row, head }, v: { off: 2 * HS, row, head } };
  }

  private norm(
    enc: StepEncoder,
    prefix: string,
    x: GpuTensor,
    out: GpuTensor,
    mean: GpuTensor,
    rstd: GpuTensor,
    N: number,
  ) {
    const m = this.model;
    const { C, eps } = this.dims;
    if (m.layout.norm === 'layernorm')
      layernormForward(enc, {
        x,
        gamma: m.param(`${prefix}.weight`),
        beta: m.param(`${prefix}.bias`),
        out,
        mean,
        rstd,
        N,
        C,
        eps,
      });
    else rmsnormForward(enc, { x, w: m.param(`${prefix}.weight`), out, rstd, N, C, eps });
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
    const { C, NH, NKV, HS, I, Q, KVW, eps } = this.dims;
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
      this.norm(enc, l.ln1, x, la.n1, la.n1Mean, la.n1Rstd, Tq);
      const fused = l.attn.kind === 'fused';
      let q: GpuTensor, k: GpuTensor;
      if (l.attn.kind === 'fused') {
        linearForward(enc, m.linears.get(l.attn.qkv)!, la.n1, la.q, Tq);
        q = k = la.q;
      } else {
        linearForward(enc, m.linears.get(l.attn.q)!, la.n1, la.q, Tq);
        linearForward(enc, m.linears.get(l.attn.k)!, la.n1, la.k!, Tq);
        linearForward(enc, m.linears.get(l.attn.v)!, la.n1, la.v!, Tq);
        q = la.q;
        k = la.k!;
      }
      if (l.qNorm && l.kNorm) {
        // Qwen3Attention: per-head RMSNorm on q and k before RoPE (as the full forward)
        rmsnormForward(enc, {
          x: q,
          w: m.param(`${l.qNorm}.weight`),
          out: la.qn!,
          rstd: la.qRstd!,
          N: Tq * NH,
          C: HS,
          eps,
        });
        rmsnormForward(enc, {
          x: k,
          w: m.param(`${l.kNorm}.weight`),
          out: la.kn!,
          rstd: la.kRstd!,
          N: Tq * NKV,
          C: HS,
          eps,
        });
        q = la.qn!;
        k = la.kn!;
      }
      const vw = this.views(l);
      if (this.cs) {
        const view = (h: HeadView) => ({ rowStride: h.row, headStride: h.head, offset: h.off });
        const r = { cs: this.cs, B: 1, T: Tq, HS, rotDim: lay.rotDim, pos0 };
        ropeApply(enc, { x: q, nHeads: NH, ...r, ...view(vw.q), label: 'rope q decode' });
        ropeApply(enc, { x: k, nHeads: NKV, ...r, ...view(vw.k), label: 'rope k decode' });
      }
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
        NH,
        NKV,
        HS,
        scale: lay.scale,
        window: l.window,
        qView: vw.q,
        kcView: fused ? vw.k : undefined,
        vcView: fused ? vw.v : undefined,
      });
      linearForward(enc, m.linears.get(l.o)!, la.atty, la.attOut, Tq);
      // GPT-NeoX parallel residual: the MLP reads the layer input, not x + attn
      const mlpIn = lay.parallelResidual ? x : la.resid2;
      add(enc, { a: x, b: la.attOut, out: la.resid2, n: Tq * C });
      this.norm(enc, l.ln2, mlpIn, la.n2, la.n2Mean, la.n2Rstd, Tq);
      if (l.mlp.kind === 'swiglu') {
        linearForward(enc, m.linears.get(l.mlp.gate)!, la.n2, la.h1, Tq);
        linearForward(enc, m.linears.get(l.mlp.up)!, la.n2, la.h2!, Tq);
        swigluForward(enc, { gate: la.h1, up: la.h2!, out: la.act, n: Tq * I });
        linearForward(enc, m.linears.get(l.mlp.down)!, la.act, la.mlpOut, Tq);
      } else {
        linearForward(enc, m.linears.get(l.mlp.fc)!, la.n2, la.h1, Tq);
        if (l.mlp.kind === 'gelu') geluErfForward(enc, { x: la.h1, out: la.act, n: Tq * I });
        else geluForward(enc, { x: la.h1, out: la.act, n: Tq * I });
        linearForward(enc, m.linears.get(l.mlp.proj)!, la.act, la.mlpOut, Tq);
      }
      add(enc, { a: la.resid2, b: la.mlpOut, out: la.out, n: Tq * C });
      x = la.out;
    });
    this.norm(enc, lay.finalNorm, x, a.nf, a.nfMean, a.nfRstd, Tq);
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
