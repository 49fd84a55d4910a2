/**
 * GPT-Neo (TinyStories): transformers `modeling_gpt_neo.py`. GPT-2's block (pre-LayerNorm, learned
 * positions, gelu_new MLP, tied head) with three differences this layout encodes:
 *   - attention is NOT scaled by 1/√HS (`GPTNeoSelfAttention._attn` has no scaling);
 *   - layers alternate global and local attention (`config.attention_layers`); a local layer sees the
 *     last `window_size` positions (`bias ^ tril(bias, -window_size)`);
 *   - q/k/v are separate nn.Linear without bias, out_proj has a bias; c_fc/c_proj are nn.Linear too
 *     (stored (out, in), transposed at the edges — unlike GPT-2's Conv1D of the same names).
 */
import type { ModelConfig } from './config';
import { DecoderModel, decoderLinearNames, decoderParamSpecs, type DecoderLayout } from './decoder';
import type { ModelFamily } from './language-model';

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

const ATTN = ['attn.attention.q_proj', 'attn.attention.k_proj', 'attn.attention.v_proj', 'attn.attention.out_proj'];
const MLP = ['mlp.c_fc', 'mlp.c_proj'];

export const gptNeoFamily: ModelFamily = {
  type: 'gpt_neo',
  label: 'GPT-Neo',
  paramSpecs: (cfg) => decoderParamSpecs(cfg, gptNeoLayout(cfg)),
  linearNames: (cfg) => decoderLinearNames(gptNeoLayout(cfg)),
  presets: {
    default: ['attn.attention.q_proj', 'attn.attention.v_proj'],
    attention: ATTN,
    'attention-mlp': [...ATTN, ...MLP],
    'all-linear': [...ATTN, ...MLP],
  },
  fromFileName(name) {
    // causal-mask buffers (attn.attention.bias / masked_bias) and the tied head are not parameters
    if (/\.attn\.attention\.(bias|masked_bias)$/.test(name) || name === 'lm_head.weight') return null;
    return name;
  },
  peftPrefix: 'base_model.model.',
  fanInFanOut: false,
  create: (gpu, cfg, weights, opts) => new DecoderModel(gpu, cfg, gptNeoFamily, gptNeoLayout(cfg), weights, opts),
};
