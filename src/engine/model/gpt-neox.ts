/**
 * GPT-NeoX (Pythia): transformers `modeling_gpt_neox.py`.
 *   - one fused `query_key_value` nn.Linear whose 3·C outputs are laid out PER HEAD, [h0: q k v, h1: q k v, …]
 *     (`qkv.view(B, T, NH, 3·HS)` then chunk), read by the attention/RoPE kernels as strided views;
 *   - partial rotary: the first int(HS · rotary_pct) dims of each head rotate (rotate_half), base
 *     `rotary_emb_base`;
 *   - `use_parallel_residual`: x + attn(ln1(x)) + mlp(ln2(x)); otherwise sequential as GPT-2;
 *   - exact (erf) GELU; untied `embed_out` head; LayerNorm with biases everywhere.
 */
import { headDimOf, type ModelConfig } from './config';
import { DecoderModel, decoderLinearNames, decoderParamSpecs, type DecoderLayout } from './decoder';
import type { ModelFamily } from './language-model';

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

const ATTN = ['attention.query_key_value', 'attention.dense'];
const MLP = ['mlp.dense_h_to_4h', 'mlp.dense_4h_to_h'];

export const gptNeoxFamily: ModelFamily = {
  type: 'gpt_neox',
  label: 'GPT-NeoX (Pythia)',
  paramSpecs: (cfg) => decoderParamSpecs(cfg, gptNeoxLayout(cfg)),
  linearNames: (cfg) => decoderLinearNames(gptNeoxLayout(cfg)),
  presets: {
    default: ['attention.query_key_value'],
    attention: ATTN,
    'attention-mlp': [...ATTN, ...MLP],
    'all-linear': [...ATTN, ...MLP],
  },
  fromFileName(name, cfg) {
    // mask and rotary buffers saved by older transformers versions are not parameters
    if (/\.attention\.(bias|masked_bias)$|rotary_emb\.inv_freq$/.test(name)) return null;
    if (name === 'embed_out.weight' && cfg.tieWordEmbeddings) return null;
    return name;
  },
  peftPrefix: 'base_model.model.',
  fanInFanOut: false,
  create: (gpu, cfg, weights, opts) => new DecoderModel(gpu, cfg, gptNeoxFamily, gptNeoxLayout(cfg), weights, opts),
};
