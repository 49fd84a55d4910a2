/**
 * PEFT's names for a model family's adapted modules and tensors, the error type and the version whose
 * fields we write: the leaf that peft.ts (LORA) and peft-adalora.ts (ADALORA) both build on, so neither
 * imports the other at run time.
 */
import type { RunConfig } from '../config';
import { splitModuleName } from '../model/language-model';

export class PeftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeftError';
  }
}

/** A PEFT version whose adapter_config.json fields we write (and whose loader reads them). */
export const PEFT_VERSION = '0.17.1';

// ---- names --------------------------------------------------------------------------------------------

const MODULE_RE = /^h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)$/;
const PEFT_ROOT = 'base_model.model.';

/**
 * How a model family's modules are named under PEFT's wrapper (model/families.ts `peftNamingOf` builds
 * it from the family): our module name → `prefix + name`, e.g. GPT-2's "h.0.attn.c_attn" →
 * "base_model.model.transformer.h.0.attn.c_attn", Llama's "model.layers.0.self_attn.q_proj" →
 * "base_model.model.model.layers.0.self_attn.q_proj". `fan_in_fan_out` is true only for Conv1D (GPT-2).
 */
export interface PeftNaming {
  prefix: string;
  fanInFanOut: boolean;
  /** Every module type of the model, in layer order (short target_modules must not match others). */
  moduleTypes: string[];
}

/** GPT-2 (the default when no family is given: the built-in models are GPT-2). */
export const GPT2_PEFT_NAMING: PeftNaming = {
  prefix: `${PEFT_ROOT}transformer.`,
  fanInFanOut: true,
  moduleTypes: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
};

/** Our module name → the module path in the HF model (GPT-2: "transformer.h.0.attn.c_attn"). */
export function hfModulePath(module: string, naming: PeftNaming = GPT2_PEFT_NAMING): string {
  return `${naming.prefix.slice(PEFT_ROOT.length)}${module}`;
}

export function peftTensorName(
  module: string,
  kind: 'lora_A' | 'lora_B' | 'lora_magnitude_vector',
  naming: PeftNaming = GPT2_PEFT_NAMING,
): string {
  return `${naming.prefix}${module}.${kind}${kind === 'lora_magnitude_vector' ? '' : '.weight'}`;
}

/** PEFT tensor name → [our module name, kind], or null when it is not a LoRA tensor of one of the family's linears. */
export function parsePeftTensorName(
  name: string,
  naming: PeftNaming = GPT2_PEFT_NAMING,
): { module: string; kind: 'lora_A' | 'lora_B' | 'lora_magnitude_vector' } | null {
  const m = /^(.+)\.(lora_A\.weight|lora_B\.weight|lora_magnitude_vector(?:\.weight)?)$/.exec(name);
  if (!m || !m[1].startsWith(PEFT_ROOT)) return null;
  let module: string;
  if (naming.fanInFanOut) {
    // GPT-2: with or without the "transformer." level (older PEFT versions wrapped GPT2Model directly)
    module = m[1].slice(PEFT_ROOT.length).replace(/^transformer\./, '');
    if (!MODULE_RE.test(module)) return null;
  } else {
    if (!m[1].startsWith(naming.prefix)) return null;
    module = m[1].slice(naming.prefix.length);
    const parts = splitModuleName(module);
    if (!parts || !naming.moduleTypes.includes(parts.type)) return null;
  }
  const kind = m[2].startsWith('lora_A') ? 'lora_A' : m[2].startsWith('lora_B') ? 'lora_B' : 'lora_magnitude_vector';
  return { module, kind };
}

/** base_model_name_or_path for a run's model: the hub id or path, `rankscope/<id>` for the built-in ones. */
export function baseModelName(config: RunConfig): string {
  const m = config.model;
  if (m.source === 'builtin') return `rankscope/${m.id}`;
  return m.id;
}

/**
 * The adapter_config.json fields after rank_pattern/alpha_pattern that LORA and ADALORA configs write
 * with the same values (PEFT 0.17.1 LoraConfig defaults), in save_pretrained's order.
 */
export const LORA_CONFIG_TAIL = {
  layer_replication: null,
  lora_bias: false,
  megatron_config: null,
  megatron_core: 'megatron.core',
  loftq_config: {},
  auto_mapping: null,
  trainable_token_indices: null,
  eva_config: null,
  corda_config: null,
  use_qalora: false,
  qalora_group_size: 16,
  target_parameters: null,
  peft_version: PEFT_VERSION,
} as const;
