/**
 * The Hugging Face decoder families after GPT-2 — GPT-Neo, GPT-NeoX (Pythia), Llama (SmolLM2, TinyLlama),
 * Qwen2, Qwen3 — as ONE explicit forward/backward over a `DecoderLayout` (decoder-layout.ts) that
 * family-meta.ts builds for each family from its config: names, norm kind, fused or separate q/k/v,
 * rotary dims, q/k norms, MLP kind, parallel or sequential residual, per-layer attention window, tied or
 * untied head. Each branch follows the transformers modeling file it cites; the backward is the forward
 * in mirror order (llm.c), activations in one named struct per layer.
 *
 * Weights are held as the seam says (language-model.ts): linears (inDim, outDim), HF nn.Linear tensors
 * transposed at load/save by families.ts. The embedding and an untied head stay (V, C) — HF's layout for
 * both — so logits = h·Wᵀ as for GPT-2's tied head.
 *
 * Positions: learned (GPT-Neo's wpe, added by the embedding gather) or rotary: RoPE rotates q and k in
 * place after their projections (and after Qwen3's per-head RMSNorm), and the backward rotates dq, dk back.
 *
 * Vocabulary: the embedding and the head are `VocabTable` row shards (vocab-params.ts), the loss a chunked
 * cross-entropy (vocab.ts headLoss) that never holds the (N, V) logits, so a vocabulary matrix above one
 * storage binding trains; logits for generation and tests are computed on request (readLogitsRow).
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { add, axpy, geluBackward, geluForward } from '../../gpu/kernels/elementwise';
import { geluErfBackward, geluErfForward, swigluBackward, swigluForward } from '../../gpu/kernels/activation';
import { layernormBackward, layernormForward } from '../../gpu/kernels/layernorm';
import { rmsnormBackward, rmsnormForward } from '../../gpu/kernels/rmsnorm';
import { ropeApply, ropeCosSinTable, ropeInvFreq } from '../../gpu/kernels/rope';
import { gqaBackward, gqaForward, type HeadView } from '../../gpu/kernels/attention-gqa';
import { buildEmbeddingIndex, updateEmbeddingIndex, type EmbeddingIndex } from '../../gpu/kernels/embedding';
import { headDimOf, intermediateOf, type ModelConfig } from './config';
import { checkBindingLimits } from './gpt2';
import { linearBackward, linearForward, type Linear } from './linear';
import {
  splitModuleName,
  type LanguageModel,
  type ModelFamily,
  type ParamPart,
  type ParamSpec,
} from './language-model';
import { embedTokens, embedTokensBackward, headLoss } from './vocab';
import { VocabParams, readLogitRows, type ModelOptions } from './vocab-params';

import { decoderLinearNames, decoderParamSpecs, type DecoderLayout, type LayerLayout } from './decoder-layout';

export type { DecoderLayout, LayerLayout };

export interface LayerActs {
  n1: GpuTensor; // (N, C)
  n1Mean: GpuTensor; // (N) LayerNorm only
  n1Rstd: GpuTensor; // (N)
  q: GpuTensor; // (N, NH·HS) separate q, or the fused (N, 3·NH·HS) qkv
  k: GpuTensor | null; // (N, NKV·HS)
  v: GpuTensor | null; // (N, NKV·HS)
  qn: GpuTensor | null; // (N, NH·HS) after q_norm (then rotated in place)
  kn: GpuTensor | null; // (N, NKV·HS)
  qRstd: GpuTensor | null; // (N·NH)
  kRstd: GpuTensor | null; // (N·NKV)
  att: GpuTensor; // (B, NH, T, T)
  atty: GpuTensor; // (N, NH·HS) attention output before o_proj
  attOut: GpuTensor; // (N, C)
  resid2: GpuTensor; // (N, C) x + attn (parallel: a temporary of the sum)
  n2: GpuTensor; // (N, C)
  n2Mean: GpuTensor;
  n2Rstd: GpuTensor;
  h1: GpuTensor; // (N, I) fc output, or gate
  h2: GpuTensor | null; // (N, I) up (SwiGLU)
  act: GpuTensor; // (N, I) activation output = input of proj/down
  mlpOut: GpuTensor; // (N, C)
  out: GpuTensor; // (N, C) the layer's output = next layer's input
}

interface Activations {
  B: number;
  T: number;
  tokens: GpuTensor;
  targets: GpuTensor;
  mask: GpuTensor;
  encoded: GpuTensor; // (N, C)
  layers: LayerActs[];
  nf: GpuTensor;
  nfMean: GpuTensor;
  nfRstd: GpuTensor;
  losses: GpuTensor; // (N)
  dres: GpuTensor; // (N, C)
  dC: GpuTensor;
  dC2: GpuTensor;
  dC3: GpuTensor;
  dI: GpuTensor; // (N, I)
  dI2: GpuTensor;
  dI3: GpuTensor;
  dAtty: GpuTensor; // (N, NH·HS)
  dq: GpuTensor; // (N, NH·HS), or fused (N, 3·NH·HS)
  dk: GpuTensor | null;
  dv: GpuTensor | null;
  dq2: GpuTensor | null; // q_norm input gradients (Qwen3)
  dk2: GpuTensor | null;
  datt: GpuTensor; // (B, NH, T, T)
  index: EmbeddingIndex;
  cs: GpuTensor | null; // RoPE cos/sin table (T, 2, rotDim/2)
}

export class DecoderModel implements LanguageModel {
  readonly gpu: Gpu;
  readonly cfg: ModelConfig;
  readonly family: ModelFamily;
  readonly layout: DecoderLayout;
  readonly specs: ParamSpec[];
  readonly params = new Map<string, GpuTensor>();
  readonly grads = new Map<string, GpuTensor>();
  readonly linears = new Map<string, Linear>();
  /** The embedding and head, in row shards. */
  readonly vocab: VocabParams;
  private acts: Activations | null = null;
  private readonly inputOf = new Map<string, (la: LayerActs) => GpuTensor>();

  constructor(
    gpu: Gpu,
    cfg: ModelConfig,
    family: ModelFamily,
    layout: DecoderLayout,
    weights: (spec: ParamSpec) => Float32Array,
    opts: ModelOptions = {},
  ) {
    this.gpu = gpu;
    this.cfg = cfg;
    this.family = family;
    this.layout = layout;
    this.specs = decoderParamSpecs(cfg, layout);
    this.vocab = new VocabParams(
      gpu,
      this.params,
      this.grads,
      `${layout.embed}.weight`,
      layout.head ? `${layout.head}.weight` : null,
    );
    checkBindingLimits(
      gpu,
      cfg,
      this.specs.filter((s) => !this.vocab.has(s.name)),
    );
    if (headDimOf(cfg) > 128) throw new Error(`head_dim ${headDimOf(cfg)} is above the attention kernel's 128`);
    for (const s of this.specs) {
      const data = weights(s);
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n)
        throw new Error(`${s.name}: expected ${n} values for shape [${s.shape}], got ${data.length}`);
      if (this.vocab.has(s.name)) this.vocab.load(s, data, opts);
      else this.params.set(s.name, gpu.upload(data, s.shape, s.name, 'weights'));
    }
    for (const name of decoderLinearNames(layout)) {
      const w = this.param(`${name}.weight`);
      this.linears.set(name, {
        name,
        inDim: w.shape[0],
        outDim: w.shape[1],
        weight: w,
        bias: this.params.get(`${name}.bias`) ?? null,
        dWeight: null,
        dBias: null,
        adapter: null,
      });
    }
    // Activation capture (EVA): which activation feeds each linear.
    for (const l of layout.layers) {
      const attnIn = l.attn.kind === 'fused' ? [l.attn.qkv] : [l.attn.q, l.attn.k, l.attn.v];
      for (const n of attnIn) this.inputOf.set(n, (la) => la.n1);
      this.inputOf.set(l.o, (la) => la.atty);
      const mlpIn = l.mlp.kind === 'swiglu' ? [l.mlp.gate, l.mlp.up] : [l.mlp.fc];
      for (const n of mlpIn) this.inputOf.set(n, (la) => la.n2);
      this.inputOf.set(l.mlp.kind === 'swiglu' ? l.mlp.down : l.mlp.proj, (la) => la.act);
    }
  }

  param(name: string): GpuTensor {
    const t = this.params.get(name);
    if (!t) throw this.vocab.has(name) ? this.vocab.shardedError(name) : new Error(`no parameter ${name}`);
    return t;
  }

  parts(name: string): ParamPart[] {
    if (this.vocab.has(name)) return this.vocab.parts(name);
    return [{ name, param: this.param(name), grad: this.grads.get(name) ?? null }];
  }

  get parameterCount(): number {
    let n = 0;
    for (const t of this.params.values()) n += t.size;
    return n;
  }

  setTrainable(names: Iterable<string>): void {
    for (const g of this.grads.values()) this.gpu.release(g);
    this.grads.clear();
    this.vocab.clearGrads();
    for (const name of names) {
      if (this.vocab.has(name)) {
        this.vocab.setTrainable(name);
        continue;
      }
      const p = this.param(name);
      this.grads.set(name, this.gpu.zeros(p.shape, `grad:${name}`, 'gradients'));
    }
    for (const l of this.linears.values()) {
      l.dWeight = this.grads.get(`${l.name}.weight`) ?? null;
      l.dBias = this.grads.get(`${l.name}.bias`) ?? null;
    }
  }

  /** Sizes from the config (also the KV decoder's, decoder-decode.ts). */
  get dims() {
    const c = this.cfg;
    const HS = headDimOf(c);
    return {
      C: c.nEmbd,
      V: c.vocabSize,
      I: intermediateOf(c),
      HS,
      NH: c.nHead,
      KV: c.nKvHead ?? c.nHead,
      Q: c.nHead * HS,
      KVW: (c.nKvHead ?? c.nHead) * HS,
      eps: c.layerNormEps,
    };
  }

  ensureActivations(B: number, T: number): void {
    const a = this.acts;
    if (a && a.B >= B && a.T >= T && a.B * a.T >= B * T) return;
    if (a) this.releaseActivations();
    const { C, V, I, NH, Q, KVW } = this.dims;
    const N = B * T;
    const g = this.gpu;
    const t = (shape: number[], label: string) => g.tensor(shape, label, 'activations');
    const lay = this.layout;
    const layers: LayerActs[] = lay.layers.map((l, i) => {
      const p = `act:${i}`;
      const fused = l.attn.kind === 'fused';
      const swiglu = l.mlp.kind === 'swiglu';
      return {
        n1: t([N, C], `${p}.n1`),
        n1Mean: t([N], `${p}.n1Mean`),
        n1Rstd: t([N], `${p}.n1Rstd`),
        q: t([N, fused ? 3 * Q : Q], `${p}.q`),
        k: fused ? null : t([N, KVW], `${p}.k`),
        v: fused ? null : t([N, KVW], `${p}.v`),
        qn: l.qNorm ? t([N, Q], `${p}.qn`) : null,
        kn: l.kNorm ? t([N, KVW], `${p}.kn`) : null,
        qRstd: l.qNorm ? t([N * NH], `${p}.qRstd`) : null,
        kRstd: l.kNorm ? t([N * (this.cfg.nKvHead ?? NH)], `${p}.kRstd`) : null,
        att: t([B, NH, T, T], `${p}.att`),
        atty: t([N, Q], `${p}.atty`),
        attOut: t([N, C], `${p}.attOut`),
        resid2: t([N, C], `${p}.resid2`),
        n2: t([N, C], `${p}.n2`),
        n2Mean: t([N], `${p}.n2Mean`),
        n2Rstd: t([N], `${p}.n2Rstd`),
        h1: t([N, I], `${p}.h1`),
        h2: swiglu ? t([N, I], `${p}.h2`) : null,
        act: t([N, I], `${p}.act`),
        mlpOut: t([N, C], `${p}.mlpOut`),
        out: t([N, C], `${p}.out`),
      };
    });
    const fused = lay.layers.some((l) => l.attn.kind === 'fused');
    const qk = lay.layers.some((l) => l.qNorm);
    const cs = lay.rotDim > 0 ? ropeTable(g, this.cfg, lay.rotDim, T, 'rope:cos-sin') : null;
    this.acts = {
      B,
      T,
      tokens: t([N], 'act:tokens'),
      targets: t([N], 'act:targets'),
      mask: t([N], 'act:mask'),
      encoded: t([N, C], 'act:encoded'),
      layers,
      nf: t([N, C], 'act:nf'),
      nfMean: t([N], 'act:nfMean'),
      nfRstd: t([N], 'act:nfRstd'),
      losses: t([N], 'act:losses'),
      dres: t([N, C], 'act:dres'),
      dC: t([N, C], 'act:dC'),
      dC2: t([N, C], 'act:dC2'),
      dC3: t([N, C], 'act:dC3'),
      dI: t([N, I], 'act:dI'),
      dI2: t([N, I], 'act:dI2'),
      dI3: t([N, I], 'act:dI3'),
      dAtty: t([N, Q], 'act:dAtty'),
      dq: t([N, fused ? 3 * Q : Q], 'act:dq'),
      dk: fused ? null : t([N, KVW], 'act:dk'),
      dv: fused ? null : t([N, KVW], 'act:dv'),
      dq2: qk ? t([N, Q], 'act:dq2') : null,
      dk2: qk ? t([N, KVW], 'act:dk2') : null,
      datt: t([B, NH, T, T], 'act:datt'),
      index: buildEmbeddingIndex(g, new Int32Array(N), { capacity: N, V }),
      cs,
    };
  }

  private releaseActivations(): void {
    const a = this.acts!;
    for (const [k, v] of Object.entries(a)) {
      if (k === 'layers') {
        for (const la of v as LayerActs[]) for (const t of Object.values(la)) if (t) this.gpu.release(t as GpuTensor);
      } else if (k === 'index') this.gpu.release((v as EmbeddingIndex).data);
      else if (v && typeof v === 'object') this.gpu.release(v as GpuTensor);
    }
    this.acts = null;
  }

  get activations(): Activations {
    if (!this.acts) throw new Error('activations not allocated: call ensureActivations(B, T)');
    return this.acts;
  }

  setBatch(B: number, T: number, inputs: Int32Array, targets: Int32Array | null, mask: Float32Array | null): void {
    this.ensureActivations(B, T);
    const a = this.activations;
    const N = B * T;
    if (inputs.length !== N) throw new Error(`batch: ${inputs.length} inputs for B·T = ${N}`);
    const V = this.cfg.vocabSize;
    for (let i = 0; i < N; i++)
      if (inputs[i] < 0 || inputs[i] >= V) throw new Error(`batch: token id ${inputs[i]} at ${i} outside [0, ${V})`);
    this.gpu.write(a.tokens, inputs);
    if (targets) this.gpu.write(a.targets, targets);
    this.gpu.write(a.mask, mask ?? new Float32Array(N).fill(1));
    updateEmbeddingIndex(this.gpu, a.index, inputs, { V });
  }

  /** ln1/ln2/final norm `prefix` over N rows: LayerNorm or RMSNorm as the layout says (also the KV decoder's). */
  normForward(
    enc: StepEncoder,
    prefix: string,
    x: GpuTensor,
    out: GpuTensor,
    mean: GpuTensor,
    rstd: GpuTensor,
    N: number,
  ) {
    const { C, eps } = this.dims;
    if (this.layout.norm === 'layernorm')
      layernormForward(enc, {
        x,
        gamma: this.param(`${prefix}.weight`),
        beta: this.param(`${prefix}.bias`),
        out,
        mean,
        rstd,
        N,
        C,
        eps,
      });
    else rmsnormForward(enc, { x, w: this.param(`${prefix}.weight`), out, rstd, N, C, eps });
  }

  /** dx += norm backward (both kinds accumulate into the residual gradient). */
  private normBackward(
    enc: StepEncoder,
    prefix: string,
    dout: GpuTensor,
    x: GpuTensor,
    mean: GpuTensor,
    rstd: GpuTensor,
    dx: GpuTensor,
    N: number,
  ) {
    const { C } = this.dims;
    const dw = this.grads.get(`${prefix}.weight`) ?? this.scratchGrad(`${prefix}.weight`, 'gamma');
    if (this.layout.norm === 'layernorm')
      layernormBackward(enc, {
        dout,
        x,
        gamma: this.param(`${prefix}.weight`),
        mean,
        rstd,
        dx,
        dgamma: dw,
        dbeta: this.grads.get(`${prefix}.bias`) ?? this.scratchGrad(`${prefix}.bias`, 'beta'),
        N,
        C,
      });
    else rmsnormBackward(enc, { dout, x, w: this.param(`${prefix}.weight`), rstd, dx, dw, N, C, accumulateDx: true });
  }

  /** The attention kernels' heads, head size, scale and the layer's window (gqaForward/Backward, gqaDecode). */
  attnSizes(l: LayerLayout) {
    const { NH, KV, HS } = this.dims;
    return { NH, NKV: KV, HS, scale: this.layout.scale, window: l.window };
  }

  /** q, k, v views for the attention and RoPE kernels (also the KV decoder's, for its cache). */
  views(l: LayerLayout): { q: HeadView; k: HeadView; v: HeadView } {
    const { HS, Q } = this.dims;
    if (l.attn.kind === 'fused') {
      // GPT-NeoX: query_key_value's outputs are per head [q(HS), k(HS), v(HS)] (modeling_gpt_neox.py view(…, 3·HS)).
      const row = 3 * Q,
        head = 3 * HS;
      return { q: { off: 0, row, head }, k: { off: HS, row, head }, v: { off: 2 * HS, row, head } };
    }
    return { q: {}, k: {}, v: {} };
  }

  private rope(enc: StepEncoder, l: LayerLayout, q: GpuTensor, k: GpuTensor, B: number, T: number, inverse: boolean) {
    if (this.layout.rotDim === 0) return;
    this.ropeRows(enc, l, q, k, { cs: this.activations.cs!, B, T, inverse });
  }

  /**
   * RoPE on q and k (in place, through the layer's views) with the cos/sin table `cs` from position pos0:
   * the full forward and backward (the activations' table, pos0 0) and the KV decoder (its own table, the
   * new rows' absolute positions, labels tagged ' decode').
   */
  ropeRows(
    enc: StepEncoder,
    l: LayerLayout,
    q: GpuTensor,
    k: GpuTensor,
    r: { cs: GpuTensor; B: number; T: number; inverse?: boolean; pos0?: number; tag?: string },
  ) {
    const rotDim = this.layout.rotDim;
    const { HS, NH, KV } = this.dims;
    const { cs, B, T, inverse = false, pos0, tag = '' } = r;
    const v = this.views(l);
    const view = (h: HeadView) => ({ rowStride: h.row, headStride: h.head, offset: h.off });
    ropeApply(enc, { x: q, cs, B, T, nHeads: NH, HS, rotDim, inverse, pos0, ...view(v.q), label: `rope q${tag}` });
    ropeApply(enc, { x: k, cs, B, T, nHeads: KV, HS, rotDim, inverse, pos0, ...view(v.k), label: `rope k${tag}` });
  }

  /**
   * ln1's output `la.n1` (N rows) through q/k/v — or GPT-NeoX's fused query_key_value — and Qwen3's per-head
   * q/k RMSNorm: the q, k, v that RoPE and attention read (the full forward's and the KV decoder's).
   */
  qkvForward(enc: StepEncoder, l: LayerLayout, la: LayerActs, N: number): { q: GpuTensor; k: GpuTensor; v: GpuTensor } {
    const { NH, KV, HS, eps } = this.dims;
    let q: GpuTensor, k: GpuTensor, v: GpuTensor;
    if (l.attn.kind === 'fused') {
      linearForward(enc, this.linears.get(l.attn.qkv)!, la.n1, la.q, N);
      q = k = v = la.q;
    } else {
      linearForward(enc, this.linears.get(l.attn.q)!, la.n1, la.q, N);
      linearForward(enc, this.linears.get(l.attn.k)!, la.n1, la.k!, N);
      linearForward(enc, this.linears.get(l.attn.v)!, la.n1, la.v!, N);
      q = la.q;
      k = la.k!;
      v = la.v!;
    }
    if (l.qNorm && l.kNorm) {
      // Qwen3Attention: q_norm/k_norm (RMSNorm over head_dim) on each head, before RoPE.
      rmsnormForward(enc, {
        x: q,
        w: this.param(`${l.qNorm}.weight`),
        out: la.qn!,
        rstd: la.qRstd!,
        N: N * NH,
        C: HS,
        eps,
      });
      rmsnormForward(enc, {
        x: k,
        w: this.param(`${l.kNorm}.weight`),
        out: la.kn!,
        rstd: la.kRstd!,
        N: N * KV,
        C: HS,
        eps,
      });
      q = la.qn!;
      k = la.kn!;
    }
    return { q, k, v };
  }

  /**
   * From the attention output `la.atty` on: o_proj, the residual, ln2, the MLP (SwiGLU or GELU) and the
   * second residual, for N rows whose layer input is x; returns the layer's output `la.out` (the full
   * forward's and the KV decoder's).
   */
  outMlpForward(enc: StepEncoder, l: LayerLayout, la: LayerActs, x: GpuTensor, N: number): GpuTensor {
    const { C, I } = this.dims;
    linearForward(enc, this.linears.get(l.o)!, la.atty, la.attOut, N);
    // MLP input: the attention residual (sequential) or the layer input itself (GPT-NeoX parallel residual)
    const mlpIn = this.layout.parallelResidual ? x : la.resid2;
    add(enc, { a: x, b: la.attOut, out: la.resid2, n: N * C });
    this.normForward(enc, l.ln2, mlpIn, la.n2, la.n2Mean, la.n2Rstd, N);
    if (l.mlp.kind === 'swiglu') {
      linearForward(enc, this.linears.get(l.mlp.gate)!, la.n2, la.h1, N);
      linearForward(enc, this.linears.get(l.mlp.up)!, la.n2, la.h2!, N);
      swigluForward(enc, { gate: la.h1, up: la.h2!, out: la.act, n: N * I });
      linearForward(enc, this.linears.get(l.mlp.down)!, la.act, la.mlpOut, N);
    } else {
      linearForward(enc, this.linears.get(l.mlp.fc)!, la.n2, la.h1, N);
      if (l.mlp.kind === 'gelu') geluErfForward(enc, { x: la.h1, out: la.act, n: N * I });
      else geluForward(enc, { x: la.h1, out: la.act, n: N * I });
      linearForward(enc, this.linears.get(l.mlp.proj)!, la.act, la.mlpOut, N);
    }
    add(enc, { a: la.resid2, b: la.mlpOut, out: la.out, n: N * C });
    return la.out;
  }

  forward(enc: StepEncoder, B: number, T: number): void {
    const a = this.activations;
    const lay = this.layout;
    const N = B * T;
    if (T > this.cfg.contextLength)
      throw new Error(`sequence length ${T} exceeds the model's context ${this.cfg.contextLength}`);
    embedTokens(enc, {
      table: this.vocab.embed,
      tokens: a.tokens,
      out: a.encoded,
      N,
      positions: lay.pos ? { wpe: this.param(`${lay.pos}.weight`), T } : undefined,
    });
    let x = a.encoded;
    lay.layers.forEach((l, i) => {
      const la = a.layers[i];
      this.normForward(enc, l.ln1, x, la.n1, la.n1Mean, la.n1Rstd, N);
      const { q, k, v } = this.qkvForward(enc, l, la, N);
      this.rope(enc, l, q, k, B, T, false);
      const vw = this.views(l);
      gqaForward(enc, {
        q,
        k,
        v,
        out: la.atty,
        att: la.att,
        B,
        T,
        ...this.attnSizes(l),
        qView: vw.q,
        kView: vw.k,
        vView: vw.v,
      });
      x = this.outMlpForward(enc, l, la, x, N);
    });
    this.normForward(enc, lay.finalNorm, x, a.nf, a.nfMean, a.nfRstd, N);
  }

  /** Losses from the final hidden state through the (sharded) head, chunk by chunk (vocab.ts headLoss). */
  loss(enc: StepEncoder, B: number, T: number): void {
    const a = this.activations;
    headLoss(enc, { x: a.nf, W: this.vocab.head, targets: a.targets, mask: a.mask, losses: a.losses, N: B * T });
  }

  backward(enc: StepEncoder, B: number, T: number, gradScale: number): void {
    const a = this.activations;
    const lay = this.layout;
    const { C, NH, KV, HS, I } = this.dims;
    const N = B * T;
    // losses, dC = ∂L/∂nf and (trainable head) dW += dlogitsᵀ·nf, chunk by chunk
    headLoss(enc, {
      x: a.nf,
      W: this.vocab.head,
      targets: a.targets,
      mask: a.mask,
      losses: a.losses,
      N,
      gradScale,
      dx: a.dC,
      dW: this.vocab.dHead,
    });
    const L = lay.layers.length;
    const lastOut = L > 0 ? a.layers[L - 1].out : a.encoded;
    enc.clear(a.dres);
    this.normBackward(enc, lay.finalNorm, a.dC, lastOut, a.nfMean, a.nfRstd, a.dres, N);
    for (let i = L - 1; i >= 0; i--) {
      const l = lay.layers[i];
      const la = a.layers[i];
      const x = i === 0 ? a.encoded : a.layers[i - 1].out;
      const mlpIn = lay.parallelResidual ? x : la.resid2;
      // MLP branch: d mlpOut = dres → dC2 = ∂L/∂n2
      if (l.mlp.kind === 'swiglu') {
        linearBackward(enc, this.linears.get(l.mlp.down)!, la.act, a.dres, a.dI, N);
        swigluBackward(enc, { gate: la.h1, up: la.h2!, dout: a.dI, dgate: a.dI2, dup: a.dI3, n: N * I });
        linearBackward(enc, this.linears.get(l.mlp.gate)!, la.n2, a.dI2, a.dC2, N);
        linearBackward(enc, this.linears.get(l.mlp.up)!, la.n2, a.dI3, a.dC3, N);
        axpy(enc, { x: a.dC3, y: a.dC2, n: N * C, alpha: 1 });
      } else {
        linearBackward(enc, this.linears.get(l.mlp.proj)!, la.act, a.dres, a.dI, N);
        if (l.mlp.kind === 'gelu') geluErfBackward(enc, { x: la.h1, dout: a.dI, dx: a.dI2, n: N * I });
        else geluBackward(enc, { x: la.h1, dout: a.dI, dx: a.dI2, n: N * I });
        linearBackward(enc, this.linears.get(l.mlp.fc)!, la.n2, a.dI2, a.dC2, N);
      }
      if (!lay.parallelResidual) {
        // resid2 feeds ln2: dres becomes ∂L/∂resid2 before the attention branch reads it
        this.normBackward(enc, l.ln2, a.dC2, mlpIn, la.n2Mean, la.n2Rstd, a.dres, N);
      }
      // Attention branch: d attOut = dres
      linearBackward(enc, this.linears.get(l.o)!, la.atty, a.dres, a.dAtty, N);
      const fused = l.attn.kind === 'fused';
      const q = la.qn ?? la.q,
        k = la.kn ?? (fused ? la.q : la.k!),
        v = fused ? la.q : la.v!;
      const dq = a.dq,
        dk = fused ? a.dq : a.dk!,
        dv = fused ? a.dq : a.dv!;
      const vw = this.views(l);
      gqaBackward(enc, {
        dout: a.dAtty,
        q,
        k,
        v,
        att: la.att,
        dq,
        dk,
        dv,
        datt: a.datt,
        B,
        T,
        ...this.attnSizes(l),
        qView: vw.q,
        kView: vw.k,
        vView: vw.v,
      });
      this.rope(enc, l, dq, dk, B, T, true);
      let dqIn = dq,
        dkIn = dk;
      if (l.qNorm && l.kNorm) {
        rmsnormBackward(enc, {
          dout: dq,
          x: la.q,
          w: this.param(`${l.qNorm}.weight`),
          rstd: la.qRstd!,
          dx: a.dq2!,
          dw: this.grads.get(`${l.qNorm}.weight`) ?? this.scratchGrad(`${l.qNorm}.weight`, 'qnorm'),
          N: N * NH,
          C: HS,
        });
        rmsnormBackward(enc, {
          dout: dk,
          x: la.k!,
          w: this.param(`${l.kNorm}.weight`),
          rstd: la.kRstd!,
          dx: a.dk2!,
          dw: this.grads.get(`${l.kNorm}.weight`) ?? this.scratchGrad(`${l.kNorm}.weight`, 'knorm'),
          N: N * KV,
          C: HS,
        });
        dqIn = a.dq2!;
        dkIn = a.dk2!;
      }
      if (l.attn.kind === 'fused') linearBackward(enc, this.linears.get(l.attn.qkv)!, la.n1, a.dq, a.dC, N);
      else {
        linearBackward(enc, this.linears.get(l.attn.q)!, la.n1, dqIn, a.dC, N);
        linearBackward(enc, this.linears.get(l.attn.k)!, la.n1, dkIn, a.dC3, N);
        axpy(enc, { x: a.dC3, y: a.dC, n: N * C, alpha: 1 });
        linearBackward(enc, this.linears.get(l.attn.v)!, la.n1, dv, a.dC3, N);
        axpy(enc, { x: a.dC3, y: a.dC, n: N * C, alpha: 1 });
      }
      // dres (= ∂L/∂x through the residual) += the two norms' input gradients
      this.normBackward(enc, l.ln1, a.dC, x, la.n1Mean, la.n1Rstd, a.dres, N);
      if (lay.parallelResidual) this.normBackward(enc, l.ln2, a.dC2, x, la.n2Mean, la.n2Rstd, a.dres, N);
    }
    const dwpe = lay.pos ? this.grads.get(`${lay.pos}.weight`) : undefined;
    embedTokensBackward(enc, {
      dtable: this.vocab.dEmbed,
      index: a.index,
      dout: a.dres,
      N,
      positions: dwpe ? { dwpe, B, T, C } : undefined,
    });
  }

  private scratch = new Map<string, GpuTensor>();
  /** A gradient sink for frozen parameters whose kernels always write one, keyed by (size, role). */
  private scratchGrad(name: string, role = 'main'): GpuTensor {
    const n = this.param(name).size;
    const key = `${n}:${role}`;
    let t = this.scratch.get(key);
    if (!t) {
      t = this.gpu.tensor([n], `scratch-grad[${key}]`, 'scratch');
      this.scratch.set(key, t);
    }
    return t;
  }

  zeroGrads(enc: StepEncoder): void {
    for (const g of this.grads.values()) enc.clear(g);
  }

  linearInput(name: string): GpuTensor {
    const f = this.inputOf.get(name);
    if (!f) throw new Error(`no linear ${name} in this ${this.cfg.arch} model`);
    const layer = splitModuleName(name)!.layer;
    return f(this.activations.layers[layer]);
  }

  async readWeights(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const s of this.specs)
      out.set(s.name, this.vocab.has(s.name) ? await this.vocab.read(s.name) : await this.gpu.read(this.param(s.name)));
    return out;
  }

  writeWeights(weights: Map<string, Float32Array>): void {
    for (const [name, data] of weights) {
      if (this.vocab.has(name)) {
        this.vocab.write(name, data);
        continue;
      }
      const p = this.param(name);
      if (data.length !== p.size) throw new Error(`${name}: ${data.length} values for shape [${p.shape}]`);
      this.gpu.write(p, data);
    }
  }

  readLogits(B: number, T: number): Promise<Float32Array> {
    return readLogitRows(this.gpu, this.activations.nf, this.vocab.head, 0, B * T);
  }

  readLogitsRow(row: number): Promise<Float32Array> {
    return readLogitRows(this.gpu, this.activations.nf, this.vocab.head, row, 1);
  }

  destroy(): void {
    if (this.acts) this.releaseActivations();
    for (const t of this.params.values()) this.gpu.release(t);
    for (const t of this.grads.values()) this.gpu.release(t);
    for (const t of this.scratch.values()) this.gpu.release(t);
    this.params.clear();
    this.grads.clear();
  }
}

/**
 * RoPE's cos/sin table (rows, rotDim) for positions 0 … rows−1, uploaded: ropeInvFreq with the config's
 * rope_theta / rotary_emb_base and llama3 scaling (the full forward's activations and the KV decoder's cache).
 */
export function ropeTable(gpu: Gpu, cfg: ModelConfig, rotDim: number, rows: number, label: string): GpuTensor {
  const inv = ropeInvFreq({ rotDim, theta: cfg.ropeTheta ?? 10000, scaling: ropeScalingOf(cfg) });
  return gpu.upload(ropeCosSinTable(inv, rows), [rows, rotDim], label, 'activations');
}

/** Our llama3 rope_scaling → the kernel host's HF-shaped object. */
export function ropeScalingOf(c: ModelConfig) {
  const s = c.ropeScaling;
  if (!s) return null;
  return {
    rope_type: 'llama3',
    factor: s.factor,
    low_freq_factor: s.lowFreqFactor,
    high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositionEmbeddings,
  };
}
