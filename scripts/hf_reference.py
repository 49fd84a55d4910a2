#!/usr/bin/env python3
"""Independent float64 numpy forward passes of the Hugging Face decoder families — the test oracle.

Each family follows transformers' modeling code (v4.4x, src/transformers/models/<family>/modeling_<family>.py)
step by step; the functions cite the classes they mirror. It reads a checkpoint directory the way
`from_pretrained` does (config.json, model.safetensors or model.safetensors.index.json + shards, F32/F16/BF16
upcast to float64) and shares no code with scripts/make-tiny-checkpoints.py or the TypeScript engine.

    python3 scripts/hf_reference.py DIR [DIR ...]     writes DIR/expected-losses.json for each
    python3 scripts/hf_reference.py DIR --ids 1 2 3   prints the losses of one sequence

expected-losses.json = {"ids": [[...], ...], "losses": [[...], ...]} with losses[s][i] = −ln p(ids[s][i+1] | ids[s][..i])
in nats, one sequence at a time, no padding (what `score --ids` prints).

Precision notes: transformers computes in the checkpoint's dtype (float32 here) with its RoPE cos/sin and RMSNorm
variance in float32; this oracle is float64 throughout, so the engine's float32 result differs by float32 rounding
only (~1e-6 relative), well inside the 2e-3 + 1e-3·|loss| the tests allow. Masked attention scores: transformers
writes torch.finfo(dtype).min and softmaxes; exp(min − max) is exactly 0 in float32, so −inf here is the same.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys

import numpy as np

# ----------------------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------------------


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[base + b : base + end]
        if e["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif e["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        elif e["dtype"] == "F64":
            a = np.frombuffer(raw, dtype="<f8").astype(np.float64)
        else:
            continue  # bool mask buffers of old checkpoints
        out[name] = a.reshape(e["shape"])
    return out


def load_dir(d: str) -> tuple[dict, dict[str, np.ndarray]]:
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            wm = json.load(f)["weight_map"]
        w: dict[str, np.ndarray] = {}
        for shard in sorted(set(wm.values())):
            w.update(read_safetensors(os.path.join(d, shard)))
    else:
        w = read_safetensors(os.path.join(d, "model.safetensors"))
    return cfg, w


# ----------------------------------------------------------------------------------------------------------------
# shared pieces
# ----------------------------------------------------------------------------------------------------------------


def layer_norm(x, w, b, eps):
    """nn.LayerNorm: biased variance, eps inside the square root."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    """LlamaRMSNorm / Qwen2RMSNorm / Qwen3RMSNorm: x · rsqrt(mean(x²) + eps), then weight · (cast back)."""
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def gelu_new(x):
    """transformers.activations.NewGELUActivation (the tanh approximation; gpt2 and gpt_neo 'gelu_new')."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


_erf = np.vectorize(math.erf)


def gelu_exact(x):
    """transformers.activations.GELUActivation = nn.functional.gelu (erf), 'gelu' in GPT-NeoX configs."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def linear(x, w, b=None):
    """nn.Linear: weight stored (out, in), y = x Wᵀ + b."""
    y = x @ w.T
    return y if b is None else y + b


def attention(q, k, v, scale, window=None):
    """q (H, T, D), k/v (H, T, D) (already repeated for GQA). Causal; `window` = GPT-Neo local layers: key j is
    visible from query i iff j ≤ i and i − j < window (bias XOR tril(bias, −window_size) in GPTNeoSelfAttention).
    Softmax over keys after masking (eager_attention_forward / _attn)."""
    T = q.shape[1]
    s = (q @ k.transpose(0, 2, 1)) * scale
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (i - j < window)
    s = np.where(allowed[None], s, -np.inf)
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(-1, keepdims=True)
    return p @ v


def rotate_half(x):
    """modeling_llama.rotate_half: cat(−x2, x1) over the last dim's halves."""
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def rope_inv_freq(dim: int, base: float, scaling: dict | None):
    """modeling_rope_utils._compute_default_rope_parameters: 1 / base^(arange(0, dim, 2)/dim); with rope_type
    'llama3', _compute_llama3_parameters rescales it by wavelength band (attention_factor stays 1)."""
    inv = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    if not scaling:
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind in (None, "default"):
        return inv
    if kind != "llama3":
        raise ValueError(f"rope_scaling type {kind!r} not in this reference")
    factor = scaling["factor"]
    low_ff = scaling["low_freq_factor"]
    high_ff = scaling["high_freq_factor"]
    old_ctx = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_ctx / low_ff
    high_freq_wavelen = old_ctx / high_ff
    wavelen = 2 * math.pi / inv
    inv_l = np.where(wavelen > low_freq_wavelen, inv / factor, inv)
    smooth = (old_ctx / wavelen - low_ff) / (high_ff - low_ff)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    is_medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return np.where(is_medium, smoothed, inv_l)


def rope_cos_sin(T: int, inv_freq):
    """LlamaRotaryEmbedding.forward: freqs = pos ⊗ inv_freq, emb = cat(freqs, freqs)."""
    freqs = np.arange(T, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb), np.sin(emb)


def apply_rope(x, cos, sin):
    """apply_rotary_pos_emb: x·cos + rotate_half(x)·sin, x (H, T, dim)."""
    return x * cos[None] + rotate_half(x) * sin[None]


def heads(x, n, d):
    """(T, n·d) → (n, T, d): view(..., n, d).transpose(1, 2)."""
    return x.reshape(x.shape[0], n, d).transpose(1, 0, 2)


def merge(x):
    """(n, T, d) → (T, n·d)."""
    return x.transpose(1, 0, 2).reshape(x.shape[1], -1)


# ----------------------------------------------------------------------------------------------------------------
# families: each returns logits (T, V) for one sequence of ids
# ----------------------------------------------------------------------------------------------------------------


def gpt2_logits(cfg, w, ids):
    """GPT2LMHeadModel. GPT2Model.forward: wte + wpe; GPT2Block: x + attn(ln_1 x), then x + mlp(ln_2 x);
    GPT2Attention: Conv1D c_attn (weight (in, out), y = x W + b) split into q, k, v; scores / sqrt(head_dim)
    (scale_attn_weights); causal mask; c_proj. GPT2MLP: c_fc → gelu_new → c_proj. ln_f; lm_head tied to wte."""
    if cfg.get("scale_attn_by_inverse_layer_idx") or cfg.get("reorder_and_upcast_attn"):
        raise ValueError("scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn not in this reference")
    p = "transformer." if "transformer.wte.weight" in w else ""
    C, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    D = C // H
    T = len(ids)
    x = w[p + "wte.weight"][ids] + w[p + "wpe.weight"][np.arange(T)]
    for i in range(cfg["n_layer"]):
        L = f"{p}h.{i}."
        h = layer_norm(x, w[L + "ln_1.weight"], w[L + "ln_1.bias"], eps)
        qkv = h @ w[L + "attn.c_attn.weight"] + w[L + "attn.c_attn.bias"]
        q, k, v = (heads(a, H, D) for a in np.split(qkv, 3, axis=-1))
        scale = 1.0 / math.sqrt(D) if cfg.get("scale_attn_weights", True) else 1.0
        a = merge(attention(q, k, v, scale))
        x = x + a @ w[L + "attn.c_proj.weight"] + w[L + "attn.c_proj.bias"]
        h = layer_norm(x, w[L + "ln_2.weight"], w[L + "ln_2.bias"], eps)
        act = {"gelu_new": gelu_new, "gelu": gelu_exact}[cfg.get("activation_function", "gelu_new")]
        m = act(h @ w[L + "mlp.c_fc.weight"] + w[L + "mlp.c_fc.bias"])
        x = x + m @ w[L + "mlp.c_proj.weight"] + w[L + "mlp.c_proj.bias"]
    x = layer_norm(x, w[p + "ln_f.weight"], w[p + "ln_f.bias"], eps)
    head = w.get("lm_head.weight", w[p + "wte.weight"])
    return x @ head.T


def gpt_neo_attention_layers(cfg):
    """GPTNeoConfig.expand_attention_types_params: [[["global","local"], n]] → ["global","local"] × n."""
    out = []
    for kinds, n in cfg["attention_types"]:
        for _ in range(n):
            out.extend(kinds)
    return out


def gpt_neo_logits(cfg, w, ids):
    """GPTNeoForCausalLM. GPTNeoSelfAttention: q/k/v_proj nn.Linear without bias, **no 1/sqrt(d) scaling**
    (scores = q kᵀ computed in float32), causal mask, local layers masked to the last window_size keys;
    out_proj with bias. GPTNeoBlock: pre-LN residuals as GPT-2; GPTNeoMLP: c_fc → gelu_new → c_proj (nn.Linear)."""
    C, H, eps = cfg["hidden_size"], cfg["num_heads"], cfg["layer_norm_epsilon"]
    D = C // H
    T = len(ids)
    kinds = gpt_neo_attention_layers(cfg)
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][np.arange(T)]
    act = {"gelu_new": gelu_new, "gelu": gelu_exact}[cfg.get("activation_function", "gelu_new")]
    for i in range(cfg["num_layers"]):
        L = f"transformer.h.{i}."
        h = layer_norm(x, w[L + "ln_1.weight"], w[L + "ln_1.bias"], eps)
        A = L + "attn.attention."
        q = heads(linear(h, w[A + "q_proj.weight"]), H, D)
        k = heads(linear(h, w[A + "k_proj.weight"]), H, D)
        v = heads(linear(h, w[A + "v_proj.weight"]), H, D)
        window = cfg["window_size"] if kinds[i] == "local" else None
        a = merge(attention(q, k, v, 1.0, window))
        x = x + linear(a, w[A + "out_proj.weight"], w[A + "out_proj.bias"])
        h = layer_norm(x, w[L + "ln_2.weight"], w[L + "ln_2.bias"], eps)
        m = act(linear(h, w[L + "mlp.c_fc.weight"], w[L + "mlp.c_fc.bias"]))
        x = x + linear(m, w[L + "mlp.c_proj.weight"], w[L + "mlp.c_proj.bias"])
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w.get("lm_head.weight", w["transformer.wte.weight"])
    return x @ head.T


def gpt_neox_logits(cfg, w, ids):
    """GPTNeoXForCausalLM. GPTNeoXAttention: query_key_value output viewed (T, NH, 3·HS) and split per head into
    q, k, v; rotary on the first rotary_ndims = int(HS·rotary_pct) dims (inv_freq over rotary_ndims with
    rotary_emb_base, rotate_half), the rest passed through; scores · HS^−0.5; dense. GPTNeoXMLP: dense_h_to_4h →
    hidden_act ('gelu' = exact erf) → dense_4h_to_h. GPTNeoXLayer: use_parallel_residual → x + attn(ln1 x) +
    mlp(ln2 x), else y = x + attn(ln1 x); y + mlp(ln2 y). final_layer_norm; embed_out untied."""
    C, H, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    HS = C // H
    rot = int(HS * cfg.get("rotary_pct", cfg.get("partial_rotary_factor", 1.0)))
    if cfg.get("rope_scaling"):
        raise ValueError("gpt_neox rope_scaling not in this reference")
    base = cfg.get("rotary_emb_base", cfg.get("rope_theta", 10000))
    T = len(ids)
    cos, sin = rope_cos_sin(T, rope_inv_freq(rot, base, None))
    act = {"gelu": gelu_exact, "gelu_new": gelu_new}[cfg.get("hidden_act", "gelu")]
    x = w["gpt_neox.embed_in.weight"][ids]

    def attn(h, L):
        qkv = linear(h, w[L + "attention.query_key_value.weight"], w.get(L + "attention.query_key_value.bias"))
        qkv = qkv.reshape(T, H, 3 * HS).transpose(1, 0, 2)  # (H, T, 3·HS)
        q, k, v = qkv[..., :HS], qkv[..., HS : 2 * HS], qkv[..., 2 * HS :]
        q = np.concatenate([apply_rope(q[..., :rot], cos, sin), q[..., rot:]], axis=-1)
        k = np.concatenate([apply_rope(k[..., :rot], cos, sin), k[..., rot:]], axis=-1)
        a = merge(attention(q, k, v, HS**-0.5))
        return linear(a, w[L + "attention.dense.weight"], w.get(L + "attention.dense.bias"))

    def mlp(h, L):
        m = act(linear(h, w[L + "mlp.dense_h_to_4h.weight"], w[L + "mlp.dense_h_to_4h.bias"]))
        return linear(m, w[L + "mlp.dense_4h_to_h.weight"], w[L + "mlp.dense_4h_to_h.bias"])

    for i in range(cfg["num_hidden_layers"]):
        L = f"gpt_neox.layers.{i}."
        ln1 = layer_norm(x, w[L + "input_layernorm.weight"], w[L + "input_layernorm.bias"], eps)
        a = attn(ln1, L)
        if cfg.get("use_parallel_residual", True):
            ln2 = layer_norm(x, w[L + "post_attention_layernorm.weight"], w[L + "post_attention_layernorm.bias"], eps)
            x = mlp(ln2, L) + a + x
        else:
            y = a + x
            ln2 = layer_norm(y, w[L + "post_attention_layernorm.weight"], w[L + "post_attention_layernorm.bias"], eps)
            x = mlp(ln2, L) + y
    x = layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    return x @ w["embed_out.weight"].T


def llama_logits(cfg, w, ids):
    """LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM. DecoderLayer: x + attn(input_layernorm x), then
    x + mlp(post_attention_layernorm x) with RMSNorm. Attention: q/k/v_proj (bias: llama attention_bias, qwen2
    always on q/k/v, qwen3 attention_bias), viewed (T, heads, head_dim) with head_dim = config.head_dim or
    hidden/heads; Qwen3 applies q_norm/k_norm (RMSNorm over head_dim) on that view BEFORE RoPE; RoPE over the
    whole head_dim (rope_theta, rope_scaling llama3); repeat_kv for GQA (query head h reads kv head
    h // (heads/kv_heads)); scores · head_dim^−0.5; o_proj (bias: llama attention_bias). MLP: down(silu(gate x) ·
    up x) (llama mlp_bias). Final norm; lm_head, or embed_tokens when tie_word_embeddings."""
    mt = cfg["model_type"]
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    D = cfg.get("head_dim") or C // H
    eps = cfg["rms_norm_eps"]
    if cfg.get("hidden_act", "silu") != "silu":
        raise ValueError("hidden_act other than silu not in this reference")
    if mt in ("qwen2", "qwen3") and cfg.get("use_sliding_window"):
        raise ValueError("use_sliding_window not in this reference")
    T = len(ids)
    cos, sin = rope_cos_sin(T, rope_inv_freq(D, cfg.get("rope_theta", 10000.0), cfg.get("rope_scaling")))
    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        L = f"model.layers.{i}."
        A = L + "self_attn."
        h = rms_norm(x, w[L + "input_layernorm.weight"], eps)
        q = linear(h, w[A + "q_proj.weight"], w.get(A + "q_proj.bias")).reshape(T, H, D)
        k = linear(h, w[A + "k_proj.weight"], w.get(A + "k_proj.bias")).reshape(T, KV, D)
        v = linear(h, w[A + "v_proj.weight"], w.get(A + "v_proj.bias")).reshape(T, KV, D)
        if mt == "qwen3":
            q = rms_norm(q, w[A + "q_norm.weight"], eps)
            k = rms_norm(k, w[A + "k_norm.weight"], eps)
        q, k, v = q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = H // KV
        k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)  # repeat_kv: head h → kv head h // rep
        a = merge(attention(q, k, v, D**-0.5))
        x = x + linear(a, w[A + "o_proj.weight"], w.get(A + "o_proj.bias"))
        h = rms_norm(x, w[L + "post_attention_layernorm.weight"], eps)
        M = L + "mlp."
        g = silu(linear(h, w[M + "gate_proj.weight"], w.get(M + "gate_proj.bias")))
        u = linear(h, w[M + "up_proj.weight"], w.get(M + "up_proj.bias"))
        x = x + linear(g * u, w[M + "down_proj.weight"], w.get(M + "down_proj.bias"))
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return x @ head.T


FAMILIES = {
    "gpt2": gpt2_logits,
    "gpt_neo": gpt_neo_logits,
    "gpt_neox": gpt_neox_logits,
    "llama": llama_logits,
    "qwen2": llama_logits,
    "qwen3": llama_logits,
}


def token_losses(cfg, w, ids) -> list[float]:
    """−ln softmax(logits[i])[ids[i+1]] for i < T−1 (CrossEntropyLoss on shifted labels, per token)."""
    ids = np.asarray(ids, dtype=np.int64)
    logits = FAMILIES[cfg["model_type"]](cfg, w, ids)
    z = logits[:-1]
    m = z.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[:, 0]
    return [float(v) for v in lse - z[np.arange(len(ids) - 1), ids[1:]]]


def fixed_sequences(vocab: int, ctx: int) -> list[list[int]]:
    """Three id sequences: 33 tokens (crosses GPT-Neo's local window and any power of two), 17, and the shortest
    that has a loss (2). Deterministic and independent of the fixture."""
    rng = np.random.default_rng(1234)
    return [[int(t) for t in rng.integers(0, vocab, size=n)] for n in (min(33, ctx), 17, 2)]


def write_expected(d: str) -> None:
    cfg, w = load_dir(d)
    ctx = cfg.get("n_positions") or cfg.get("max_position_embeddings")
    seqs = fixed_sequences(cfg["vocab_size"], ctx)
    out = {"ids": seqs, "losses": [token_losses(cfg, w, s) for s in seqs]}
    with open(os.path.join(d, "expected-losses.json"), "w", encoding="utf-8") as f:
        json.dump(out, f)
        f.write("\n")


def main(argv: list[str]) -> None:
    if "--ids" in argv:
        k = argv.index("--ids")
        cfg, w = load_dir(argv[0])
        print(json.dumps(token_losses(cfg, w, [int(t) for t in argv[k + 1 :]])))
        return
    if not argv:
        sys.exit("usage: hf_reference.py DIR [DIR ...] | DIR --ids ID ID ...")
    for d in argv:
        write_expected(d)
        print(f"wrote {os.path.join(d, 'expected-losses.json')}")


if __name__ == "__main__":
    main(sys.argv[1:])
