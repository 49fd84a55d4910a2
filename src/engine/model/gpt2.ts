/**
 * GPT-2 family decoder (Radford et al. 2019; llm.c's train_gpt2 is the structural anchor): token and
 * learned position embeddings, pre-LayerNorm blocks with causal multi-head attention and a GELU MLP,
 * a final LayerNorm, and the output tied to the token embedding. Parameter names are Hugging Face's
 * (`wte`, `h.0.attn.c_attn.weight`, …, `ln_f.bias`) and linear weights keep HF's Conv1D layout
 * (in, out), so real GPT-2 checkpoints load directly and PEFT export needs no renaming.
 *
 * Forward and backward are explicit, the backward in mirror order, activations in one named struct
 * per layer. wte is a `VocabTable` (row shards within one storage binding each, vocab-params.ts) and the
 * tied head's loss a chunked cross-entropy (vocab.ts headLoss), so the full 50 257-token GPT-2 trains on
 * adapters that bind 128 MiB per buffer; logits are computed on request (readLogitsRow). The other families are sibling files; the trainer, adapters, analysis, worker and CLI
 * see this class only through `LanguageModel` (language-model.ts).
 */
import type { Gpu, GpuTensor, StepEncoder } from '../../gpu/device';
import { add, geluBackward, geluForward } from '../../gpu/kernels/elementwise';
import { layernormBackward, layernormForward } from '../../gpu/kernels/layernorm';
import { attentionBackward, attentionForward } from '../../gpu/kernels/attention';
import { buildEmbeddingIndex, updateEmbeddingIndex, type EmbeddingIndex } from '../../gpu/kernels/embedding';
import { initParam } from './init';
import type { ModelConfig } from './config';
import { linearBackward, linearForward, type Linear } from './linear';
import type { LanguageModel, ModelFamily, ParamPart, ParamSpec } from './language-model';
import { gpt2LinearNames, gpt2Meta, gpt2ParamSpecs } from './family-meta';
import { embedTokens, embedTokensBackward, headLoss } from './vocab';
import { VocabParams, readLogitRows, type ModelOptions } from './vocab-params';

export type { ParamSpec } from './language-model';
export { initParam } from './init';
export { gpt2ParamSpecs };

/**
 * Every kernel binds whole tensors, so each must fit the device's maxStorageBufferBindingSize (CPU
 * drivers: 128 MiB): say so up front instead of failing mid-step with a validation error. The callers
 * leave out the vocabulary matrices, which are row-sharded (vocab-params.ts).
 */
export function checkBindingLimits(gpu: Gpu, cfg: ModelConfig, specs: ParamSpec[]): void {
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  for (const s of specs) {
    const bytes = s.shape.reduce((a, b) => a * b, 1) * 4;
    if (bytes > limit) {
      throw new Error(
        `${s.name} [${s.shape}] needs ${mb(bytes)} in one buffer, but this adapter (${gpu.name}) binds at most ${mb(limit)} per buffer; ` +
          `use a GPU with a larger maxStorageBufferBindingSize or a narrower model (hidden ${cfg.nEmbd})`,
      );
    }
  }
}

interface LayerActs {
  ln1: GpuTensor; // (N, C)
  ln1Mean: GpuTensor; // (N)
  ln1Rstd: GpuTensor; // (N)
  qkv: GpuTensor; // (N, 3C)
  att: GpuTensor; // (B, NH, T, T)
  atty: GpuTensor; // (N, C) attention output before c_proj
  attProj: GpuTensor; // (N, C)
  resid2: GpuTensor; // (N, C) residual after attention
  ln2: GpuTensor; // (N, C)
  ln2Mean: GpuTensor; // (N)
  ln2Rstd: GpuTensor; // (N)
  fch: GpuTensor; // (N, 4C)
  fchGelu: GpuTensor; // (N, 4C)
  fcProj: GpuTensor; // (N, C)
  resid3: GpuTensor; // (N, C) residual after the MLP = next layer's input
}

interface Activations {
  B: number;
  T: number;
  tokens: GpuTensor; // (N) i32
  targets: GpuTensor; // (N) i32
  mask: GpuTensor; // (N) f32
  encoded: GpuTensor; // (N, C)
  layers: LayerActs[];
  lnf: GpuTensor; // (N, C)
  lnfMean: GpuTensor; // (N)
  lnfRstd: GpuTensor; // (N)
  losses: GpuTensor; // (N)
  // backward scratch, shared across layers (the backward visits one layer at a time)
  dres: GpuTensor; // (N, C) running gradient of the residual stream
  dC: GpuTensor; // (N, C) scratch
  d4C: GpuTensor; // (N, 4C) scratch
  d4C2: GpuTensor; // (N, 4C) scratch
  dqkv: GpuTensor; // (N, 3C)
  datt: GpuTensor; // (B, NH, T, T)
  index: EmbeddingIndex;
}

export class Gpt2Model implements LanguageModel {
  readonly family: ModelFamily = gpt2Family;
  readonly gpu: Gpu;
  readonly cfg: ModelConfig;
  readonly specs: ParamSpec[];
  readonly params = new Map<string, GpuTensor>();
  /** Gradients of trainable base parameters (adapters keep their own). */
  readonly grads = new Map<string, GpuTensor>();
  readonly linears = new Map<string, Linear>();
  /** wte (tied head), in row shards. */
  readonly vocab: VocabParams;
  private acts: Activations | null = null;

  constructor(gpu: Gpu, cfg: ModelConfig, weights: (spec: ParamSpec) => Float32Array, opts: ModelOptions = {}) {
    this.gpu = gpu;
    this.cfg = cfg;
    this.specs = gpt2ParamSpecs(cfg);
    this.vocab = new VocabParams(gpu, this.params, this.grads, 'wte.weight', null);
    checkBindingLimits(
      gpu,
      cfg,
      this.specs.filter((s) => !this.vocab.has(s.name)),
    );
    for (const s of this.specs) {
      const data = weights(s);
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n)
        throw new Error(`${s.name}: expected ${n} values for shape [${s.shape}], got ${data.length}`);
      if (this.vocab.has(s.name)) this.vocab.load(s, data, opts);
      else this.params.set(s.name, gpu.upload(data, s.shape, s.name, 'weights'));
    }
    for (const name of gpt2LinearNames(cfg)) {
      const w = this.param(`${name}.weight`);
      this.linears.set(name, {
        name,
        inDim: w.shape[0],
        outDim: w.shape[1],
        weight: w,
        bias: this.param(`${name}.bias`),
        dWeight: null,
        dBias: null,
        adapter: null,
      });
    }
  }

  static random(gpu: Gpu, cfg: ModelConfig, seed: number): Gpt2Model {
    return new Gpt2Model(gpu, cfg, (s) => initParam(s, seed));
  }

  static fromWeights(gpu: Gpu, cfg: ModelConfig, weights: Map<string, Float32Array>): Gpt2Model {
    const missing = gpt2ParamSpecs(cfg)
      .filter((s) => !weights.has(s.name))
      .map((s) => s.name);
    if (missing.length)
      throw new Error(
        `checkpoint is missing ${missing.length} tensor(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
      );
    return new Gpt2Model(gpu, cfg, (s) => weights.get(s.name)!);
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

  /** Make these base parameters trainable (allocates zeroed gradients); others stay frozen. */
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

  /** Activations for batches up to (B, T); smaller batches reuse them. */
  ensureActivations(B: number, T: number): void {
    const a = this.acts;
    if (a && a.B >= B && a.T >= T && a.B * a.T >= B * T) return;
    if (a) this.releaseActivations();
    const { nEmbd: C, nHead: NH, vocabSize: V } = this.cfg;
    const N = B * T;
    const g = this.gpu;
    const t = (shape: number[], label: string) => g.tensor(shape, label, 'activations');
    const layers: LayerActs[] = [];
    for (let l = 0; l < this.cfg.nLayer; l++) {
      const p = `act:h.${l}`;
      layers.push({
        ln1: t([N, C], `${p}.ln1`),
        ln1Mean: t([N], `${p}.ln1Mean`),
        ln1Rstd: t([N], `${p}.ln1Rstd`),
        qkv: t([N, 3 * C], `${p}.qkv`),
        att: t([B, NH, T, T], `${p}.att`),
        atty: t([N, C], `${p}.atty`),
        attProj: t([N, C], `${p}.attProj`),
        resid2: t([N, C], `${p}.resid2`),
        ln2: t([N, C], `${p}.ln2`),
        ln2Mean: t([N], `${p}.ln2Mean`),
        ln2Rstd: t([N], `${p}.ln2Rstd`),
        fch: t([N, 4 * C], `${p}.fch`),
        fchGelu: t([N, 4 * C], `${p}.fchGelu`),
        fcProj: t([N, C], `${p}.fcProj`),
        resid3: t([N, C], `${p}.resid3`),
      });
    }
    this.acts = {
      B,
      T,
      tokens: t([N], 'act:tokens'),
      targets: t([N], 'act:targets'),
      mask: t([N], 'act:mask'),
      encoded: t([N, C], 'act:encoded'),
      layers,
      lnf: t([N, C], 'act:lnf'),
      lnfMean: t([N], 'act:lnfMean'),
      lnfRstd: t([N], 'act:lnfRstd'),
      losses: t([N], 'act:losses'),
      dres: t([N, C], 'act:dres'),
      dC: t([N, C], 'act:dC'),
      d4C: t([N, 4 * C], 'act:d4C'),
      d4C2: t([N, 4 * C], 'act:d4C2'),
      dqkv: t([N, 3 * C], 'act:dqkv'),
      datt: t([B, NH, T, T], 'act:datt'),
      index: buildEmbeddingIndex(g, new Int32Array(N), { capacity: N, V }),
    };
  }

  private releaseActivations(): void {
    const a = this.acts!;
    for (const [k, v] of Object.entries(a)) {
      if (k === 'layers')
        for (const la of v as LayerActs[]) for (const t of Object.values(la)) this.gpu.release(t as GpuTensor);
      else if (k === 'index') this.gpu.release((v as EmbeddingIndex).data);
      else if (typeof v === 'object') this.gpu.release(v as GpuTensor);
    }
    this.acts = null;
  }

  get activations(): Activations {
    if (!this.acts) throw new Error('activations not allocated: call ensureActivations(B, T)');
    return this.acts;
  }

  /** Upload one batch (before recording the step that uses it). mask (N) weights each target; null = all 1. */
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

  /** Record the forward pass up to the final LayerNorm (N, C); the head runs in loss/backward. */
  forward(enc: StepEncoder, B: number, T: number): void {
    const a = this.activations;
    const { nEmbd: C, nHead: NH, layerNormEps: eps } = this.cfg;
    const N = B * T;
    if (T > this.cfg.contextLength)
      throw new Error(`sequence length ${T} exceeds the model's context ${this.cfg.contextLength}`);
    embedTokens(enc, {
      table: this.vocab.embed,
      tokens: a.tokens,
      out: a.encoded,
      N,
      positions: { wpe: this.param('wpe.weight'), T },
    });
    let residual = a.encoded;
    for (let l = 0; l < this.cfg.nLayer; l++) {
      const la = a.layers[l];
      const p = `h.${l}`;
      layernormForward(enc, {
        x: residual,
        gamma: this.param(`${p}.ln_1.weight`),
        beta: this.param(`${p}.ln_1.bias`),
        out: la.ln1,
        mean: la.ln1Mean,
        rstd: la.ln1Rstd,
        N,
        C,
        eps,
      });
      linearForward(enc, this.linears.get(`${p}.attn.c_attn`)!, la.ln1, la.qkv, N);
      attentionForward(enc, { qkv: la.qkv, out: la.atty, att: la.att, B, T, C, NH });
      linearForward(enc, this.linears.get(`${p}.attn.c_proj`)!, la.atty, la.attProj, N);
      add(enc, { a: residual, b: la.attProj, out: la.resid2, n: N * C });
      layernormForward(enc, {
        x: la.resid2,
        gamma: this.param(`${p}.ln_2.weight`),
        beta: this.param(`${p}.ln_2.bias`),
        out: la.ln2,
        mean: la.ln2Mean,
        rstd: la.ln2Rstd,
        N,
        C,
        eps,
      });
      linearForward(enc, this.linears.get(`${p}.mlp.c_fc`)!, la.ln2, la.fch, N);
      geluForward(enc, { x: la.fch, out: la.fchGelu, n: N * 4 * C });
      linearForward(enc, this.linears.get(`${p}.mlp.c_proj`)!, la.fchGelu, la.fcProj, N);
      add(enc, { a: la.resid2, b: la.fcProj, out: la.resid3, n: N * C });
      residual = la.resid3;
    }
    layernormForward(enc, {
      x: residual,
      gamma: this.param('ln_f.weight'),
      beta: this.param('ln_f.bias'),
      out: a.lnf,
      mean: a.lnfMean,
      rstd: a.lnfRstd,
      N,
      C,
      eps,
    });
  }

  /** Per-token losses (N) without gradients (evaluation): tied head lnf·wteᵀ, chunked cross-entropy. */
  loss(enc: StepEncoder, B: number, T: number): void {
    const a = this.activations;
    headLoss(enc, { x: a.lnf, W: this.vocab.head, targets: a.targets, mask: a.mask, losses: a.losses, N: B * T });
  }

  /**
   * Losses and the full backward. Gradients ACCUMULATE into this.grads and adapter gradients (zero
   * them first with zeroGrads). gradScale is 1/Σmask so the gradient is that of the mean loss.
   */
  backward(enc: StepEncoder, B: number, T: number, gradScale: number): void {
    const a = this.activations;
    const { nEmbd: C, nHead: NH } = this.cfg;
    const N = B * T;
    // lm_head (tied): losses, dlnf = dlogits · wte (N, C) and dwte += dlogitsᵀ · lnf (V, C), chunk by chunk
    headLoss(enc, {
      x: a.lnf,
      W: this.vocab.head,
      targets: a.targets,
      mask: a.mask,
      losses: a.losses,
      N,
      gradScale,
      dx: a.dC,
      dW: this.vocab.dHead,
    });
    const lastResid = this.cfg.nLayer > 0 ? a.layers[this.cfg.nLayer - 1].resid3 : a.encoded;
    enc.clear(a.dres);
    layernormBackward(enc, {
      dout: a.dC,
      x: lastResid,
      gamma: this.param('ln_f.weight'),
      mean: a.lnfMean,
      rstd: a.lnfRstd,
      dx: a.dres,
      ...this.lnGrads('ln_f'),
      N,
      C,
    });
    for (let l = this.cfg.nLayer - 1; l >= 0; l--) {
      const la = a.layers[l];
      const p = `h.${l}`;
      const residual = l === 0 ? a.encoded : a.layers[l - 1].resid3;
      // resid3 = resid2 + fcProj: dfcProj = dres; dresid2 = dres (continues in place)
      linearBackward(enc, this.linears.get(`${p}.mlp.c_proj`)!, la.fchGelu, a.dres, a.d4C, N);
      geluBackward(enc, { x: la.fch, dout: a.d4C, dx: a.d4C2, n: N * 4 * C });
      linearBackward(enc, this.linears.get(`${p}.mlp.c_fc`)!, la.ln2, a.d4C2, a.dC, N);
      layernormBackward(enc, {
        dout: a.dC,
        x: la.resid2,
        gamma: this.param(`${p}.ln_2.weight`),
        mean: la.ln2Mean,
        rstd: la.ln2Rstd,
        dx: a.dres,
        ...this.lnGrads(`${p}.ln_2`),
        N,
        C,
      });
      // resid2 = residual + attProj
      linearBackward(enc, this.linears.get(`${p}.attn.c_proj`)!, la.atty, a.dres, a.dC, N);
      attentionBackward(enc, { dout: a.dC, qkv: la.qkv, att: la.att, dqkv: a.dqkv, datt: a.datt, B, T, C, NH });
      linearBackward(enc, this.linears.get(`${p}.attn.c_attn`)!, la.ln1, a.dqkv, a.dC, N);
      layernormBackward(enc, {
        dout: a.dC,
        x: residual,
        gamma: this.param(`${p}.ln_1.weight`),
        mean: la.ln1Mean,
        rstd: la.ln1Rstd,
        dx: a.dres,
        ...this.lnGrads(`${p}.ln_1`),
        N,
        C,
      });
    }
    const dwpe = this.grads.get('wpe.weight');
    embedTokensBackward(enc, {
      dtable: this.vocab.dEmbed,
      index: a.index,
      dout: a.dres,
      N,
      positions: dwpe ? { dwpe, B, T, C } : undefined,
    });
  }

  /** LayerNorm parameter gradients, or throwaway scratch when that LayerNorm is frozen. */
  private lnGrads(prefix: string): { dgamma: GpuTensor; dbeta: GpuTensor } {
    return {
      dgamma: this.grads.get(`${prefix}.weight`) ?? this.scratchGrad(`${prefix}.weight`, 'gamma'),
      dbeta: this.grads.get(`${prefix}.bias`) ?? this.scratchGrad(`${prefix}.bias`, 'beta'),
    };
  }

  private scratch = new Map<string, GpuTensor>();
  /**
   * A gradient sink for frozen parameters whose kernels always write one (LayerNorm, embeddings).
   * Keyed by (size, role): two outputs of one dispatch must never share a buffer.
   */
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

  /** Read every parameter back (checkpoints, export, analysis). */
  async readWeights(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const s of this.specs)
      out.set(s.name, this.vocab.has(s.name) ? await this.vocab.read(s.name) : await this.gpu.read(this.param(s.name)));
    return out;
  }

  readLogits(B: number, T: number): Promise<Float32Array> {
    return readLogitRows(this.gpu, this.activations.lnf, this.vocab.head, 0, B * T);
  }

  readLogitsRow(row: number): Promise<Float32Array> {
    return readLogitRows(this.gpu, this.activations.lnf, this.vocab.head, row, 1);
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

  /** The tensor (N, inDim) that fed a linear in the last forward (EVA's activation statistics). */
  linearInput(name: string): GpuTensor {
    const m = /^h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)$/.exec(name);
    if (!m) throw new Error(`no linear ${name} in this GPT-2 model`);
    const la = this.activations.layers[Number(m[1])];
    return { 'attn.c_attn': la.ln1, 'attn.c_proj': la.atty, 'mlp.c_fc': la.ln2, 'mlp.c_proj': la.fchGelu }[m[2]]!;
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

/** GPT-2 (and distilgpt2): HF `GPT2LMHeadModel`, Conv1D weights already (in, out); names and presets in family-meta.ts. */
export const gpt2Family: ModelFamily = {
  ...gpt2Meta,
  create: (gpu, cfg, weights, opts) => new Gpt2Model(gpu, cfg, weights, opts),
};
