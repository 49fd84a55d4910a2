/**
 * The model families without their model code: for each config.json `model_type`, its parameters (HF
 * names, GPU shapes, initialisation), its adapter slots, its target presets and its checkpoint and PEFT
 * naming — everything the page needs synchronously (target picker, Hub fit, memory plan) and the engine
 * shares. It imports no src/gpu and no model file, so the page's first-load chunk carries no kernel or
 * shader; the model files (gpt2.ts, gpt-neo.ts, gpt-neox.ts, llama.ts) add `create` to these records
 * and families.ts registers the result. See each model file for the architecture itself.
 */
import { headDimOf, type ModelConfig, type ModelType } from './config';
import { decoderLinearNames, decoderParamSpecs, type DecoderLayout } from './decoder-layout';
import { TARGET_PRESETS, splitModuleName, type FamilyMeta, type ParamSpec, type TargetPreset } from './language-model';

// ---- GPT-2 (gpt2.ts): Conv1D weights already (in, out)

/** Every parameter of the model in HF GPT-2 naming, with GPT-2's initialisation (std 0.02, residual projections scaled by 1/√(2L)). */
export function gpt2ParamSpecs(c: ModelConfig): ParamSpec[] {
  const C = c.nEmbd,
    L = c.nLayer;
  const std = 0.02,
    projStd = 0.02 / Math.sqrt(2 * L);
  const specs: ParamSpec[] = [
    { name: 'wte.weight', shape: [c.vocabSize, C], init: 'normal', std, decay: true },
    { name: 'wpe.weight', shape: [c.contextLength, C], init: 'normal', std: 0.01, decay: false },
  ];
  for (let l = 0; l < L; l++) {
    const p = `h.${l}`;
    specs.push(
      { name: `${p}.ln_1.weight`, shape: [C], init: 'ones', std: 0, decay: false },
      { name: `${p}.ln_1.bias`, shape: [C], init: 'zeros', std: 0, decay: false },
      { name: `${p}.attn.c_attn.weight`, shape: [C, 3 * C], init: 'normal', std, decay: true },
      { name: `${p}.attn.c_attn.bias`, shape: [3 * C], init: 'zeros', std: 0, decay: false },
      { name: `${p}.attn.c_proj.weight`, shape: [C, C], init: 'normal', std: projStd, decay: true },
      { name: `${p}.attn.c_proj.bias`, shape: [C], init: 'zeros', std: 0, decay: false },
      { name: `${p}.ln_2.weight`, shape: [C], init: 'ones', std: 0, decay: false },
      { name: `${p}.ln_2.bias`, shape: [C], init: 'zeros', std: 0, decay: false },
      { name: `${p}.mlp.c_fc.weight`, shape: [C, 4 * C], init: 'normal', std, decay: true },
      { name: `${p}.mlp.c_fc.bias`, shape: [4 * C], init: 'zeros', std: 0, decay: false },
      { name: `${p}.mlp.c_proj.weight`, shape: [4 * C, C], init: 'normal', std: projStd, decay: true },
      { name: `${p}.mlp.c_proj.bias`, shape: [C], init: 'zeros', std: 0, decay: false },
    );
  }
  specs.push(
    { name: 'ln_f.weight', shape: [C], init: 'ones', std: 0, decay: false },
    { name: 'ln_f.bias', shape: [C], init: 'zeros', std: 0, decay: false },
  );
  return specs;
}

/** GPT-2's linear modules adapters can target, in layer order. */
export function gpt2LinearNames(c: ModelConfig): string[] {
  const out: string[] = [];
  for (let l = 0; l < c.nLayer; l++)
    out.push(`h.${l}.attn.c_attn`, `h.${l}.attn.c_proj`, `h.${l}.mlp.c_fc`, `h.${l}.mlp.c_proj`);
  return out;
}

export const gpt2Meta: FamilyMeta = {
  type: 'gpt2',
  label: 'GPT-2',
  paramSpecs: gpt2ParamSpecs,
  linearNames: gpt2LinearNames,
  presets: {
    default: ['attn.c_attn'],
    attention: ['attn.c_attn', 'attn.c_proj'],
    'attention-mlp': ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
    'all-linear': ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
  },
  fromFileName(name) {
    const n = name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
    // The causal-mask buffers and the tied head (a copy of wte) are not parameters.
    return /(^|\.)attn\.(bias|masked_bias)$|^lm_head\.weight$/.test(n) ? null : n;
  },
  peftPrefix: 'base_model.model.transformer.',
  fanInFanOut: true,
};

// ---- GPT-Neo (gpt-neo.ts): separate q/k/v without bias, unscaled attention, local/global layers

export function gptNeoLayout(cfg: ModelConfig): DecoderLayout {
  const types = cfg.attentionLayers ?? Array.from({ length: cfg.nLayer }, () => 'global' as const);
  return {
    embed: 'transformer.wte',
    pos: 'transformer.wpe',
    finalNorm: 'transformer.ln_f',
    head: null,
    norm: 'layernorm',
    scale: 1,
    rotDim: 0,
    parallelResidual: false,
    layers: types.map((t, i) => {
      const p = `transformer.h.${i}`;
      return {
        ln1: `${p}.ln_1`,
        ln2: `${p}.ln_2`,
        attn: {
          kind: 'separate',
          q: `${p}.attn.attention.q_proj`,
          k: `${p}.attn.attention.k_proj`,
          v: `${p}.attn.attention.v_proj`,
          bias: false,
        },
        o: `${p}.attn.attention.out_proj`,
        oBias: true,
        qNorm: null,
        kNorm: null,
        mlp: { kind: 'gelu_new', fc: `${p}.mlp.c_fc`, proj: `${p}.mlp.c_proj`, bias: true },
        window: t === 'local' ? (cfg.windowSize ?? 256) : 0,
      };
    }),
  };
}

const NEO_ATTN = ['attn.attention.q_proj', 'attn.attention.k_proj', 'attn.attention.v_proj', 'attn.attention.out_proj'];
const NEO_MLP = ['mlp.c_fc', 'mlp.c_proj'];

export const gptNeoMeta: FamilyMeta = {
  type: 'gpt_neo',
  label: 'GPT-Neo',
  paramSpecs: (cfg) => decoderParamSpecs(cfg, gptNeoLayout(cfg)),
  linearNames: (cfg) => decoderLinearNames(gptNeoLayout(cfg)),
  presets: {
    default: ['attn.attention.q_proj', 'attn.attention.v_proj'],
    attention: NEO_ATTN,
    'attention-mlp': [...NEO_ATTN, ...NEO_MLP],
    'all-linear': [...NEO_ATTN, ...NEO_MLP],
  },
  fromFileName(name) {
    // causal-mask buffers (attn.attention.bias / masked_bias) and the tied head are not parameters
    if (/\.attn\.attention\.(bias|masked_bias)$/.test(name) || name === 'lm_head.weight') return null;
    return name;
  },
  peftPrefix: 'base_model.model.',
  fanInFanOut: false,
};

// ---- GPT-NeoX / Pythia (gpt-neox.ts): fused per-head query_key_value, partial rotary, parallel residual

export function gptNeoxLayout(cfg: ModelConfig): DecoderLayout {
  const HS = headDimOf(cfg);
  const bias = cfg.attentionBias ?? true;
  return {
    embed: 'gpt_neox.embed_in',
    pos: null,
    finalNorm: 'gpt_neox.final_layer_norm',
    head: cfg.tieWordEmbeddings ? null : 'embed_out',
    norm: 'layernorm',
    rotDim: Math.floor(HS * (cfg.rotaryPct ?? 1)),
    parallelResidual: cfg.parallelResidual ?? true,
    layers: Array.from({ length: cfg.nLayer }, (_, i) => {
      const p = `gpt_neox.layers.${i}`;
      return {
        ln1: `${p}.input_layernorm`,
        ln2: `${p}.post_attention_layernorm`,
        attn: { kind: 'fused', qkv: `${p}.attention.query_key_value`, bias },
        o: `${p}.attention.dense`,
        oBias: bias,
        qNorm: null,
        kNorm: null,
        mlp: { kind: 'gelu', fc: `${p}.mlp.dense_h_to_4h`, proj: `${p}.mlp.dense_4h_to_h`, bias: true },
        window: 0,
      };
    }),
  };
}

const NEOX_ATTN = ['attention.query_key_value', 'attention.dense'];
const NEOX_MLP = ['mlp.dense_h_to_4h', 'mlp.dense_4h_to_h'];

export const gptNeoxMeta: FamilyMeta = {
  type: 'gpt_neox',
  label: 'GPT-NeoX (Pythia)',
  paramSpecs: (cfg) => decoderParamSpecs(cfg, gptNeoxLayout(cfg)),
  linearNames: (cfg) => decoderLinearNames(gptNeoxLayout(cfg)),
  presets: {
    default: ['attention.query_key_value'],
    attention: NEOX_ATTN,
    'attention-mlp': [...NEOX_ATTN, ...NEOX_MLP],
    'all-linear': [...NEOX_ATTN, ...NEOX_MLP],
  },
  fromFileName(name, cfg) {
    // mask and rotary buffers saved by older transformers versions are not parameters
    if (/\.attention\.(bias|masked_bias)$|rotary_emb\.inv_freq$/.test(name)) return null;
    if (name === 'embed_out.weight' && cfg.tieWordEmbeddings) return null;
    return name;
  },
  peftPrefix: 'base_model.model.',
  fanInFanOut: false,
};

// ---- Llama, Qwen2, Qwen3 (llama.ts): RMSNorm, full rotary, SwiGLU, grouped-query attention; they differ in
// biases (llama: optional attention_bias / mlp_bias; qwen2: q/k/v only) and Qwen3's per-head q_norm/k_norm

export function llamaLayout(cfg: ModelConfig): DecoderLayout {
  const qkvBias = cfg.arch === 'qwen2' ? true : cfg.arch === 'llama' ? !!cfg.attentionBias : false;
  const oBias = cfg.arch === 'llama' ? !!cfg.attentionBias : false;
  const qk = cfg.arch === 'qwen3';
  return {
    embed: 'model.embed_tokens',
    pos: null,
    finalNorm: 'model.norm',
    head: cfg.tieWordEmbeddings === false ? 'lm_head' : null,
    norm: 'rmsnorm',
    rotDim: headDimOf(cfg),
    parallelResidual: false,
    layers: Array.from({ length: cfg.nLayer }, (_, i) => {
      const p = `model.layers.${i}`;
      return {
        ln1: `${p}.input_layernorm`,
        ln2: `${p}.post_attention_layernorm`,
        attn: {
          kind: 'separate',
          q: `${p}.self_attn.q_proj`,
          k: `${p}.self_attn.k_proj`,
          v: `${p}.self_attn.v_proj`,
          bias: qkvBias,
        },
        o: `${p}.self_attn.o_proj`,
        oBias,
        qNorm: qk ? `${p}.self_attn.q_norm` : null,
        kNorm: qk ? `${p}.self_attn.k_norm` : null,
        mlp: {
          kind: 'swiglu',
          gate: `${p}.mlp.gate_proj`,
          up: `${p}.mlp.up_proj`,
          down: `${p}.mlp.down_proj`,
          bias: cfg.arch === 'llama' && !!cfg.mlpBias,
        },
        window: 0,
      };
    }),
  };
}

const LLAMA_ATTN = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj'];
const LLAMA_MLP = ['mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];

function llamaLikeMeta(type: 'llama' | 'qwen2' | 'qwen3', label: string): FamilyMeta {
  return {
    type,
    label,
    paramSpecs: (cfg) => decoderParamSpecs(cfg, llamaLayout(cfg)),
    linearNames: (cfg) => decoderLinearNames(llamaLayout(cfg)),
    presets: {
      default: ['self_attn.q_proj', 'self_attn.v_proj'],
      attention: LLAMA_ATTN,
      'attention-mlp': [...LLAMA_ATTN, ...LLAMA_MLP],
      'all-linear': [...LLAMA_ATTN, ...LLAMA_MLP],
    },
    fromFileName(name, cfg) {
      if (/rotary_emb\.inv_freq$/.test(name)) return null;
      // a tied head saved anyway (some exports do) is the embedding: not a separate parameter
      if (name === 'lm_head.weight' && cfg.tieWordEmbeddings !== false) return null;
      return name;
    },
    peftPrefix: 'base_model.model.',
    fanInFanOut: false,
  };
}

export const llamaMeta = llamaLikeMeta('llama', 'Llama');
export const qwen2Meta = llamaLikeMeta('qwen2', 'Qwen2');
export const qwen3Meta = llamaLikeMeta('qwen3', 'Qwen3');

// ---- the registry of metadata (families.ts keeps the one of models, built from these)

export const FAMILY_META: Partial<Record<ModelType, FamilyMeta>> = {
  gpt2: gpt2Meta,
  gpt_neo: gptNeoMeta,
  gpt_neox: gptNeoxMeta,
  llama: llamaMeta,
  qwen2: qwen2Meta,
  qwen3: qwen3Meta,
};

export function familyMetaOf(cfg: Pick<ModelConfig, 'arch'>): FamilyMeta {
  const f = FAMILY_META[cfg.arch];
  if (!f)
    throw new Error(
      `model_type "${cfg.arch}" has no model implementation yet (implemented: ${Object.keys(FAMILY_META).join(', ')})`,
    );
  return f;
}

/** Every parameter of a model with this config (HF names, GPU shapes): for memory plans and loaders. */
export function paramSpecsFor(cfg: ModelConfig): ParamSpec[] {
  return familyMetaOf(cfg).paramSpecs(cfg);
}

/** Module types (the part after the layer index) this config's model has, in layer order, deduplicated. */
export function moduleTypes(cfg: ModelConfig): string[] {
  return [
    ...new Set(
      familyMetaOf(cfg)
        .linearNames(cfg)
        .map((n) => splitModuleName(n)!.type),
    ),
  ];
}

/**
 * Module selectors → module types: a preset name ('attention', 'attention-mlp', 'all-linear') expands
 * to the family's list, anything else is kept as a selector matched by `moduleMatches`.
 */
export function expandSelectors(cfg: ModelConfig, selectors: readonly string[]): string[] {
  const f = familyMetaOf(cfg);
  return selectors.flatMap((s) =>
    (TARGET_PRESETS as readonly string[]).includes(s) ? f.presets[s as TargetPreset] : [s],
  );
}
