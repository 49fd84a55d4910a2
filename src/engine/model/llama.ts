/**
 * Llama (SmolLM2, TinyLlama, Llama 3.2) and its copies Qwen2 and Qwen3: transformers
 * `modeling_llama.py`, `modeling_qwen2.py`, `modeling_qwen3.py`. RMSNorm (pre-norm, final `model.norm`),
 * rotary positions on the whole head (rope_theta; rope_scaling "llama3" through the kernel host's
 * inv_freq), SwiGLU MLP (down(silu(gate(x))·up(x))), grouped-query attention (num_key_value_heads),
 * tied or untied `lm_head`. The three differ only in:
 *   - llama: optional `attention_bias` (q/k/v/o) and `mlp_bias`;
 *   - qwen2: q/k/v with bias, o_proj without (Qwen2Attention);
 *   - qwen3: no biases; per-head RMSNorm `q_norm`/`k_norm` over head_dim BEFORE RoPE; head_dim set
 *     independently of hidden/heads.
 */
import { headDimOf, type ModelConfig } from './config';
import { DecoderModel, decoderLinearNames, decoderParamSpecs, type DecoderLayout } from './decoder';
import type { ModelFamily } from './language-model';

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

const ATTN = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj'];
const MLP = ['mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];

function llamaLike(type: 'llama' | 'qwen2' | 'qwen3', label: string): ModelFamily {
  const f: ModelFamily = {
    type,
    label,
    paramSpecs: (cfg) => decoderParamSpecs(cfg, llamaLayout(cfg)),
    linearNames: (cfg) => decoderLinearNames(llamaLayout(cfg)),
    presets: {
      default: ['self_attn.q_proj', 'self_attn.v_proj'],
      attention: ATTN,
      'attention-mlp': [...ATTN, ...MLP],
      'all-linear': [...ATTN, ...MLP],
    },
    fromFileName(name, cfg) {
      if (/rotary_emb\.inv_freq$/.test(name)) return null;
      // a tied head saved anyway (some exports do) is the embedding: not a separate parameter
      if (name === 'lm_head.weight' && cfg.tieWordEmbeddings !== false) return null;
      return name;
    },
    peftPrefix: 'base_model.model.',
    fanInFanOut: false,
    create: (gpu, cfg, weights, opts) => new DecoderModel(gpu, cfg, f, llamaLayout(cfg), weights, opts),
  };
  return f;
}

export const llamaFamily = llamaLike('llama', 'Llama');
export const qwen2Family = llamaLike('qwen2', 'Qwen2');
export const qwen3Family = llamaLike('qwen3', 'Qwen3');
