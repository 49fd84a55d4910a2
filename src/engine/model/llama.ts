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
 *
 * Their layout (names, shapes, presets, checkpoint naming) is in family-meta.ts, which the page reads
 * without this file's GPU code; here each family gets its model.
 */
import { DecoderModel } from './decoder';
import { llamaLayout, llamaMeta, qwen2Meta, qwen3Meta } from './family-meta';
import type { FamilyMeta, ModelFamily } from './language-model';

function llamaLike(meta: FamilyMeta): ModelFamily {
  const f: ModelFamily = {
    ...meta,
    create: (gpu, cfg, weights, opts) => new DecoderModel(gpu, cfg, f, llamaLayout(cfg), weights, opts),
  };
  return f;
}

export const llamaFamily = llamaLike(llamaMeta);
export const qwen2Family = llamaLike(qwen2Meta);
export const qwen3Family = llamaLike(qwen3Meta);
