/**
 * GPT-Neo (TinyStories): transformers `modeling_gpt_neo.py`. GPT-2's block (pre-LayerNorm, learned
 * positions, gelu_new MLP, tied head) with three differences this layout encodes:
 *   - attention is NOT scaled by 1/√HS (`GPTNeoSelfAttention._attn` has no scaling);
 *   - layers alternate global and local attention (`config.attention_layers`); a local layer sees the
 *     last `window_size` positions (`bias ^ tril(bias, -window_size)`);
 *   - q/k/v are separate nn.Linear without bias, out_proj has a bias; c_fc/c_proj are nn.Linear too
 *     (stored (out, in), transposed at the edges — unlike GPT-2's Conv1D of the same names).
 *
 * Its layout (names, shapes, presets, checkpoint naming) is in family-meta.ts, which the page reads
 * without this file's GPU code; here the family gets its model.
 */
import { DecoderModel } from './decoder';
import { gptNeoLayout, gptNeoMeta } from './family-meta';
import type { ModelFamily } from './language-model';

export const gptNeoFamily: ModelFamily = {
  ...gptNeoMeta,
  create: (gpu, cfg, weights, opts) => new DecoderModel(gpu, cfg, gptNeoFamily, gptNeoLayout(cfg), weights, opts),
};
