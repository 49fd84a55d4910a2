/**
 * GPT-NeoX (Pythia): transformers `modeling_gpt_neox.py`.
 *   - one fused `query_key_value` nn.Linear whose 3·C outputs are laid out PER HEAD, [h0: q k v, h1: q k v, …]
 *     (`qkv.view(B, T, NH, 3·HS)` then chunk), read by the attention/RoPE kernels as strided views;
 *   - partial rotary: the first int(HS · rotary_pct) dims of each head rotate (rotate_half), base
 *     `rotary_emb_base`;
 *   - `use_parallel_residual`: x + attn(ln1(x)) + mlp(ln2(x)); otherwise sequential as GPT-2;
 *   - exact (erf) GELU; untied `embed_out` head; LayerNorm with biases everywhere.
 *
 * Its layout (names, shapes, presets, checkpoint naming) is in family-meta.ts, which the page reads
 * without this file's GPU code; here the family gets its model.
 */
import { DecoderModel } from './decoder';
import { gptNeoxLayout, gptNeoxMeta } from './family-meta';
import type { ModelFamily } from './language-model';

export const gptNeoxFamily: ModelFamily = {
  ...gptNeoxMeta,
  create: (gpu, cfg, weights, opts) => new DecoderModel(gpu, cfg, gptNeoxFamily, gptNeoxLayout(cfg), weights, opts),
};
