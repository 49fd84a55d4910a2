/**
 * Model architecture configs. GPT-2 family today; `arch` leaves room for a Llama-family variant
 * (RMSNorm, rotary positions, SwiGLU, grouped-query attention) without touching GPT-2 code.
 */
import { z } from 'zod';

export const ModelConfigSchema = z
  .object({
    arch: z.literal('gpt2'),
    vocabSize: z.int().min(2).max(262144),
    contextLength: z.int().min(1).max(8192), // n_positions
    nLayer: z.int().min(1).max(96),
    nHead: z.int().min(1).max(128),
    nEmbd: z.int().min(1).max(8192),
    layerNormEps: z.number().positive().max(1e-1).default(1e-5),
    tokenizer: z.enum(['byte', 'gpt2', 'hf']).default('byte'),
  })
  .refine((c) => c.nEmbd % c.nHead === 0, { message: 'nEmbd must be divisible by nHead', path: ['nHead'] });

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

export function parameterCount(c: ModelConfig): number {
  const C = c.nEmbd;
  const perLayer =
    2 * C /*ln_1*/ +
    C * 3 * C +
    3 * C /*c_attn*/ +
    C * C +
    C /*attn.c_proj*/ +
    2 * C /*ln_2*/ +
    C * 4 * C +
    4 * C /*c_fc*/ +
    4 * C * C +
    C; /*mlp.c_proj*/
  return c.vocabSize * C + c.contextLength * C + c.nLayer * perLayer + 2 * C;
}

/** Hugging Face GPT-2 config.json ⇄ ours, so checkpoints load and save in HF's layout. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
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
  };
}

export function fromHfConfig(j: unknown): ModelConfig {
  const o = (j ?? {}) as Record<string, unknown>;
  if (o.model_type !== undefined && o.model_type !== 'gpt2') {
    throw new Error(`config.json: model_type "${String(o.model_type)}" is not supported yet (only "gpt2")`);
  }
  if (o.n_inner !== undefined && o.n_inner !== null && o.n_inner !== 4 * Number(o.n_embd)) {
    throw new Error('config.json: n_inner other than 4·n_embd is not supported');
  }
  const parsed = ModelConfigSchema.safeParse({
    arch: 'gpt2',
    vocabSize: o.vocab_size,
    contextLength: o.n_positions ?? o.n_ctx,
    nLayer: o.n_layer,
    nHead: o.n_head,
    nEmbd: o.n_embd,
    layerNormEps: o.layer_norm_epsilon ?? 1e-5,
    tokenizer: o.rankscope_tokenizer ?? (o.vocab_size === 256 ? 'byte' : o.vocab_size === 50257 ? 'gpt2' : 'hf'),
  });
  if (!parsed.success) throw new Error(`config.json: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
