/**
 * Model architecture configs: one schema for every decoder family Rankscope runs, keyed by `arch`
 * (= Hugging Face `config.json`'s `model_type`). The common fields (vocabulary, context, layers,
 * heads, width, norm epsilon) are named as GPT-2 names them; the family fields are optional and only
 * the families that use them set them. The translation from/to `config.json` is here too, and GPU-free,
 * so the page can read a model's architecture without bundling kernels.
 */
import { z } from 'zod';
import { issuesOneLine } from '../strings';

/** The supported `model_type`s (one model file each under src/engine/model/, registered in families.ts). */
export const MODEL_TYPES = ['gpt2', 'gpt_neo', 'gpt_neox', 'llama', 'qwen2', 'qwen3'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** Llama 3's frequency-dependent RoPE rescaling (`rope_scaling.rope_type == "llama3"`). */
export const RopeScalingSchema = z.strictObject({
  type: z.literal('llama3'),
  factor: z.number().positive(),
  lowFreqFactor: z.number().positive(),
  highFreqFactor: z.number().positive(),
  originalMaxPositionEmbeddings: z.int().positive(),
});
export type RopeScaling = z.infer<typeof RopeScalingSchema>;

export const ModelConfigSchema = z
  .object({
    arch: z.enum(MODEL_TYPES),
    vocabSize: z.int().min(2).max(262144),
    contextLength: z.int().min(1).max(131072), // n_positions / max_position_embeddings
    nLayer: z.int().min(1).max(96),
    nHead: z.int().min(1).max(128),
    nEmbd: z.int().min(1).max(8192), // hidden_size
    layerNormEps: z.number().positive().max(1e-1).default(1e-5), // layer_norm_epsilon / rms_norm_eps
    tokenizer: z.enum(['byte', 'gpt2', 'hf']).default('byte'),
    // ---- family fields (absent = the GPT-2 meaning) ----
    /** Key/value heads (grouped-query attention); default nHead. */
    nKvHead: z.int().min(1).max(128).optional(),
    /** Per-head width; default nEmbd / nHead (Qwen3 sets it independently). */
    headDim: z.int().min(1).max(1024).optional(),
    /** MLP hidden width; default 4·nEmbd. */
    intermediateSize: z.int().min(1).max(65536).optional(),
    /** Output head tied to the token embedding; default true. */
    tieWordEmbeddings: z.boolean().optional(),
    ropeTheta: z.number().positive().optional(),
    ropeScaling: RopeScalingSchema.nullable().optional(),
    /** GPT-NeoX: fraction of each head's dimensions that rotate. */
    rotaryPct: z.number().gt(0).max(1).optional(),
    /** GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)). */
    parallelResidual: z.boolean().optional(),
    /** Llama `attention_bias` (q/k/v/o); Qwen2 has q/k/v bias only (its own rule, not this flag). */
    attentionBias: z.boolean().optional(),
    mlpBias: z.boolean().optional(),
    /** GPT-Neo: per-layer 'global' | 'local' attention and the local window. */
    attentionLayers: z.array(z.enum(['global', 'local'])).optional(),
    windowSize: z.int().min(1).optional(),
    bosTokenId: z.int().min(0).nullable().optional(),
    eosTokenId: z.int().min(0).nullable().optional(),
  })
  .refine((c) => c.headDim !== undefined || c.nEmbd % c.nHead === 0, {
    message: 'nEmbd must be divisible by nHead',
    path: ['nHead'],
  })
  .refine((c) => c.nHead % (c.nKvHead ?? c.nHead) === 0, {
    message: 'nHead must be a multiple of nKvHead',
    path: ['nKvHead'],
  });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** Built-in architectures. `micro` is for fast tests; `gpt2-small` has GPT-2 small's shapes (124M). */
export const MODEL_PRESETS: Record<string, ModelConfig> = {
  micro: {
    arch: 'gpt2',
    vocabSize: 256,
    contextLength: 32,
    nLayer: 2,
    nHead: 2,
    nEmbd: 32,
    layerNormEps: 1e-5,
    tokenizer: 'byte',
  },
  base: {
    arch: 'gpt2',
    vocabSize: 256,
    contextLength: 128,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    layerNormEps: 1e-5,
    tokenizer: 'byte',
  },
  'gpt2-small': {
    arch: 'gpt2',
    vocabSize: 50257,
    contextLength: 1024,
    nLayer: 12,
    nHead: 12,
    nEmbd: 768,
    layerNormEps: 1e-5,
    tokenizer: 'gpt2',
  },
};

/** Per-head width. */
export function headDimOf(c: ModelConfig): number {
  return c.headDim ?? c.nEmbd / c.nHead;
}

/** MLP hidden width. */
export function intermediateOf(c: ModelConfig): number {
  return c.intermediateSize ?? 4 * c.nEmbd;
}

/** Whether the output head is the token embedding (GPT-2, GPT-Neo: always; NeoX: never unless set). */
export function tiedOf(c: ModelConfig): boolean {
  return c.tieWordEmbeddings ?? c.arch !== 'gpt_neox';
}

/** Parameter count from the config alone (the page shows it before any weights exist). */
export function parameterCount(c: ModelConfig): number {
  const C = c.nEmbd,
    V = c.vocabSize,
    I = intermediateOf(c),
    HS = headDimOf(c),
    NH = c.nHead,
    KV = c.nKvHead ?? NH;
  const q = NH * HS,
    kv = KV * HS;
  const head = tiedOf(c) ? 0 : V * C;
  switch (c.arch) {
    case 'gpt2':
    case 'gpt_neo': {
      const bias = c.arch === 'gpt2' ? 3 * C : 0; // GPT-Neo: q/k/v without bias
      const perLayer = 4 * C + (3 * C * C + bias) + (C * C + C) + (C * I + I) + (I * C + C);
      return V * C + c.contextLength * C + c.nLayer * perLayer + 2 * C + head;
    }
    case 'gpt_neox': {
      const ab = c.attentionBias === false ? 0 : 1;
      const perLayer = 4 * C + (C * 3 * C + ab * 3 * C) + (C * C + ab * C) + (C * I + I) + (I * C + C);
      return V * C + c.nLayer * perLayer + 2 * C + head;
    }
    case 'llama':
    case 'qwen2':
    case 'qwen3': {
      const ab = c.arch === 'llama' && c.attentionBias ? 1 : 0;
      const qkvBias = c.arch === 'qwen2' ? q + 2 * kv : ab * (q + 2 * kv);
      const mb = c.mlpBias ? 1 : 0;
      const perLayer =
        2 * C +
        (C * q + C * 2 * kv + qkvBias) +
        (q * C + ab * C) +
        (3 * C * I + mb * (2 * I + C)) +
        (c.arch === 'qwen3' ? 2 * HS : 0);
      return V * C + c.nLayer * perLayer + C + head;
    }
  }
}

/** Our config → Hugging Face `config.json`, so merged models save in the family's own layout. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  const common = { vocab_size: c.vocabSize, rankscope_tokenizer: c.tokenizer, torch_dtype: 'float32' };
  const ids = {
    ...(c.bosTokenId != null ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId != null ? { eos_token_id: c.eosTokenId } : {}),
  };
  switch (c.arch) {
    case 'gpt2':
      return {
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        vocab_size: c.vocabSize,
        n_positions: c.contextLength,
        n_ctx: c.contextLength,
        n_layer: c.nLayer,
        n_head: c.nHead,
        n_embd: c.nEmbd,
        n_inner: null,
        layer_norm_epsilon: c.layerNormEps,
        activation_function: 'gelu_new',
        tie_word_embeddings: true,
        resid_pdrop: 0,
        embd_pdrop: 0,
        attn_pdrop: 0,
        rankscope_tokenizer: c.tokenizer,
        ...ids,
      };
    case 'gpt_neo':
      return {
        ...common,
        ...ids,
        architectures: ['GPTNeoForCausalLM'],
        model_type: 'gpt_neo',
        max_position_embeddings: c.contextLength,
        hidden_size: c.nEmbd,
        num_layers: c.nLayer,
        num_heads: c.nHead,
        intermediate_size: c.intermediateSize ?? null,
        window_size: c.windowSize ?? 256,
        attention_types: (c.attentionLayers ?? []).map((t) => [[t], 1]),
        attention_layers: c.attentionLayers ?? [],
        activation_function: 'gelu_new',
        layer_norm_epsilon: c.layerNormEps,
        tie_word_embeddings: true,
      };
    case 'gpt_neox':
      return {
        ...common,
        ...ids,
        architectures: ['GPTNeoXForCausalLM'],
        model_type: 'gpt_neox',
        max_position_embeddings: c.contextLength,
        hidden_size: c.nEmbd,
        num_hidden_layers: c.nLayer,
        num_attention_heads: c.nHead,
        intermediate_size: intermediateOf(c),
        hidden_act: 'gelu',
        rotary_pct: c.rotaryPct ?? 1,
        rotary_emb_base: c.ropeTheta ?? 10000,
        layer_norm_eps: c.layerNormEps,
        use_parallel_residual: c.parallelResidual ?? true,
        attention_bias: c.attentionBias ?? true,
        tie_word_embeddings: tiedOf(c),
      };
    case 'llama':
    case 'qwen2':
    case 'qwen3': {
      const arch = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' }[c.arch];
      const rs = c.ropeScaling;
      return {
        ...common,
        ...ids,
        architectures: [arch],
        model_type: c.arch,
        max_position_embeddings: c.contextLength,
        hidden_size: c.nEmbd,
        intermediate_size: intermediateOf(c),
        num_hidden_layers: c.nLayer,
        num_attention_heads: c.nHead,
        num_key_value_heads: c.nKvHead ?? c.nHead,
        head_dim: headDimOf(c),
        hidden_act: 'silu',
        rms_norm_eps: c.layerNormEps,
        rope_theta: c.ropeTheta ?? 10000,
        rope_scaling: rs
          ? {
              rope_type: 'llama3',
              factor: rs.factor,
              low_freq_factor: rs.lowFreqFactor,
              high_freq_factor: rs.highFreqFactor,
              original_max_position_embeddings: rs.originalMaxPositionEmbeddings,
            }
          : null,
        tie_word_embeddings: tiedOf(c),
        ...(c.arch === 'llama' ? { attention_bias: !!c.attentionBias, mlp_bias: !!c.mlpBias } : {}),
        ...(c.arch === 'qwen3' ? { attention_bias: false } : {}),
        ...(c.arch !== 'llama' ? { use_sliding_window: false } : {}),
      };
    }
  }
}

type Json = Record<string, unknown>;

/** One line naming an unsupported config field or value. */
function unsupported(type: string, field: string, value: unknown, what: string): never {
  throw new Error(`config.json: ${type} ${field} = ${JSON.stringify(value)} is not supported (${what})`);
}

function num(o: Json, ...keys: string[]): number | undefined {
  for (const k of keys) if (typeof o[k] === 'number') return o[k];
  return undefined;
}

/** `rope_parameters` (transformers ≥ 4.57) or the older top-level fields. */
function ropeOf(o: Json): Json {
  const rp = o.rope_parameters;
  return rp && typeof rp === 'object' && !Array.isArray(rp) ? (rp as Json) : {};
}

function ropeScalingOf(type: string, o: Json): RopeScaling | null {
  const rp = ropeOf(o);
  const rs = (o.rope_scaling ?? (rp.rope_type && rp.rope_type !== 'default' ? rp : null)) as Json | null;
  if (!rs) return null;
  const kind = rs.rope_type ?? rs.type;
  if (kind === 'default') return null;
  if (kind !== 'llama3') unsupported(type, 'rope_scaling.rope_type', kind, 'only "llama3" and none');
  return {
    type: 'llama3',
    factor: Number(rs.factor),
    lowFreqFactor: Number(rs.low_freq_factor),
    highFreqFactor: Number(rs.high_freq_factor),
    originalMaxPositionEmbeddings: Number(rs.original_max_position_embeddings),
  };
}

function activationCheck(type: string, field: string, value: unknown, allowed: string[]): void {
  if (value !== undefined && value !== null && !allowed.includes(String(value)))
    unsupported(type, field, value, `this family runs ${allowed.join(' / ')}`);
}

/** GPT-Neo's `attention_types` [[["global","local"], 12]] expanded to one entry per layer. */
function neoLayers(o: Json, nLayer: number): ('global' | 'local')[] {
  if (Array.isArray(o.attention_layers) && o.attention_layers.length === nLayer)
    return o.attention_layers as ('global' | 'local')[];
  const out: ('global' | 'local')[] = [];
  // Bounded before expanding: a count of 1e9 (or "1e999") took over a minute here (fuzzing, issue 17).
  if (!Number.isInteger(nLayer) || nLayer < 1 || nLayer > 1024)
    throw new Error(`config.json: gpt_neo num_layers must be an integer in 1..1024, got ${JSON.stringify(nLayer)}`);
  const types = o.attention_types ?? [[['global'], nLayer]];
  if (!Array.isArray(types)) throw new Error('config.json: gpt_neo attention_types must be a list of [types, count]');
  for (const entry of types as unknown[]) {
    if (
      !Array.isArray(entry) ||
      !Array.isArray(entry[0]) ||
      !Number.isInteger(entry[1]) ||
      entry[1] < 0 ||
      entry[1] > nLayer
    )
      throw new Error(
        'config.json: gpt_neo attention_types entries must be [["global" | "local", …], count ≤ num_layers]',
      );
    if (out.length + (entry[0] as unknown[]).length * (entry[1] as number) > nLayer)
      throw new Error(`config.json: gpt_neo attention_types expand to more than num_layers (${nLayer}) layers`);
    for (let i = 0; i < entry[1]; i++) out.push(...(entry[0] as ('global' | 'local')[]));
  }
  if (out.length !== nLayer)
    throw new Error(`config.json: gpt_neo attention_types expand to ${out.length} layers, num_layers is ${nLayer}`);
  for (const t of out)
    if (t !== 'global' && t !== 'local') unsupported('gpt_neo', 'attention_types', t, 'global/local');
  return out;
}

/** Hugging Face `config.json` → ours; an unsupported model_type or field gets one line naming it. */
export function fromHfConfig(j: unknown): ModelConfig {
  const o = (j ?? {}) as Json;
  const type = (o.model_type ?? 'gpt2') as string;
  if (!(MODEL_TYPES as readonly string[]).includes(type))
    throw new Error(`config.json: model_type "${type}" is not supported (supported: ${MODEL_TYPES.join(', ')})`);
  const ids = {
    bosTokenId: typeof o.bos_token_id === 'number' ? o.bos_token_id : undefined,
    eosTokenId: typeof o.eos_token_id === 'number' ? o.eos_token_id : undefined,
  };
  let raw: Json;
  switch (type as ModelType) {
    case 'gpt2':
      if (o.n_inner !== undefined && o.n_inner !== null && o.n_inner !== 4 * Number(o.n_embd))
        unsupported('gpt2', 'n_inner', o.n_inner, 'only 4·n_embd');
      activationCheck('gpt2', 'activation_function', o.activation_function, ['gelu_new']);
      if (o.scale_attn_by_inverse_layer_idx) unsupported('gpt2', 'scale_attn_by_inverse_layer_idx', true, 'false only');
      if (o.reorder_and_upcast_attn) unsupported('gpt2', 'reorder_and_upcast_attn', true, 'false only');
      raw = {
        arch: 'gpt2',
        vocabSize: o.vocab_size,
        contextLength: o.n_positions ?? o.n_ctx,
        nLayer: o.n_layer,
        nHead: o.n_head,
        nEmbd: o.n_embd,
        layerNormEps: o.layer_norm_epsilon ?? 1e-5,
        tokenizer: o.rankscope_tokenizer ?? (o.vocab_size === 256 ? 'byte' : o.vocab_size === 50257 ? 'gpt2' : 'hf'),
        ...ids,
      };
      break;
    case 'gpt_neo': {
      activationCheck('gpt_neo', 'activation_function', o.activation_function, ['gelu_new']);
      const nLayer = Number(o.num_layers);
      raw = {
        arch: 'gpt_neo',
        vocabSize: o.vocab_size,
        contextLength: o.max_position_embeddings,
        nLayer,
        nHead: o.num_heads,
        nEmbd: o.hidden_size,
        intermediateSize: o.intermediate_size ?? undefined,
        layerNormEps: o.layer_norm_epsilon ?? 1e-5,
        attentionLayers: neoLayers(o, nLayer),
        windowSize: o.window_size ?? 256,
        tokenizer: o.rankscope_tokenizer ?? 'hf',
        ...ids,
      };
      break;
    }
    case 'gpt_neox': {
      activationCheck('gpt_neox', 'hidden_act', o.hidden_act, ['gelu']);
      const rp = ropeOf(o);
      if (o.rope_scaling || (rp.rope_type && rp.rope_type !== 'default'))
        unsupported('gpt_neox', 'rope_scaling', o.rope_scaling ?? rp.rope_type, 'none only');
      raw = {
        arch: 'gpt_neox',
        vocabSize: o.vocab_size,
        contextLength: o.max_position_embeddings,
        nLayer: o.num_hidden_layers,
        nHead: o.num_attention_heads,
        nEmbd: o.hidden_size,
        intermediateSize: o.intermediate_size ?? undefined,
        layerNormEps: o.layer_norm_eps ?? 1e-5,
        rotaryPct: num(o, 'rotary_pct', 'partial_rotary_factor') ?? num(rp, 'partial_rotary_factor') ?? 0.25,
        ropeTheta: num(o, 'rotary_emb_base', 'rope_theta') ?? num(rp, 'rope_theta') ?? 10000,
        parallelResidual: o.use_parallel_residual ?? true,
        attentionBias: o.attention_bias ?? true,
        tieWordEmbeddings: o.tie_word_embeddings ?? false,
        tokenizer: o.rankscope_tokenizer ?? 'hf',
        ...ids,
      };
      break;
    }
    case 'llama':
    case 'qwen2':
    case 'qwen3': {
      activationCheck(type, 'hidden_act', o.hidden_act, ['silu']);
      if (typeof o.pretraining_tp === 'number' && o.pretraining_tp !== 1)
        unsupported(type, 'pretraining_tp', o.pretraining_tp, '1 only');
      if (o.use_sliding_window === true) unsupported(type, 'use_sliding_window', true, 'false only');
      if (type === 'qwen3' && o.attention_bias === true) unsupported(type, 'attention_bias', true, 'false only');
      const rp = ropeOf(o);
      raw = {
        arch: type,
        vocabSize: o.vocab_size,
        contextLength: o.max_position_embeddings,
        nLayer: o.num_hidden_layers,
        nHead: o.num_attention_heads,
        nKvHead: o.num_key_value_heads ?? o.num_attention_heads,
        headDim: o.head_dim ?? undefined,
        nEmbd: o.hidden_size,
        intermediateSize: o.intermediate_size,
        layerNormEps: o.rms_norm_eps ?? 1e-6,
        ropeTheta: num(o, 'rope_theta') ?? num(rp, 'rope_theta') ?? 10000,
        ropeScaling: ropeScalingOf(type, o),
        tieWordEmbeddings: o.tie_word_embeddings ?? false, // LlamaConfig, Qwen2Config, Qwen3Config default
        attentionBias: type === 'llama' ? !!o.attention_bias : undefined,
        mlpBias: type === 'llama' ? !!o.mlp_bias : undefined,
        tokenizer: o.rankscope_tokenizer ?? 'hf',
        ...ids,
      };
      break;
    }
  }
  const parsed = ModelConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`config.json: ${issuesOneLine(parsed.error.issues)}`);
  return parsed.data;
}
